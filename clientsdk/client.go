package clientsdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

const (
	readLimit    = 4 << 20         // one inbound frame; answers grow with every m-line
	writeTimeout = 5 * time.Second // per socket write
	eventsBuffer = 64
)

// Client is one peer in a room, joined over the peer socket like the browser client
// @jellyfish-dev/ts-client-sdk 0.4.0. Its methods are safe for concurrent use; none of them may
// be called from a pion callback of the PeerConnection.
//
// Goroutines (all owned by the Client and waited for in Leave):
//   - the socket reader: decodes frames and queues them for the loop; exits when the socket ends;
//   - the loop: handles server events, API commands and pion callbacks strictly in order; it is
//     the only goroutine that touches the PeerConnection's signalling; exits on Leave;
//   - the event emitter: moves events from an unbounded queue to Events() so that the loop
//     never blocks on the application; exits on Leave and then closes the Events channel;
//   - one RTCP reader per published track (RTPSender), so interceptors and PLIs are processed;
//     exits when the sender stops (Unpublish, PeerConnection closed).
type Client struct {
	log    *slog.Logger
	cfg    Config
	conn   *websocket.Conn
	wmu    sync.Mutex // serializes socket writes
	id     string     // own peer id; set by the loop before Join returns, then immutable
	events chan Event

	inbox queue[func()] // work for the loop
	out   queue[Event]  // events for the emitter

	quit     chan struct{} // closed by Leave: the loop and the emitter exit
	loopDone chan struct{} // closed when the loop has exited
	left     chan struct{} // closed when Leave has finished
	closed   atomic.Bool
	wg       sync.WaitGroup

	mu         sync.Mutex // guards endpoints and trackOwner (written by the loop)
	endpoints  map[string]*Endpoint
	trackOwner map[string]string // remote track id → endpoint id

	s session // owned by the loop goroutine
}

// Join dials the peer socket, authenticates with cfg.Token, sends "connect" and waits for
// "connected". It returns with the room's other endpoints known (Endpoints; an EndpointAdded and
// TrackAdded event for each is queued on Events). If the server closes the socket first, the
// error is a *CloseError carrying the close reason; errors.Is(err, ErrAuth) tells
// authentication failures ("invalid token", ...). ctx bounds the whole join.
func Join(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u, err := socketURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	md, err := encodeMetadata(cfg.Metadata)
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("clientsdk: dial %s: %w", u, err)
	}
	conn.SetReadLimit(readLimit)
	c := &Client{
		log:        cfg.Logger.With("component", "clientsdk"),
		cfg:        cfg,
		conn:       conn,
		events:     make(chan Event, eventsBuffer),
		quit:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		left:       make(chan struct{}),
		endpoints:  map[string]*Endpoint{},
		trackOwner: map[string]string{},
	}
	c.inbox.init()
	c.out.init()
	if err := c.authenticate(ctx); err != nil {
		conn.CloseNow()
		return nil, err
	}
	joined := make(chan error, 1)
	c.s.init(joined)
	c.wg.Go(c.readLoop)
	c.wg.Go(c.emitLoop)
	c.wg.Go(func() {
		defer close(c.loopDone)
		c.runLoop()
	})
	connect, err := metadataEvent("connect", "metadata", md, nil)
	if err == nil {
		err = c.sendRaw(ctx, connect)
	}
	if err == nil {
		select {
		case err = <-joined:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		c.Leave()
		var ce *CloseError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("clientsdk: join: %w", err)
	}
	return c, nil
}

// ID returns the client's own peer id (from "connected").
func (c *Client) ID() string { return c.id }

// Events returns the channel of events, in the order the server sent them. No event is dropped:
// they queue in memory until read. The channel is closed by Leave.
func (c *Client) Events() <-chan Event { return c.events }

// Endpoints returns a snapshot of the known remote endpoints and their tracks.
func (c *Client) Endpoints() map[string]Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Endpoint, len(c.endpoints))
	for id, e := range c.endpoints {
		out[id] = e.clone()
	}
	return out
}

// Publish adds a local track, like the browser client's addTrack: the track gets the id
// "<peer id>:<uuid>", the client asks the server for a negotiation round (renegotiateTracks)
// and Publish returns once an sdpAnswer mapped the track and the PeerConnection is connected.
// metadata is JSON-encoded (nil: no metadata). pion's TrackLocalStaticSample and
// TrackLocalStaticRTP work; write media to the track after Publish returns. Publications are
// processed one at a time, like the browser client's command queue. If ctx ends first, Publish
// returns ctx's error; a track already handed to the PeerConnection stays published (the id
// is then lost to the caller), one still queued is dropped.
func (c *Client) Publish(ctx context.Context, track webrtc.TrackLocal, metadata any) (string, error) {
	if track == nil {
		return "", errors.New("clientsdk: publish: nil track")
	}
	md, err := encodeMetadata(metadata)
	if err != nil {
		return "", err
	}
	cmd := &command{publish: true, track: track, metadata: md, done: make(chan error, 1)}
	if err := c.runCommand(ctx, cmd); err != nil {
		return "", fmt.Errorf("clientsdk: publish: %w", err)
	}
	return cmd.trackID, nil
}

