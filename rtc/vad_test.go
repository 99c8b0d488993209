package rtc

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// vadSeg is a run of 20 ms packets, from and to inclusive, all with the same level and V flag.
type vadSeg struct {
	level    uint8
	v        bool
	from, to time.Duration
}

// vadEdge is a state change and when it happened.
type vadEdge struct {
	at       time.Duration
	speaking bool
}

func (e vadEdge) String() string { return fmt.Sprintf("%v@%v", e.speaking, e.at) }

const (
	vadLoud  = 30  // conversational speech
	vadQuiet = 127 // digital silence
)

// The expected edge times follow from the constants: with 20 ms packets, VADWindow averages 5
// levels; 4 loud ones among 5 (4*30+127 = 247 < 250) make the average loud, 2 quiet ones among
// 5 (3*30+2*127 = 344) make it quiet; VADOnset and VADHangover then add 100 and 500 ms.
func TestVAD(t *testing.T) {
	tests := []struct {
		name string
		segs []vadSeg
		want []vadEdge
	}{
		{"silence", []vadSeg{{vadQuiet, false, 0, 2 * time.Second}}, nil},
		{"speech from the first packet", []vadSeg{{vadLoud, false, 0, 500 * millis}},
			[]vadEdge{{100 * millis, true}}},
		{"onset after the window fills and 100 ms pass", []vadSeg{
			{vadQuiet, false, 0, 200 * millis},
			{vadLoud, false, 220 * millis, time.Second},
		}, []vadEdge{{380 * millis, true}}},
		{"hangover of 500 ms", []vadSeg{
			{vadLoud, false, 0, time.Second},
			{vadQuiet, false, 1020 * millis, 2 * time.Second},
		}, []vadEdge{{100 * millis, true}, {1540 * millis, false}}},
		{"a pause between words keeps speech", []vadSeg{
			{vadLoud, false, 0, time.Second},
			{vadQuiet, false, 1020 * millis, 1300 * millis},
			{vadLoud, false, 1320 * millis, 2 * time.Second},
		}, []vadEdge{{100 * millis, true}}},
		{"a short burst is not speech", []vadSeg{
			{vadQuiet, false, 0, 500 * millis},
			{vadLoud, false, 520 * millis, 580 * millis},
			{vadQuiet, false, 600 * millis, time.Second},
		}, nil},
		{"a click is not speech", []vadSeg{
			{vadQuiet, false, 0, 500 * millis},
			{0, false, 520 * millis, 520 * millis},
			{vadQuiet, false, 540 * millis, time.Second},
		}, nil},
		{"at the threshold is not speech", []vadSeg{{VADThreshold, false, 0, time.Second}}, nil},
		{"just under the threshold is speech", []vadSeg{{VADThreshold - 1, false, 0, time.Second}},
			[]vadEdge{{100 * millis, true}}},
		{"level alone decides without V", []vadSeg{{40, false, 0, 2 * time.Second}},
			[]vadEdge{{100 * millis, true}}},
		{"V=0 is silence once the sender has set V", []vadSeg{
			{40, true, 0, time.Second},
			{40, false, 1020 * millis, 2 * time.Second}, // one 127 among four 40s: 287, quiet at once
		}, []vadEdge{{100 * millis, true}, {1520 * millis, false}}},
		{"V=1 does not make a quiet level loud", []vadSeg{{90, true, 0, time.Second}}, nil},
		{"a long gap then speech again", []vadSeg{
			{vadLoud, false, 0, 200 * millis},
			{vadLoud, false, 5 * time.Second, 5200 * millis},
		}, []vadEdge{{100 * millis, true}}}, // Update alone cannot see a gap; Tick can
		{"gap after silence starts a fresh onset", []vadSeg{
			{vadLoud, false, 0, 200 * millis},
			{vadQuiet, false, 220 * millis, 1 * time.Second},
			{vadLoud, false, 5 * time.Second, 5200 * millis},
		}, []vadEdge{{100 * millis, true}, {740 * millis, false}, {5100 * millis, true}}},
	}
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v VAD
			var got []vadEdge
			for _, s := range tc.segs {
				for at := s.from; at <= s.to; at += 20 * millis {
					changed, speaking := v.Update(s.level, s.v, epoch.Add(at))
					if speaking != v.Speaking() {
						t.Fatalf("Update at %v returned speaking=%v, Speaking() = %v", at, speaking, v.Speaking())
					}
					if changed {
						got = append(got, vadEdge{at, speaking})
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("edges = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestVADClampsLevel(t *testing.T) {
	// Every fifth level is out of range; clamped to 127 it leaves each window loud (247 < 250),
	// taken as 255 it would make it quiet.
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var v VAD
	for i := range 100 {
		level := uint8(vadLoud)
		if i%5 == 4 {
			level = 255
		}
		if changed, speaking := v.Update(level, false, epoch.Add(time.Duration(i)*20*millis)); changed && !speaking {
			t.Fatalf("packet %d: speech ended", i)
		}
	}
	if !v.Speaking() {
		t.Error("Speaking() = false, want true")
	}
}

func TestVADTick(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		op          string // "loud", "quiet" (an Update) or "tick"
		at          time.Duration
		wantChanged bool
		wantSpeak   bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"tick while silent", []step{{"tick", time.Second, false, false}}},
		{"packets stop during speech", []step{
			{"loud", 0, false, false},
			{"loud", 100 * millis, true, true},
			{"tick", 599 * millis, false, true},
			{"tick", 600 * millis, true, false},
			{"tick", 700 * millis, false, false},
		}},
		{"packets stop during a quiet run", []step{
			{"loud", 0, false, false},
			{"loud", 100 * millis, true, true},
			{"quiet", 120 * millis, false, true}, // 1 quiet among 2: average 78.5, quiet from here
			{"tick", 619 * millis, false, true},
			{"tick", 620 * millis, true, false},
		}},
		{"speech resumes after a tick ended it", []step{
			{"loud", 0, false, false},
			{"loud", 100 * millis, true, true},
			{"tick", time.Second, true, false},
			{"loud", 2 * time.Second, false, false},
			{"loud", 2100 * millis, true, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v VAD
			for i, s := range tc.steps {
				var changed, speaking bool
				switch s.op {
				case "loud":
					changed, speaking = v.Update(vadLoud, false, epoch.Add(s.at))
				case "quiet":
					changed, speaking = v.Update(vadQuiet, false, epoch.Add(s.at))
				default:
					changed, speaking = v.Tick(epoch.Add(s.at))
				}
				if changed != s.wantChanged || speaking != s.wantSpeak {
					t.Errorf("step %d: %s at %v = %v, %v, want %v, %v",
						i, s.op, s.at, changed, speaking, s.wantChanged, s.wantSpeak)
				}
			}
		})
	}
}

func BenchmarkVADUpdate(b *testing.B) {
	var v VAD
	now := time.Now()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(20 * millis)
		level := uint8(vadLoud)
		if i%50 < 20 {
			level = vadQuiet
		}
		v.Update(level, false, now)
		i++
	}
}
