package signaling

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Options tune both WebSockets. The zero value gives the defaults each field names.
type Options struct {
	// Logger receives the sockets' logs. Default: slog.Default().
	Logger *slog.Logger
	// CheckOrigin decides whether a browser Origin may open a socket (host is the request's
	// Host); a refused upgrade gets 403. Nil: any origin. Requests without Origin always pass.
	CheckOrigin func(origin, host string) bool
	// PingInterval is how often an authenticated socket is pinged. Default: 30 s (Jellyfish).
	PingInterval time.Duration
	// IdleTimeout closes a socket from which nothing (not even a pong) arrived for this long.
	// Default: 60 s (Jellyfish).
	IdleTimeout time.Duration
	// AuthTimeout closes a socket that has not authenticated within it. Default: 10 s.
	AuthTimeout time.Duration
	// WriteTimeout bounds one frame write. Default: 5 s.
	WriteTimeout time.Duration
	// SendBuffer is how many frames may wait for a slow client before its socket is closed
	// (1008 "too slow"), so that it never blocks a room. Default: 1024.
	SendBuffer int
	// MetricsInterval is the period of metrics reports on the server socket. Default: 1 s.
	MetricsInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, 30*time.Second)
	def(&o.IdleTimeout, 60*time.Second)
	def(&o.AuthTimeout, 10*time.Second)
	def(&o.WriteTimeout, 5*time.Second)
	def(&o.MetricsInterval, time.Second)
	if o.SendBuffer <= 0 {
		o.SendBuffer = 1024
	}
	return o
}

// Close codes used beyond those of the websocket package.
const (
	closeNormal      = websocket.StatusNormalClosure
	closeInternal    = websocket.StatusInternalError
	closeUnsupported = websocket.StatusUnsupportedData
	closeTooSlow     = websocket.StatusPolicyViolation
	closeGoingAway   = websocket.StatusGoingAway
)

// socket is one accepted WebSocket: a bounded outbound queue drained by one writer goroutine, a
// close request that any goroutine may make without blocking, and the time of the last inbound
// frame (including pongs) for the idle timeout.
type socket struct {
	conn *websocket.Conn
	opts Options
	log  *slog.Logger

	out       chan []byte
	closing   chan struct{} // closed by requestClose
	closeOnce sync.Once
	code      websocket.StatusCode // set before closing is closed
	reason    string

	lastSeen atomic.Int64 // unix nanoseconds of the last inbound frame
}

// accept upgrades the request after the origin check, or answers 403.
func accept(w http.ResponseWriter, r *http.Request, opts Options, readLimit int64) (*socket, bool) {
	if origin := r.Header.Get("Origin"); origin != "" && opts.CheckOrigin != nil && !opts.CheckOrigin(origin, r.Host) {
		opts.Logger.Warn("websocket origin refused", "origin", origin, "path", r.URL.Path)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil, false
	}
	s := &socket{opts: opts, out: make(chan []byte, opts.SendBuffer), closing: make(chan struct{})}
	s.seen()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the origin was checked above, by our own rules
		OnPingReceived:     func(context.Context, []byte) bool { s.seen(); return true },
		OnPongReceived:     func(context.Context, []byte) { s.seen() },
	})
	if err != nil {
		opts.Logger.Debug("websocket upgrade failed", "err", err)
		return nil, false
	}
	conn.SetReadLimit(readLimit)
	s.conn = conn
	s.log = opts.Logger.With("remote", r.RemoteAddr)
	return s, true
}

func (s *socket) seen() { s.lastSeen.Store(time.Now().UnixNano()) }

// enqueue queues a frame without blocking; a full queue closes the socket as too slow.
func (s *socket) enqueue(frame []byte) {
	select {
	case s.out <- frame:
	default:
		s.requestClose(closeTooSlow, "too slow")
	}
}

// requestClose asks the writer to close the socket; the first request wins. It never blocks.
func (s *socket) requestClose(code websocket.StatusCode, reason string) {
	s.closeOnce.Do(func() {
		s.code, s.reason = code, reason
		close(s.closing)
	})
}

// write sends one binary frame within the write timeout.
func (s *socket) write(ctx context.Context, frame []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageBinary, frame)
}

// closeNow performs the close handshake with the requested code (or the given default).
func (s *socket) closeWith(code websocket.StatusCode, reason string) {
	s.requestClose(code, reason)
	s.conn.Close(s.code, s.reason)
}

// pingOrIdle pings the client, or closes the socket if it has been silent past the idle timeout.
// It reports whether the socket is still usable.
func (s *socket) pingOrIdle(ctx context.Context) bool {
	if time.Since(time.Unix(0, s.lastSeen.Load())) > s.opts.IdleTimeout {
		s.log.Info("closing idle websocket", "idle_timeout", s.opts.IdleTimeout)
		s.closeWith(closeNormal, "")
		return false
	}
	// Ping returns when the reader goroutine sees the pong: at most one write timeout, during
	// which queued frames wait (the queue absorbs them).
	pctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	s.conn.Ping(pctx)
	return true
}

// serve accepts a WebSocket, registers it so that close can end it, and runs session on it;
// the socket is unregistered when session returns.
func (g *registry) serve(w http.ResponseWriter, r *http.Request, opts Options, readLimit int64, session func(ctx context.Context, s *socket)) {
	s, ok := accept(w, r, opts, readLimit)
	if !ok {
		return
	}
	if !g.add(s) {
		s.conn.Close(closeGoingAway, "server shutting down")
		return
	}
	defer g.remove(s)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	session(ctx, s)
}

// runLoops runs write on a goroutine it owns and read on the caller's; when read returns (the
// socket failed or closed) it cancels write's context and waits for it.
func runLoops(ctx context.Context, read func(context.Context), write func(context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { write(ctx) })
	read(ctx)
	cancel()
	wg.Wait()
}

// registry tracks the live sessions of a handler so that Close can end them and wait.
type registry struct {
	mu     sync.Mutex
	closed bool
	socks  map[*socket]struct{}
	wg     sync.WaitGroup
}

func (g *registry) add(s *socket) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.socks == nil {
		g.socks = map[*socket]struct{}{}
	}
	g.socks[s] = struct{}{}
	g.wg.Add(1)
	return true
}

func (g *registry) remove(s *socket) {
	g.mu.Lock()
	delete(g.socks, s)
	g.mu.Unlock()
	g.wg.Done()
}

// close asks every session to close (1001 going away) and waits until they have.
func (g *registry) close() {
	g.mu.Lock()
	g.closed = true
	for s := range g.socks {
		s.requestClose(closeGoingAway, "server shutting down")
	}
	g.mu.Unlock()
	g.wg.Wait()
}
