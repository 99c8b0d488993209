package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// mungerStep is one call on a Munger: op is "fwd" (Rewrite), "drop" or "switch".
type mungerStep struct {
	op      string
	seq     uint16
	ts      uint32
	at      time.Duration // arrival, from an epoch; -1 means unknown (zero time)
	wantOK  bool
	wantSeq uint16
	wantTS  uint32
}

func mungeFwd(seq uint16, ts uint32, at time.Duration, wantSeq uint16, wantTS uint32) mungerStep {
	return mungerStep{op: "fwd", seq: seq, ts: ts, at: at, wantOK: true, wantSeq: wantSeq, wantTS: wantTS}
}

func mungeRefused(seq uint16, ts uint32) mungerStep {
	return mungerStep{op: "fwd", seq: seq, ts: ts, at: -1, wantOK: false}
}

func mungeDrop(seq uint16) mungerStep { return mungerStep{op: "drop", seq: seq} }

var mungeSwitch = mungerStep{op: "switch"}

const millis = time.Millisecond

func TestMunger(t *testing.T) {
	tests := []struct {
		name  string
		rate  uint32
		steps []mungerStep
	}{
		{"passthrough", 90000, []mungerStep{
			mungeFwd(100, 1000, 0, 100, 1000),
			mungeFwd(101, 1000, 0, 101, 1000),
			mungeFwd(102, 4000, 33*millis, 102, 4000),
		}},
		{"seq and ts wrap", 90000, []mungerStep{
			mungeFwd(65534, 0xfffff000, 0, 65534, 0xfffff000),
			mungeFwd(65535, 0xfffff000, 0, 65535, 0xfffff000),
			mungeFwd(0, 0x00000bb8, 33*millis, 0, 0x00000bb8),
			mungeFwd(1, 0x00000bb8, 33*millis, 1, 0x00000bb8),
		}},
		{"loss leaves a hole", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeFwd(13, 0, 0, 13, 0),
			mungeFwd(12, 0, 0, 12, 0),
		}},
		{"drop closes the gap", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeDrop(11),
			mungeFwd(12, 3000, 0, 11, 3000),
			mungeFwd(13, 3000, 0, 12, 3000),
		}},
		{"run of drops", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeDrop(11), mungeDrop(12), mungeDrop(13),
			mungeFwd(14, 0, 0, 11, 0),
			mungeDrop(15),
			mungeFwd(16, 0, 0, 12, 0),
		}},
		{"drop across wrap", 90000, []mungerStep{
			mungeFwd(65534, 0, 0, 65534, 0),
			mungeDrop(65535), mungeDrop(0),
			mungeFwd(1, 0, 0, 65535, 0),
			mungeFwd(2, 0, 0, 0, 0),
		}},
		{"drop after loss keeps the lost slot", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeDrop(12), // 11 lost
			mungeFwd(13, 0, 0, 12, 0),
			mungeFwd(11, 0, 0, 11, 0), // late: fills the hole the subscriber NACKed
			mungeRefused(12, 0),       // a dropped packet coming back is not forwarded
		}},
		{"late drop cannot close its gap", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeFwd(12, 0, 0, 12, 0),
			mungeDrop(11),
			mungeFwd(13, 0, 0, 13, 0),
		}},
		{"reorder around a drop", 90000, []mungerStep{
			mungeFwd(10, 0, 0, 10, 0),
			mungeDrop(11),
			mungeFwd(13, 0, 0, 12, 0), // 12 late
			mungeFwd(12, 0, 0, 11, 0),
			mungeFwd(14, 0, 0, 13, 0),
		}},
		{"duplicates and retransmissions map the same", 90000, []mungerStep{
			mungeFwd(10, 90, 0, 10, 90),
			mungeDrop(11),
			mungeFwd(12, 180, 0, 11, 180),
			mungeFwd(12, 180, 0, 11, 180),
			mungeFwd(13, 270, 0, 12, 270),
			mungeFwd(10, 90, 0, 10, 90),
			mungeFwd(12, 180, 0, 11, 180),
		}},
		{"switch uses elapsed wall time", 90000, []mungerStep{
			mungeFwd(100, 1000, 0, 100, 1000),
			mungeFwd(101, 4000, 33*millis, 101, 4000),
			mungeSwitch,
			mungeFwd(5000, 777, 66*millis, 102, 4000+33*90),
			mungeFwd(5001, 777, 66*millis, 103, 4000+33*90),
			mungeFwd(5002, 3777, 99*millis, 104, 4000+33*90+3000),
		}},
		{"switch without wall time advances one frame", 90000, []mungerStep{
			mungeFwd(100, 1000, -1, 100, 1000),
			mungeSwitch,
			mungeFwd(7, 50, -1, 101, 1000+3000),
		}},
		{"switch at the same instant advances one frame", 48000, []mungerStep{
			mungeFwd(100, 1000, 10*millis, 100, 1000),
			mungeSwitch,
			mungeFwd(7, 50, 10*millis, 101, 1000+1600),
		}},
		{"audio switch after a pause", 48000, []mungerStep{
			mungeFwd(100, 960, 0, 100, 960),
			mungeSwitch,
			mungeFwd(9, 123456, 2*time.Second, 101, 960+96000),
		}},
		{"switch across seq and ts wrap", 90000, []mungerStep{
			mungeFwd(65535, 0xffffff00, 0, 65535, 0xffffff00),
			mungeSwitch,
			mungeFwd(300, 10, 10*millis, 0, 644), // 0xffffff00 + 900 ticks, mod 2^32
			mungeFwd(301, 3010, 43*millis, 1, 644+3000),
		}},
		{"packets older than the switch are refused", 90000, []mungerStep{
			mungeFwd(100, 0, 0, 100, 0),
			mungeSwitch,
			mungeFwd(5000, 0, -1, 101, 3000),
			mungeRefused(4999, 0),
			mungeFwd(5001, 0, -1, 102, 3000),
		}},
		{"drops while switching are ignored", 90000, []mungerStep{
			mungeFwd(100, 0, -1, 100, 0),
			mungeSwitch,
			mungeDrop(5000), mungeDrop(5001), // waiting for a keyframe
			mungeFwd(5002, 0, -1, 101, 3000),
			mungeRefused(5001, 0),
			mungeDrop(5003),
			mungeFwd(5004, 0, -1, 102, 3000),
		}},
		{"switch before the first packet is a no-op", 90000, []mungerStep{
			mungeSwitch,
			mungeFwd(42, 4242, -1, 42, 4242),
		}},
		{"drop before the first packet is ignored", 90000, []mungerStep{
			mungeDrop(41),
			mungeFwd(42, 4242, -1, 42, 4242),
		}},
		{"zero clock rate means 90 kHz", 0, []mungerStep{
			mungeFwd(1, 0, -1, 1, 0),
			mungeSwitch,
			mungeFwd(9, 0, -1, 2, 3000),
		}},
	}
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMunger(tc.rate)
			for i, s := range tc.steps {
				switch s.op {
				case "switch":
					m.Switch()
				case "drop":
					m.Drop(s.seq)
				case "fwd":
					var at time.Time
					if s.at >= 0 {
						at = epoch.Add(s.at)
					}
					h := rtp.Header{SequenceNumber: s.seq, Timestamp: s.ts}
					ok := m.Rewrite(&h, at)
					if ok != s.wantOK {
						t.Fatalf("step %d: Rewrite(seq %d) ok = %v, want %v", i, s.seq, ok, s.wantOK)
					}
					if !ok {
						if h.SequenceNumber != s.seq || h.Timestamp != s.ts {
							t.Errorf("step %d: refused Rewrite(seq %d) changed the header", i, s.seq)
						}
						continue
					}
					if h.SequenceNumber != s.wantSeq || h.Timestamp != s.wantTS {
						t.Errorf("step %d: Rewrite(seq %d, ts %d) = seq %d, ts %d, want seq %d, ts %d",
							i, s.seq, s.ts, h.SequenceNumber, h.Timestamp, s.wantSeq, s.wantTS)
					}
				}
			}
		})
	}
}

