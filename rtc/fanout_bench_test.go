package rtc

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// discardWriter is a subscriber's write stream that counts what it is given (no SRTP, no
// socket: this measures our forward path alone).
type discardWriter struct{ n atomic.Uint64 }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n.Add(1)
	return len(payload) + 12, nil
}
func (w *discardWriter) Write(b []byte) (int, error) { w.n.Add(1); return len(b), nil }

var _ webrtc.TrackLocalWriter = (*discardWriter)(nil)
var _ = interceptor.Attributes{}

func vp8Packet(size int, seq uint16, keyframe bool) *packet {
	payload := make([]byte, size)
	payload[0] = 0x10 // S bit, partition 0
	if !keyframe {
		payload[1] = 0x01 // P bit: interframe
	}
	return &packet{header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 1}, payload: payload, keyframe: keyframe}
}

// newBenchUpTrack returns a video up-track with subs bound down-tracks writing to w.
func newBenchUpTrack(tb testing.TB, subs int, w *discardWriter) (*UpTrack, []*DownTrack) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	u := NewUpTrack("bench", webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, log)
	var downs []*DownTrack
	for i := range subs {
		d := NewDownTrack(u, fmt.Sprint("s", i), log)
		d.binding.Store(&binding{ssrc: uint32(1000 + i), pt: 96, write: w})
		tb.Cleanup(d.Close)
		downs = append(downs, d)
	}
	return u, downs
}

// handled counts the packets the down-tracks wrote or dropped.
func handled(w *discardWriter, downs []*DownTrack) uint64 {
	n := w.n.Load()
	for _, d := range downs {
		n += d.drops.Load()
	}
	return n
}

// BenchmarkFanout measures forwarding one incoming packet to N subscribers: the non-blocking
// fan-out plus each down-track's writer (munger, header rewrite, write call), excluding SRTP and
// the socket. It waits for every writer to finish before stopping the clock.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			w := &discardWriter{}
			u, downs := newBenchUpTrack(b, subs, w)
			// Keyframes only, so that a writer that had to drop never waits for one.
			pkts := make([]*packet, 256)
			for i := range pkts {
				pkts[i] = vp8Packet(1200, uint16(i+1), true)
			}
			start := handled(w, downs)
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				p := pkts[n%len(pkts)]
				p.header.SequenceNumber = uint16(n + 1)
				u.forward(p)
				n++
				if n%32 == 0 && n > 64 { // at most 64 packets in flight per writer: no queue overflow
					for handled(w, downs)-start < uint64((n-64)*subs) {
						time.Sleep(20 * time.Microsecond)
					}
				}
			}
			for handled(w, downs)-start < uint64(n*subs) {
				time.Sleep(20 * time.Microsecond)
			}
			b.StopTimer()
			sent := handled(w, downs) - start
			var drops uint64
			for _, d := range downs {
				drops += d.drops.Load()
			}
			b.ReportMetric(float64(drops)/float64(sent)*100, "drop%")
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent), "ns/pkt")
		})
	}
}
