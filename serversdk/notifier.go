package serversdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// ServerSocketPath is the path of the server WebSocket.
const ServerSocketPath = "/socket/server/websocket"

// defaultEventBuffer is the default capacity of Notifier.Events.
const defaultEventBuffer = 1024

// notifierReadLimit bounds one inbound frame; metrics reports of large servers are big.
const notifierReadLimit = 16 << 20

// WithEventBuffer sets the capacity of the Notifier's Events channel (default 1024).
func WithEventBuffer(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.eventBuffer = n
		}
	}
}

// ErrClosed is returned by the methods of a Notifier after Close.
var ErrClosed = errors.New("serversdk: notifier closed")

// CloseError reports that the server closed the notifier's WebSocket, with the code and reason
// it gave (e.g. 1000 "invalid token", 1001 "server shutting down", 1008 "too slow").
type CloseError struct {
	Code   websocket.StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("serversdk: server closed the socket: %d %s", int(e.Code), e.Reason)
}

// Notifier is a client of the server WebSocket: it receives server notifications and metrics
// reports as Events. Create one with DialNotifier and Close it when done.
//
// A Notifier owns one goroutine, its reader: it routes every inbound frame, completing the
// Subscribe* calls and delivering notifications to Events. While it reads, the WebSocket
// library answers the server's pings, which keeps the socket alive (the server closes a socket
// that stays silent past its idle timeout, 60 s by default). Events must therefore be drained:
// while the channel is full the reader waits, pings go unanswered and subscribe responses are
// not routed, and a server whose send queue overflows closes the socket ("too slow").
//
// The methods are safe for concurrent use.
type Notifier struct {
	conn   *websocket.Conn
	events chan Event
	cancel context.CancelFunc // stops the reader
	done   chan struct{}      // closed when the reader has stopped
	wg     sync.WaitGroup     // the reader
	closed atomic.Bool        // Close was called

	mu      sync.Mutex
	waiters map[wire.ServerMessage_EventType][]chan struct{} // Subscribe* calls awaiting a response
	err     error                                            // why the reader stopped; set before done closes
}

// DialNotifier connects to the server WebSocket and authenticates with the server API token.
//
// wsURL is the socket's URL, e.g. "ws://127.0.0.1:8080/socket/server/websocket". An http(s)
// URL is turned into a ws(s) one, a bare "host:port" (a jellyfish_address) gets "ws://", and
// ServerSocketPath is added when the URL has no path. ctx bounds the dial and authentication
// only. A refused token gives an error wrapping a *CloseError whose Reason is "invalid token".
// Only WithHTTPClient and WithEventBuffer apply.
func DialNotifier(ctx context.Context, wsURL, token string, opts ...Option) (*Notifier, error) {
	o := collect(opts)
	u, err := serverSocketURL(wsURL)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: o.httpClient})
	if err != nil {
		return nil, fmt.Errorf("serversdk: dial %s: %w", u, err)
	}
	conn.SetReadLimit(notifierReadLimit)
	if err := authenticate(ctx, conn, token); err != nil {
		conn.CloseNow()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{
		conn:    conn,
		events:  make(chan Event, o.eventBuffer),
		cancel:  cancel,
		done:    make(chan struct{}),
		waiters: map[wire.ServerMessage_EventType][]chan struct{}{},
	}
	n.wg.Go(func() { n.read(rctx) })
	return n, nil
}

func serverSocketURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "ws://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("serversdk: server socket URL: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("serversdk: server socket URL %q: unsupported scheme %q", raw, u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = ServerSocketPath
	}
	return u.String(), nil
}

func authenticate(ctx context.Context, conn *websocket.Conn, token string) error {
	auth := &wire.ServerMessage{Content: &wire.ServerMessage_AuthRequest_{
		AuthRequest: &wire.ServerMessage_AuthRequest{Token: token}}}
	if err := writeMessage(ctx, conn, auth); err != nil {
		return fmt.Errorf("serversdk: authenticate: %w", err)
	}
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("serversdk: authenticate: %w", closeErrorOf(err))
		}
		var m wire.ServerMessage
		if typ != websocket.MessageBinary || proto.Unmarshal(data, &m) != nil {
			continue
		}
		if m.GetAuthenticated() != nil {
			return nil
		}
	}
}

