package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/pion/webrtc/v4"
)

// Report is the result of a run, printed as a table and written with -json. Rates, CPU and
// memory are measured over the window (after the ramp and the settle time); loss, latency and
// first-packet times cover the whole run.
type Report struct {
	Scenario                string  `json:"scenario"`
	Publishers              int     `json:"publishers"`
	Subscribers             int     `json:"subscribers"` // peers that receive (meeting: every peer)
	Peers                   int     `json:"peers"`
	VideoBitrate            int     `json:"video_bitrate"`
	FPS                     int     `json:"fps"`
	KeyframeIntervalSeconds float64 `json:"keyframe_interval_seconds"`

	PeersJoined   int     `json:"peers_joined"`
	PeersFailed   int     `json:"peers_failed"`
	RampSeconds   float64 `json:"ramp_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	Interrupted   bool    `json:"interrupted,omitempty"`

	// Sent is RTP payload sent by publishers in the window; Received is RTP payload received by
	// every peer in the window (all that the server forwarded, including what publishers of
	// the audio and meeting scenarios receive from each other).
	Sent     Flow `json:"sent"`
	Received Flow `json:"received"`
	// DeliveryPct is Received.Packets / (Sent.Packets × receivers per sent packet).
	DeliveryPct float64 `json:"delivery_pct"`

	// Loss and latency cover every received track of every peer.
	// LossPct is from RTP sequence gaps of every received track (what a receiver's jitter
	// buffer sees). The server renumbers around packets it drops on purpose (congested
	// subscriber, waiting for a keyframe), so E2ELossPct, from the gaps in the publishers' own
	// packet index carried in the payload, also counts those.
	LossPct         float64 `json:"loss_pct"`
	LostPackets     uint64  `json:"lost_packets"`
	ExpectedPackets uint64  `json:"expected_packets"`
	E2ELossPct      float64 `json:"e2e_loss_pct"`

	JoinMs        Quantiles `json:"join_ms"`         // REST add peer → joined (and published)
	FirstPacketMs Quantiles `json:"first_packet_ms"` // REST add peer → first RTP packet, any track
	FirstVideoMs  Quantiles `json:"first_video_ms"`
	FirstAudioMs  Quantiles `json:"first_audio_ms"`
	// SubscribersWithoutMedia received no packet at all.
	SubscribersWithoutMedia int `json:"subscribers_without_media"`

	// Forwarding latency: publisher's write → subscriber's read, same clock.
	LatencyAudioMs Quantiles `json:"latency_audio_ms"`
	LatencyVideoMs Quantiles `json:"latency_video_ms"`

	Server  *ServerReport `json:"server,omitempty"`
	Tool    ToolReport    `json:"tool"`
	Machine MachineReport `json:"machine"`

	PerSubscriber []SubscriberReport `json:"per_subscriber"`

	Baseline procSample `json:"-"` // server before any peer
}

// Flow is a packet and payload-bit rate.
type Flow struct {
	Packets       uint64  `json:"packets"`
	PacketsPerSec float64 `json:"packets_per_sec"`
	BitsPerSec    float64 `json:"bits_per_sec"`
}

// Quantiles of a distribution; N is the number of samples.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
	N   uint64  `json:"n"`
}

// ServerReport holds the server's resources (needs -server-pid or -metrics-url). Zero fields
// were not available.
type ServerReport struct {
	CPUSeconds         float64 `json:"cpu_seconds"`
	CPUPercent         float64 `json:"cpu_pct"` // of one core
	CPUMicrosPerPacket float64 `json:"cpu_us_per_forwarded_packet"`
	RSSBytes           uint64  `json:"rss_bytes"`
	RSSBaselineBytes   uint64  `json:"rss_baseline_bytes"`
	RSSPerPeerBytes    float64 `json:"rss_per_peer_bytes"`
	Goroutines         float64 `json:"goroutines,omitempty"`
	GoroutinesBaseline float64 `json:"goroutines_baseline,omitempty"`
	GoroutinesPerPeer  float64 `json:"goroutines_per_peer,omitempty"`
	Threads            int     `json:"threads,omitempty"`
}

// ToolReport holds the load generator's own resources over the window.
type ToolReport struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPercent float64 `json:"cpu_pct"` // of one core
	RSSBytes   uint64  `json:"rss_bytes"`
}

// MachineReport is the whole machine over the window: the server and the load tool compete
// with each other, and with anything else running, for the same cores.
type MachineReport struct {
	CPUs       int     `json:"cpus"`
	BusyPct    float64 `json:"busy_pct"`  // all cores, in % of one core (max 100 × CPUs)
	OtherPct   float64 `json:"other_pct"` // busy minus server minus load tool (needs -server-pid or -metrics-url)
	LoadAvg1   float64 `json:"loadavg1_start"`
	LoadAvg1At float64 `json:"loadavg1_end"`
}

// SubscriberReport is one receiving peer.
type SubscriberReport struct {
	Name          string  `json:"name"`
	Error         string  `json:"error,omitempty"`
	Tracks        int     `json:"tracks"`
	Packets       uint64  `json:"packets"`
	LossPct       float64 `json:"loss_pct"`
	E2ELossPct    float64 `json:"e2e_loss_pct"`
	FirstPacketMs float64 `json:"first_packet_ms,omitempty"`
}

func newReport(cfg config) *Report {
	r := &Report{Scenario: cfg.Scenario, FPS: cfg.FPS, KeyframeIntervalSeconds: cfg.KeyframeInterval.Seconds()}
	switch cfg.Scenario {
	case scenarioLivestream:
		r.Publishers, r.Subscribers, r.VideoBitrate = 1, cfg.Subscribers, cfg.Bitrate
	case scenarioAudio:
		r.Publishers, r.Subscribers = cfg.Publishers, cfg.Subscribers
	case scenarioMeeting:
		r.Publishers, r.Subscribers, r.VideoBitrate = cfg.Peers, cfg.Peers, cfg.Bitrate
	}
	r.Peers = r.Publishers + r.Subscribers
	if cfg.Scenario == scenarioMeeting {
		r.Peers = cfg.Peers
	}
	return r
}

// receiversPerPacket is how many peers receive each packet a publisher sends: every peer of
// the room but the sender (clientsdk receives every track of the room; in the audio scenario
// publishers also receive each other).
func (r *Report) receiversPerPacket() int { return r.Peers - 1 }

// window fills the rates and resources measured between snapshots a and b.
func (r *Report) window(a, b snapshot, peers int) {
	dt := b.at.Sub(a.at).Seconds()
	r.WindowSeconds = dt
	flow := func(p0, p1, b0, b1 uint64) Flow {
		return Flow{Packets: p1 - p0, PacketsPerSec: float64(p1-p0) / dt, BitsPerSec: float64(b1-b0) * 8 / dt}
	}
	r.Sent = flow(a.c.sentPackets, b.c.sentPackets, a.c.sentBytes, b.c.sentBytes)
	r.Received = flow(a.c.recvPackets, b.c.recvPackets, a.c.recvBytes, b.c.recvBytes)
	if n := r.Sent.Packets * uint64(r.receiversPerPacket()); n > 0 {
		r.DeliveryPct = float64(r.Received.Packets) / float64(n) * 100
	}
	if a.self.HasCPU && b.self.HasCPU {
		r.Tool.CPUSeconds = b.self.CPU - a.self.CPU
		r.Tool.CPUPercent = r.Tool.CPUSeconds / dt * 100
	}
	r.Tool.RSSBytes = b.self.RSS

	s := &ServerReport{Threads: b.server.Threads}
	measured := false
	if a.server.HasCPU && b.server.HasCPU {
		measured = true
		s.CPUSeconds = b.server.CPU - a.server.CPU
		s.CPUPercent = s.CPUSeconds / dt * 100
		if r.Received.Packets > 0 {
			s.CPUMicrosPerPacket = s.CPUSeconds * 1e6 / float64(r.Received.Packets)
		}
	}
	if b.server.HasRSS {
		measured = true
		s.RSSBytes = b.server.RSS
		if r.Baseline.HasRSS {
			s.RSSBaselineBytes = r.Baseline.RSS
			s.RSSPerPeerBytes = (float64(b.server.RSS) - float64(r.Baseline.RSS)) / float64(peers)
		}
	}
	if b.server.HasGoroutines {
		measured = true
		s.Goroutines = b.server.Goroutines
		if r.Baseline.HasGoroutines {
			s.GoroutinesBaseline = r.Baseline.Goroutines
			s.GoroutinesPerPeer = (b.server.Goroutines - r.Baseline.Goroutines) / float64(peers)
		}
	}
	if measured {
		r.Server = s
	}
	r.Machine = MachineReport{CPUs: runtime.NumCPU(), LoadAvg1: a.load1, LoadAvg1At: b.load1}
	if a.machine > 0 && b.machine > 0 {
		r.Machine.BusyPct = (b.machine - a.machine) / dt * 100
		if r.Server != nil && r.Server.CPUSeconds > 0 {
			r.Machine.OtherPct = max(0, r.Machine.BusyPct-r.Server.CPUPercent-r.Tool.CPUPercent)
		}
	}
}

// fill computes the per-track figures once every reader has returned (after teardown).
func (l *load) fill(r *Report) {
	var audio, video histogram
	var lost, expected, e2eLost, e2eExpected uint64
	var join, first, firstVideo, firstAudio []float64
	ms := func(from time.Time, ns int64) float64 { return float64(ns-from.UnixNano()) / 1e6 }
	for _, p := range l.peers {
		if p.joined.Load() {
			r.PeersJoined++
			join = append(join, float64(p.joinTime)/1e6)
		} else if p.failure() != nil {
			r.PeersFailed++
		}
		sr := SubscriberReport{Name: p.name}
		if err := p.failure(); err != nil {
			sr.Error = err.Error()
		}
		var pl, pe, el, ee uint64
		for _, t := range p.snapshotReaders() {
			sr.Tracks++
			sr.Packets += t.packets.Load()
			pl, pe = pl+t.seq.lost(), pe+t.seq.expected()
			el, ee = el+t.index.lost(), ee+t.index.expected()
			if t.kind == webrtc.RTPCodecTypeVideo {
				video.merge(&t.latency)
			} else {
				audio.merge(&t.latency)
			}
		}
		sr.LossPct, sr.E2ELossPct = pct(pl, pe), pct(el, ee)
		lost, expected, e2eLost, e2eExpected = lost+pl, expected+pe, e2eLost+el, e2eExpected+ee
		if !p.subscriber {
			continue // a publisher-only peer: its received tracks count above, not below
		}
		if ns := p.first.Load(); ns != 0 {
			sr.FirstPacketMs = ms(p.joinStart, ns)
			first = append(first, sr.FirstPacketMs)
		} else {
			r.SubscribersWithoutMedia++
		}
		if ns := p.firstVideo.Load(); ns != 0 {
			firstVideo = append(firstVideo, ms(p.joinStart, ns))
		}
		if ns := p.firstAudio.Load(); ns != 0 {
			firstAudio = append(firstAudio, ms(p.joinStart, ns))
		}
		r.PerSubscriber = append(r.PerSubscriber, sr)
	}
	r.LostPackets, r.ExpectedPackets = lost, expected
	r.LossPct, r.E2ELossPct = pct(lost, expected), pct(e2eLost, e2eExpected)
	r.JoinMs, r.FirstPacketMs = quantiles(join), quantiles(first)
	r.FirstVideoMs, r.FirstAudioMs = quantiles(firstVideo), quantiles(firstAudio)
	r.LatencyAudioMs, r.LatencyVideoMs = histQuantiles(&audio), histQuantiles(&video)
}

func pct(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole) * 100
}

// quantiles of exact samples (nearest rank).
func quantiles(v []float64) Quantiles {
	if len(v) == 0 {
		return Quantiles{}
	}
	slices.Sort(v)
	at := func(q float64) float64 {
		i := int(q*float64(len(v))+0.999999) - 1
		return v[min(max(i, 0), len(v)-1)]
	}
	return Quantiles{P50: at(0.5), P99: at(0.99), Max: v[len(v)-1], N: uint64(len(v))}
}

func histQuantiles(h *histogram) Quantiles {
	return Quantiles{P50: float64(h.quantile(0.5)) / 1000, P99: float64(h.quantile(0.99)) / 1000,
		Max: float64(h.max) / 1000, N: h.n}
}

// print writes the report as a table.
func (r *Report) print(w io.Writer) {
	var desc string
	switch r.Scenario {
	case scenarioLivestream:
		desc = fmt.Sprintf("1 publisher (VP8 %.2f Mbit/s %d fps + Opus) -> %d subscribers", float64(r.VideoBitrate)/1e6, r.FPS, r.Subscribers)
	case scenarioAudio:
		desc = fmt.Sprintf("%d Opus publishers -> %d subscribers", r.Publishers, r.Subscribers)
	case scenarioMeeting:
		desc = fmt.Sprintf("%d peers, each VP8 %.2f Mbit/s + Opus, receiving the others", r.Peers, float64(r.VideoBitrate)/1e6)
	}
	fmt.Fprintf(w, "\n%s: %s\n", r.Scenario, desc)
	if r.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: partial figures")
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	row("peers", "%d joined, %d failed of %d; ramp %.1f s, window %.1f s", r.PeersJoined, r.PeersFailed, r.Peers, r.RampSeconds, r.WindowSeconds)
	if r.WindowSeconds > 0 {
		row("sent (publishers)", "%.0f pkt/s  %.2f Mbit/s", r.Sent.PacketsPerSec, r.Sent.BitsPerSec/1e6)
		row("received (all peers)", "%.0f pkt/s  %.2f Mbit/s  (%.1f%% of sent x %d receivers)", r.Received.PacketsPerSec, r.Received.BitsPerSec/1e6, r.DeliveryPct, r.receiversPerPacket())
	} else {
		row("window", "none: interrupted before the measured window (no rates, CPU or memory)")
	}
	row("loss (RTP seq gaps)", "%.3f%%  (%d of %d)", r.LossPct, r.LostPackets, r.ExpectedPackets)
	row("loss (end to end)", "%.3f%%  (incl. packets the server dropped on purpose)", r.E2ELossPct)
	q := func(k string, v Quantiles) {
		if v.N == 0 {
			row(k, "-")
			return
		}
		row(k, "p50 %.1f ms  p99 %.1f ms  max %.1f ms  (n=%d)", v.P50, v.P99, v.Max, v.N)
	}
	q("join (REST -> joined)", r.JoinMs)
	q("join -> first packet", r.FirstPacketMs)
	q("join -> first video", r.FirstVideoMs)
	q("join -> first audio", r.FirstAudioMs)
	if r.SubscribersWithoutMedia > 0 {
		row("subscribers without media", "%d", r.SubscribersWithoutMedia)
	}
	ql := func(k string, v Quantiles) {
		if v.N == 0 {
			row(k, "-")
			return
		}
		row(k, "p50 %.2f ms  p99 %.2f ms  max %.1f ms  (n=%d)", v.P50, v.P99, v.Max, v.N)
	}
	ql("latency audio", r.LatencyAudioMs)
	ql("latency video", r.LatencyVideoMs)
	if r.WindowSeconds == 0 {
		tw.Flush()
		return
	}
	if s := r.Server; s != nil {
		if s.CPUSeconds > 0 {
			row("server CPU", "%.2f s (%.0f%% of a core), %.2f µs per forwarded packet", s.CPUSeconds, s.CPUPercent, s.CPUMicrosPerPacket)
		}
		if s.RSSBytes > 0 {
			row("server RSS", "%.1f MiB (baseline %.1f MiB, %+.0f KiB per peer)", mib(s.RSSBytes), mib(s.RSSBaselineBytes), s.RSSPerPeerBytes/1024)
		}
		if s.Goroutines > 0 {
			row("server goroutines", "%.0f (baseline %.0f, %+.1f per peer)", s.Goroutines, s.GoroutinesBaseline, s.GoroutinesPerPeer)
		}
		if s.Threads > 0 {
			row("server threads", "%d", s.Threads)
		}
	} else {
		row("server", "not measured (give -server-pid or -metrics-url)")
	}
	row("load tool CPU", "%.2f s (%.0f%% of a core), RSS %.1f MiB", r.Tool.CPUSeconds, r.Tool.CPUPercent, mib(r.Tool.RSSBytes))
	m := r.Machine
	other := ""
	if r.Server != nil && r.Server.CPUSeconds > 0 {
		other = fmt.Sprintf(", other processes %.0f%%", m.OtherPct)
	}
	row("machine", "%d CPUs, busy %.0f%% of a core%s; load average %.2f -> %.2f", m.CPUs, m.BusyPct, other, m.LoadAvg1, m.LoadAvg1At)
	tw.Flush()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// writeJSON writes the report to path.
func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
