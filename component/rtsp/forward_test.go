package rtsp

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// NAL units for the forwarder tests (header byte, then a recognisable body).
var (
	spsA = []byte{0x67, 0x42, 0xc0, 0x1e, 0xaa}
	ppsA = []byte{0x68, 0xce, 0x01}
	spsB = []byte{0x67, 0x64, 0x00, 0x28, 0xbb}
	ppsB = []byte{0x68, 0xce, 0x02}
	aud  = []byte{0x09, 0xf0}
	sei  = []byte{0x06, 0x05, 0x01}
)

func slice(typ byte, size int, tag byte) []byte {
	b := bytes.Repeat([]byte{tag}, size)
	b[0] = 0x60 | typ
	return b
}

func idr(size int, tag byte) []byte { return slice(5, size, tag) }
func nonIDR(tag byte) []byte        { return slice(1, 300, tag) }

// fakeTrack records what the forwarder publishes.
type fakeTrack struct{ pkts []*rtp.Packet }

func (f *fakeTrack) WriteRTP(p *rtp.Packet) error {
	c := *p
	c.Payload = bytes.Clone(p.Payload)
	f.pkts = append(f.pkts, &c)
	return nil
}

// unit is a published access unit.
type unit struct {
	ts    uint32
	nalus [][]byte
}

// units checks the packets (size, numbering, marker, timestamps) and rebuilds the units.
func (f *fakeTrack) units(t *testing.T) []unit {
	t.Helper()
	dec := &rtph264.Decoder{PacketizationMode: 1}
	if err := dec.Init(); err != nil {
		t.Fatal(err)
	}
	var out []unit
	for i, p := range f.pkts {
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) > maxPacket {
			t.Errorf("packet %d is %d bytes, want at most %d", i, len(raw), maxPacket)
		}
		if p.PayloadType != payloadType {
			t.Errorf("packet %d payload type %d", i, p.PayloadType)
		}
		if i > 0 && p.SequenceNumber != f.pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d seq %d after %d", i, p.SequenceNumber, f.pkts[i-1].SequenceNumber)
		}
		if i > 0 && !f.pkts[i-1].Marker && p.Timestamp != f.pkts[i-1].Timestamp {
			t.Errorf("packet %d: timestamp changed without a marker bit", i)
		}
		au, err := dec.Decode(p)
		if err == rtph264.ErrMorePacketsNeeded {
			continue
		}
		if err != nil {
			t.Fatalf("decode packet %d: %v", i, err)
		}
		out = append(out, unit{ts: p.Timestamp, nalus: au})
	}
	return out
}

// camera packetizes access units like an RTSP camera (1450-byte payloads).
type cameraEncoder struct {
	t   *testing.T
	enc *rtph264.Encoder
}

func newCameraEncoder(t *testing.T) *cameraEncoder {
	e := &rtph264.Encoder{PayloadType: 97, PacketizationMode: 1}
	if err := e.Init(); err != nil {
		t.Fatal(err)
	}
	return &cameraEncoder{t: t, enc: e}
}

func (c *cameraEncoder) packets(ts uint32, nalus ...[]byte) []*rtp.Packet {
	pkts, err := c.enc.Encode(nalus)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, p := range pkts {
		p.Timestamp = ts
	}
	return pkts
}

func (c *cameraEncoder) send(fw *forwarder, ts uint32, nalus ...[]byte) {
	for _, p := range c.packets(ts, nalus...) {
		fw.handle(p)
	}
}

func newTestForwarder(t *testing.T, now *time.Time) *forwarder {
	fw, err := newForwarder()
	if err != nil {
		t.Fatal(err)
	}
	fw.now = func() time.Time { return *now }
	return fw
}

// describe shows NAL units as type/size/first body byte.
func describe(nalus [][]byte) string {
	s := ""
	for _, n := range nalus {
		s += fmt.Sprintf("[%d/%dB/%02x]", n[0]&0x1f, len(n), n[len(n)-1])
	}
	return s
}

func nalusEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestForwarderParameterSets(t *testing.T) {
	now := time.Unix(1000, 0)
	fw := newTestForwarder(t, &now)
	cam := newCameraEncoder(t)
	if err := fw.startSession(&format.H264{PacketizationMode: 1, SPS: spsA, PPS: ppsA}); err != nil {
		t.Fatal(err)
	}
	cam.send(fw, 0, idr(500, 1)) // before the track: not published
	track := &fakeTrack{}
	fw.setTrack(track)
	big := idr(5000, 2)
	steps := []struct {
		name string
		in   [][]byte
		want [][]byte // nil: nothing published
	}{
		{"P-frame before the first IDR", [][]byte{nonIDR(3)}, nil},
		{"IDR: SDP parameter sets in front, AUD dropped", [][]byte{aud, sei, big}, [][]byte{spsA, ppsA, sei, big}},
		{"P-frame", [][]byte{aud, nonIDR(4)}, [][]byte{nonIDR(4)}},
		{"IDR with in-band sets", [][]byte{spsB, ppsB, idr(800, 5)}, [][]byte{spsB, ppsB, idr(800, 5)}},
		{"IDR without: the in-band ones are kept", [][]byte{idr(800, 6)}, [][]byte{spsB, ppsB, idr(800, 6)}},
		{"PPS update on a P-frame", [][]byte{ppsA, nonIDR(7)}, [][]byte{ppsA, nonIDR(7)}},
		{"IDR after it", [][]byte{idr(300, 8)}, [][]byte{spsB, ppsA, idr(300, 8)}},
	}
	var want []unit
	for i, s := range steps {
		ts := uint32(1000 + 3000*i)
		cam.send(fw, ts, s.in...)
		if s.want != nil {
			want = append(want, unit{ts: ts, nalus: s.want})
		}
	}
	got := track.units(t)
	if len(got) != len(want) {
		t.Fatalf("published %d units, want %d", len(got), len(want))
	}
	for i := range want {
		if !nalusEqual(got[i].nalus, want[i].nalus) {
			t.Errorf("unit %d = %s, want %s", i, describe(got[i].nalus), describe(want[i].nalus))
		}
		if d := got[i].ts - got[0].ts; d != want[i].ts-want[0].ts {
			t.Errorf("unit %d at +%d, want +%d", i, d, want[i].ts-want[0].ts)
		}
	}
	if st := fw.endSession(); st.frames != len(want) || st.skipped != 2 {
		t.Errorf("stats %+v, want %d frames and 2 skipped", st, len(want))
	}
}

// TestForwarderReconnect: a new session continues the numbering and the timestamps (advanced
// by the wall-clock gap), and starts at its first IDR.
func TestForwarderReconnect(t *testing.T) {
	now := time.Unix(1000, 0)
	fw := newTestForwarder(t, &now)
	track := &fakeTrack{}
	fw.setTrack(track)
	cam := newCameraEncoder(t)
	if err := fw.startSession(&format.H264{PacketizationMode: 1, SPS: spsA, PPS: ppsA}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		cam.send(fw, uint32(1000+3000*i), idr(200, byte(i)))
		now = now.Add(33 * time.Millisecond)
	}
	fw.endSession()

	now = now.Add(2 * time.Second)
	cam = newCameraEncoder(t) // a new camera session: other numbering and timestamps
	if err := fw.startSession(&format.H264{PacketizationMode: 1}); err != nil {
		t.Fatal(err)
	}
	cam.send(fw, 5_000_000, nonIDR(9)) // skipped: no IDR yet
	cam.send(fw, 5_003_000, idr(200, 10))
	cam.send(fw, 5_006_000, nonIDR(11))

	got := track.units(t) // also checks that sequence numbers run on
	if len(got) != 5 {
		t.Fatalf("published %d units, want 5", len(got))
	}
	last := got[2].ts
	// The second session's first unit comes 2 s (+ the 33 ms tick) after the last one.
	if d := got[3].ts - last; d != 90*(2000+33) {
		t.Errorf("timestamp step over the reconnection = %d, want %d", d, 90*(2000+33))
	}
	if d := got[4].ts - got[3].ts; d != 3000 {
		t.Errorf("timestamp step within the new session = %d, want 3000", d)
	}
	if !nalusEqual(got[3].nalus, [][]byte{spsA, ppsA, idr(200, 10)}) {
		t.Errorf("first unit after reconnecting = %x, want the kept SPS/PPS then the IDR", got[3].nalus)
	}
}

