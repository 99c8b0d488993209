package metrics

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var discard = slog.New(slog.DiscardHandler)

// nopTransport is a PeerTransport that drops everything. It is not zero-sized, so that two of
// them never share an address.
type nopTransport struct{ _ byte }

func (nopTransport) SendMediaEvent(string)            {}
func (nopTransport) Close(jellyfish.DisconnectReason) {}

func newEngine(t *testing.T, cfg jellyfish.Config) *jellyfish.Engine {
	t.Helper()
	cfg.Logger = discard
	e, err := jellyfish.New(cfg)
	if err != nil {
		t.Fatalf("jellyfish.New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newTestCollector(t *testing.T, e *jellyfish.Engine, reg prometheus.Registerer, interval time.Duration) *Collector {
	t.Helper()
	c, err := New(e, reg, Options{Interval: interval, Logger: discard})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// addConnectedPeer adds a peer to room and connects a client to it.
func addConnectedPeer(t *testing.T, e *jellyfish.Engine, room *jellyfish.Room) (*jellyfish.Peer, jellyfish.PeerTransport) {
	t.Helper()
	p, token, err := room.AddPeer(jellyfish.PeerOptions{})
	if err != nil {
		t.Fatalf("AddPeer: %v", err)
	}
	tr := &nopTransport{}
	if _, err := e.ConnectPeer(token, tr); err != nil {
		t.Fatalf("ConnectPeer: %v", err)
	}
	return p, tr
}

func createRoom(t *testing.T, e *jellyfish.Engine, id string) *jellyfish.Room {
	t.Helper()
	r, err := e.CreateRoom(jellyfish.RoomConfig{RoomID: id})
	if err != nil {
		t.Fatalf("CreateRoom(%q): %v", id, err)
	}
	return r
}

// compare checks the exposition of the named metrics (HELP and TYPE lines are added).
func compare(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

const (
	roomsHead = `# HELP jellyfish_rooms Number of rooms currently present in Jellyfish.
# TYPE jellyfish_rooms gauge
`
	peersHead = `# HELP jellyfish_room_peers Number of peers currently present in a given room, connected or not.
# TYPE jellyfish_room_peers gauge
`
	peerTimeHead = `# HELP jellyfish_room_peer_time_total_seconds Total peer time accumulated for a given room.
# TYPE jellyfish_room_peer_time_total_seconds counter
`
	durationHead = `# HELP jellyfish_room_duration_seconds Duration of a given room.
# TYPE jellyfish_room_duration_seconds counter
`
	connectsHead = `# HELP jellyfish_room_peer_connects_total Number of peer connections in a given room.
# TYPE jellyfish_room_peer_connects_total counter
`
	disconnectsHead = `# HELP jellyfish_room_peer_disconnects_total Number of peer disconnections in a given room.
# TYPE jellyfish_room_peer_disconnects_total counter
`
	crashesHead = `# HELP jellyfish_room_peer_crashes_total Number of peer crashes in a given room.
# TYPE jellyfish_room_peer_crashes_total counter
`
)

// TestPeerMetrics follows Jellyfish's "proper calculated peer metrics" test: one tick with one
// connected peer, then the room is deleted.
func TestPeerMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{})
		reg := prometheus.NewRegistry()
		newTestCollector(t, e, reg, time.Second)

		room := createRoom(t, e, "room1")
		addConnectedPeer(t, e, room)
		time.Sleep(time.Second)
		synctest.Wait()
		compare(t, reg, roomsHead+"jellyfish_rooms 1\n"+
			peersHead+`jellyfish_room_peers{room_id="room1"} 1`+"\n"+
			peerTimeHead+`jellyfish_room_peer_time_total_seconds{room_id="room1"} 1`+"\n"+
			durationHead+`jellyfish_room_duration_seconds{room_id="room1"} 1`+"\n"+
			connectsHead+`jellyfish_room_peer_connects_total{room_id="room1"} 1`+"\n",
			"jellyfish_rooms", "jellyfish_room_peers", "jellyfish_room_peer_time_total_seconds",
			"jellyfish_room_duration_seconds", "jellyfish_room_peer_connects_total")

		if err := e.DeleteRoom("room1"); err != nil {
			t.Fatalf("DeleteRoom: %v", err)
		}
		synctest.Wait()
		// Immediately: the room's peers gauge drops to 0 (the rooms gauge waits for the tick).
		compare(t, reg, peersHead+`jellyfish_room_peers{room_id="room1"} 0`+"\n", "jellyfish_room_peers")

		time.Sleep(time.Second)
		synctest.Wait()
		compare(t, reg, roomsHead+"jellyfish_rooms 0\n"+
			peersHead+`jellyfish_room_peers{room_id="room1"} 0`+"\n"+
			peerTimeHead+`jellyfish_room_peer_time_total_seconds{room_id="room1"} 1`+"\n"+
			durationHead+`jellyfish_room_duration_seconds{room_id="room1"} 1`+"\n",
			"jellyfish_rooms", "jellyfish_room_peers", "jellyfish_room_peer_time_total_seconds",
			"jellyfish_room_duration_seconds")
	})
}

