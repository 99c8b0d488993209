// Package metrics exports the statistics of a jellyfish.Engine as the Prometheus metrics of
// Jellyfish v0.5.0 (server-api.md §13), on a registry the caller chooses.
package metrics

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// DefaultInterval is how often a Collector refreshes the room gauges and time counters, as in
// Jellyfish.
const DefaultInterval = 10 * time.Second

// Options configures a Collector. The zero value works.
type Options struct {
	// Interval is how often jellyfish_rooms, jellyfish_room_peers, and the peer-time and duration
	// counters are refreshed; each refresh adds one Interval to the time counters.
	// Default: DefaultInterval.
	Interval time.Duration
	// Logger receives the collector's logs. Default: slog.Default().
	Logger *slog.Logger
}

const roomLabel = "room_id"

// Collector keeps the Jellyfish metrics of one engine up to date. The room gauges and time
// counters are refreshed every Options.Interval; the peer connect, disconnect and crash counters
// follow the engine's events as they come; the traffic counters are fed by HTTPMiddleware and
// AddWebRTCTraffic.
//
// Per-room series are kept after their room ends (jellyfish_room_peers drops to 0), as in
// Jellyfish, so a registry accumulates one set of series per room ever seen.
//
// Goroutines: one, the collector loop, started by New and stopped (and waited for) by Close.
// It owns the engine subscription. All methods are safe for concurrent use.
type Collector struct {
	engine   *jellyfish.Engine
	interval time.Duration
	log      *slog.Logger

	rooms           prometheus.Gauge
	roomPeers       *prometheus.GaugeVec
	peerTime        *prometheus.CounterVec
	duration        *prometheus.CounterVec
	connects        *prometheus.CounterVec
	disconnects     *prometheus.CounterVec
	crashes         *prometheus.CounterVec
	lastIn, lastOut uint64 // engine WebRTC traffic already counted; only the loop touches them
	webrtcIn        prometheus.Counter
	webrtcOut       prometheus.Counter
	httpIn          prometheus.Counter
	httpOut         prometheus.Counter

	sub    *jellyfish.Subscription // owned by the loop once it runs
	closed atomic.Bool
	done   chan struct{}
	wg     sync.WaitGroup
}

// New registers the Jellyfish metrics on reg, subscribes to e's events and starts refreshing the
// metrics. Events published after New returns are counted. It fails if a metric cannot be
// registered (for example, reg already holds a Collector), leaving reg as it was.
// Close the Collector when done; it does not close the engine.
func New(e *jellyfish.Engine, reg prometheus.Registerer, opts Options) (*Collector, error) {
	c, err := newCollector(e, reg, opts)
	if err != nil {
		return nil, err
	}
	c.start()
	return c, nil
}

