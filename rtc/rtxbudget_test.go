package rtc

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestRetransmissionBudget: a subscriber that NACKs every packet gets at most its initial
// allowance plus one retransmission per rtxCost packets forwarded to it.
func TestRetransmissionBudget(t *testing.T) {
	codec := webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000}}
	up := NewLocalUpTrack("mic", webrtc.RTPCodecTypeAudio, codec, slog.New(slog.DiscardHandler))
	var writes atomic.Int64
	d := NewSinkTrack(up, slog.New(slog.DiscardHandler), func(*rtp.Header, []byte) { writes.Add(1) })
	defer d.Close()
	const sent = 300
	deadline := time.Now().Add(10 * time.Second)
	for n := range sent {
		up.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(n), Timestamp: uint32(960 * n)}, Payload: []byte{1}})
		for writes.Load() <= int64(n) { // one at a time: the audio queue is short
			if time.Now().After(deadline) {
				t.Fatalf("forwarded %d of %d packets", writes.Load(), n+1)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	seq, _, _ := d.munger.Last() // the writer is idle: its munger is stable
	buf := make([]byte, receiveMTU)
	for i := range sent {
		d.retransmit(seq-uint16(i), buf)
	}
	got := writes.Load() - sent
	if want := int64(rtxInitial + sent/rtxCost); got != want {
		t.Fatalf("retransmitted %d packets for %d NACKs, want the budget: %d", got, sent, want)
	}
}