// TestTimeCounters checks the per-tick arithmetic: peers are counted connected or not, and each
// tick adds peers×interval and interval.
func TestTimeCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{})
		reg := prometheus.NewRegistry()
		c := newTestCollector(t, e, reg, 10*time.Second)

		a := createRoom(t, e, "a")
		b := createRoom(t, e, "b")
		addConnectedPeer(t, e, a)
		if _, _, err := a.AddPeer(jellyfish.PeerOptions{}); err != nil { // never connects
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // tick 1: a has 2 peers, b none
		synctest.Wait()
		addConnectedPeer(t, e, b)
		time.Sleep(10 * time.Second) // tick 2: a 2, b 1
		synctest.Wait()
		time.Sleep(5 * time.Second) // no tick yet
		synctest.Wait()

		tests := []struct {
			name string
			got  prometheus.Collector
			want float64
		}{
			{"rooms", c.rooms, 2},
			{"peers a", c.roomPeers.WithLabelValues("a"), 2},
			{"peers b", c.roomPeers.WithLabelValues("b"), 1},
			{"peer time a", c.peerTime.WithLabelValues("a"), 40},
			{"peer time b", c.peerTime.WithLabelValues("b"), 10},
			{"duration a", c.duration.WithLabelValues("a"), 20},
			{"duration b", c.duration.WithLabelValues("b"), 20},
			{"connects a", c.connects.WithLabelValues("a"), 1},
			{"connects b", c.connects.WithLabelValues("b"), 1},
		}
		for _, tc := range tests {
			if got := testutil.ToFloat64(tc.got); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

func TestEventCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{})
		reg := prometheus.NewRegistry()
		c := newTestCollector(t, e, reg, time.Hour)

		room := createRoom(t, e, "r")
		p, tr := addConnectedPeer(t, e, room)
		p.Disconnect(tr) // client went away: PeerDisconnected
		addConnectedPeer(t, e, room)
		// The engine has no crash path yet; feed the event as the loop would.
		c.handle(jellyfish.PeerCrashed{RoomID: "r", PeerID: "x", Reason: "boom"})
		synctest.Wait()

		compare(t, reg, connectsHead+`jellyfish_room_peer_connects_total{room_id="r"} 2`+"\n"+
			disconnectsHead+`jellyfish_room_peer_disconnects_total{room_id="r"} 1`+"\n"+
			crashesHead+`jellyfish_room_peer_crashes_total{room_id="r"} 1`+"\n",
			"jellyfish_room_peer_connects_total", "jellyfish_room_peer_disconnects_total",
			"jellyfish_room_peer_crashes_total")
	})
}

func TestRoomCrashedZeroesPeers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{})
		c := newTestCollector(t, e, prometheus.NewRegistry(), time.Second)
		room := createRoom(t, e, "r")
		addConnectedPeer(t, e, room)
		time.Sleep(time.Second)
		synctest.Wait()
		if got := testutil.ToFloat64(c.roomPeers.WithLabelValues("r")); got != 1 {
			t.Fatalf("peers = %v, want 1", got)
		}
		c.handle(jellyfish.RoomCrashed{RoomID: "r"})
		if got := testutil.ToFloat64(c.roomPeers.WithLabelValues("r")); got != 0 {
			t.Errorf("peers after RoomCrashed = %v, want 0", got)
		}
	})
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestResubscribeAfterSlow overflows the collector's subscription before its loop starts, then
// checks that the loop resubscribes, warns, and counts later events.
func TestResubscribeAfterSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{EventBuffer: 2})
		var logs syncBuffer
		c, err := newCollector(e, prometheus.NewRegistry(), Options{
			Interval: time.Hour,
			Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		room := createRoom(t, e, "r") // RoomCreated
		addConnectedPeer(t, e, room)  // PeerAdded, PeerConnected: dropped, buffer full
		c.start()
		t.Cleanup(c.Close)
		synctest.Wait()
		if !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("logs = %q, want a warning", logs.String())
		}
		addConnectedPeer(t, e, room) // PeerAdded, PeerConnected on the new subscription
		synctest.Wait()
		// The first PeerConnected was lost with the old subscription.
		if got := testutil.ToFloat64(c.connects.WithLabelValues("r")); got != 1 {
			t.Errorf("connects = %v, want 1", got)
		}
	})
}

// TestEngineClosed: the collector outlives its engine's events and keeps refreshing.
func TestEngineClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, jellyfish.Config{})
		c := newTestCollector(t, e, prometheus.NewRegistry(), time.Second)
		createRoom(t, e, "r")
		time.Sleep(time.Second)
		synctest.Wait()
		if got := testutil.ToFloat64(c.rooms); got != 1 {
			t.Fatalf("rooms = %v, want 1", got)
		}
		e.Close()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := testutil.ToFloat64(c.rooms); got != 0 {
			t.Errorf("rooms after engine close = %v, want 0", got)
		}
		c.Close()
		c.Close() // idempotent
	})
}

