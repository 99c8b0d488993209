package file

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/rtc"
)

// The payload types and clock rates Jellyfish gives the tracks of file components.
const (
	videoPT    = 96
	audioPT    = 108
	videoClock = 90000
	audioClock = 48000
)

// component plays one file. Its fields are set by the factory and read-only afterwards.
type component struct {
	dir       string // the sources directory
	rel       string // the file, cleaned, relative to dir
	given     string // filePath as the options gave it
	kind      jellyfish.TrackType
	framerate int64 // video only
}

var (
	_ jellyfish.Component           = (*component)(nil)
	_ jellyfish.ComponentPropertier = (*component)(nil)
)

// Properties are {"filePath": as given, "framerate": n (30 by default) or null for audio}.
func (c *component) Properties() map[string]any {
	var rate any // JSON null for audio
	if c.kind == jellyfish.TrackTypeVideo {
		rate = c.framerate
	}
	return map[string]any{"filePath": c.given, "framerate": rate}
}

// Run publishes the file's track and plays the file in real time. It returns nil at the end of
// the file (the room then removes the component quietly) or when ctx ends, and an error when
// the file cannot be read or is not what its extension says (ComponentCrashed).
func (c *component) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	// Opening through an os.Root keeps the file inside the sources directory even if a symbolic
	// link changed since the factory checked it.
	root, err := os.OpenRoot(c.dir)
	if err != nil {
		return fmt.Errorf("open sources directory: %w", err)
	}
	defer root.Close()
	f, err := root.Open(c.rel)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.rel, err)
	}
	defer f.Close()

	if c.kind == jellyfish.TrackTypeVideo {
		return c.playH264(ctx, m, f)
	}
	return playOpus(ctx, m, f)
}

// playH264 sends one access unit every 1/framerate s.
func (c *component) playH264(ctx context.Context, m *jellyfish.ComponentMember, f io.Reader) error {
	aus := newAUReader(f)
	first, err := aus.next()
	if err == io.EOF {
		return nil // an empty file plays nothing
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", c.rel, err)
	}
	track, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: webrtc.RTPCodecParameters{
		// Jellyfish does not look at the file's profile; neither do we: the track is offered
		// as the constrained baseline every subscriber negotiates.
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: videoClock, SDPFmtpLine: rtc.H264Constrained},
		PayloadType:        videoPT,
	}})
	if err != nil {
		return publishError(ctx, err)
	}
	p := newPacer()
	defer p.stop()
	pk := rtp.NewPacketizer(1200, videoPT, randomSSRC(), &codecs.H264Payloader{}, rtp.NewRandomSequencer(), videoClock)
	var ps paramSets
	rate := c.framerate
	au := first
	for n := int64(0); ; n++ {
		if err := p.wait(ctx, time.Duration(n)*time.Second/time.Duration(rate)); err != nil {
			return nil // removed
		}
		// Timestamps from the frame number, so a rate that does not divide 90 kHz does not drift.
		samples := uint32((n+1)*videoClock/rate - n*videoClock/rate)
		for _, pkt := range pk.Packetize(ps.annexB(au), samples) {
			if err := track.WriteRTP(pkt); err != nil {
				return fmt.Errorf("write rtp: %w", err)
			}
		}
		au, err = aus.next()
		if err == io.EOF {
			p.wait(ctx, time.Duration(n+1)*time.Second/time.Duration(rate)) // the last frame lasts too
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", c.rel, err)
		}
	}
}

// playOpus sends the Opus packets of an Ogg file, each at its time (the sum of the durations of
// the packets before it).
func playOpus(ctx context.Context, m *jellyfish.ComponentMember, f io.Reader) error {
	ogg, err := newOpusReader(f)
	if err != nil {
		return err
	}
	track, err := m.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeAudio, Codec: webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: audioClock, Channels: 2},
		PayloadType:        audioPT,
	}})
	if err != nil {
		return publishError(ctx, err)
	}
	p := newPacer()
	defer p.stop()
	h := rtp.Header{Version: 2, PayloadType: audioPT, SSRC: randomSSRC(), SequenceNumber: uint16(randomSSRC()), Timestamp: randomSSRC()}
	var at int64 // 48 kHz samples sent so far
	for {
		pkt, err := ogg.next()
		if err == io.EOF {
			p.wait(ctx, samplesToDuration(at)) // the last packet plays out
			return nil
		}
		if err != nil {
			return err
		}
		if err := p.wait(ctx, samplesToDuration(at)); err != nil {
			return nil // removed
		}
		if err := track.WriteRTP(&rtp.Packet{Header: h, Payload: pkt}); err != nil {
			return fmt.Errorf("write rtp: %w", err)
		}
		d := opusDuration(pkt)
		h.SequenceNumber++
		h.Timestamp += uint32(d)
		at += d
	}
}

func randomSSRC() uint32 { return rand.Uint32() }

func samplesToDuration(n int64) time.Duration { return time.Duration(n) * time.Second / audioClock }

// publishError: once the component is being removed, failing to publish is no crash.
func publishError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("publish: %w", err)
}

// pacer waits until points in time relative to its creation, on one reusable timer.
type pacer struct {
	start time.Time
	timer *time.Timer
}

func newPacer() *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{start: time.Now(), timer: t}
}

// wait returns at start+at (at once if that is past), or ctx's error once ctx ends.
func (p *pacer) wait(ctx context.Context, at time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Until(p.start.Add(at))
	if d <= 0 {
		return nil
	}
	p.timer.Reset(d)
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	case <-p.timer.C:
		return nil
	}
}

func (p *pacer) stop() { p.timer.Stop() }