// closeErrorOf turns a close frame received from the server into a *CloseError that also
// wraps the library's error.
func closeErrorOf(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w (%w)", &CloseError{Code: ce.Code, Reason: ce.Reason}, err)
	}
	return err
}

func writeMessage(ctx context.Context, conn *websocket.Conn, m *wire.ServerMessage) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageBinary, b)
}

// read is the reader goroutine: it routes frames until the socket ends or ctx is cancelled.
func (n *Notifier) read(ctx context.Context) {
	err := n.route(ctx)
	if n.closed.Load() {
		err = ErrClosed
	} else {
		err = fmt.Errorf("serversdk: notifier: %w", closeErrorOf(err))
	}
	n.mu.Lock()
	n.err = err
	n.waiters = nil
	n.mu.Unlock()
	close(n.done)
	close(n.events)
}

func (n *Notifier) route(ctx context.Context) error {
	for {
		typ, data, err := n.conn.Read(ctx)
		if err != nil {
			return err
		}
		var m wire.ServerMessage
		if typ != websocket.MessageBinary || proto.Unmarshal(data, &m) != nil {
			continue // the server sends neither; skip rather than fail the whole stream
		}
		if r := m.GetSubscribeResponse(); r != nil {
			n.release(r.GetEventType())
			continue
		}
		ev := eventOf(&m)
		if ev == nil {
			continue
		}
		select {
		case n.events <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release completes every Subscribe* call waiting for a response of type et.
func (n *Notifier) release(et wire.ServerMessage_EventType) {
	n.mu.Lock()
	ws := n.waiters[et]
	delete(n.waiters, et)
	n.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// SubscribeServerNotifications subscribes to the notifications of every room of the server and
// returns once the server has confirmed; they then arrive on Events. Subscribing again is
// harmless. ctx bounds the wait; if it ends while the request is still being written, the
// WebSocket library closes the socket.
func (n *Notifier) SubscribeServerNotifications(ctx context.Context) error {
	return n.subscribe(ctx, wire.ServerMessage_EVENT_TYPE_SERVER_NOTIFICATION)
}

// SubscribeMetrics subscribes to the periodic metrics reports (MetricsReport events) and returns
// once the server has confirmed.
func (n *Notifier) SubscribeMetrics(ctx context.Context) error {
	return n.subscribe(ctx, wire.ServerMessage_EVENT_TYPE_METRICS)
}

func (n *Notifier) subscribe(ctx context.Context, et wire.ServerMessage_EventType) error {
	w := make(chan struct{})
	n.mu.Lock()
	if n.waiters == nil { // the reader has stopped
		err := n.err
		n.mu.Unlock()
		return err
	}
	n.waiters[et] = append(n.waiters[et], w)
	n.mu.Unlock()

	req := &wire.ServerMessage{Content: &wire.ServerMessage_SubscribeRequest_{
		SubscribeRequest: &wire.ServerMessage_SubscribeRequest{EventType: et}}}
	err := writeMessage(ctx, n.conn, req)
	if err == nil {
		select {
		case <-w:
			return nil
		case <-n.done:
			return n.Err()
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	n.mu.Lock()
	if n.waiters != nil {
		n.waiters[et] = slices.DeleteFunc(n.waiters[et], func(c chan struct{}) bool { return c == w })
	}
	n.mu.Unlock()
	if n.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("serversdk: subscribe %s: %w", et, err)
}

// Events returns the notifications and metrics reports, in the order the server sent them.
// The channel is closed when the socket ends (see Err) or after Close.
func (n *Notifier) Events() <-chan Event { return n.events }

// Err returns nil while the socket is up, ErrClosed after Close, or why the socket ended
// (wrapping a *CloseError when the server closed it).
func (n *Notifier) Err() error {
	select {
	case <-n.done:
	default:
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.err
}

// Close closes the socket (close handshake, at most a few seconds) and waits until the reader
// goroutine has stopped. Events is closed afterwards. Calling it again is a no-op.
func (n *Notifier) Close() error {
	if n.closed.Swap(true) {
		n.wg.Wait()
		return nil
	}
	err := n.conn.Close(websocket.StatusNormalClosure, "")
	n.cancel()
	n.wg.Wait()
	var ce websocket.CloseError
	if errors.Is(err, net.ErrClosed) || errors.As(err, &ce) {
		return nil // the server had closed it already, or answered our close
	}
	return err
}
