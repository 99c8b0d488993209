package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jellyfish-go/jellyfish/internal/testserver"

	"github.com/jellyfish-go/jellyfish/internal/testlog"

	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/jellyfish-go/jellyfish/rtc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testLogger(t *testing.T, level slog.Level) *slog.Logger { return testlog.New(t, level) }

// startServer runs an engine and its REST/WebSocket server on 127.0.0.1 and returns the base
// URL.
func startServer(t *testing.T, log *slog.Logger) string {
	t.Helper()
	return testserver.Start(t, log).URL
}

// TestSmokeLivestream runs a tiny livestream against an in-process server and checks that media
// reached every subscriber (not how fast).
func TestSmokeLivestream(t *testing.T) {
	log := testLogger(t, slog.LevelWarn)
	url := startServer(t, log)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()

	cfg := defaults()
	cfg.URL, cfg.Token = url, testserver.Token
	cfg.Scenario, cfg.Subscribers = scenarioLivestream, 3
	cfg.Duration, cfg.Settle, cfg.Bitrate = 3*time.Second, time.Second, 500_000
	cfg.ServerPID = os.Getpid() // the test process: exercises the /proc probe
	cfg.JSONPath = filepath.Join(t.TempDir(), "report.json")
	var out bytes.Buffer
	rep, err := run(ctx, cfg, &out, log.With("side", "load"))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rep.print(&out)
	if err := rep.writeJSON(cfg.JSONPath); err != nil {
		t.Fatal(err)
	}
	t.Logf("output:\n%s", out.String())

	if got := len(rep.PerSubscriber); got != 3 {
		t.Fatalf("%d subscribers in the report, want 3", got)
	}
	for _, s := range rep.PerSubscriber {
		if s.Packets == 0 || s.Tracks != 2 {
			t.Errorf("subscriber %s: %d packets on %d tracks, want > 0 on 2 (error %q)", s.Name, s.Packets, s.Tracks, s.Error)
		}
		if s.LossPct >= 50 {
			t.Errorf("subscriber %s: loss %.1f%%, want < 50%%", s.Name, s.LossPct)
		}
	}
	if rep.PeersFailed != 0 || rep.PeersJoined != 4 {
		t.Errorf("peers joined %d, failed %d; want 4, 0", rep.PeersJoined, rep.PeersFailed)
	}
	if rep.Sent.Packets == 0 || rep.Received.Packets == 0 {
		t.Errorf("window: sent %d, received %d packets; want both > 0", rep.Sent.Packets, rep.Received.Packets)
	}
	if rep.LatencyVideoMs.N == 0 || rep.LatencyAudioMs.N == 0 {
		t.Errorf("latency samples: video %d, audio %d; want both > 0", rep.LatencyVideoMs.N, rep.LatencyAudioMs.N)
	}
	if rep.Server == nil || rep.Server.RSSBytes == 0 {
		t.Errorf("server figures missing: %+v", rep.Server)
	}
	if !strings.Contains(out.String(), "received (all peers)") {
		t.Errorf("no table in the output")
	}
}

// fakeTrack records written packets (copies: sources reuse their buffers).
type fakeTrack struct{ pkts []rtp.Packet }

func (f *fakeTrack) WriteRTP(p *rtp.Packet) error {
	c := *p
	c.Payload = bytes.Clone(p.Payload)
	f.pkts = append(f.pkts, c)
	return nil
}

func TestVP8Source(t *testing.T) {
	var tr fakeTrack
	var st sendStats
	const fps, bitrate = 30, 1_500_000
	src := newVP8Source(&tr, &st, bitrate, fps, 2*time.Second, 1)
	frames := 4 * 2 * fps // four keyframe intervals
	keys := 0
	for range frames {
		start := len(tr.pkts)
		key := src.frame()
		pkts := tr.pkts[start:]
		if len(pkts) == 0 {
			t.Fatal("a frame without packets")
		}
		if key {
			keys++
		}
		for i, p := range pkts {
			if got := rtc.IsKeyframe("video/VP8", p.Payload); got != (key && i == 0) {
				t.Fatalf("frame %d packet %d: IsKeyframe = %v, want %v", src.frameNo-1, i, got, key && i == 0)
			}
			if len(p.Payload) > maxRTPPayload {
				t.Errorf("payload of %d bytes, want <= %d", len(p.Payload), maxRTPPayload)
			}
			if p.Marker != (i == len(pkts)-1) {
				t.Errorf("frame %d packet %d: marker %v", src.frameNo-1, i, p.Marker)
			}
			if p.Timestamp != pkts[0].Timestamp {
				t.Errorf("packets of one frame with different timestamps")
			}
			if _, _, ok := parseTrailer(p.Payload); !ok {
				t.Errorf("packet without a trailer")
			}
		}
	}
	if keys != 4 {
		t.Errorf("%d keyframes in 8 s, want 4", keys)
	}
	for i := 1; i < len(tr.pkts); i++ {
		if tr.pkts[i].SequenceNumber != tr.pkts[i-1].SequenceNumber+1 {
			t.Fatalf("sequence gap at packet %d", i)
		}
		i0, _, _ := parseTrailer(tr.pkts[i-1].Payload)
		i1, _, _ := parseTrailer(tr.pkts[i].Payload)
		if i1 != i0+1 {
			t.Fatalf("trailer index %d after %d", i1, i0)
		}
	}
	// Payload bitrate within 10% of the target (frame sizes are random).
	got := float64(st.bytes.Load()) * 8 / (float64(frames) / fps)
	if got < 0.9*bitrate || got > 1.1*bitrate {
		t.Errorf("payload bitrate %.0f bit/s, want about %d", got, bitrate)
	}
}