func TestNewErrors(t *testing.T) {
	e := newEngine(t, jellyfish.Config{})
	reg := prometheus.NewRegistry()
	if _, err := New(e, reg, Options{Interval: -time.Second}); err == nil {
		t.Error("New with a negative interval: got nil error")
	}
	if _, err := New(nil, reg, Options{}); err == nil {
		t.Error("New with a nil engine: got nil error")
	}
	c := newTestCollector(t, e, reg, 0)
	if c.interval != DefaultInterval {
		t.Errorf("default interval = %v, want %v", c.interval, DefaultInterval)
	}
	var are prometheus.AlreadyRegisteredError
	if _, err := New(e, reg, Options{Logger: discard}); !errors.As(err, &are) {
		t.Errorf("second New on one registry: err = %v, want AlreadyRegisteredError", err)
	}
	// The failed New left the registry as it was: still exactly one set of metrics.
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 5 {
		t.Errorf("GatherAndCount = %d, %v; want 5 (jellyfish_rooms and the traffic counters), nil", n, err)
	}
}

func TestTrafficCountersStartAtZero(t *testing.T) {
	e := newEngine(t, jellyfish.Config{})
	reg := prometheus.NewRegistry()
	c := newTestCollector(t, e, reg, 0)
	want := `# HELP jellyfish_traffic_egress_webrtc_total_bytes Total WebRTC traffic sent (bytes).
# TYPE jellyfish_traffic_egress_webrtc_total_bytes counter
jellyfish_traffic_egress_webrtc_total_bytes 0
# HELP jellyfish_traffic_ingress_webrtc_total_bytes Total WebRTC traffic received (bytes).
# TYPE jellyfish_traffic_ingress_webrtc_total_bytes counter
jellyfish_traffic_ingress_webrtc_total_bytes 0
`
	names := []string{"jellyfish_traffic_ingress_webrtc_total_bytes", "jellyfish_traffic_egress_webrtc_total_bytes"}
	compare(t, reg, want, names...)

	c.AddWebRTCTraffic(1000, 0)
	c.AddWebRTCTraffic(500, 2000)
	compare(t, reg, strings.NewReplacer("egress_webrtc_total_bytes 0", "egress_webrtc_total_bytes 2000",
		"ingress_webrtc_total_bytes 0", "ingress_webrtc_total_bytes 1500").Replace(want), names...)
}

func TestHTTPMiddleware(t *testing.T) {
	tests := []struct {
		name    string
		req     func() *http.Request
		handler http.HandlerFunc
		in, out float64
	}{
		{
			name: "body and headers",
			req: func() *http.Request {
				r := httptest.NewRequest("GET", "/room?a=b", nil) // Host: example.com
				r.Header.Set("Authorization", "Bearer x")
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "hello")
				w.Header().Set("X-Late", "ignored") // after the headers were sent
			},
			// GET + /room + a=b + (host example.com) + (Authorization Bearer x) + 14
			in: 3 + 5 + 3 + (4 + 11 + 4) + (13 + 8 + 4) + 14,
			// hello + (Content-Type text/plain) + 79
			out: 5 + (12 + 10 + 4) + 79,
		},
		{
			name: "no write",
			req: func() *http.Request {
				r := httptest.NewRequest("DELETE", "/room/x", nil)
				r.Host = ""
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("A", "b")
			},
			in:  6 + 7 + 14,
			out: (1 + 1 + 4) + 79,
		},
		{
			name: "status only",
			req: func() *http.Request {
				r := httptest.NewRequest("POST", "/room", strings.NewReader(`{"maxPeers":1}`))
				r.Host = ""
				return r
			},
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			},
			in:  4 + 5 + 14, // the body is not counted, as in Jellyfish
			out: 79,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, jellyfish.Config{})
			c := newTestCollector(t, e, prometheus.NewRegistry(), 0)
			h := c.HTTPMiddleware(tc.handler)
			h.ServeHTTP(httptest.NewRecorder(), tc.req())
			if got := testutil.ToFloat64(c.httpIn); got != tc.in {
				t.Errorf("ingress = %v, want %v", got, tc.in)
			}
			if got := testutil.ToFloat64(c.httpOut); got != tc.out {
				t.Errorf("egress = %v, want %v", got, tc.out)
			}
		})
	}
}

// TestHTTPMiddlewareHijack runs a real server on loopback: a handler behind the middleware can
// hijack the connection (as WebSocket libraries do), and the hijacked traffic is not counted.
func TestHTTPMiddlewareHijack(t *testing.T) {
	e := newEngine(t, jellyfish.Config{})
	c := newTestCollector(t, e, prometheus.NewRegistry(), 0)
	served := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("middleware writer is not an http.Flusher")
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		brw.Flush()
	})
	mw := c.HTTPMiddleware(inner)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		mw.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	resp, err := client.Get(srv.URL + "/socket")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hi" {
		t.Errorf("body = %q, want %q", body, "hi")
	}
	<-served // the middleware has finished counting
	if got := testutil.ToFloat64(c.httpIn); got == 0 {
		t.Error("ingress = 0, want the request counted")
	}
	if got := testutil.ToFloat64(c.httpOut); got != 0 {
		t.Errorf("egress = %v, want 0 for a hijacked connection", got)
	}
}
