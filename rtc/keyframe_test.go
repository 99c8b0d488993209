package rtc

import (
	"strings"
	"testing"

	"github.com/pion/rtp/codecs"
)

type keyframeCase struct {
	name    string
	mime    string
	payload []byte
	want    bool
}

// keyframeCases are hand-built payloads (RTP header already stripped). They double as fuzz
// seeds.
var keyframeCases = []keyframeCase{
	// VP8, RFC 7741. A keyframe's payload header starts 0x50 (show_frame=1, P=0), then the
	// 3-byte start code 9d 01 2a.
	{"vp8/empty", "video/VP8", nil, false},
	{"vp8/minimal keyframe", "video/VP8", []byte{0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a}, true},
	{"vp8/interframe", "video/VP8", []byte{0x10, 0x51, 0x02, 0x00}, false},
	{"vp8/not start of partition", "video/VP8", []byte{0x00, 0x50, 0x02, 0x00}, false},
	{"vp8/partition 1", "video/VP8", []byte{0x11, 0x50, 0x02, 0x00}, false},
	{"vp8/non-reference bit ignored", "video/VP8", []byte{0x30, 0x50}, true},
	{"vp8/descriptor only", "video/VP8", []byte{0x10}, false},
	{"vp8/X truncated", "video/VP8", []byte{0x90}, false},
	{"vp8/X without fields", "video/VP8", []byte{0x90, 0x00, 0x50}, true},
	{"vp8/7-bit picture ID", "video/VP8", []byte{0x90, 0x80, 0x12, 0x50}, true},
	{"vp8/7-bit picture ID interframe", "video/VP8", []byte{0x90, 0x80, 0x12, 0x51}, false},
	{"vp8/7-bit picture ID truncated", "video/VP8", []byte{0x90, 0x80, 0x12}, false},
	{"vp8/15-bit picture ID truncated", "video/VP8", []byte{0x90, 0x80, 0x92}, false},
	{"vp8/I L T K keyframe", "video/VP8", []byte{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40, 0x50, 0x02, 0x00}, true},
	{"vp8/I L T K interframe", "video/VP8", []byte{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40, 0x51, 0x02, 0x00}, false},
	{"vp8/I L T K no payload", "video/VP8", []byte{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40}, false},
	{"vp8/I L T K truncated", "video/VP8", []byte{0x90, 0xf0, 0x92, 0x34, 0x05}, false},
	{"vp8/K only", "video/VP8", []byte{0x90, 0x10, 0x03, 0x50}, true},
	{"vp8/T only, key byte would be read as TID", "video/VP8", []byte{0x90, 0x20, 0x50}, false},

	// VP9, RFC 9628. 0x82 is a profile-0 keyframe header byte, 0x86 an interframe's.
	{"vp9/empty", "video/VP9", nil, false},
	{"vp9/minimal keyframe", "video/VP9", []byte{0x08, 0x82, 0x49, 0x83, 0x42}, true},
	{"vp9/descriptor only", "video/VP9", []byte{0x08}, false},
	{"vp9/interframe with P clear", "video/VP9", []byte{0x8d, 0xec, 0x14, 0x86, 0x00}, false},
	{"vp9/P set", "video/VP9", []byte{0x48, 0x82}, false},
	{"vp9/not start of frame", "video/VP9", []byte{0x04, 0x82}, false},
	{"vp9/show existing frame", "video/VP9", []byte{0x08, 0x88}, false},
	{"vp9/bad frame marker", "video/VP9", []byte{0x08, 0x02}, false},
	{"vp9/profile 3 keyframe", "video/VP9", []byte{0x08, 0xb0}, true},
	{"vp9/profile 3 interframe", "video/VP9", []byte{0x08, 0xb2}, false},
	{"vp9/picture ID truncated", "video/VP9", []byte{0x88}, false},
	{"vp9/15-bit picture ID truncated", "video/VP9", []byte{0x88, 0x81}, false},
	{"vp9/with SS (Chrome-style)", "video/VP9", []byte{
		0x8e,       // I B E V
		0x81, 0x23, // picture ID, 15 bits
		0x18,                   // SS: N_S=0 Y=1 G=1
		0x02, 0x80, 0x01, 0x68, // 640x360
		0x01,       // N_G=1
		0x04, 0x01, // T=0 U=0 R=1, one P_DIFF
		0x82, 0x49, 0x83, 0x42, 0x00,
	}, true},
	{"vp9/with SS interframe header", "video/VP9", []byte{
		0x8e, 0x81, 0x23, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0x86,
	}, false},
	{"vp9/SS truncated", "video/VP9", []byte{0x8a, 0x01, 0x18, 0x02}, false},
	{"vp9/SS P_DIFF truncated", "video/VP9", []byte{0x0a, 0x08, 0x01, 0x0c, 0x01}, false},
	{"vp9/SS no payload", "video/VP9", []byte{0x0a, 0x00}, false},
	{"vp9/non-flexible layer 0", "video/VP9", []byte{0xa8, 0x05, 0x00, 0x07, 0x82}, true},
	{"vp9/non-flexible layer 1", "video/VP9", []byte{0xa8, 0x05, 0x02, 0x07, 0x82}, false},
	{"vp9/non-flexible TL0PICIDX missing", "video/VP9", []byte{0xa8, 0x05, 0x00, 0x07}, false},
	{"vp9/flexible layer 0", "video/VP9", []byte{0xb8, 0x05, 0x00, 0x82}, true},
	{"vp9/flexible layer 2", "video/VP9", []byte{0xb8, 0x05, 0x04, 0x82}, false},
	{"vp9/layer byte missing", "video/VP9", []byte{0xa8, 0x05}, false},

	// H.264, RFC 6184.
	{"h264/empty", "video/H264", nil, false},
	{"h264/IDR", "video/H264", []byte{0x65, 0x88, 0x84}, true},
	{"h264/SPS", "video/H264", []byte{0x67, 0x42, 0xc0, 0x1f}, true},
	{"h264/PPS", "video/H264", []byte{0x68, 0xce, 0x3c, 0x80}, false},
	{"h264/non-IDR slice", "video/H264", []byte{0x41, 0x9a}, false},
	{"h264/reserved type 0", "video/H264", []byte{0x00}, false},
	{"h264/reserved type 30", "video/H264", []byte{0x1e, 0x00}, false},
	{"h264/STAP-A SPS PPS", "video/H264", []byte{
		0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x02, 0x68, 0xce,
	}, true},
	{"h264/STAP-A PPS IDR", "video/H264", []byte{0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88}, true},
	{"h264/STAP-A SEI slice", "video/H264", []byte{0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a}, false},
	{"h264/STAP-A header only", "video/H264", []byte{0x78}, false},
	{"h264/STAP-A size truncated", "video/H264", []byte{0x78, 0x00}, false},
	{"h264/STAP-A unit truncated", "video/H264", []byte{0x78, 0x00, 0x09, 0x67}, false},
	{"h264/STAP-A zero size", "video/H264", []byte{0x78, 0x00, 0x00, 0x00, 0x02, 0x67, 0x42}, false},
	{"h264/STAP-B SPS", "video/H264", []byte{0x79, 0x00, 0x01, 0x00, 0x02, 0x67, 0x42}, true},
	{"h264/FU-A IDR start", "video/H264", []byte{0x7c, 0x85, 0x88, 0x84}, true},
	{"h264/FU-A IDR middle", "video/H264", []byte{0x7c, 0x05, 0x88}, false},
	{"h264/FU-A IDR end", "video/H264", []byte{0x7c, 0x45, 0x88}, false},
	{"h264/FU-A slice start", "video/H264", []byte{0x7c, 0x81, 0x9a}, false},
	{"h264/FU-A truncated", "video/H264", []byte{0x7c}, false},
	{"h264/FU-B IDR start", "video/H264", []byte{0x7d, 0x85, 0x00, 0x01, 0x88}, true},

	// MIME type handling.
	{"mime/lowercase vp8", "video/vp8", []byte{0x10, 0x50}, true},
	{"mime/mixed case h264", "VIDEO/h264", []byte{0x65, 0x88}, true},
	{"mime/audio", "audio/opus", []byte{0x10, 0x50}, false},
	{"mime/unknown video", "video/AV1", []byte{0x65, 0x88}, false},
	{"mime/empty", "", []byte{0x65, 0x88}, false},
}

