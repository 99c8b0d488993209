package composite

import (
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
)

// timeline maps each ffmpeg run's MPEG-TS timestamps onto one continuous output clock: a run
// starts where the previous one ended (its last frame plus one frame duration), so restarts
// leave no gap and pts keep growing. Used by the Run goroutine only.
type timeline struct {
	fps int

	offset time.Duration // added to the current run's timestamps
	next   time.Duration // where the next run starts

	lastVideo, lastAudio time.Duration
	haveVideo, haveAudio bool

	dec mpegts.TimeDecoder // this run's 33-bit unwrapping; zero at the run's first timestamp
}

// startRun begins a run: its first timestamp maps to where the previous run ended.
func (t *timeline) startRun() {
	t.offset = t.next
	t.dec = mpegts.TimeDecoder{}
}

func ticksToDuration(v int64) time.Duration {
	return time.Duration(v) * time.Second / 90000
}

// video maps a video pts; false if it would not be after the last one (dropped).
func (t *timeline) video(pts int64) (time.Duration, bool) {
	p := t.offset + ticksToDuration(t.dec.Decode(pts))
	if t.haveVideo && p <= t.lastVideo {
		return 0, false
	}
	t.lastVideo, t.haveVideo = p, true
	t.next = max(t.next, p+time.Second/time.Duration(t.fps))
	return p, true
}

// audio maps the pts of the first of n AAC access units of one PES and returns it (the others
// follow at 1024 samples each); false if it would not be after the last one.
func (t *timeline) audio(pts int64, n int) (time.Duration, bool) {
	p := t.offset + ticksToDuration(t.dec.Decode(pts))
	if t.haveAudio && p <= t.lastAudio {
		return 0, false
	}
	last := p + time.Duration(n-1)*aacDuration
	t.lastAudio, t.haveAudio = last, true
	t.next = max(t.next, last+aacDuration)
	return p, true
}

const aacDuration = time.Duration(aacFrame) * time.Second / audioRate
