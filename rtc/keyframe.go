package rtc

import "strings"

// IsKeyframe reports whether an RTP payload (the bytes after the RTP header, extensions and
// padding) is the first packet of a keyframe. mimeType is compared case-insensitively and may be
// "video/VP8", "video/VP9" or "video/H264"; any other type yields false.
//
//   - VP8 (RFC 7741): the payload descriptor, including the extended X/I/L/T/K fields, must
//     parse; S=1 and PID=0 (start of partition 0); and the P bit of the VP8 payload header that
//     follows is 0.
//   - VP9 (RFC 9628): B=1 (start of a frame), P=0 (not inter-picture predicted) and, when
//     layer indices are present, spatial layer 0. The first byte of the VP9 uncompressed header
//     must also parse as frame_marker=2, show_existing_frame=0 and frame_type=KEY_FRAME, because
//     some encoders leave P clear on inter frames of a single-layer stream.
//   - H264 (RFC 6184): a single NAL unit of type 5 (IDR) or 7 (SPS); a STAP-A (24) or STAP-B
//     (25) aggregating one of them; or the starting fragment (S=1) of an FU-A (28) or FU-B (29)
//     of one of them.
//
// Empty or truncated payloads yield false. IsKeyframe never panics, does not allocate and is
// safe for concurrent use.
func IsKeyframe(mimeType string, payload []byte) bool {
	switch {
	case strings.EqualFold(mimeType, "video/VP8"):
		return isVP8Keyframe(payload)
	case strings.EqualFold(mimeType, "video/VP9"):
		return isVP9Keyframe(payload)
	case strings.EqualFold(mimeType, "video/H264"):
		return isH264Keyframe(payload)
	}
	return false
}

// isVP8Keyframe parses the RFC 7741 payload descriptor:
//
//	   0 1 2 3 4 5 6 7
//	  +-+-+-+-+-+-+-+-+
//	  |X|R|N|S|R| PID |
//	  +-+-+-+-+-+-+-+-+
//	X:|I|L|T|K| RSV   |
//	I:|M| PictureID   |  (a second byte when M=1)
//	L:|   TL0PICIDX   |
//	T/K:|TID|Y| KEYIDX|
//
// and then checks the P bit (the lowest bit) of the first byte of the VP8 payload header.
func isVP8Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	b := p[0]
	if b&0x10 == 0 || b&0x07 != 0 { // S=0 or PID!=0: not the start of partition 0
		return false
	}
	i := 1
	if b&0x80 != 0 { // X
		if i >= len(p) {
			return false
		}
		x := p[i]
		i++
		if x&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if i >= len(p) {
				return false
			}
			if p[i]&0x80 != 0 { // M
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: one shared byte
			i++
		}
	}
	if i >= len(p) { // no VP8 payload header
		return false
	}
	return p[i]&0x01 == 0
}

// isVP9Keyframe parses the RFC 9628 payload descriptor:
//
//	  +-+-+-+-+-+-+-+-+
//	  |I|P|L|F|B|E|V|Z|
//	I:|M| PICTURE ID  |  (a second byte when M=1)
//	L:|  T  |U|  S  |D|
//	  |   TL0PICIDX   |  (non-flexible mode only)
//	P,F: | P_DIFF  |N|   (flexible mode with P=1: never a keyframe, not parsed)
//	V:| SS            |  (scalability structure)
//
// and then the first byte of the VP9 uncompressed frame header.
func isVP9Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	b := p[0]
	if b&0x40 != 0 || b&0x08 == 0 { // P=1 or B=0
		return false
	}
	i := 1
	if b&0x80 != 0 { // I
		if i >= len(p) {
			return false
		}
		if p[i]&0x80 != 0 { // M
			i++
		}
		i++
	}
	if b&0x20 != 0 { // L
		if i >= len(p) {
			return false
		}
		if (p[i]>>1)&0x07 != 0 { // spatial layer
			return false
		}
		i++
		if b&0x10 == 0 { // non-flexible: TL0PICIDX
			i++
		}
	}
	if b&0x02 != 0 { // V: scalability structure
		var ok bool
		if i, ok = skipVP9SS(p, i); !ok {
			return false
		}
	}
	if i >= len(p) {
		return false
	}
	// Uncompressed header: frame_marker(2) profile_low_bit(1) profile_high_bit(1)
	// [reserved_zero(1) if profile==3] show_existing_frame(1) frame_type(1) ...
	h := p[i]
	if h>>6 != 0x2 {
		return false
	}
	if (h>>4)&0x3 == 3 {
		return h&0x06 == 0 // show_existing_frame=0, frame_type=0 one bit further down
	}
	return h&0x0c == 0
}

// skipVP9SS skips the scalability structure that starts at p[i] and returns the index of the
// byte after it.
func skipVP9SS(p []byte, i int) (int, bool) {
	if i >= len(p) {
		return i, false
	}
	ss := p[i]
	i++
	if ss&0x10 != 0 { // Y: WIDTH and HEIGHT (2+2 bytes) for each of N_S+1 layers
		i += 4 * (int(ss>>5) + 1)
	}
	if ss&0x08 != 0 { // G: N_G, then N_G descriptions of 1+R bytes each
		if i >= len(p) {
			return i, false
		}
		ng := int(p[i])
		i++
		for range ng {
			if i >= len(p) {
				return i, false
			}
			i += 1 + int((p[i]>>2)&0x03)
		}
	}
	return i, i <= len(p)
}

// H.264 NAL unit types that matter here (RFC 6184, ITU-T H.264 table 7-1).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluSTAPB = 25
	naluFUA   = 28
	naluFUB   = 29
)

func isH264Keyframe(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case naluIDR, naluSPS:
		return true
	case naluSTAPA, naluSTAPB:
		i := 1
		if t == naluSTAPB {
			i += 2 // DON
		}
		// Each aggregated unit: 16-bit size, then the NAL unit (header first).
		for i+2 < len(p) {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if n := p[i] & 0x1f; n == naluIDR || n == naluSPS {
				return true
			}
			i += size
		}
		return false
	case naluFUA, naluFUB:
		if len(p) < 2 {
			return false
		}
		fu := p[1]
		if fu&0x80 == 0 { // S: start fragment
			return false
		}
		n := fu & 0x1f
		return n == naluIDR || n == naluSPS
	}
	return false
}

// keyframeStart keeps the keyframe flag on a keyframe's first packet only. H.264 sends SPS and
// PPS (a STAP-A) before the IDR's fragments, all of them keyframe packets by IsKeyframe, and a
// subscriber that started at the IDR would miss the parameter sets.
type keyframeStart struct {
	ts   uint32 // timestamp of the last keyframe seen
	seen bool
}

// first reports whether a keyframe packet with timestamp ts starts a new keyframe.
func (k *keyframeStart) first(ts uint32) bool {
	if k.seen && k.ts == ts {
		return false
	}
	k.ts, k.seen = ts, true
	return true
}