func TestMungerLast(t *testing.T) {
	var m Munger
	if _, _, ok := m.Last(); ok {
		t.Fatal("Last() ok before the first packet")
	}
	h := rtp.Header{SequenceNumber: 7, Timestamp: 700}
	m.Rewrite(&h, time.Time{})
	h = rtp.Header{SequenceNumber: 9, Timestamp: 900}
	m.Rewrite(&h, time.Time{})
	h = rtp.Header{SequenceNumber: 8, Timestamp: 800}
	m.Rewrite(&h, time.Time{}) // late: not the newest
	if seq, ts, ok := m.Last(); !ok || seq != 9 || ts != 900 {
		t.Errorf("Last() = %d, %d, %v, want 9, 900, true", seq, ts, ok)
	}
}

// TestMungerWindow checks that a retransmission maps while its offset is among the remembered
// ranges and is refused once it has been forgotten.
func TestMungerWindow(t *testing.T) {
	var m Munger
	rewrite := func(seq uint16) (uint16, bool) {
		h := rtp.Header{SequenceNumber: seq}
		ok := m.Rewrite(&h, time.Time{})
		return h.SequenceNumber, ok
	}
	rewrite(0)
	// Forward even, drop odd: every drop opens a new range.
	for seq := uint16(1); seq < 2*mungerRanges; seq += 2 {
		m.Drop(seq)
		if got, ok := rewrite(seq + 1); !ok || got != seq/2+1 {
			t.Fatalf("Rewrite(%d) = %d, %v, want %d, true", seq+1, got, ok, seq/2+1)
		}
	}
	// 0 is mapped by the oldest range, already overwritten; 2*mungerRanges-2 by a recent one.
	if got, ok := rewrite(0); ok {
		t.Errorf("Rewrite(0) = %d, true after the window moved on, want false", got)
	}
	if got, ok := rewrite(2*mungerRanges - 2); !ok || got != mungerRanges-1 {
		t.Errorf("Rewrite(%d) = %d, %v, want %d, true", 2*mungerRanges-2, got, ok, mungerRanges-1)
	}
	if got, ok := rewrite(6); !ok || got != 3 {
		t.Errorf("Rewrite(6) = %d, %v, want 3, true", got, ok)
	}
}

