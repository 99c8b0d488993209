package rtc

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// h264Packet is a single-NAL H.264 packet: an IDR slice (keyframe) or a non-IDR slice, with
// its frame number as the payload's second byte.
func h264Packet(n int, key bool) *rtp.Packet {
	nal := byte(0x41)
	if key {
		nal = 0x65
	}
	return &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(1000 + n),
		Timestamp: uint32(3000 * n), Marker: true, SSRC: 5}, Payload: []byte{nal, byte(n)}}
}

// TestLocalTrackReplaysGOP: a subscriber that starts in the middle of a group of pictures gets
// the last keyframe and the frames since, renumbered continuously, then the live ones.
func TestLocalTrackReplaysGOP(t *testing.T) {
	codec := webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}}
	up := NewLocalUpTrack("cam", webrtc.RTPCodecTypeVideo, codec, slog.New(slog.DiscardHandler))
	for n := range 15 {
		if err := up.WriteRTP(h264Packet(n, n%10 == 0)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var frames []byte
	var seqs []uint16
	d := NewSinkTrack(up, slog.New(slog.DiscardHandler), func(h *rtp.Header, payload []byte) {
		mu.Lock()
		frames = append(frames, payload[1])
		seqs = append(seqs, h.SequenceNumber)
		mu.Unlock()
	})
	defer d.Close()
	for n := 15; n < 20; n++ {
		up.WriteRTP(h264Packet(n, false))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := append([]byte(nil), frames...)
		mu.Unlock()
		if len(got) == 10 {
			for i, f := range got {
				if f != byte(10+i) {
					t.Fatalf("frames %v, want 10..19", got)
				}
			}
			for i := 1; i < len(seqs); i++ {
				if seqs[i] != seqs[i-1]+1 {
					t.Fatalf("sequence numbers %v are not continuous", seqs)
				}
			}
			return
		}
		if len(got) > 10 || time.Now().After(deadline) {
			t.Fatalf("frames %v, want 10..19", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriteRTPOnRemoteTrack(t *testing.T) {
	up := NewUpTrack("x", webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{}, slog.New(slog.DiscardHandler))
	if err := up.WriteRTP(h264Packet(0, false)); err != ErrLocalOnly {
		t.Fatalf("got %v, want ErrLocalOnly", err)
	}
}
