// Command plot-bench turns the -json reports of cmd/jellyfish-load into the figures of
// docs/benchmarks.md: an SVG chart of the livestream runs (server CPU µs per forwarded packet
// and loss against the number of subscribers) and a Markdown table of every run.
//
//	go run ./scripts/plot-bench -svg docs/bench/livestream.svg docs/bench/*.json > table.md
//
// It uses only the standard library.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// report is the subset of cmd/jellyfish-load's Report used here.
type report struct {
	Scenario    string  `json:"scenario"`
	Publishers  int     `json:"publishers"`
	Subscribers int     `json:"subscribers"`
	Peers       int     `json:"peers"`
	PeersFailed int     `json:"peers_failed"`
	Window      float64 `json:"window_seconds"`
	Sent        flow    `json:"sent"`
	Received    flow    `json:"received"`
	DeliveryPct float64 `json:"delivery_pct"`
	LossPct     float64 `json:"loss_pct"`
	E2ELossPct  float64 `json:"e2e_loss_pct"`
	FirstPacket quant   `json:"first_packet_ms"`
	FirstVideo  quant   `json:"first_video_ms"`
	LatAudio    quant   `json:"latency_audio_ms"`
	LatVideo    quant   `json:"latency_video_ms"`
	Server      *struct {
		CPUPercent        float64 `json:"cpu_pct"`
		CPUMicros         float64 `json:"cpu_us_per_forwarded_packet"`
		RSSBytes          float64 `json:"rss_bytes"`
		RSSPerPeer        float64 `json:"rss_per_peer_bytes"`
		Goroutines        float64 `json:"goroutines"`
		GoroutinesPerPeer float64 `json:"goroutines_per_peer"`
	} `json:"server"`
	Tool struct {
		CPUPercent float64 `json:"cpu_pct"`
	} `json:"tool"`
	Machine struct {
		BusyPct  float64 `json:"busy_pct"`
		OtherPct float64 `json:"other_pct"`
	} `json:"machine"`
	file string
}

type flow struct {
	PacketsPerSec float64 `json:"packets_per_sec"`
	BitsPerSec    float64 `json:"bits_per_sec"`
}

