package turn

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// This file wraps every socket pion/turn reads from, for two reasons:
//   - pion/turn's Server.Close neither waits for the goroutines it started nor closes accepted
//     TCP connections, so we count its read loops (tracker) and close everything ourselves;
//   - pion/turn's PermissionHandler sees only the peer IP, so the exact peer address
//     (IP and port) is checked on every relayed datagram (relayConn).

// tracker records the sockets we handed to pion/turn and the read loops it runs on them.
// shutdown closes all of them and waits until every read loop that started has seen its
// terminal error. After shutdown a read loop that starts late returns net.ErrClosed at once.
type tracker struct {
	mu      sync.Mutex
	closing bool                   // guarded by mu
	closers map[io.Closer]struct{} // guarded by mu
	readers sync.WaitGroup         // Add only under mu while !closing
}

func newTracker() *tracker { return &tracker{closers: make(map[io.Closer]struct{})} }

func (t *tracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.readers.Add(1)
	return true
}

func (t *tracker) add(c io.Closer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.closers[c] = struct{}{}
	return true
}

func (t *tracker) remove(c io.Closer) {
	t.mu.Lock()
	delete(t.closers, c)
	t.mu.Unlock()
}

func (t *tracker) shutdown() {
	t.mu.Lock()
	t.closing = true
	cs := make([]io.Closer, 0, len(t.closers))
	for c := range t.closers {
		cs = append(cs, c)
	}
	t.closers = nil
	t.mu.Unlock()
	for _, c := range cs {
		_ = c.Close() // errors of sockets we tear down are of no interest
	}
	t.readers.Wait()
}

// readerGuard counts one read loop (the only reader of a socket) in a tracker: the first
// read enters it, the first read error leaves it.
type readerGuard struct {
	t     *tracker
	once  sync.Once
	ok    bool // written once inside once.Do
	ended atomic.Bool
}

func (g *readerGuard) start() bool {
	g.once.Do(func() { g.ok = g.t.enter() })
	return g.ok && !g.ended.Load()
}

func (g *readerGuard) stop() {
	if g.ended.CompareAndSwap(false, true) {
		g.t.readers.Done()
	}
}

// closeOnce makes Close idempotent: pion/turn and our shutdown may both close a socket, and
// pion's allocation manager stops closing allocations at the first Close error.
type closeOnce struct {
	once sync.Once
	err  error
}

func (c *closeOnce) do(f func() error) error {
	c.once.Do(func() { c.err = f() })
	return c.err
}

// listenerConn is the TURN server's UDP socket.
type listenerConn struct {
	net.PacketConn
	t     *tracker
	guard readerGuard
	close closeOnce
}

func newListenerConn(pc net.PacketConn, t *tracker) *listenerConn {
	c := &listenerConn{PacketConn: pc, t: t, guard: readerGuard{t: t}}
	t.add(c)
	return c
}

func (c *listenerConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if !c.guard.start() {
		return 0, nil, net.ErrClosed
	}
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		c.guard.stop()
	}
	return n, addr, err
}

func (c *listenerConn) Close() error {
	return c.close.do(func() error {
		c.t.remove(c)
		return c.PacketConn.Close()
	})
}

// tcpListener is the TURN server's TCP listener; it tracks the connections it accepts.
type tcpListener struct {
	net.Listener
	t     *tracker
	guard readerGuard
	close closeOnce
}

func newTCPListener(l net.Listener, t *tracker) *tcpListener {
	c := &tcpListener{Listener: l, t: t, guard: readerGuard{t: t}}
	t.add(c)
	return c
}

func (l *tcpListener) Accept() (net.Conn, error) {
	if !l.guard.start() {
		return nil, net.ErrClosed
	}
	conn, err := l.Listener.Accept()
	if err != nil {
		l.guard.stop()
		return nil, err
	}
	tc := &tcpConn{Conn: conn, t: l.t, guard: readerGuard{t: l.t}}
	if !l.t.add(tc) {
		_ = conn.Close() // shutting down: pion's reader will see net.ErrClosed
	}
	return tc, nil
}

func (l *tcpListener) Close() error {
	return l.close.do(func() error {
		l.t.remove(l)
		return l.Listener.Close()
	})
}

// tcpConn is one accepted TURN-over-TCP connection.
type tcpConn struct {
	net.Conn
	t     *tracker
	guard readerGuard
	close closeOnce
}

