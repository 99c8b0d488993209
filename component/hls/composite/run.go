package composite

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

const (
	debounce      = 300 * time.Millisecond // quiet time after a layout change before (re)starting
	watchTick     = 250 * time.Millisecond
	keyframeEvery = time.Second            // keyframe requests until ffmpeg's first picture
	keyframeFirst = 300 * time.Millisecond // ffmpeg needs a moment to bind its sockets
	stallAfter    = 10 * time.Second       // no output for this long: restart ffmpeg
	backoffMin    = 500 * time.Millisecond
	backoffMax    = 8 * time.Second
	maxFailures   = 5 // consecutive ffmpeg exits without output before Run gives up
)

// stats are figures for tests and benchmarks.
type stats struct {
	runs atomic.Int64  // ffmpeg processes started
	pid  atomic.Int64  // of the last ffmpeg started
	cpu  time.Duration // ffmpeg user+system CPU time over finished runs (Run goroutine only)
}

// Run supervises ffmpeg until ctx ends, then stops it and waits for it: no child outlives Run.
// ffmpeg runs only while at least one input is active (had a packet in the last 3 s); with no
// video input the picture is a black canvas, with no audio input the sound is silence. It is
// restarted, debounced, whenever the set of active inputs changes, after it stalls (no output for
// 10 s), and after it exits by itself (with a backoff, logged). Run returns nil once ctx ends, the
// Output's error if a write fails, and an error if ffmpeg cannot start or exits 5 times in a row
// without producing anything. Run may be called once.
func (c *Compositor) Run(ctx context.Context, out Output) error {
	tl := &timeline{fps: c.cfg.FPS}
	failures, backoff := 0, c.backoff
	for {
		layout, ok := c.waitLayout(ctx)
		if !ok {
			return nil
		}
		res := c.runOnce(ctx, layout, out, tl)
		switch {
		case ctx.Err() != nil:
			return nil
		case res.fatal != nil:
			return res.fatal
		case res.reason == stopLayout:
			c.log.Debug("composite: layout changed, ffmpeg stopped", "exit", res.exit, "took", res.stopTook)
			failures, backoff = 0, c.backoff
			continue
		case res.produced:
			failures, backoff = 0, c.backoff
		case res.reason == stopNone:
			failures++
			if failures >= maxFailures {
				return fmt.Errorf("%w: %v: %s", errGaveUp, res.exit, res.stderr)
			}
		}
		c.log.Warn("composite: ffmpeg ended, restarting", "stalled", res.reason == stopStalled,
			"exit", res.exit, "stderr", res.stderr, "backoff", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// waitLayout waits until some inputs are active and no change happened for the debounce time,
// and returns them (at most maxInputs); false once ctx ends.
func (c *Compositor) waitLayout(ctx context.Context) ([]*input, bool) {
	timer := time.NewTimer(debounce)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, false
		case <-c.changed:
			timer.Reset(debounce)
		case <-timer.C:
			if act := c.layout(time.Now()); len(act) > 0 {
				return act, true
			}
		}
	}
}

// layout is the active inputs that fit in one run.
func (c *Compositor) layout(now time.Time) []*input {
	act := c.activeInputs(now)
	if len(act) > maxInputs {
		act = act[:maxInputs]
	}
	return act
}

// watch runs beside one ffmpeg run until ended closes: it asks for keyframes until the first
// picture comes out and stops the run when ctx ends, the layout changes or the output stalls.
func (c *Compositor) watch(ctx context.Context, ended <-chan struct{}, layout []*input, prog *progress, stop func(stopReason)) {
	tick := time.NewTicker(watchTick)
	defer tick.Stop()
	settle := time.NewTimer(debounce)
	settle.Stop()
	defer settle.Stop()
	settling := false
	nextKeyframe := time.Now().Add(keyframeFirst)
	for {
		select {
		case <-ended:
			return
		case <-ctx.Done():
			stop(stopCtx)
			return
		case <-c.changed:
			settle.Reset(debounce)
			settling = true
		case <-settle.C:
			settling = false
			if !slices.Equal(c.layout(time.Now()), layout) {
				stop(stopLayout)
				return
			}
		case now := <-tick.C:
			if !settling && !slices.Equal(c.layout(now), layout) { // an input went quiet
				settle.Reset(debounce)
				settling = true
			}
			if !prog.video.Load() && !now.Before(nextKeyframe) {
				c.requestKeyframes(layout)
				nextKeyframe = now.Add(keyframeEvery)
			}
			if now.Sub(time.Unix(0, prog.last.Load())) > c.stallAfter {
				stop(stopStalled)
				return
			}
		}
	}
}

func (c *Compositor) requestKeyframes(layout []*input) {
	if c.cfg.OnKeyframeNeeded == nil {
		return
	}
	for _, in := range layout {
		if in.enc.video && !in.gone.Load() {
			c.cfg.OnKeyframeNeeded(in.id)
		}
	}
}

// sleep waits d; false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
