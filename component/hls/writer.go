package hls

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// startGrace is how long a stream whose source has no audio yet waits for one before it
// starts with video only.
const startGrace = time.Second

// maxVideoLead bounds the correction of videoLead (a replayed group of pictures).
const maxVideoLead = 5 * time.Second

const (
	videoRate = 90000
	audioRate = 48000 // Opus, and the composite's AAC
)

// output is a started stream: the muxer and what ServeFile and the finish need of it.
type output struct {
	m       *gohlslib.Muxer
	video   *gohlslib.Track
	audio   *gohlslib.Track // nil: video only
	videoID string          // gohlslib's stream ids: "video1", and "audio2" with audio
	audioID string
}

// writer is Run's state: it alone writes the muxer (gohlslib's Write* are not concurrent).
type writer struct {
	c   *Component
	m   *jellyfish.ComponentMember
	log *slog.Logger

	out    *output
	t0     time.Time // wall time of pts 0 (EXT-X-PROGRAM-DATE-TIME)
	vt, at timeline  // passthrough: RTP time to pts, per kind
	// videoLead is how far the video's media time ran ahead of the wall clock: a publisher
	// component replays its last group of pictures to a new subscriber at once, so the first
	// picture is older than its arrival. Audio is anchored that much later to stay in sync.
	videoLead time.Duration
	srcEnded  bool // the source's run returned (its result was taken)

	// The segment being written, mirrored so that the finish can close it (see flush).
	prefix    string // gohlslib's random file prefix, found once the first segment exists
	seg       uint64 // id of the segment being written
	segStart  int64  // its first pts (90 kHz)
	firstPTS  int64
	lastPTS   int64
	prevPTS   int64
	lastKey   [][]byte // the last IDR access unit (with its SPS and PPS)
	lastKeyAt time.Time
	frames    int // video frames written

	pending      []frame // before the stream starts: from the first keyframe on
	pendingSince time.Time

	watch sync.WaitGroup // the playable watcher
	errs  int            // muxer errors logged so far
}

// loop writes frames until ctx ends or the source fails.
func (w *writer) loop(ctx context.Context, srcDone <-chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-srcDone:
			w.srcEnded = true
			if err != nil && ctx.Err() == nil {
				return err
			}
			srcDone = nil
		case f := <-w.c.frames:
			w.write(f)
		case now := <-tick.C:
			if len(w.pending) > 0 && now.Sub(w.pendingSince) >= startGrace {
				w.startPending()
			}
			w.c.src.tick(now.Sub(w.lastKeyAt))
		}
	}
}

// drain writes the frames still queued (the sources have stopped).
func (w *writer) drain() {
	for {
		select {
		case f := <-w.c.frames:
			w.write(f)
		default:
			return
		}
	}
}

func (w *writer) write(f frame) {
	if w.out == nil {
		w.hold(f)
		return
	}
	if f.video {
		w.writeVideo(f)
		return
	}
	if w.out.audio == nil {
		return
	}
	var pts int64
	if f.abs {
		pts = durationToTicks(f.pts, audioRate)
	} else {
		pts = w.at.pts(f.track, f.ts, f.arrival.Sub(w.t0)+w.videoLead, audioRate)
	}
	ntp := w.t0.Add(ticksToDuration(pts, audioRate))
	var err error
	if _, ok := w.out.audio.Codec.(*codecs.Opus); ok {
		err = w.out.m.WriteOpus(w.out.audio, ntp, pts, f.au)
	} else {
		err = w.out.m.WriteMPEG4Audio(w.out.audio, ntp, pts, f.au)
	}
	w.check(err)
}

func (w *writer) writeVideo(f frame) {
	key := isIDR(f.au)
	var pts int64
	if f.abs {
		pts = durationToTicks(f.pts, videoRate)
	} else {
		pts = w.vt.pts(f.track, f.ts, f.arrival.Sub(w.t0)+w.videoLead, videoRate)
		lead := ticksToDuration(pts-w.firstPTS, videoRate) - f.arrival.Sub(w.t0)
		w.videoLead = min(max(w.videoLead, lead), maxVideoLead)
	}
	w.check(w.out.m.WriteH264(w.out.video, w.t0.Add(ticksToDuration(pts, videoRate)), pts, f.au))
	w.prevPTS, w.lastPTS = w.lastPTS, pts
	if key {
		w.lastKey, w.lastKeyAt = f.au, time.Now()
	}
	w.frames++
	if w.prefix == "" {
		if w.frames < 10 || key { // the first segment's file appears with the second frame
			w.findPrefix()
		}
	} else if key && w.exists(w.seg+1) {
		// gohlslib starts a segment at an IDR once the current one is long enough.
		w.seg, w.segStart = w.seg+1, pts
	}
}