func TestIsKeyframe(t *testing.T) {
	for _, tc := range keyframeCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsKeyframe(tc.mime, tc.payload); got != tc.want {
				t.Errorf("IsKeyframe(%q, % x) = %v, want %v", tc.mime, tc.payload, got, tc.want)
			}
		})
	}
}

// TestIsKeyframeTruncations checks that no strict prefix of a VP8 or VP9 keyframe that ends
// before its payload header is taken for a keyframe.
func TestIsKeyframeTruncations(t *testing.T) {
	for _, tc := range keyframeCases {
		mime := strings.ToUpper(tc.mime)
		if !tc.want || (mime != "VIDEO/VP8" && mime != "VIDEO/VP9") {
			continue
		}
		for n := range len(tc.payload) {
			p := tc.payload[:n]
			if IsKeyframe(tc.mime, p) && vp9or8PayloadHeaderMissing(mime, p) {
				t.Errorf("%s: IsKeyframe(% x) = true, want false", tc.name, p)
			}
		}
	}
}

// vp9or8PayloadHeaderMissing reports, using pion's depacketizers as an independent oracle, that p
// holds no byte of the codec payload after the descriptor (or does not parse).
func vp9or8PayloadHeaderMissing(mime string, p []byte) bool {
	switch mime {
	case "VIDEO/VP8":
		var d codecs.VP8Packet
		rest, err := d.Unmarshal(p)
		return err != nil || len(rest) == 0
	default:
		var d codecs.VP9Packet
		rest, err := d.Unmarshal(p)
		return err != nil || len(rest) == 0
	}
}

