package rtc

import (
	"testing"
	"time"
)

func TestSeqHistoryClaim(t *testing.T) {
	var h seqHistory
	t0 := time.Unix(100, 0)
	h.put(5, 900, 12345)
	cases := []struct {
		name   string
		seq    uint16
		at     time.Duration
		wantOK bool
	}{
		{"unknown seq", 6, 0, false},
		{"first NACK", 5, 0, true},
		{"repeat within the interval", 5, 50 * time.Millisecond, false},
		{"repeat after the interval", 5, 150 * time.Millisecond, true},
		{"seq that aliased the slot", 5 + historySize, 300 * time.Millisecond, false},
	}
	for _, tc := range cases {
		in, ts, ok := h.claim(tc.seq, t0.Add(tc.at))
		if ok != tc.wantOK || (ok && (in != 900 || ts != 12345)) {
			t.Errorf("%s: claim(%d) = (%d, %d, %v), want ok=%v (900, 12345)", tc.name, tc.seq, in, ts, ok, tc.wantOK)
		}
	}
	h.put(5, 901, 1) // the slot is reused for a new packet: retransmittable at once
	if in, _, ok := h.claim(5, t0.Add(310*time.Millisecond)); !ok || in != 901 {
		t.Errorf("after put: claim(5) = (%d, %v), want (901, true)", in, ok)
	}
}
