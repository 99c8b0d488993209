package rtc

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestKeyframeThrottle(t *testing.T) {
	type step struct {
		op          string // "req" or "due"
		at          time.Duration
		want        bool
		wantPending bool
	}
	req := func(at time.Duration, want, pending bool) step { return step{"req", at, want, pending} }
	due := func(at time.Duration, want, pending bool) step { return step{"due", at, want, pending} }
	tests := []struct {
		name     string
		interval time.Duration
		steps    []step
	}{
		{"first request is sent", 0, []step{
			req(0, true, false),
		}},
		{"nothing pending, nothing due", 0, []step{
			due(0, false, false),
			req(0, true, false),
			due(time.Second, false, false),
		}},
		{"held back then due at the end of the interval", 0, []step{
			req(0, true, false),
			req(100*millis, false, true),
			due(200*millis, false, true),
			due(499*millis, false, true),
			due(500*millis, true, false),
			due(600*millis, false, false),
		}},
		{"requests during the interval coalesce", 0, []step{
			req(0, true, false),
			req(10*millis, false, true),
			req(20*millis, false, true),
			req(490*millis, false, true),
			due(510*millis, true, false),
			due(2*time.Second, false, false),
		}},
		{"interval restarts when the held request is sent", 0, []step{
			req(0, true, false),
			req(10*millis, false, true),
			due(700*millis, true, false),
			req(900*millis, false, true),
			due(1199*millis, false, true),
			due(1200*millis, true, false),
		}},
		{"a request after the interval is sent and clears the pending one", 0, []step{
			req(0, true, false),
			req(100*millis, false, true),
			req(600*millis, true, false),
			due(1200*millis, false, false),
		}},
		{"spaced requests all go through", 0, []step{
			req(0, true, false),
			req(500*millis, true, false),
			req(1000*millis, true, false),
		}},
		{"custom interval", 100 * millis, []step{
			req(0, true, false),
			req(50*millis, false, true),
			due(99*millis, false, true),
			due(100*millis, true, false),
			req(250*millis, true, false),
		}},
	}
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th := KeyframeThrottle{Interval: tc.interval}
			for i, s := range tc.steps {
				var got bool
				if s.op == "req" {
					got = th.Request(epoch.Add(s.at))
				} else {
					got = th.Due(epoch.Add(s.at))
				}
				if got != s.want {
					t.Errorf("step %d: %s(%v) = %v, want %v", i, s.op, s.at, got, s.want)
				}
				if p := th.Pending(); p != s.wantPending {
					t.Errorf("step %d: after %s(%v) Pending() = %v, want %v", i, s.op, s.at, p, s.wantPending)
				}
			}
		})
	}
}

func TestKeyframeThrottleNextDue(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var th KeyframeThrottle
	if _, ok := th.NextDue(); ok {
		t.Fatal("NextDue() ok with nothing pending")
	}
	th.Request(epoch)
	if _, ok := th.NextDue(); ok {
		t.Fatal("NextDue() ok after a request that was sent")
	}
	th.Request(epoch.Add(100 * millis))
	if got, ok := th.NextDue(); !ok || !got.Equal(epoch.Add(DefaultKeyframeInterval)) {
		t.Errorf("NextDue() = %v, %v, want %v, true", got, ok, epoch.Add(DefaultKeyframeInterval))
	}
}

// TestKeyframeThrottleTimer drives the throttle the way an owner without a packet stream
// would: a timer armed for NextDue, on the fake clock of a synctest bubble.
func TestKeyframeThrottleTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var th KeyframeThrottle
		start := time.Now()
		if !th.Request(time.Now()) {
			t.Fatal("first Request = false")
		}
		time.Sleep(30 * millis)
		if th.Request(time.Now()) {
			t.Fatal("second Request within the interval = true")
		}
		next, ok := th.NextDue()
		if !ok {
			t.Fatal("NextDue() = false with a request pending")
		}
		timer := time.NewTimer(time.Until(next))
		<-timer.C
		if !th.Due(time.Now()) {
			t.Fatal("Due = false when the timer fired")
		}
		if got := time.Since(start); got != DefaultKeyframeInterval {
			t.Errorf("held request sent after %v, want %v", got, DefaultKeyframeInterval)
		}
	})
}

func BenchmarkKeyframeThrottle(b *testing.B) {
	var th KeyframeThrottle
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		th.Request(now)
		th.Due(now)
	}
}