// hold keeps the frames from the first keyframe on until the stream starts: at once when the
// source has audio, else after startGrace (the room offers a publisher's tracks one by one,
// and the muxer's tracks are fixed when it starts).
func (w *writer) hold(f frame) {
	if len(w.pending) == 0 {
		if !f.video || !isIDR(f.au) {
			return // the stream starts at a keyframe
		}
		w.pendingSince = time.Now()
	}
	w.pending = append(w.pending, f)
	if w.c.src.audioCodec() != nil || time.Since(w.pendingSince) >= startGrace {
		w.startPending()
	}
}

// startPending starts the stream with the frames held.
func (w *writer) startPending() {
	pending := w.pending
	w.pending = nil
	if len(pending) == 0 || !w.start(pending[0]) {
		return
	}
	for _, f := range pending {
		w.write(f)
	}
}

// start creates the muxer; it has an audio track when the source has audio by then.
func (w *writer) start(f frame) bool {
	c := w.c
	variant := gohlslib.MuxerVariantFMP4
	if c.opts.lowLatency {
		variant = gohlslib.MuxerVariantLowLatency
	}
	out := &output{video: &gohlslib.Track{Codec: &codecs.H264{}, ClockRate: videoRate}, videoID: "video1"}
	tracks := []*gohlslib.Track{out.video}
	if codec := c.src.audioCodec(); codec != nil {
		out.audio = &gohlslib.Track{Codec: codec, ClockRate: audioRate}
		out.audioID = "audio2"
		tracks = append(tracks, out.audio)
	}
	log := w.log
	out.m = &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            variant,
		SegmentCount:       c.opts.segmentCount(c.cfg.segment),
		SegmentMinDuration: c.cfg.segment,
		PartMinDuration:    c.cfg.part,
		Directory:          c.dir,
		OnEncodeError:      func(err error) { log.Debug("hls muxer", "err", err) },
	}
	if err := out.m.Start(); err != nil {
		w.log.Error("hls: cannot start the muxer", "err", err)
		return false
	}
	w.out = out
	if f.abs {
		w.t0 = time.Now().Add(-f.pts)
		w.firstPTS = durationToTicks(f.pts, videoRate)
	} else {
		w.t0 = f.arrival
	}
	w.segStart = w.firstPTS
	if c.opts.lowLatency {
		w.seg = 7 // gohlslib puts seven gaps first (iOS)
	}
	c.mu.Lock()
	c.out = out
	c.mu.Unlock()
	w.watch.Add(1)
	go w.watchPlayable(out)
	w.log.Info("hls stream started", "audio", out.audio != nil, "lowLatency", c.opts.lowLatency, "dir", c.dir)
	return true
}

// watchPlayable waits until gohlslib serves the video playlist (or the muxer closes): then the
// stream is playable, once.
func (w *writer) watchPlayable(out *output) {
	defer w.watch.Done()
	rec := &recorder{}
	out.m.Handle(rec, muxerRequest(out.videoID+"_stream.m3u8", ""))
	if rec.status() == 200 && !w.c.playable.Swap(true) {
		w.log.Info("hls stream playable")
		w.m.Emit(jellyfish.HlsPlayable{RoomID: w.c.roomID, ComponentID: w.m.ID()})
	}
}