func TestOpusSource(t *testing.T) {
	var tr fakeTrack
	var st sendStats
	src := newOpusSource(&tr, &st, 1)
	for range 100 {
		src.packet()
	}
	for i, p := range tr.pkts {
		if n := len(p.Payload); n < 60 || n > 100 {
			t.Errorf("packet %d: %d bytes, want 60..100", i, n)
		}
		if i > 0 && p.Timestamp-tr.pkts[i-1].Timestamp != 960 {
			t.Errorf("packet %d: timestamp step %d, want 960", i, p.Timestamp-tr.pkts[i-1].Timestamp)
		}
		if idx, _, ok := parseTrailer(p.Payload); !ok || idx != uint32(i) {
			t.Errorf("packet %d: trailer index %d, %v", i, idx, ok)
		}
	}
}

func TestSeqCounter(t *testing.T) {
	for _, tc := range []struct {
		name           string
		width          uint
		seqs           []uint32
		expected, lost uint64
	}{
		{"in order", 16, []uint32{10, 11, 12, 13}, 4, 0},
		{"gap", 16, []uint32{10, 11, 14, 15}, 6, 2},
		{"reordered", 16, []uint32{10, 12, 11, 13}, 4, 0},
		{"retransmission fills gap", 16, []uint32{10, 12, 13, 11}, 4, 0},
		{"wrap", 16, []uint32{65534, 65535, 0, 1}, 4, 0},
		{"wrap with gap", 16, []uint32{65534, 1}, 4, 2},
		{"older than first", 16, []uint32{5, 4, 6}, 3, 0},
		{"older than first across wrap", 16, []uint32{0, 65535, 1}, 3, 0},
		{"32-bit index", 32, []uint32{1 << 31, 1<<31 + 3}, 4, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c seqCounter
			for _, s := range tc.seqs {
				c.add(s, tc.width)
			}
			if c.expected() != tc.expected || c.lost() != tc.lost {
				t.Errorf("expected, lost = %d, %d; want %d, %d", c.expected(), c.lost(), tc.expected, tc.lost)
			}
		})
	}
}

func TestHistogram(t *testing.T) {
	for v := uint64(0); v < 1<<20; v = v*9/8 + 1 {
		i := histIndex(v)
		if lo, hi := histLower(i), histLower(i+1); v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
	}
	var h histogram
	for v := uint64(1); v <= 1000; v++ {
		h.add(v)
	}
	for _, tc := range []struct {
		q    float64
		want uint64
	}{{0.5, 500}, {0.99, 990}, {1, 1000}} {
		if got := h.quantile(tc.q); float64(got) < 0.94*float64(tc.want) || float64(got) > 1.06*float64(tc.want) {
			t.Errorf("quantile(%v) = %d, want %d ± 6%%", tc.q, got, tc.want)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_cpu_seconds_total 12.5
process_resident_memory_bytes 1.2345e+08
jellyfish_rooms{x="y"} 3
`
	m, err := parseMetrics(strings.NewReader(text), "go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes", "jellyfish_rooms")
	if err != nil {
		t.Fatal(err)
	}
	if m["go_goroutines"] != 42 || m["process_cpu_seconds_total"] != 12.5 || m["process_resident_memory_bytes"] != 1.2345e8 {
		t.Errorf("parseMetrics = %v", m)
	}
	if _, ok := m["jellyfish_rooms"]; ok {
		t.Errorf("labelled sample parsed: %v", m)
	}
}

func TestProcSelf(t *testing.T) {
	s := selfSample()
	if !s.HasCPU || !s.HasRSS || s.RSS == 0 || s.Threads == 0 {
		t.Errorf("selfSample() = %+v, want CPU, RSS and threads", s)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(k string) (string, bool) {
		return map[string]string{"JF_SERVER_API_TOKEN": "tok"}[k], k == "JF_SERVER_API_TOKEN"
	}
	cfg, err := parseFlags([]string{"meeting", "-peers", "8", "-bitrate", "800k", "-duration", "5s"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Scenario != scenarioMeeting || cfg.Peers != 8 || cfg.Bitrate != 800_000 || cfg.Token != "tok" || cfg.Duration != 5*time.Second {
		t.Errorf("parseFlags = %+v", cfg)
	}
	for _, args := range [][]string{{"-scenario", "bogus"}, {"-bitrate", "fast"}, {"meeting", "-peers", "1"}, {"-ramp", "0"}} {
		if _, err := parseFlags(args, env, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
	if _, err := parseFlags(nil, func(string) (string, bool) { return "", false }, io.Discard); err == nil {
		t.Errorf("parseFlags without a token: no error")
	}
}