type quant struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	N   int     `json:"n"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "plot-bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("plot-bench", flag.ContinueOnError)
	svgPath := fs.String("svg", "", "write the livestream chart (SVG) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: plot-bench [-svg chart.svg] report.json...")
	}
	var reps []report
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r.file = filepath.Base(path)
		reps = append(reps, r)
	}
	order := map[string]int{"livestream": 0, "meeting": 1, "audio": 2}
	slices.SortStableFunc(reps, func(a, b report) int {
		if d := order[a.Scenario] - order[b.Scenario]; d != 0 {
			return d
		}
		return a.Peers - b.Peers
	})
	table(out, reps)
	if *svgPath != "" {
		var live []report
		for _, r := range reps {
			if r.Scenario == "livestream" && r.Server != nil {
				live = append(live, r)
			}
		}
		if len(live) == 0 {
			return errors.New("no livestream report with server figures to chart")
		}
		return os.WriteFile(*svgPath, []byte(chart(live)), 0o644)
	}
	return nil
}

// table writes two Markdown tables, one row per report: media (rates, loss, times) and
// resources (server, load tool, machine).
func table(w io.Writer, reps []report) {
	name := func(r report) string {
		n := fmt.Sprintf("%s %d→%d", r.Scenario, r.Publishers, r.Subscribers)
		if r.Scenario == "meeting" {
			n = fmt.Sprintf("meeting %d peers", r.Peers)
		}
		if r.PeersFailed > 0 {
			n += fmt.Sprintf(" (%d failed)", r.PeersFailed)
		}
		return n
	}
	fmt.Fprintln(w, "| run | sent pkt/s (Mbit/s) | received pkt/s (Mbit/s) | delivery | loss RTP / e2e | join→1st pkt p50 / p99 ms | join→1st video p50 / p99 ms | latency audio p50 / p99 ms | latency video p50 / p99 ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range reps {
		fmt.Fprintf(w, "| %s | %.0f (%.2f) | %.0f (%.1f) | %.1f%% | %.2f%% / %.2f%% | %s | %s | %s | %s |\n",
			name(r), r.Sent.PacketsPerSec, r.Sent.BitsPerSec/1e6, r.Received.PacketsPerSec, r.Received.BitsPerSec/1e6,
			r.DeliveryPct, r.LossPct, r.E2ELossPct, pq(r.FirstPacket), pq(r.FirstVideo), pq2(r.LatAudio), pq2(r.LatVideo))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| run | server CPU (% of a core) | server µs / forwarded pkt | server RSS (per peer) | server goroutines (per peer) | load tool CPU | machine busy | other processes |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range reps {
		srv := "| – | – | – | – "
		if s := r.Server; s != nil {
			srv = fmt.Sprintf("| %.0f%% | %.1f | %.0f MiB (%+.0f KiB) | %.0f (%+.1f) ", s.CPUPercent, s.CPUMicros,
				s.RSSBytes/(1<<20), s.RSSPerPeer/1024, s.Goroutines, s.GoroutinesPerPeer)
		}
		fmt.Fprintf(w, "| %s %s| %.0f%% | %.0f%% | %.0f%% |\n", name(r), srv, r.Tool.CPUPercent, r.Machine.BusyPct, r.Machine.OtherPct)
	}
}

func pq(q quant) string {
	if q.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f / %.0f", q.P50, q.P99)
}

func pq2(q quant) string {
	if q.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f / %.1f", q.P50, q.P99)
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// chart draws µs per forwarded packet (left axis) and loss % (right axis) against subscribers.
func chart(reps []report) string {
	const (
		W, H                     = 760, 440
		left, right, top, bottom = 70, 80, 50, 60
	)
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	maxX, maxCPU, maxLoss := 0.0, 0.0, 0.0
	for _, r := range reps {
		maxX = max(maxX, float64(r.Subscribers))
		maxCPU = max(maxCPU, r.Server.CPUMicros)
		maxLoss = max(maxLoss, r.LossPct, r.E2ELossPct)
	}
	maxX, maxCPU, maxLoss = niceMax(maxX), niceMax(maxCPU), niceMax(max(maxLoss, 1))
	x := func(v float64) float64 { return left + v/maxX*pw }
	yc := func(v float64) float64 { return top + ph - v/maxCPU*ph }
	yl := func(v float64) float64 { return top + ph - v/maxLoss*ph }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`, W, H, W, H)
	p(`<rect width="100%%" height="100%%" fill="white"/>`)
	p(`<text x="%d" y="24" font-size="15" font-weight="bold">livestream (1 publisher, VP8 + Opus): server CPU per forwarded packet and loss</text>`, left)
	// Grid and axes.
	for i := 0; i <= 5; i++ {
		f := float64(i) / 5
		y := top + ph - f*ph
		p(`<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, left, y, left+pw, y)
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#1f5fbf">%g</text>`, left-8, y+4, round(f*maxCPU))
		p(`<text x="%.1f" y="%.1f" fill="#c0392b">%g</text>`, left+pw+8, y+4, round(f*maxLoss))
	}
	for _, r := range reps {
		xv := x(float64(r.Subscribers))
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#eee"/>`, xv, top, xv, top+ph)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`, xv, top+ph+18, r.Subscribers)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="#888" font-size="10">%.0f%%</text>`, xv, top+ph+31, r.Machine.BusyPct)
	}
	p(`<text x="%d" y="%.1f" text-anchor="end" fill="#888" font-size="10">busy</text>`, left-8, top+ph+31)
	p(`<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`, left, top, pw, ph)
	p(`<text x="%.1f" y="%d" text-anchor="middle">subscribers (grey: whole machine busy, %% of one core; 2 cores = 200%%)</text>`, left+pw/2, H-12)
	p(`<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle" fill="#1f5fbf">server CPU µs per forwarded packet</text>`, top+ph/2)
	p(`<text transform="translate(%d %.1f) rotate(90)" text-anchor="middle" fill="#c0392b">loss %%</text>`, W-24, top+ph/2)
	// Series.
	series := func(color, dash string, y func(float64) float64, v func(report) float64, labels bool) {
		var pts []string
		for _, r := range reps {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(r.Subscribers)), y(v(r))))
		}
		p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`, strings.Join(pts, " "), color, dash)
		for _, r := range reps {
			cx, cy := x(float64(r.Subscribers)), y(v(r))
			p(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, cx, cy, color)
			if labels {
				p(`<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%.1f</text>`, cx, cy-8, color, v(r))
			}
		}
	}
	series("#1f5fbf", "none", yc, func(r report) float64 { return r.Server.CPUMicros }, true)
	series("#c0392b", "6 4", yl, func(r report) float64 { return r.LossPct }, false)
	series("#e67e22", "2 3", yl, func(r report) float64 { return r.E2ELossPct }, false)
	// Legend.
	lx, ly := left+int(pw)-330, top+16 // top right: the CPU curve falls from the top left
	for i, l := range []struct{ color, dash, text string }{
		{"#1f5fbf", "none", "server CPU µs / forwarded packet (left)"},
		{"#c0392b", "6 4", "loss, RTP sequence gaps % (right)"},
		{"#e67e22", "2 3", "loss, end to end incl. server drops % (right)"},
	} {
		y := ly + i*18
		p(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`, lx, y, lx+28, y, l.color, l.dash)
		p(`<text x="%d" y="%d">%s</text>`, lx+36, y+4, l.text)
	}
	p(`</svg>`)
	return b.String()
}

func round(v float64) float64 { return math.Round(v*100) / 100 }