// flush makes gohlslib close the segment being written, which Muxer.Close would drop: it
// writes the last keyframe again at a time that starts a new segment. The written frame never
// reaches a file (gohlslib holds each sample until the next one); its time only gives the last
// real frame its duration, so the stream's tail is kept at the cost of a still last frame
// (up to a segment long).
func (w *writer) flush() {
	if w.out == nil || w.prefix == "" || w.lastKey == nil {
		return
	}
	frameDur := w.lastPTS - w.prevPTS
	if frameDur <= 0 || frameDur > videoRate {
		frameDur = videoRate / 30
	}
	segMin := durationToTicks(w.c.cfg.segment, videoRate)
	// The second time is in case our mirror of the segment start is off: a whole segment
	// after the last frame always starts a new one.
	for _, pts := range []int64{max(w.lastPTS+frameDur, w.segStart+segMin), 0} {
		if pts == 0 {
			pts = w.lastPTS + segMin
		}
		w.check(w.out.m.WriteH264(w.out.video, w.t0.Add(ticksToDuration(pts, videoRate)), pts, w.lastKey))
		w.prevPTS, w.lastPTS = w.lastPTS, pts
		if w.exists(w.seg + 1) {
			w.seg++
			return
		}
	}
	w.log.Warn("hls: could not close the last segment; its media is lost")
}

// findPrefix learns gohlslib's file prefix from the first segment file.
func (w *writer) findPrefix() {
	suffix := "_" + w.out.videoID + "_seg" + strconv.FormatUint(w.seg, 10) + ".mp4"
	names, _ := filepath.Glob(filepath.Join(w.c.dir, "*"+suffix))
	if len(names) == 1 {
		w.prefix = strings.TrimSuffix(filepath.Base(names[0]), suffix)
	}
}

// segmentName is gohlslib's name of a segment file of stream id.
func segmentName(prefix, id string, n uint64) string {
	return prefix + "_" + id + "_seg" + strconv.FormatUint(n, 10) + ".mp4"
}

// exists reports whether gohlslib has created video segment n.
func (w *writer) exists(n uint64) bool {
	_, err := os.Stat(filepath.Join(w.c.dir, segmentName(w.prefix, w.out.videoID, n)))
	return err == nil
}

// check logs muxer errors (a few; they repeat per frame when the input is broken).
func (w *writer) check(err error) {
	if err == nil {
		return
	}
	w.errs++
	if w.errs <= 5 || w.errs%1000 == 0 {
		w.log.Warn("hls: muxer write", "err", err, "count", w.errs)
	}
}

// timeline maps a source's RTP timestamps to the stream's pts. A new source continues from
// its arrival time (the stream's clock is the wall clock since it started), never going back.
type timeline struct {
	track   string
	last    uint32
	acc     int64
	base    int64
	lastPTS int64
	started bool
}

func (t *timeline) pts(track string, ts uint32, sinceStart time.Duration, rate int) int64 {
	if !t.started || track != t.track {
		base := durationToTicks(max(sinceStart, 0), rate)
		if t.started && base <= t.lastPTS {
			base = t.lastPTS + 1
		}
		*t = timeline{track: track, last: ts, base: base, started: true}
	} else {
		t.acc += int64(int32(ts - t.last)) // unwraps 32-bit timestamps
		t.last = ts
	}
	t.lastPTS = t.base + t.acc
	return t.lastPTS
}

func durationToTicks(d time.Duration, rate int) int64 {
	return int64(d/time.Second)*int64(rate) + int64(d%time.Second)*int64(rate)/int64(time.Second)
}

func ticksToDuration(t int64, rate int) time.Duration {
	return time.Duration(t/int64(rate))*time.Second + time.Duration(t%int64(rate))*time.Second/time.Duration(rate)
}

func isIDR(au [][]byte) bool {
	for _, n := range au {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

// codecs are the stream's RFC 6381 codec names (the video's from its last SPS).
func (w *writer) codecs() []string {
	var video codecs.H264
	for _, n := range w.lastKey {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			video.SPS = n
		case h264.NALUTypePPS:
			video.PPS = n
		}
	}
	names := []string{codecparams.Marshal(&video)}
	if w.out.audio != nil {
		names = append(names, codecparams.Marshal(w.out.audio.Codec))
	}
	return names
}

// resolution is the video's size from its last SPS (0 when unknown).
func (w *writer) resolution() (width, height int) {
	for _, n := range w.lastKey {
		var sps h264.SPS
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS && sps.Unmarshal(n) == nil {
			return sps.Width(), sps.Height()
		}
	}
	return 0, 0
}
