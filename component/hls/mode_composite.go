package hls

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/pion/rtp"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/hls/composite"
)

// The composite mode (Jellyfish's only one): every subscribed video is laid out on one
// 1920×1080 picture at 24 fps and the audio is mixed, by ffmpeg (package composite); the
// stream is H.264 + AAC.
const (
	canvasWidth  = 1920
	canvasHeight = 1080
	canvasFPS    = 24
)

// compositeSource feeds the room's tracks to a Compositor, whose output Run muxes.
type compositeSource struct {
	cfg Config

	mu     sync.Mutex
	comp   *composite.Compositor
	tracks map[string]*jellyfish.SinkTrack // for keyframe requests
}

func newCompositeSource(cfg Config, log *slog.Logger) *compositeSource {
	s := &compositeSource{cfg: cfg, tracks: map[string]*jellyfish.SinkTrack{}}
	s.comp = composite.New(composite.Config{
		FFmpeg: cfg.FFmpeg, Width: canvasWidth, Height: canvasHeight, FPS: canvasFPS,
		Logger: log, OnKeyframeNeeded: s.requestKeyframe,
	})
	return s
}

func (s *compositeSource) requestKeyframe(id string) {
	s.mu.Lock()
	t := s.tracks[id]
	s.mu.Unlock()
	if t != nil {
		t.RequestKeyframe()
	}
}

func (s *compositeSource) addTrack(c *Component, t *jellyfish.SinkTrack) func(h *rtp.Header, payload []byte) {
	recv := s.comp.AddTrack(t.ID, string(t.Kind), t.Codec)
	if recv == nil {
		c.log.Load().Warn("hls: track not composited", "track", t.ID, "codec", t.Codec.MimeType)
		return nil
	}
	s.mu.Lock()
	s.tracks[t.ID] = t
	s.mu.Unlock()
	return recv
}

func (s *compositeSource) removeTrack(t *jellyfish.SinkTrack) {
	s.mu.Lock()
	delete(s.tracks, t.ID)
	s.mu.Unlock()
	s.comp.RemoveTrack(t.ID)
}

func (s *compositeSource) run(ctx context.Context, c *Component) error {
	return s.comp.Run(ctx, compositeOutput{c})
}

func (s *compositeSource) tick(time.Duration) {} // the compositor's encoder makes keyframes

func (s *compositeSource) audioCodec() codecs.Codec {
	return &codecs.MPEG4Audio{Config: composite.AudioConfig()}
}

// compositeOutput hands the compositor's output to Run.
type compositeOutput struct{ c *Component }

// The frames are copied: Run writes them later, and the compositor may reuse its buffers.

func (o compositeOutput) WriteH264(pts time.Duration, au [][]byte) error {
	owned := make([][]byte, len(au))
	for i, n := range au {
		owned[i] = slices.Clone(n)
	}
	o.c.send(frame{video: true, au: owned, pts: pts, abs: true})
	return nil
}

func (o compositeOutput) WriteAAC(pts time.Duration, au []byte) error {
	o.c.send(frame{au: [][]byte{slices.Clone(au)}, pts: pts, abs: true})
	return nil
}
