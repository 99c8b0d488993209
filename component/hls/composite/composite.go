package composite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Config configures a Compositor. The zero value is usable.
type Config struct {
	FFmpeg        string // path to ffmpeg; "" = "ffmpeg" from PATH
	Width, Height int    // canvas size; 0 = 1920×1080 (odd values are rounded down to even)
	FPS           int    // output frame rate; 0 = 24
	Logger        *slog.Logger
	// OnKeyframeNeeded is called (from a goroutine of Run; it must not block) when a video input
	// needs a keyframe: shortly after ffmpeg (re)starts, then every second until ffmpeg puts out its
	// first picture. The HLS component wires it to SinkTrack.RequestKeyframe. nil = no requests.
	OnKeyframeNeeded func(trackID string)
}

// Output receives the composited stream; calls come from one goroutine, in order, pts continuous
// across restarts.
type Output interface {
	// WriteH264 receives one access unit (NAL units without start codes); IDR AUs carry SPS+PPS.
	// au is valid only during the call. An error ends Run with that error.
	WriteH264(pts time.Duration, au [][]byte) error
	// WriteAAC receives one raw AAC access unit (no ADTS header), AAC-LC 48 kHz stereo; valid
	// only during the call. An error ends Run with that error.
	WriteAAC(pts time.Duration, au []byte) error
}

// AudioConfig is the AAC configuration of every output (ffmpeg is told to encode exactly this).
func AudioConfig() mpeg4audio.AudioSpecificConfig {
	return mpeg4audio.AudioSpecificConfig{
		Type:          mpeg4audio.ObjectTypeAACLC,
		SampleRate:    audioRate,
		ChannelConfig: 2,
		ChannelCount:  2, //nolint:staticcheck // still read by some muxers
	}
}

const (
	audioRate      = 48000
	aacFrame       = 1024 // samples per AAC-LC access unit
	audioBitrate   = "128k"
	defaultWidth   = 1920
	defaultHeight  = 1080
	defaultFPS     = 24
	availableTimer = 10 * time.Second
)

// Available reports an error when ffmpeg cannot run (missing binary, or built without libx264 or
// the native AAC encoder): the HLS factory turns it into a 400.
func Available(ffmpegPath string) error {
	if ffmpegPath == "" {
		ffmpegPath = "ffmpeg"
	}
	ctx, cancel := context.WithTimeout(context.Background(), availableTimer)
	defer cancel()
	out, err := exec.CommandContext(ctx, ffmpegPath, "-hide_banner", "-nostdin", "-encoders").Output()
	if err != nil {
		return fmt.Errorf("ffmpeg %q cannot run: %w", ffmpegPath, err)
	}
	for _, enc := range []string{" libx264 ", " aac "} {
		if !strings.Contains(string(out), enc) {
			return fmt.Errorf("ffmpeg %q lacks the %s encoder", ffmpegPath, strings.TrimSpace(enc))
		}
	}
	return nil
}

// Compositor runs ffmpeg to composite its inputs into one H.264 + AAC stream. AddTrack and
// RemoveTrack are safe to call from any goroutine, before or during Run.
type Compositor struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	inputs  map[string]*input // by track ID
	changed chan struct{}     // 1-slot: the set of inputs (or their activity) changed

	backoff    time.Duration // first restart delay after a failure; doubles up to backoffMax
	stallAfter time.Duration // no output for this long: restart ffmpeg
	stats      stats
}

// New returns a Compositor; nothing runs until Run.
func New(cfg Config) *Compositor {
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.Width <= 0 {
		cfg.Width = defaultWidth
	}
	if cfg.Height <= 0 {
		cfg.Height = defaultHeight
	}
	cfg.Width, cfg.Height = cfg.Width&^1, cfg.Height&^1
	if cfg.FPS <= 0 {
		cfg.FPS = defaultFPS
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Compositor{cfg: cfg, log: log, inputs: map[string]*input{},
		changed: make(chan struct{}, 1), backoff: backoffMin, stallAfter: stallAfter}
}

// AddTrack adds an input (H.264 or VP8 video, Opus audio; codec from the track) and returns the
// function receiving its RTP packets (called on the track's goroutine, one call at a time; header
// and payload are valid only during the call). It returns nil for an unsupported kind or codec, or
// for an ID already added. The input joins the layout once its first packet arrives; adding or
// removing one restarts ffmpeg with the new layout (debounced), the output staying continuous.
func (c *Compositor) AddTrack(id string, kind string, codec webrtc.RTPCodecParameters) func(h *rtp.Header, payload []byte) {
	enc, ok := encodingOf(kind, codec)
	if !ok {
		c.log.Warn("composite: unsupported track, not composited", "track", id, "kind", kind, "codec", codec.MimeType)
		return nil
	}
	in := newInput(id, enc, c.notify)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.inputs[id]; dup {
		return nil
	}
	c.inputs[id] = in
	return in.forward
}

// RemoveTrack removes an input; unknown IDs are ignored.
func (c *Compositor) RemoveTrack(id string) {
	c.mu.Lock()
	in, ok := c.inputs[id]
	delete(c.inputs, id)
	c.mu.Unlock()
	if ok {
		in.detach()
		c.notify()
	}
}

// notify wakes Run's layout check without blocking.
func (c *Compositor) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// activeInputs returns the inputs that received a packet recently, sorted by ID so that the
// layout does not depend on map order.
func (c *Compositor) activeInputs(now time.Time) []*input {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ins []*input
	for _, in := range c.inputs {
		if in.activeAt(now) {
			ins = append(ins, in)
		}
	}
	slices.SortFunc(ins, func(a, b *input) int { return strings.Compare(a.id, b.id) })
	return ins
}

var errGaveUp = errors.New("composite: ffmpeg keeps failing")
