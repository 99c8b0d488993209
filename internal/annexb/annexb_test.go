package annexb

import (
	"fmt"
	"testing"
)

func TestSplit(t *testing.T) {
	in := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5}
	got := fmt.Sprintf("% x", Split(in))
	if want := "[67 01 02 68 03 65 04 05]"; got != want {
		t.Fatalf("Split = %s, want %s", got, want)
	}
	if n := len(Split([]byte{1, 2, 3})); n != 0 {
		t.Fatalf("no start code: %d NAL units, want 0", n)
	}
}
