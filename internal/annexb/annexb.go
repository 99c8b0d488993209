// Package annexb splits whole H.264 Annex-B streams (an ffmpeg-made clip) into NAL units, for
// tests and tools. mediacommon's h264.AnnexB parses one access unit and refuses more than 50
// NAL units, so it cannot read a clip.
package annexb

import "bytes"

// Split returns the NAL units between start codes (00 00 01, or 00 00 00 01), without the
// zero bytes that precede a four-byte start code.
func Split(b []byte) [][]byte {
	var nalus [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			nalus = append(nalus, bytes.TrimRight(b[start:i], "\x00"))
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		nalus = append(nalus, b[start:])
	}
	return nalus
}
