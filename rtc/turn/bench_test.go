//go:build unix

package turn

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// BenchmarkRelay measures what one relayed 1200-byte datagram costs the process.
//
//   - relay/up:   client ChannelData -> TURN listener -> relay socket -> peer socket
//   - relay/down: peer socket -> relay socket -> TURN ChannelData -> client
//   - direct:     client socket -> peer socket, the same datagram without TURN
//
// The client writes and reads raw ChannelData frames on its own socket, so the pion/turn
// client's encoding is not measured: relay minus direct is the TURN server's cost (one
// extra receive and send, plus pion/turn's processing). window is how many datagrams may
// be in flight: 1 measures the hop's latency, 32 its throughput. cpu-ns/pkt is process
// CPU time (user+system, all goroutines, GC included) per datagram.
func BenchmarkRelay(b *testing.B) {
	payload := make([]byte, 1200)
	env := newBenchEnv(b)
	for _, window := range []int{1, 32} {
		name := "window=" + map[int]string{1: "1", 32: "32"}[window]
		b.Run("relay/up/"+name, func(b *testing.B) {
			frame := env.frame
			to := net.UDPAddrFromAddrPort(env.server)
			pump(b, window, env.atPeer, func() error {
				_, err := env.client.WriteTo(frame, to)
				return err
			})
		})
		b.Run("relay/down/"+name, func(b *testing.B) {
			to := env.relayAddr
			pump(b, window, env.atClient, func() error {
				_, err := env.peer.WriteTo(payload, to)
				return err
			})
		})
		b.Run("direct/"+name, func(b *testing.B) {
			to := env.peer.LocalAddr()
			pump(b, window, env.atPeer, func() error {
				_, err := env.direct.WriteTo(payload, to)
				return err
			})
		})
	}
}

// benchEnv is one TURN server, one allocation with a bound channel to one peer socket,
// and the goroutines that count arrivals at the peer and at the client.
type benchEnv struct {
	server    netip.AddrPort
	client    *net.UDPConn // the TURN client's socket; its frames are read by readClient
	direct    *net.UDPConn // a plain socket for the baseline
	peer      *net.UDPConn
	relayAddr net.Addr
	frame     []byte        // a ChannelData frame carrying 1200 bytes to peer
	atPeer    chan struct{} // one per datagram the peer receives
	atClient  chan struct{} // one per ChannelData frame the client receives
	done      chan struct{} // closed at cleanup: the counting goroutines stop sending
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	peer := newUDPSocket(b)
	s := newServer(b, Config{AllowPeer: only(addrPort(peer))})
	e := &benchEnv{
		server:   s.UDPAddr(),
		client:   newUDPSocket(b),
		direct:   newUDPSocket(b),
		peer:     peer,
		atPeer:   make(chan struct{}, 64),
		atClient: make(chan struct{}, 64),
		done:     make(chan struct{}),
	}
	for _, c := range []*net.UDPConn{e.client, e.peer} {
		_ = c.SetReadBuffer(4 << 20)
	}

	rec := &frameRecorder{PacketConn: e.client}
	entry := s.Servers("bench")[0]
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: e.server.String(),
		Username:       entry.Username,
		Password:       entry.Password,
		Conn:           rec,
		LoggerFactory:  pionLoggerFactory(quietLogger()),
	})
	if err != nil {
		b.Fatal(err)
	}

	// We own the read loops: STUN goes to the pion client, ChannelData is only counted.
	var wg sync.WaitGroup
	wg.Go(func() { e.readClient(client) })
	wg.Go(func() { e.readPeer() })
	b.Cleanup(func() { // after the relay and the client are closed (cleanups are LIFO)
		close(e.done)
		_ = e.client.Close()
		_ = e.peer.Close()
		wg.Wait()
	})
	b.Cleanup(client.Close)

	relay, err := client.Allocate()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = relay.Close() })
	e.relayAddr = relay.LocalAddr()

	// Send through the pion client until it has bound a channel and sends ChannelData.
	to := peer.LocalAddr()
	payload := make([]byte, 1200)
	deadline := time.Now().Add(5 * time.Second)
	for e.frame = rec.frame(); e.frame == nil; e.frame = rec.frame() {
		if time.Now().After(deadline) {
			b.Fatal("no channel binding")
		}
		if _, err := relay.WriteTo(payload, to); err != nil {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Drain what the warm-up delivered.
	time.Sleep(50 * time.Millisecond)
	for len(e.atPeer) > 0 {
		<-e.atPeer
	}
	return e
}

func (e *benchEnv) readClient(client *pionturn.Client) {
	buf := make([]byte, 2048)
	for {
		n, from, err := e.client.ReadFrom(buf)
		if err != nil {
			return
		}
		if n >= 4 && buf[0]&0xC0 == 0x40 { // ChannelData: channel numbers are 0x4000-0x7FFF
			select {
			case e.atClient <- struct{}{}:
			case <-e.done:
				return
			}
			continue
		}
		_, _ = client.HandleInbound(buf[:n], from)
	}
}

func (e *benchEnv) readPeer() {
	buf := make([]byte, 2048)
	for {
		if _, _, err := e.peer.ReadFrom(buf); err != nil {
			return
		}
		select {
		case e.atPeer <- struct{}{}:
		case <-e.done:
			return
		}
	}
}

// frameRecorder keeps a copy of the first ChannelData frame the pion client sends.
type frameRecorder struct {
	net.PacketConn
	rec atomic.Pointer[[]byte]
}

func (r *frameRecorder) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) >= 4 && p[0]&0xC0 == 0x40 && r.rec.Load() == nil {
		f := append([]byte(nil), p...)
		r.rec.CompareAndSwap(nil, &f)
	}
	return r.PacketConn.WriteTo(p, addr)
}

func (r *frameRecorder) frame() []byte {
	if f := r.rec.Load(); f != nil {
		return *f
	}
	return nil
}

// pump sends b.N datagrams with at most window in flight, waits until all have arrived,
// and reports pkts/s and cpu-ns/pkt.
func pump(b *testing.B, window int, arrived <-chan struct{}, send func() error) {
	lost := time.NewTimer(time.Hour)
	defer lost.Stop()
	wait := func() {
		select {
		case <-arrived:
			return
		default:
		}
		lost.Reset(2 * time.Second)
		select {
		case <-arrived:
		case <-lost.C:
			b.Fatal("a datagram was lost")
		}
	}
	b.SetBytes(1200)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	inflight := 0
	for range b.N {
		for inflight >= window {
			wait()
			inflight--
		}
		if err := send(); err != nil {
			b.Fatal(err)
		}
		inflight++
	}
	for ; inflight > 0; inflight-- {
		wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/pkt")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
