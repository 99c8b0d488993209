package turn

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
	"go.uber.org/goleak"
)

var loopback = netip.MustParseAddr("127.0.0.1")

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newServer starts a Server closed at the end of the test.
func newServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// newUDPSocket opens a UDP socket on 127.0.0.1, closed at the end of the test.
func newUDPSocket(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatalf("listen udp: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func addrPort(c *net.UDPConn) netip.AddrPort {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// newEchoPeer is a UDP socket on 127.0.0.1 that sends every datagram back to its sender.
func newEchoPeer(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatalf("listen udp: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDPAddrPort(buf[:n], from)
		}
	})
	tb.Cleanup(func() {
		_ = c.Close()
		wg.Wait()
	})
	return c
}

// newClient connects a pion/turn client to the server described by e, with password
// instead of e.Password when it is not empty. The client is closed at the end of the test.
func newClient(tb testing.TB, e Entry) *pionturn.Client {
	tb.Helper()
	addr := net.JoinHostPort(e.ServerAddr, strconv.Itoa(e.ServerPort))
	var conn net.PacketConn
	switch e.Transport {
	case "udp":
		conn = newUDPSocket(tb)
	case "tcp":
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			tb.Fatalf("dial turn tcp: %v", err)
		}
		tb.Cleanup(func() { _ = c.Close() })
		conn = pionturn.NewSTUNConn(c)
	default:
		tb.Fatalf("transport %q", e.Transport)
	}
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: addr,
		Username:       e.Username,
		Password:       e.Password,
		Conn:           conn,
		LoggerFactory:  pionLoggerFactory(quietLogger()),
	})
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	if err := client.Listen(); err != nil {
		tb.Fatalf("Listen: %v", err)
	}
	tb.Cleanup(client.Close) // runs before the conn is closed (cleanups are LIFO)
	return client
}

// allocate allocates a relay, released at the end of the test.
func allocate(tb testing.TB, client *pionturn.Client) net.PacketConn {
	tb.Helper()
	relay, err := client.Allocate()
	if err != nil {
		tb.Fatalf("Allocate: %v", err)
	}
	tb.Cleanup(func() { _ = relay.Close() })
	return relay
}

// roundTrip sends msg through relay to an echo peer until the echo comes back.
func roundTrip(t *testing.T, relay net.PacketConn, peer netip.AddrPort, msg []byte) {
	t.Helper()
	to := net.UDPAddrFromAddrPort(peer)
	buf := make([]byte, 2048)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := relay.WriteTo(msg, to); err != nil {
			t.Fatalf("relay WriteTo %v: %v", peer, err)
		}
		_ = relay.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, from, err := relay.ReadFrom(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			continue // the first datagram can race its CreatePermission; send again
		}
		if err != nil {
			t.Fatalf("relay ReadFrom: %v", err)
		}
		if got := from.(*net.UDPAddr).AddrPort(); netip.AddrPortFrom(got.Addr().Unmap(), got.Port()) != peer {
			t.Fatalf("reply from %v, want %v", got, peer)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Fatalf("reply %q, want %q", buf[:n], msg)
		}
		return
	}
	t.Fatalf("no reply from %v through the relay", peer)
}

// expectSilence fails if c receives a datagram within d.
func expectSilence(t *testing.T, c net.PacketConn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 2048)
	n, from, err := c.ReadFrom(buf)
	if err == nil {
		t.Fatalf("received %d bytes from %v, want nothing", n, from)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("ReadFrom: %v, want a timeout", err)
	}
}

func only(allowed ...netip.AddrPort) func(netip.AddrPort) bool {
	return func(ap netip.AddrPort) bool {
		for _, a := range allowed {
			if a == ap {
				return true
			}
		}
		return false
	}
}