// TestForwarderNoMarker: a camera that never sets the marker bit; units end at the next
// timestamp, and keep their own.
func TestForwarderNoMarker(t *testing.T) {
	now := time.Unix(1000, 0)
	fw := newTestForwarder(t, &now)
	track := &fakeTrack{}
	fw.setTrack(track)
	cam := newCameraEncoder(t)
	if err := fw.startSession(&format.H264{PacketizationMode: 1, SPS: spsA, PPS: ppsA}); err != nil {
		t.Fatal(err)
	}
	frames := [][]byte{idr(3000, 1), nonIDR(2), idr(100, 3), nonIDR(4)}
	for i, f := range frames {
		for _, p := range cam.packets(uint32(9000*i), f) {
			p.Marker = false
			fw.handle(p)
		}
	}
	got := track.units(t)
	if len(got) != len(frames)-1 { // the last one waits for a next timestamp
		t.Fatalf("published %d units, want %d", len(got), len(frames)-1)
	}
	for i, u := range got {
		if d := u.ts - got[0].ts; d != uint32(9000*i) {
			t.Errorf("unit %d at +%d, want +%d", i, d, 9000*i)
		}
		if !bytes.Equal(u.nalus[len(u.nalus)-1], frames[i]) {
			t.Errorf("unit %d ends with %x…, want frame %d", i, u.nalus[len(u.nalus)-1][:4], i)
		}
	}
}

// TestForwarderLoss: a fragmented unit that lost a packet is dropped, and what follows is
// still published.
func TestForwarderLoss(t *testing.T) {
	now := time.Unix(1000, 0)
	fw := newTestForwarder(t, &now)
	track := &fakeTrack{}
	fw.setTrack(track)
	cam := newCameraEncoder(t)
	if err := fw.startSession(&format.H264{PacketizationMode: 1, SPS: spsA, PPS: ppsA}); err != nil {
		t.Fatal(err)
	}
	cam.send(fw, 0, idr(100, 1))
	pkts := cam.packets(3000, nonIDR(2), slice(1, 4000, 3)) // FU-A over 3 packets
	for i, p := range pkts {
		if i != 2 {
			fw.handle(p)
		}
	}
	cam.send(fw, 6000, nonIDR(4))
	got := track.units(t)
	if len(got) != 2 || !bytes.Equal(got[1].nalus[0], nonIDR(4)) {
		t.Fatalf("published %d units, want the IDR and the P-frame after the broken one", len(got))
	}
	if st := fw.endSession(); st.decodeErrors != 1 {
		t.Errorf("decode errors %d, want 1", st.decodeErrors)
	}
}

func TestTrackCodec(t *testing.T) {
	for _, tc := range []struct {
		sps  []byte
		want string
	}{
		{nil, "42e01f"},
		{[]byte{0x67, 0x42}, "42e01f"},
		{[]byte{0x67, 0x42, 0xc0, 0x1e}, "42e01e"}, // constrained baseline (x264)
		{[]byte{0x67, 0x42, 0xe0, 0x1f}, "42e01f"},
		{[]byte{0x67, 0x42, 0x00, 0x0d}, "42000d"}, // baseline
		{[]byte{0x67, 0x64, 0x00, 0x28}, "42e028"}, // high 4.0: announced as constrained baseline
		{[]byte{0x67, 0x4d, 0x40, 0x33}, "42e033"}, // main 5.1
	} {
		t.Run(fmt.Sprintf("%x", tc.sps), func(t *testing.T) {
			c := trackCodec(tc.sps)
			want := "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + tc.want
			if c.SDPFmtpLine != want || c.MimeType != "video/H264" || c.ClockRate != 90000 || c.PayloadType != 96 {
				t.Errorf("trackCodec(%x) = %+v, want fmtp %s", tc.sps, c, want)
			}
		})
	}
}
