package composite

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// recorder is an Output that keeps what it got.
type recorder struct {
	mu      sync.Mutex
	video   []videoAU
	audio   []time.Duration
	callers map[int64]bool // distinct ffmpeg runs seen (by stats.runs at call time), for debugging
}

type videoAU struct {
	pts  time.Duration
	idr  bool
	sps  *h264.SPS // parsed SPS when the AU carries one
	nals int
}

func (r *recorder) WriteH264(pts time.Duration, au [][]byte) error {
	v := videoAU{pts: pts, nals: len(au)}
	for _, nalu := range au {
		if len(nalu) == 0 {
			return fmt.Errorf("empty NAL unit")
		}
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeIDR:
			v.idr = true
		case h264.NALUTypeSPS:
			var s h264.SPS
			if err := s.Unmarshal(nalu); err != nil {
				return fmt.Errorf("bad SPS: %w", err)
			}
			v.sps = &s
		}
	}
	r.mu.Lock()
	r.video = append(r.video, v)
	r.mu.Unlock()
	return nil
}

func (r *recorder) WriteAAC(pts time.Duration, au []byte) error {
	if len(au) == 0 {
		return fmt.Errorf("empty AAC access unit")
	}
	r.mu.Lock()
	r.audio = append(r.audio, pts)
	r.mu.Unlock()
	return nil
}

// snapshot copies what was recorded so far.
func (r *recorder) snapshot() ([]videoAU, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]videoAU(nil), r.video...), append([]time.Duration(nil), r.audio...)
}

// lastVideoPTS is the pts of the last video AU, -1 if none.
func (r *recorder) lastVideoPTS() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.video) == 0 {
		return -1
	}
	return r.video[len(r.video)-1].pts
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkContinuous asserts strictly increasing pts with no gap over maxGap.
func checkContinuous(t testing.TB, what string, pts []time.Duration, maxGap time.Duration) {
	t.Helper()
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; d <= 0 || d > maxGap {
			t.Errorf("%s pts[%d]=%v after pts[%d]=%v: step %v, want in (0, %v]", what, i, pts[i], i-1, pts[i-1], d, maxGap)
			return
		}
	}
}
