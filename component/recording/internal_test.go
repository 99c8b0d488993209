package recording

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/pion/rtp"
)

func TestTSUnwrapper(t *testing.T) {
	var u tsUnwrapper
	for i, tc := range []struct {
		in   uint32
		want int64
	}{
		{4294967000, 0}, {4294967295, 295}, {100, 396}, {3000, 3296}, {2000, 2296}, {2147483000, 2147483296}, {3000000000, 3000000296}, {500, 4294968092}, {400, 4294967992},
	} {
		if got := u.unwrap(tc.in); got != tc.want {
			t.Errorf("step %d: unwrap(%d) = %d, want %d", i, tc.in, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for id, want := range map[string]string{
		"a1b2:c3-d4":          "a1b2_c3-d4.mp4",
		"../etc/passwd":       ".._etc_passwd.mp4",
		"peer id/with spaces": "peer_id_with_spaces.mp4",
		"ünïcode":             "__n__code.mp4",
	} {
		if got := trackFileName(id); got != want {
			t.Errorf("trackFileName(%q) = %q, want %q", id, got, want)
		}
	}
	start := time.Date(2024, 5, 15, 9, 4, 37, 123456789, time.FixedZone("CEST", 7200))
	if got, want := partName(start), "part_2024-05-15 07:04:37.123456Z"; got != want {
		t.Errorf("partName = %q, want %q", got, want)
	}
	if got, want := partName(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), "part_2024-01-02 03:04:05.000000Z"; got != want {
		t.Errorf("partName = %q, want %q", got, want)
	}
	for _, tc := range []struct{ prefix, want string }{
		{"", "room/part_x/"},
		{"pre", "pre/room/part_x/"},
		{"/pre/fix/", "pre/fix/room/part_x/"},
		{"a//b", "a/b/room/part_x/"},
	} {
		if got := s3KeyPrefix(tc.prefix, "room", "part_x"); got != tc.want {
			t.Errorf("s3KeyPrefix(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
}

// Parameter sets of a 320x240 baseline stream (libx264); the slices below are only headers.
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xa4, 0x80}
	testPPS = []byte{0x68, 0xcb, 0x83, 0xcb, 0x20}
)

func fuA(nalu []byte, parts int, seq uint16, ts uint32) []*rtp.Packet {
	hdr, body := nalu[0], nalu[1:]
	n := (len(body) + parts - 1) / parts
	var pkts []*rtp.Packet
	for i := 0; i < parts; i++ {
		chunk := body[i*n : min(len(body), (i+1)*n)]
		fu := []byte{hdr&0xe0 | 28, hdr & 0x1f}
		if i == 0 {
			fu[1] |= 0x80
		}
		if i == parts-1 {
			fu[1] |= 0x40
		}
		pkts = append(pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == parts-1},
			Payload: append(fu, chunk...)})
	}
	return pkts
}

func stapA(seq uint16, ts uint32, nalus ...[]byte) *rtp.Packet {
	p := []byte{24}
	for _, n := range nalus {
		p = binary.BigEndian.AppendUint16(p, uint16(len(n)))
		p = append(p, n...)
	}
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts}, Payload: p}
}

func slice(typ byte, size int) []byte {
	b := make([]byte, size)
	b[0] = 0x60 | typ
	b[1] = 0x88 // first_mb_in_slice=0, slice_type...
	return b
}

// TestH264Loss: a frame missing a fragment is dropped, and so is everything up to the next IDR,
// for which the codec asks.
func TestH264Loss(t *testing.T) {
	requests := 0
	c := newH264Codec(func() { requests++ })
	var samples []int64
	feed := func(pkts ...*rtp.Packet) {
		for _, p := range pkts {
			s, dts, _, err := c.sample(p, int64(p.Timestamp))
			if err == nil && s != nil {
				samples = append(samples, dts)
			} else if err != nil && !errors.Is(err, errSkip) {
				t.Logf("packet %d: %v", p.SequenceNumber, err)
			}
		}
	}
	// A P-frame before any IDR: skipped, keyframe asked.
	feed(fuA(slice(1, 3000), 3, 1, 0)...)
	if len(samples) != 0 || requests == 0 {
		t.Fatalf("before the IDR: samples %v, %d requests; want none and a request", samples, requests)
	}
	// IDR with its parameter sets, then a P-frame.
	feed(stapA(10, 3000, testSPS, testPPS))
	feed(fuA(slice(5, 3000), 3, 11, 3000)...)
	feed(fuA(slice(1, 3000), 3, 14, 6000)...)
	if len(samples) != 2 || samples[0] != 0 || samples[1] != 3000 {
		t.Fatalf("after the IDR: decode times %v, want [0 3000]", samples)
	}
	// A P-frame whose middle fragment is lost, then one more P-frame: both dropped.
	requests = 0
	lost := fuA(slice(1, 3000), 3, 17, 9000)
	feed(lost[0], lost[2])
	feed(fuA(slice(1, 3000), 3, 20, 12000)...)
	if len(samples) != 2 || requests == 0 {
		t.Fatalf("after a loss: decode times %v, %d requests; want still 2 and a request", samples, requests)
	}
	// The next IDR resumes.
	feed(stapA(23, 15000, testSPS, testPPS))
	feed(fuA(slice(5, 3000), 2, 24, 15000)...)
	feed(fuA(slice(1, 3000), 2, 26, 18000)...)
	if len(samples) != 4 || samples[2] != 12000 || samples[3] != 15000 {
		t.Fatalf("after the next IDR: decode times %v, want [0 3000 12000 15000]", samples)
	}
}

// TestH264MarkerlessFrame: a frame that never ends (no marker) is dropped when the next one
// starts, rather than merged into it.
func TestH264MarkerlessFrame(t *testing.T) {
	c := newH264Codec(func() {})
	var n int
	feed := func(pkts ...*rtp.Packet) {
		for _, p := range pkts {
			if s, _, _, err := c.sample(p, int64(p.Timestamp)); err == nil && s != nil {
				n++
			}
		}
	}
	feed(stapA(1, 0, testSPS, testPPS))
	feed(fuA(slice(5, 3000), 2, 2, 0)...)
	p := fuA(slice(1, 3000), 2, 4, 3000)
	p[1].Marker = false
	feed(p...)
	feed(fuA(slice(1, 3000), 2, 6, 6000)...)
	if n != 1 {
		t.Fatalf("%d samples, want only the IDR", n)
	}
}
