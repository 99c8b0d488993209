package rtc

import (
	"bytes"
	"encoding/binary"
	"testing"
)

const seqCycle1 = 1 << 16 // the first sequence number lands in cycle 1

func TestSeqUnwrapper(t *testing.T) {
	tests := []struct {
		name string
		in   []uint16
		want []uint64
	}{
		{"in order", []uint16{10, 11, 12}, []uint64{seqCycle1 + 10, seqCycle1 + 11, seqCycle1 + 12}},
		{"duplicate", []uint16{10, 10, 11}, []uint64{seqCycle1 + 10, seqCycle1 + 10, seqCycle1 + 11}},
		{"gap", []uint16{10, 500, 501}, []uint64{seqCycle1 + 10, seqCycle1 + 500, seqCycle1 + 501}},
		{"wrap", []uint16{65534, 65535, 0, 1}, []uint64{seqCycle1 + 65534, seqCycle1 + 65535, 2 * seqCycle1, 2*seqCycle1 + 1}},
		{"reorder across wrap", []uint16{65535, 1, 0, 65534, 2},
			[]uint64{seqCycle1 + 65535, 2*seqCycle1 + 1, 2 * seqCycle1, seqCycle1 + 65534, 2*seqCycle1 + 2}},
		{"reorder before first", []uint16{5, 3, 65530, 6},
			[]uint64{seqCycle1 + 5, seqCycle1 + 3, 65530, seqCycle1 + 6}},
		{"jump just under half ahead", []uint16{0, 32767, 0}, []uint64{seqCycle1, seqCycle1 + 32767, seqCycle1}},
		{"half behind counts as behind", []uint16{0, 32768}, []uint64{seqCycle1, seqCycle1 - 32768}},
		{"three wraps", []uint16{0, 30000, 60000, 24464, 54464, 18928, 48928, 13392},
			[]uint64{seqCycle1, seqCycle1 + 30000, seqCycle1 + 60000, 2*seqCycle1 + 24464, 2*seqCycle1 + 54464, 3*seqCycle1 + 18928, 3*seqCycle1 + 48928, 4*seqCycle1 + 13392}},
		{"old packet does not move max", []uint16{100, 90, 101}, []uint64{seqCycle1 + 100, seqCycle1 + 90, seqCycle1 + 101}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u SeqUnwrapper
			for i, s := range tc.in {
				if got := u.Unwrap(s); got != tc.want[i] {
					t.Errorf("step %d: Unwrap(%d) = %d, want %d", i, s, got, tc.want[i])
				}
			}
		})
	}
}

func TestSeqUnwrapperMaxReset(t *testing.T) {
	var u SeqUnwrapper
	if _, ok := u.Max(); ok {
		t.Fatal("Max() ok before Unwrap")
	}
	u.Unwrap(65535)
	u.Unwrap(2)
	u.Unwrap(0)
	if got, ok := u.Max(); !ok || got != 2*seqCycle1+2 {
		t.Errorf("Max() = %d, %v, want %d, true", got, ok, 2*seqCycle1+2)
	}
	u.Reset()
	if got := u.Unwrap(7); got != seqCycle1+7 {
		t.Errorf("after Reset: Unwrap(7) = %d, want %d", got, seqCycle1+7)
	}
}

func TestTSUnwrapper(t *testing.T) {
	const t1 = 1 << 32
	tests := []struct {
		name string
		in   []uint32
		want []uint64
	}{
		{"in order", []uint32{3000, 6000}, []uint64{t1 + 3000, t1 + 6000}},
		{"same timestamp", []uint32{3000, 3000}, []uint64{t1 + 3000, t1 + 3000}},
		{"wrap", []uint32{0xffffe890, 0x0bb8}, []uint64{t1 + 0xffffe890, 2*t1 + 0x0bb8}},
		{"reorder across wrap", []uint32{0xfffffc18, 0x3e8, 0xfffff830, 0x7d0},
			[]uint64{t1 + 0xfffffc18, 2*t1 + 0x3e8, t1 + 0xfffff830, 2*t1 + 0x7d0}},
		{"before first", []uint32{10, 0xfffffff0}, []uint64{t1 + 10, 0xfffffff0}},
		{"half behind counts as behind", []uint32{0, 1 << 31}, []uint64{t1, t1 - 1<<31}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u TSUnwrapper
			for i, ts := range tc.in {
				if got := u.Unwrap(ts); got != tc.want[i] {
					t.Errorf("step %d: Unwrap(%d) = %d, want %d", i, ts, got, tc.want[i])
				}
			}
			u.Reset()
			if _, ok := u.Max(); ok {
				t.Errorf("Max() ok after Reset")
			}
		})
	}
}

// FuzzUnwrapSeq feeds a sequence that advances by small steps (1..128, mod 2^16) from a fuzzed
// start, interleaved with reordered (older) packets, and checks that the in-order values
// strictly increase by exactly the step, and that a late packet gets the value it would have
// had in order.
func FuzzUnwrapSeq(f *testing.F) {
	f.Add(uint16(0), []byte{1, 1, 1})
	f.Add(uint16(65530), []byte{1, 2, 3, 4, 5, 6, 7})
	f.Add(uint16(65535), bytes.Repeat([]byte{0x7f}, 1100)) // 1100 steps of 128: two wraps
	f.Add(uint16(100), binary.BigEndian.AppendUint16([]byte{3, 0x80, 1}, 0x8105))
	f.Fuzz(func(t *testing.T, start uint16, steps []byte) {
		var u SeqUnwrapper
		seq := start
		prev := u.Unwrap(seq)
		history := []uint64{prev} // extended values of the in-order packets
		for i, b := range steps {
			if b&0x80 != 0 {
				// A late packet: one of the last 127 in-order ones again.
				back := int(b & 0x7f)
				if back >= len(history) {
					continue
				}
				want := history[len(history)-1-back]
				if got := u.Unwrap(uint16(want)); got != want {
					t.Fatalf("step %d: late Unwrap(%d) = %d, want %d", i, uint16(want), got, want)
				}
				continue
			}
			step := uint16(b) + 1 // 1..128
			seq += step
			got := u.Unwrap(seq)
			if got <= prev || got-prev != uint64(step) {
				t.Fatalf("step %d: Unwrap(%d) = %d after %d, want %d", i, seq, got, prev, prev+uint64(step))
			}
			if uint16(got) != seq {
				t.Fatalf("step %d: Unwrap(%d) = %d, low bits differ", i, seq, got)
			}
			prev = got
			history = append(history, got)
		}
	})
}

func BenchmarkSeqUnwrapper(b *testing.B) {
	var u SeqUnwrapper
	seq := uint16(65000)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		u.Unwrap(seq)
	}
}
