package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Scenarios.
const (
	scenarioLivestream = "livestream"
	scenarioMeeting    = "meeting"
	scenarioAudio      = "audio"
)

// config is the load to generate; parseFlags fills it from the command line.
type config struct {
	URL        string // REST base URL of the server
	Token      string // server API token
	Scenario   string
	RoomPrefix string

	Publishers  int // audio scenario: audio publishers
	Subscribers int // livestream and audio scenarios
	Peers       int // meeting scenario: peers that publish and receive

	Bitrate          int // video, bit/s
	FPS              int
	KeyframeInterval time.Duration

	Duration    time.Duration // the measured window
	Settle      time.Duration // wait between the end of the ramp and the window
	Ramp        float64       // peers joined per second
	JoinTimeout time.Duration // per peer: REST, socket, publishing
	Progress    time.Duration // progress line interval; 0 disables

	ServerPID  int    // read /proc/<pid> for server CPU and RSS
	MetricsURL string // Prometheus endpoint of the server
	JSONPath   string // write the report as JSON here
	CPUProfile string // write the load tool's own CPU profile here
	LogLevel   slog.Level
}

// defaults returns the configuration before flags.
func defaults() config {
	return config{
		URL:              "http://127.0.0.1:8080",
		Scenario:         scenarioLivestream,
		RoomPrefix:       "load",
		Publishers:       2,
		Subscribers:      10,
		Peers:            4,
		Bitrate:          1_500_000,
		FPS:              30,
		KeyframeInterval: 2 * time.Second,
		Duration:         20 * time.Second,
		Settle:           3 * time.Second,
		Ramp:             20,
		JoinTimeout:      30 * time.Second,
		Progress:         time.Second,
		LogLevel:         slog.LevelError, // pion warns about benign races of ICE restarts
	}
}

// bitrateFlag parses "1500000", "1500k", "1.5M".
type bitrateFlag struct{ v *int }

func (b bitrateFlag) String() string {
	if b.v == nil {
		return ""
	}
	return strconv.Itoa(*b.v)
}

func (b bitrateFlag) Set(s string) error {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"), strings.HasSuffix(s, "m"):
		mult, s = 1e6, s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f*mult < 10_000 || f*mult > 100e6 {
		return errors.New("want a bitrate between 10k and 100M bit/s, e.g. 1.5M or 800k")
	}
	*b.v = int(f * mult)
	return nil
}

const usageText = `Usage: jellyfish-load [scenario] [flags]

Generates WebRTC load against a running Jellyfish server: rooms and peers are created over
the REST API, and every peer is a pion PeerConnection joined over the real peer WebSocket.
Publishers send synthetic VP8 (keyframes, realistic frame sizes, ~1200-byte packets) and
Opus (20 ms); subscribers count packets, loss and latency. Rooms are deleted at the end and
on SIGINT.

Scenarios (first argument, or -scenario):
  livestream  1 publisher (VP8 at -bitrate/-fps + Opus) -> -subscribers N
  meeting     -peers N, each publishing VP8 + Opus and receiving everyone else
  audio       -publishers P (Opus) -> -subscribers N

Flags:
`

// parseFlags parses the command line. lookup reads the environment (JF_SERVER_API_TOKEN is the
// default of -token).
func parseFlags(args []string, lookup func(string) (string, bool), out io.Writer) (config, error) {
	cfg := defaults()
	cfg.Token, _ = lookup("JF_SERVER_API_TOKEN")
	fs := flag.NewFlagSet("jellyfish-load", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", cfg.URL, "REST base URL of the server")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "server API token (default: $JF_SERVER_API_TOKEN)")
	fs.StringVar(&cfg.Scenario, "scenario", cfg.Scenario, "livestream, meeting or audio")
	fs.StringVar(&cfg.RoomPrefix, "room-prefix", cfg.RoomPrefix, "prefix of the ids of the rooms created")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "audio scenario: number of audio publishers")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "livestream and audio scenarios: number of subscribers")
	fs.IntVar(&cfg.Peers, "peers", cfg.Peers, "meeting scenario: number of peers")
	fs.Var(bitrateFlag{&cfg.Bitrate}, "bitrate", "video bitrate in bit/s, k and M suffixes allowed (default 1.5M)")
	fs.IntVar(&cfg.FPS, "fps", cfg.FPS, "video frames per second")
	fs.DurationVar(&cfg.KeyframeInterval, "keyframe-interval", cfg.KeyframeInterval, "video keyframe interval")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the measured window, after every peer joined")
	fs.DurationVar(&cfg.Settle, "settle", cfg.Settle, "wait between the end of the ramp and the measured window (the last joiners wait up to -keyframe-interval for their first keyframe)")
	fs.Float64Var(&cfg.Ramp, "ramp", cfg.Ramp, "peers joined per second")
	fs.DurationVar(&cfg.JoinTimeout, "join-timeout", cfg.JoinTimeout, "time limit of one peer's join and publish")
	fs.DurationVar(&cfg.Progress, "progress", cfg.Progress, "interval of progress lines (0: none)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of a server on this machine: CPU and RSS from /proc/<pid>")
	fs.StringVar(&cfg.MetricsURL, "metrics-url", "", "Prometheus endpoint of the server (e.g. http://127.0.0.1:9568/metrics): CPU, RSS, goroutines")
	fs.StringVar(&cfg.JSONPath, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write the load tool's own CPU profile (runtime/pprof) to this file")
	fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level on stderr: debug, info, warn, error")

	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cfg.Scenario, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c *config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Scenario {
	case scenarioLivestream:
		if c.Subscribers < 1 {
			bad("-subscribers must be at least 1")
		}
	case scenarioAudio:
		if c.Subscribers < 1 || c.Publishers < 1 {
			bad("-publishers and -subscribers must be at least 1")
		}
	case scenarioMeeting:
		if c.Peers < 2 {
			bad("-peers must be at least 2")
		}
	default:
		bad("unknown scenario %q (livestream, meeting or audio)", c.Scenario)
	}
	if c.Token == "" {
		bad("no server API token: set -token or JF_SERVER_API_TOKEN")
	}
	if c.FPS < 1 || c.FPS > 120 {
		bad("-fps must be between 1 and 120")
	}
	if c.Bitrate < 10_000 {
		bad("-bitrate must be at least 10k")
	}
	if c.KeyframeInterval <= 0 {
		bad("-keyframe-interval must be positive")
	}
	if c.Duration <= 0 {
		bad("-duration must be positive")
	}
	if c.Settle < 0 || c.Progress < 0 {
		bad("-settle and -progress must not be negative")
	}
	if c.Ramp <= 0 {
		bad("-ramp must be positive")
	}
	if c.JoinTimeout <= 0 {
		bad("-join-timeout must be positive")
	}
	if c.ServerPID < 0 {
		bad("-server-pid must not be negative")
	}
	return errors.Join(errs...)
}