// newCollector registers the metrics and subscribes, but does not start the loop.
func newCollector(e *jellyfish.Engine, reg prometheus.Registerer, opts Options) (*Collector, error) {
	if e == nil || reg == nil {
		return nil, errors.New("metrics: nil engine or registerer")
	}
	if opts.Interval < 0 {
		return nil, fmt.Errorf("metrics: negative interval %v", opts.Interval)
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Collector{
		engine:   e,
		interval: opts.Interval,
		log:      opts.Logger,
		done:     make(chan struct{}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "jellyfish_rooms",
			Help: "Number of rooms currently present in Jellyfish.",
		}),
		roomPeers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jellyfish_room_peers",
			Help: "Number of peers currently present in a given room, connected or not.",
		}, []string{roomLabel}),
		peerTime: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jellyfish_room_peer_time_total_seconds",
			Help: "Total peer time accumulated for a given room.",
		}, []string{roomLabel}),
		duration: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jellyfish_room_duration_seconds",
			Help: "Duration of a given room.",
		}, []string{roomLabel}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jellyfish_room_peer_connects_total",
			Help: "Number of peer connections in a given room.",
		}, []string{roomLabel}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jellyfish_room_peer_disconnects_total",
			Help: "Number of peer disconnections in a given room.",
		}, []string{roomLabel}),
		crashes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jellyfish_room_peer_crashes_total",
			Help: "Number of peer crashes in a given room.",
		}, []string{roomLabel}),
		webrtcIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jellyfish_traffic_ingress_webrtc_total_bytes",
			Help: "Total WebRTC traffic received (bytes).",
		}),
		webrtcOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jellyfish_traffic_egress_webrtc_total_bytes",
			Help: "Total WebRTC traffic sent (bytes).",
		}),
		httpIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jellyfish_traffic_ingress_http_total_bytes",
			Help: "Total HTTP traffic received (approximate bytes).",
		}),
		httpOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jellyfish_traffic_egress_http_total_bytes",
			Help: "Total HTTP traffic sent (approximate bytes).",
		}),
	}
	all := []prometheus.Collector{
		c.rooms, c.roomPeers, c.peerTime, c.duration, c.connects, c.disconnects, c.crashes,
		c.webrtcIn, c.webrtcOut, c.httpIn, c.httpOut,
	}
	for i, m := range all {
		if err := reg.Register(m); err != nil {
			for _, done := range all[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	c.sub = e.Subscribe(0)
	return c, nil
}

func (c *Collector) start() { c.wg.Go(c.loop) }

// Close stops refreshing the metrics and ends the engine subscription. The metrics stay
// registered with their last values, and the traffic counters keep counting. Close is
// idempotent and waits for the collector goroutine to exit.
func (c *Collector) Close() {
	if c.closed.Swap(true) {
		return
	}
	close(c.done)
	c.wg.Wait()
}

// AddWebRTCTraffic adds to the WebRTC traffic counters: in bytes received and out bytes sent
// (ICE payload). It is meant for the media plane and is cheap enough to call per packet batch.
func (c *Collector) AddWebRTCTraffic(in, out uint64) {
	if in > 0 {
		c.webrtcIn.Add(float64(in))
	}
	if out > 0 {
		c.webrtcOut.Add(float64(out))
	}
}

// loop is the collector goroutine: it refreshes the gauges on every tick and counts events.
func (c *Collector) loop() {
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	defer func() { c.sub.Close() }()
	events := c.sub.Events()
	for {
		select {
		case <-c.done:
			return
		case <-ticker.C:
			c.refresh()
		case ev, ok := <-events:
			if ok {
				c.handle(ev)
				continue
			}
			err := c.sub.Err()
			if !errors.Is(err, jellyfish.ErrSlowSubscriber) {
				// The engine closed: no more events, but keep refreshing (rooms drop to 0).
				c.log.Debug("metrics: engine event subscription ended", "err", err)
				events = nil
				continue
			}
			c.log.Warn("metrics: fell behind engine events, resubscribing; peer counters may miss some events")
			c.sub = c.engine.Subscribe(0)
			events = c.sub.Events()
		}
	}
}

// handle counts one engine event.
func (c *Collector) handle(ev jellyfish.Event) {
	switch ev := ev.(type) {
	case jellyfish.PeerConnected:
		c.connects.WithLabelValues(ev.RoomID).Inc()
	case jellyfish.PeerDisconnected:
		c.disconnects.WithLabelValues(ev.RoomID).Inc()
	case jellyfish.PeerCrashed:
		c.crashes.WithLabelValues(ev.RoomID).Inc()
	case jellyfish.RoomDeleted:
		c.roomPeers.WithLabelValues(ev.RoomID).Set(0)
	case jellyfish.RoomCrashed:
		c.roomPeers.WithLabelValues(ev.RoomID).Set(0)
	}
}

// refresh sets the room gauges and adds one interval to the time counters of every room, and
// brings the WebRTC traffic counters up to the engine's totals.
func (c *Collector) refresh() {
	in, out := c.engine.WebRTCTraffic()
	c.AddWebRTCTraffic(in-min(in, c.lastIn), out-min(out, c.lastOut))
	c.lastIn, c.lastOut = max(in, c.lastIn), max(out, c.lastOut)
	rooms := c.engine.Rooms()
	c.rooms.Set(float64(len(rooms)))
	secs := c.interval.Seconds()
	for _, r := range rooms {
		info := r.Info()
		peers := float64(len(info.Peers))
		c.roomPeers.WithLabelValues(info.ID).Set(peers)
		c.peerTime.WithLabelValues(info.ID).Add(peers * secs)
		c.duration.WithLabelValues(info.ID).Add(secs)
	}
}

// Sizes added to the approximate HTTP traffic, as Jellyfish's TrafficMetricsPlug does: the
// request line's spaces, version and CRLFs; the status line and the headers the server adds
// itself; the ": " and CRLF of each header.
const (
	requestOverhead  = 14
	responseOverhead = 19 + 60
	headerOverhead   = 4
)

// HTTPMiddleware counts the approximate size of every request (method, path, query and headers,
// not the body) and response (body and headers) that passes through it in the HTTP traffic
// counters. A hijacked connection (a WebSocket) counts its upgrade response, if one was written
// through the ResponseWriter, but not the traffic after it.
func (c *Collector) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.httpIn.Add(float64(requestSize(r)))
		cw := &countingWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r)
		if cw.hijacked && !cw.wroteHeader {
			return
		}
		if !cw.wroteHeader {
			cw.headerBytes = headersSize(w.Header())
		}
		c.httpOut.Add(float64(cw.bodyBytes + cw.headerBytes + responseOverhead))
	})
}

func requestSize(r *http.Request) int {
	n := len(r.Method) + len(r.URL.EscapedPath()) + len(r.URL.RawQuery) + requestOverhead
	if r.Host != "" { // net/http moves the Host header out of r.Header
		n += len("host") + len(r.Host) + headerOverhead
	}
	return n + headersSize(r.Header)
}

func headersSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + headerOverhead
		}
	}
	return n
}

// countingWriter measures a response. It is used by one handler goroutine at a time, as a
// ResponseWriter is.
type countingWriter struct {
	http.ResponseWriter
	wroteHeader bool
	hijacked    bool
	headerBytes int
	bodyBytes   int
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.wroteHeader = true
		w.headerBytes = headersSize(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.headerBytes = headersSize(w.Header())
	}
	n, err := w.ResponseWriter.Write(p)
	w.bodyBytes += n
	return n, err
}

// Flush implements http.Flusher when the underlying writer can flush.
func (w *countingWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker (WebSocket libraries look for it) by delegating to the
// underlying writer; it fails with http.ErrNotSupported when that cannot hijack.
func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