// TestMungerContinuousAcrossSwitches runs several sources with random-looking starting points,
// drops and switches, and checks the outgoing sequence numbers are exactly 0, 1, 2, ...
// relative to the first, with non-decreasing timestamps.
func TestMungerContinuousAcrossSwitches(t *testing.T) {
	m := NewMunger(90000)
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wantSeq uint16 = 40000
	var lastTS uint32
	now := epoch
	for src := range 5 {
		seq := uint16(src*21011 + 40000)
		ts := uint32(src) * 0x5a5a5a5a
		if src > 0 {
			m.Switch()
		}
		for i := range 300 {
			now = now.Add(10 * millis)
			if i%3 == 1 { // a temporal layer we do not forward
				m.Drop(seq)
			} else {
				h := rtp.Header{SequenceNumber: seq, Timestamp: ts}
				if !m.Rewrite(&h, now) {
					t.Fatalf("source %d packet %d refused", src, i)
				}
				if h.SequenceNumber != wantSeq {
					t.Fatalf("source %d packet %d: seq %d, want %d", src, i, h.SequenceNumber, wantSeq)
				}
				if src+i > 0 && int32(h.Timestamp-lastTS) < 0 {
					t.Fatalf("source %d packet %d: ts %d went back from %d", src, i, h.Timestamp, lastTS)
				}
				wantSeq++
				lastTS = h.Timestamp
			}
			seq++
			ts += 900
		}
	}
}

func BenchmarkMungerRewrite(b *testing.B) {
	for _, bc := range []struct {
		name      string
		dropEvery int // 0: no drops
	}{
		{"forward-all", 0},
		{"drop-every-3rd", 3},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := NewMunger(90000)
			now := time.Now()
			seq, ts := uint16(65000), uint32(1)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				seq++
				if bc.dropEvery > 0 && seq%uint16(bc.dropEvery) == 0 {
					m.Drop(seq)
					continue
				}
				h := rtp.Header{SequenceNumber: seq, Timestamp: ts}
				m.Rewrite(&h, now)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func BenchmarkMungerRetransmission(b *testing.B) {
	m := NewMunger(90000)
	now := time.Now()
	for seq := range uint16(200) { // 66 ranges: the window is full
		if seq%3 == 0 {
			m.Drop(seq)
			continue
		}
		h := rtp.Header{SequenceNumber: seq}
		m.Rewrite(&h, now)
	}
	b.ReportAllocs()
	for b.Loop() {
		h := rtp.Header{SequenceNumber: 100} // half way back: walks ~half the ranges
		m.Rewrite(&h, now)
	}
}
