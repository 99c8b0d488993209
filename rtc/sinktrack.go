package rtc

import (
	"log/slog"

	"github.com/pion/rtp"
)

// SinkFunc receives the packets of a sink down-track, on the down-track's writer goroutine. The
// header and payload are only valid during the call.
type SinkFunc func(h *rtp.Header, payload []byte)

// NewSinkTrack returns a down-track of up that hands its packets to sink instead of a
// PeerConnection: how a component (HLS, recording) takes media out of a room through the same
// fan-out, queueing and renumbering as a peer. Video starts at a keyframe. Close it to stop.
func NewSinkTrack(up *UpTrack, log *slog.Logger, sink SinkFunc) *DownTrack {
	return newDownTrack(up, "", log, sink)
}

// RequestKeyframe asks the up-track's source for a keyframe (throttled).
func (d *DownTrack) RequestKeyframe() { d.up.RequestKeyframe() }

// sinkWriter adapts a SinkFunc to pion's TrackLocalWriter.
type sinkWriter SinkFunc

func (w sinkWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w(h, payload)
	return len(payload) + h.MarshalSize(), nil
}

func (w sinkWriter) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, err
	}
	return w.WriteRTP(&p.Header, p.Payload)
}