func TestServersEntries(t *testing.T) {
	s := newServer(t, Config{TCPPort: AnyPort, CredentialTTL: time.Hour})
	before := time.Now()
	entries := s.Servers("p1")
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	for i, want := range []struct {
		transport string
		port      uint16
	}{{"udp", s.UDPAddr().Port()}, {"tcp", s.TCPAddr().Port()}} {
		e := entries[i]
		if e.Transport != want.transport || e.ServerPort != int(want.port) || e.ServerAddr != "127.0.0.1" {
			t.Errorf("entry %d = %+v, want %s at 127.0.0.1:%d", i, e, want.transport, want.port)
		}
		expiry, peer, _ := strings.Cut(e.Username, ":")
		unix, err := strconv.ParseInt(expiry, 10, 64)
		if err != nil || peer != "p1" {
			t.Errorf("username %q, want <unix time>:p1", e.Username)
		}
		if d := time.Unix(unix, 0).Sub(before); d < time.Hour-time.Second || d > time.Hour+2*time.Second {
			t.Errorf("username expires in %v, want 1h", d)
		}
		if e.Password != s.creds.password(e.Username) {
			t.Errorf("password %q, want the HMAC of the username", e.Password)
		}
	}
	b, err := json.Marshal(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"serverAddr":`, `"serverPort":`, `"transport":`, `"username":`, `"password":`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("json %s lacks %s", b, key)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"ipv6 listen", Config{ListenIP: netip.MustParseAddr("::1")}},
		{"unspecified public", Config{ListenIP: netip.IPv4Unspecified()}},
		{"bad relay range", Config{RelayPortMin: 6000, RelayPortMax: 5000}},
		{"bad tcp port", Config{TCPPort: -2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = quietLogger()
			if s, err := New(tc.cfg); err == nil {
				_ = s.Close()
				t.Fatalf("New(%+v) succeeded, want an error", tc.cfg)
			}
		})
	}
}

// (1) A client authenticates with Servers credentials over UDP, allocates and relays.
func TestRelayUDP(t *testing.T) {
	peer := newEchoPeer(t)
	s := newServer(t, Config{ListenIP: loopback, AllowPeer: only(addrPort(peer))})
	client := newClient(t, s.Servers("p1")[0])
	relay := allocate(t, client)

	ra := relay.LocalAddr().(*net.UDPAddr)
	if !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) || ra.Port < DefaultRelayPortMin || ra.Port > DefaultRelayPortMax {
		t.Errorf("relay address %v, want 127.0.0.1 in %d-%d", ra, DefaultRelayPortMin, DefaultRelayPortMax)
	}
	roundTrip(t, relay, addrPort(peer), []byte("hello through turn"))
	if n := s.Allocations(); n != 1 {
		t.Errorf("Allocations() = %d, want 1", n)
	}
}

// (4) TURN over TCP, with a UDP relay.
func TestRelayTCP(t *testing.T) {
	peer := newEchoPeer(t)
	s := newServer(t, Config{TCPPort: AnyPort, AllowPeer: only(addrPort(peer))})
	entries := s.Servers("p1")
	if len(entries) != 2 || entries[1].Transport != "tcp" {
		t.Fatalf("Servers = %+v, want udp then tcp", entries)
	}
	relay := allocate(t, newClient(t, entries[1]))
	roundTrip(t, relay, addrPort(peer), []byte("hello over tcp"))
}

// (2) Peers AllowPeer refuses, and our own TURN sockets, are never relayed to.
func TestRelayRefused(t *testing.T) {
	t.Run("port not allowed", func(t *testing.T) {
		good, bad := newEchoPeer(t), newUDPSocket(t)
		s := newServer(t, Config{AllowPeer: only(addrPort(good))})
		relay := allocate(t, newClient(t, s.Servers("p1")[0]))
		roundTrip(t, relay, addrPort(good), []byte("allowed")) // permission for 127.0.0.1 exists now

		if _, err := relay.WriteTo([]byte("to bad"), bad.LocalAddr()); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		if _, err := bad.WriteTo([]byte("from bad"), relay.LocalAddr()); err != nil {
			t.Fatalf("WriteTo relay: %v", err)
		}
		expectSilence(t, bad, 300*time.Millisecond)
		expectSilence(t, relay, 100*time.Millisecond)
		if n := s.DroppedDatagrams(); n != 2 {
			t.Errorf("DroppedDatagrams() = %d, want 2", n)
		}
	})

	t.Run("ip not allowed", func(t *testing.T) {
		var logs syncBuffer
		s := newServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		relay := allocate(t, newClient(t, s.Servers("p1")[0]))
		other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 9}
		if _, err := relay.WriteTo([]byte("x"), other); err == nil {
			t.Fatal("WriteTo 127.0.0.2 succeeded, want a refused CreatePermission")
		}
		if !strings.Contains(logs.String(), "turn permission refused") {
			t.Errorf("logs lack the refused permission:\n%s", logs.String())
		}
	})

	t.Run("own turn sockets", func(t *testing.T) {
		s := newServer(t, Config{TCPPort: AnyPort, AllowPeer: func(netip.AddrPort) bool { return true }})
		a := allocate(t, newClient(t, s.Servers("a")[0]))
		b := allocate(t, newClient(t, s.Servers("b")[0]))
		bAddr := b.LocalAddr().(*net.UDPAddr)
		// a gets a permission for 127.0.0.1 (its datagram to b's relay is dropped) ...
		if _, err := a.WriteTo([]byte("a to b"), bAddr); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		// ... so only our rule stops b's relay from feeding a's relay, or our listeners.
		targets := []net.Addr{a.LocalAddr(), net.UDPAddrFromAddrPort(s.UDPAddr()), net.UDPAddrFromAddrPort(s.TCPAddr())}
		for _, to := range targets {
			if _, err := b.WriteTo([]byte("b to turn"), to); err != nil {
				t.Fatalf("WriteTo %v: %v", to, err)
			}
		}
		expectSilence(t, a, 300*time.Millisecond)
		expectSilence(t, b, 10*time.Millisecond)
		if n := s.DroppedDatagrams(); n != uint64(1+len(targets)) {
			t.Errorf("DroppedDatagrams() = %d, want %d", n, 1+len(targets))
		}
	})
}

// (3) Wrong, expired, malformed and foreign credentials are refused.
func TestAuthRefused(t *testing.T) {
	s := newServer(t, Config{})
	other := newServer(t, Config{})
	good := s.Servers("p1")[0]
	expired := strconv.FormatInt(time.Now().Add(-time.Second).Unix(), 10) + ":p1"
	for _, tc := range []struct {
		name, username, password string
	}{
		{"wrong password", good.Username, "bm90LXRoZS1wYXNzd29yZA=="},
		{"expired username", expired, s.creds.password(expired)},
		{"malformed username", "p1", s.creds.password("p1")},
		{"other server's credentials", other.Servers("p1")[0].Username, other.Servers("p1")[0].Password},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good
			e.Username, e.Password = tc.username, tc.password
			relay, err := newClient(t, e).Allocate()
			if err == nil {
				_ = relay.Close()
				t.Fatal("Allocate succeeded, want an authentication error")
			}
		})
	}
	if n := s.Allocations(); n != 0 {
		t.Errorf("Allocations() = %d, want 0", n)
	}
}

func TestCredentials(t *testing.T) {
	c, err := newCredentials("jellyfish", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	user, pass := c.issue("peer:with:colons", now)
	if user != "1700003600:peer:with:colons" || peerOf(user) != "peer:with:colons" {
		t.Fatalf("issue = %q, want 1700003600:peer:with:colons", user)
	}
	for _, tc := range []struct {
		name, user, realm string
		at                time.Time
		ok                bool
	}{
		{"valid", user, "jellyfish", now, true},
		{"valid at expiry", user, "jellyfish", now.Add(time.Hour), true},
		{"expired", user, "jellyfish", now.Add(time.Hour + time.Second), false},
		{"wrong realm", user, "other", now, false},
		{"no colon", "1700003600", "jellyfish", now, false},
		{"not a number", "soon:peer", "jellyfish", now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, reason := c.authKey(tc.user, tc.realm, tc.at)
			if (key != nil) != tc.ok {
				t.Fatalf("authKey(%q, %q) = %x (%s), want ok=%v", tc.user, tc.realm, key, reason, tc.ok)
			}
			if tc.ok && !bytes.Equal(key, pionturn.GenerateAuthKey(tc.user, tc.realm, pass)) {
				t.Fatal("authKey does not match the issued password")
			}
		})
	}
}

// (5) Close closes listeners, allocations and TCP connections and waits for pion/turn.
func TestCloseReleases(t *testing.T) {
	peer := newEchoPeer(t)
	s, err := New(Config{TCPPort: AnyPort, AllowPeer: only(addrPort(peer)), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	entries := s.Servers("p1")

	// Clients are torn down by hand below, before goleak looks.
	udpConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcpConn, err := net.Dial("tcp4", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	var relays []net.PacketConn
	var clients []*pionturn.Client
	for i, conn := range []net.PacketConn{udpConn, pionturn.NewSTUNConn(tcpConn)} {
		c, err := pionturn.NewClient(&pionturn.ClientConfig{
			TURNServerAddr: net.JoinHostPort(entries[i].ServerAddr, strconv.Itoa(entries[i].ServerPort)),
			Username:       entries[i].Username, Password: entries[i].Password, Conn: conn,
			LoggerFactory: pionLoggerFactory(quietLogger()),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := c.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, relay, addrPort(peer), []byte("before close"))
		clients, relays = append(clients, c), append(relays, relay)
	}
	if n := s.Allocations(); n != 2 {
		t.Fatalf("Allocations() = %d, want 2", n)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// Every port the server held is free again.
	for _, ap := range []string{s.UDPAddr().String(), relays[0].LocalAddr().String(), relays[1].LocalAddr().String()} {
		pc, err := net.ListenPacket("udp4", ap)
		if err != nil {
			t.Errorf("udp %s still in use: %v", ap, err)
			continue
		}
		_ = pc.Close()
	}
	l, err := net.Listen("tcp4", s.TCPAddr().String())
	if err != nil {
		t.Errorf("tcp %s still in use: %v", s.TCPAddr(), err)
	} else {
		_ = l.Close()
	}
	// The server closed the accepted TCP connection although the client kept it open.
	_ = tcpConn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := tcpConn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("client TCP read after Close: %v, want EOF or reset", err)
	}

	for i := range clients {
		_ = relays[i].Close()
		clients[i].Close()
	}
	_ = udpConn.Close()
	_ = tcpConn.Close()
	_ = peer.Close()
	goleak.VerifyNone(t)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