// Unpublish removes one of the client's tracks, like removeTrack: the sender is removed, the
// client asks for a round, and Unpublish returns once the round's sdpAnswer was applied and the
// PeerConnection is connected. A track that was never offered is dropped without a round.
func (c *Client) Unpublish(ctx context.Context, trackID string) error {
	cmd := &command{trackID: trackID, done: make(chan error, 1)}
	if err := c.runCommand(ctx, cmd); err != nil {
		return fmt.Errorf("clientsdk: unpublish %s: %w", trackID, err)
	}
	return nil
}

// UpdateMetadata sends new peer metadata (updateEndpointMetadata; nil sends no metadata key).
func (c *Client) UpdateMetadata(metadata any) error {
	md, err := encodeMetadata(metadata)
	if err != nil {
		return err
	}
	return c.do(func() error {
		if c.s.disconnected {
			return ErrDisconnected
		}
		b, err := metadataEvent("updateEndpointMetadata", "metadata", md, nil)
		if err != nil {
			return err
		}
		return c.send(b)
	})
}

// UpdateTrackMetadata changes the metadata of one of the client's tracks
// (updateTrackMetadata). Like the browser client it sends the event at once for a negotiated
// track, after the pending sdpAnswer for a track in an unanswered offer, and not at all for a
// track not yet offered (its next sdpOffer carries the metadata).
func (c *Client) UpdateTrackMetadata(trackID string, metadata any) error {
	md, err := encodeMetadata(metadata)
	if err != nil {
		return err
	}
	return c.do(func() error { return c.updateTrackMetadata(trackID, md) })
}

// Leave sends "disconnect", closes the socket and the PeerConnection, waits for every goroutine
// of the Client and closes the Events channel. Remote tracks from TrackReady end. It is
// idempotent: later and concurrent calls wait for the first one and return nil. It never waits
// for Events to be drained. It must not be called from a pion callback.
func (c *Client) Leave() error {
	if c.closed.Swap(true) {
		<-c.left
		return nil
	}
	defer close(c.left)
	if b, err := wire.EncodeClientEvent(wire.Disconnect{}); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.sendRaw(ctx, b) // best effort: the socket may be gone
		cancel()
	}
	close(c.quit)
	<-c.loopDone // the loop no longer touches the PeerConnection
	_ = c.conn.Close(websocket.StatusNormalClosure, "")
	var err error
	if c.s.pc != nil {
		err = c.s.pc.GracefulClose()
	}
	c.wg.Wait()
	return err
}

// runCommand queues a publish/unpublish command for the loop and waits for its result.
func (c *Client) runCommand(ctx context.Context, cmd *command) error {
	if !c.post(func() { c.enqueueCommand(cmd) }) {
		return ErrClosed
	}
	select {
	case err := <-cmd.done:
		return err
	case <-ctx.Done():
		c.post(func() { c.abandonCommand(cmd) })
		return ctx.Err()
	case <-c.quit:
		return ErrClosed
	}
}

// do runs f on the loop and returns its result.
func (c *Client) do(f func() error) error {
	done := make(chan error, 1)
	if !c.post(func() { done <- f() }) {
		return ErrClosed
	}
	select {
	case err := <-done:
		return err
	case <-c.quit:
		return ErrClosed
	}
}

// post queues f for the loop; false after Leave.
func (c *Client) post(f func()) bool {
	select {
	case <-c.quit:
		return false
	default:
	}
	c.inbox.push(f)
	return true
}

// emit queues an event for Events().
func (c *Client) emit(ev Event) { c.out.push(ev) }

func (c *Client) runLoop() {
	for {
		select {
		case <-c.quit:
			return
		case <-c.inbox.notify:
		}
		for _, f := range c.inbox.popAll() {
			select {
			case <-c.quit:
				return
			default:
			}
			f()
		}
	}
}

func (c *Client) emitLoop() {
	defer close(c.events)
	for {
		select {
		case <-c.quit:
			return
		case <-c.out.notify:
		}
		for _, ev := range c.out.popAll() {
			select {
			case c.events <- ev:
			case <-c.quit:
				return
			}
		}
	}
}

// queue is an unbounded FIFO with a one-slot notification channel (galene's unbounded).
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	notify chan struct{}
}

func (q *queue[T]) init() { q.notify = make(chan struct{}, 1) }

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *queue[T]) popAll() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// rawJSON returns md, or JSON null for nil metadata.
func rawJSON(md json.RawMessage) json.RawMessage {
	if len(md) == 0 {
		return json.RawMessage("null")
	}
	return md
}
