package hls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/pion/rtp"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// frameQueue bounds the access units waiting for the muxer (about 4 s of 30 fps video with
// 50 audio packets a second); a full queue holds up the tracks' goroutines.
const frameQueue = 512

// Component is an HLS component: a TrackSink that muxes what it receives into HLS (LL-HLS when
// lowLatency) under its output directory and serves it (ServeFile).
type Component struct {
	cfg    Config
	opts   options
	roomID string
	dir    string // output directory
	log    atomic.Pointer[slog.Logger]

	src    source     // the mode: passthrough or composite
	frames chan frame // to Run, which alone writes the muxer
	// stopped is closed when Run no longer takes frames: senders give up.
	stopped  chan struct{}
	playable atomic.Bool

	mu      sync.Mutex // guards out and closed; I/O happens outside it
	out     *output    // nil until the stream starts
	closed  bool
	serving sync.WaitGroup // ServeFile's muxer requests; Add only under mu while !closed
}

// source is what a mode does with the room's tracks.
type source interface {
	addTrack(c *Component, t *jellyfish.SinkTrack) func(h *rtp.Header, payload []byte)
	removeTrack(t *jellyfish.SinkTrack)
	// run produces frames until ctx ends (composite) or returns at once (passthrough).
	run(ctx context.Context, c *Component) error
	// tick is called by Run about every second with the time since the last keyframe was
	// written (keyframe requests).
	tick(sinceKey time.Duration)
	// audioCodec is the audio codec of a stream starting now; nil: video only.
	audioCodec() codecs.Codec
}

// frame is one access unit on its way to the muxer.
type frame struct {
	video bool
	au    [][]byte // video: NAL units; audio: one packet or access unit
	// Passthrough: the RTP timestamp, the track, and when it arrived (timelines are anchored
	// to arrival so that a new source continues the stream).
	ts      uint32
	track   string
	arrival time.Time
	// Composite: the presentation time (abs is set).
	pts time.Duration
	abs bool
}

func newComponent(cfg Config, opts options, roomID string) *Component {
	sub := "temporary_hls"
	if opts.persistent {
		sub = "recordings"
	}
	c := &Component{
		cfg: cfg, opts: opts, roomID: roomID,
		dir:    filepath.Join(cfg.Base, sub, roomID),
		frames: make(chan frame, frameQueue), stopped: make(chan struct{}),
	}
	c.log.Store(slog.New(slog.DiscardHandler))
	if opts.transcode {
		c.src = newCompositeSource(cfg, slog.New(deferredHandler{log: &c.log}))
	} else {
		c.src = &passthrough{segment: cfg.segment, log: &c.log}
	}
	return c
}

// Properties implements jellyfish.ComponentPropertier.
func (c *Component) Properties() map[string]any { return c.opts.properties(c.playable.Load()) }

// SubscribeMode implements jellyfish.TrackSink.
func (c *Component) SubscribeMode() jellyfish.SubscribeMode { return c.opts.mode }

// AddTrack implements jellyfish.TrackSink.
func (c *Component) AddTrack(t *jellyfish.SinkTrack) func(h *rtp.Header, payload []byte) {
	return c.src.addTrack(c, t)
}

// RemoveTrack implements jellyfish.TrackSink.
func (c *Component) RemoveTrack(t *jellyfish.SinkTrack) { c.src.removeTrack(t) }

// send hands a frame to Run; it gives up once Run stopped taking frames.
func (c *Component) send(f frame) {
	select {
	case c.frames <- f:
	case <-c.stopped:
	}
}

// Run implements jellyfish.Component: it writes the frames into the muxer until ctx ends, then
// finishes the output (final playlists, upload, clean-up).
func (c *Component) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	log := m.Logger()
	c.log.Store(log)
	if err := os.RemoveAll(c.dir); err != nil {
		close(c.stopped) // senders must not wait for a Run that is gone
		return fmt.Errorf("hls: clear the output directory: %w", err)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		close(c.stopped)
		return fmt.Errorf("hls: create the output directory: %w", err)
	}

	srcCtx, stopSrc := context.WithCancel(ctx)
	srcDone := make(chan error, 1)
	go func() { srcDone <- c.src.run(srcCtx, c) }()

	w := &writer{c: c, m: m, log: log}
	err := w.loop(ctx, srcDone)

	// Stop taking frames: the tracks are closed (the room closes them before ctx ends) and the
	// source stops; then write what is queued and finish.
	stopSrc()
	close(c.stopped)
	if !w.srcEnded {
		if serr := <-srcDone; err == nil && serr != nil && !errors.Is(serr, context.Canceled) {
			err = serr
		}
	}
	w.drain()
	c.finish(w, m)
	return err
}