func (c *tcpConn) Read(b []byte) (int, error) {
	if !c.guard.start() {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(b)
	if err != nil {
		c.guard.stop()
	}
	return n, err
}

func (c *tcpConn) Close() error {
	return c.close.do(func() error {
		c.t.remove(c)
		return c.Conn.Close()
	})
}

// policy decides which peer addresses an allocation may exchange datagrams with.
// It is immutable after New, except for the relay port bitmap, and safe for concurrent use.
type policy struct {
	ownIPs      []netip.Addr // IPs our TURN sockets are reachable at
	anyIP       bool         // ListenIP is unspecified: any IP may be ours
	turnPorts   [2]uint16    // our UDP and TCP listener ports (0: none)
	relayPorts  [1 << 16 / 64]atomic.Uint64
	allowPeer   func(netip.AddrPort) bool
	allowPeerIP func(netip.Addr) bool
}

func (p *policy) isOwnIP(ip netip.Addr) bool {
	for _, o := range p.ownIPs {
		if o == ip {
			return true
		}
	}
	return false
}

func (p *policy) setRelayPort(port uint16, on bool) {
	w, bit := &p.relayPorts[port/64], uint64(1)<<(port%64)
	if on {
		w.Or(bit)
	} else {
		w.And(^bit)
	}
}

// isTURNSocket reports whether ap may be one of our own TURN sockets: relaying to them
// would chain allocations (relay loops, amplification), so it is never allowed.
func (p *policy) isTURNSocket(ap netip.AddrPort) bool {
	if !p.anyIP && !p.isOwnIP(ap.Addr()) {
		return false
	}
	port := ap.Port()
	if port == p.turnPorts[0] || port == p.turnPorts[1] {
		return true
	}
	return p.relayPorts[port/64].Load()&(uint64(1)<<(port%64)) != 0
}

// allow reports whether a relay may send to or receive from ap.
func (p *policy) allow(ap netip.AddrPort) bool {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return !p.isTURNSocket(ap) && p.allowPeer(ap)
}

// limiter lets one log line through per interval and counts the ones it suppressed.
type limiter struct {
	interval   time.Duration
	last       atomic.Int64 // unix nanoseconds of the last line let through
	suppressed atomic.Int64
}

func (l *limiter) allow(now time.Time) (suppressed int64, ok bool) {
	last, n := l.last.Load(), now.UnixNano()
	if (last != 0 && n-last < int64(l.interval)) || !l.last.CompareAndSwap(last, n) {
		l.suppressed.Add(1)
		return 0, false
	}
	return l.suppressed.Swap(0), true
}

// relayGenerator allocates relay sockets in the configured port range, bound to ListenIP
// and advertised at PublicIP, and wraps them in relayConns.
type relayGenerator struct {
	inner    pionturn.RelayAddressGeneratorPortRange
	t        *tracker
	policy   *policy
	log      *slog.Logger
	refusals *limiter
	drops    *atomic.Uint64
}

var errRequestedPort = errors.New("requested relay port outside the relay port range")

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

func (g *relayGenerator) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	if requestedPort != 0 && (requestedPort < int(g.inner.MinPort) || requestedPort > int(g.inner.MaxPort)) {
		return nil, nil, fmt.Errorf("%w: %d", errRequestedPort, requestedPort)
	}
	pc, addr, err := g.inner.AllocatePacketConn(network, requestedPort)
	if err != nil {
		return nil, nil, err
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("relay address %v is not UDP", addr)
	}
	rc := &relayConn{PacketConn: pc, g: g, port: uint16(ua.Port), guard: readerGuard{t: g.t}}
	g.policy.setRelayPort(rc.port, true)
	if !g.t.add(rc) {
		g.policy.setRelayPort(rc.port, false)
		_ = pc.Close()
		return nil, nil, net.ErrClosed
	}
	return rc, addr, nil
}

func (g *relayGenerator) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.ErrUnsupported // TCP relays (RFC 6062) are not offered
}

// refused counts a datagram the policy dropped and logs it, rate-limited.
func (g *relayGenerator) refused(peer net.Addr, dir string) {
	g.drops.Add(1)
	if suppressed, ok := g.refusals.allow(time.Now()); ok {
		g.log.Info("turn relay refused datagram", "peer", peer, "direction", dir, "suppressed", suppressed)
	}
}

// relayConn is the socket of one allocation. Every datagram it sends or receives is
// checked against the policy with the exact peer address; refused ones are dropped.
type relayConn struct {
	net.PacketConn
	g     *relayGenerator
	port  uint16
	guard readerGuard
	close closeOnce
}

func (c *relayConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if !c.guard.start() {
		return 0, nil, net.ErrClosed
	}
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			c.guard.stop()
			return n, addr, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok && c.g.policy.allow(ua.AddrPort()) {
			return n, addr, nil
		}
		c.g.refused(addr, "from peer")
	}
}

func (c *relayConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); !ok || !c.g.policy.allow(ua.AddrPort()) {
		c.g.refused(addr, "to peer")
		return len(b), nil // dropped like any UDP datagram; pion would only log an error
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *relayConn) Close() error {
	return c.close.do(func() error {
		c.g.t.remove(c)
		c.g.policy.setRelayPort(c.port, false) // before the port can be reused
		return c.PacketConn.Close()
	})
}