var fuzzMimes = [...]string{"video/VP8", "video/VP9", "video/H264"}

// FuzzKeyframe checks that IsKeyframe never panics, ignores the case of the MIME type and, for
// VP8 and VP9, agrees with an oracle built on pion's payload-descriptor parsers. In particular a
// VP8 payload no longer than its descriptor is never a keyframe.
func FuzzKeyframe(f *testing.F) {
	for _, tc := range keyframeCases {
		for i, m := range fuzzMimes {
			if m == tc.mime {
				f.Add(uint8(i), tc.payload)
			}
		}
	}
	f.Fuzz(func(t *testing.T, codec uint8, payload []byte) {
		// Every parser sees every input: none may panic.
		var got [len(fuzzMimes)]bool
		for i, m := range fuzzMimes {
			got[i] = IsKeyframe(m, payload)
		}
		// The codec the seed was written for, spelled in another case, must agree.
		i := int(codec) % len(fuzzMimes)
		spelled := fuzzMimes[i]
		if codec&0x40 != 0 {
			spelled = strings.ToLower(spelled)
		}
		if codec&0x80 != 0 {
			spelled = strings.ToUpper(spelled)
		}
		if g := IsKeyframe(spelled, payload); g != got[i] {
			t.Errorf("IsKeyframe(%q, % x) = %v, but %v for %q", spelled, payload, g, got[i], fuzzMimes[i])
		}

		var vp8 codecs.VP8Packet
		rest, err := vp8.Unmarshal(payload)
		want := err == nil && len(rest) > 0 && vp8.S == 1 && vp8.PID == 0 && rest[0]&0x01 == 0
		if got[0] != want {
			t.Errorf("IsKeyframe(VP8, % x) = %v, want %v (pion: err=%v rest=%d S=%d PID=%d)",
				payload, got[0], want, err, len(rest), vp8.S, vp8.PID)
		}
		if got[0] && (err != nil || len(rest) == 0) {
			t.Errorf("IsKeyframe(VP8, % x) = true for a payload no longer than its descriptor", payload)
		}

		var vp9 codecs.VP9Packet
		rest, err = vp9.Unmarshal(payload)
		want = err == nil && len(rest) > 0 && vp9.B && !vp9.P && vp9.SID == 0 && vp9KeyHeader(rest[0])
		if got[1] != want {
			t.Errorf("IsKeyframe(VP9, % x) = %v, want %v (pion: err=%v rest=%d B=%v P=%v SID=%d)",
				payload, got[1], want, err, len(rest), vp9.B, vp9.P, vp9.SID)
		}

		if got[2] && len(payload) == 0 {
			t.Errorf("IsKeyframe(H264, empty) = true")
		}
	})
}

// vp9KeyHeader decodes the first byte of a VP9 uncompressed header field by field.
func vp9KeyHeader(b byte) bool {
	marker := b >> 6
	profile := (b>>5)&1 | (b>>4)&1<<1
	bit := 3 // next unread bit, counting down from bit 7
	if profile == 3 {
		bit-- // reserved_zero
	}
	showExisting := (b >> bit) & 1
	frameType := (b >> (bit - 1)) & 1
	return marker == 2 && showExisting == 0 && frameType == 0
}

func BenchmarkIsKeyframe(b *testing.B) {
	vp8 := make([]byte, 1200)
	copy(vp8, []byte{0x90, 0xf0, 0x92, 0x34, 0x05, 0x40, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a})
	vp9 := make([]byte, 1200)
	copy(vp9, []byte{0x8e, 0x81, 0x23, 0x18, 0x02, 0x80, 0x01, 0x68, 0x01, 0x04, 0x01, 0x82})
	stap := make([]byte, 1200)
	copy(stap, []byte{0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x68, 0xce, 0x00, 0x04, 0x65})
	for _, bc := range []struct {
		name, mime string
		payload    []byte
	}{
		{"VP8", "video/VP8", vp8},
		{"VP9", "video/VP9", vp9},
		{"H264-STAP-A", "video/H264", stap},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if !IsKeyframe(bc.mime, bc.payload) {
					b.Fatal("not a keyframe")
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// TestKeyframeStart: only the first keyframe packet of a frame (its timestamp) starts one.
func TestKeyframeStart(t *testing.T) {
	var k keyframeStart
	for i, tc := range []struct {
		ts   uint32
		want bool
	}{{100, true}, {100, false}, {100, false}, {200, true}, {200, false}, {100, true}} {
		if got := k.first(tc.ts); got != tc.want {
			t.Errorf("packet %d (ts %d): first = %v, want %v", i, tc.ts, got, tc.want)
		}
	}
}
