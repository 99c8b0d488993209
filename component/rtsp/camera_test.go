package rtsp_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/jellyfish-go/jellyfish/internal/annexb"
)

// fixture is an H.264 clip made by ffmpeg: access units, each a list of NAL units.
type fixture struct {
	sps, pps []byte
	aus      [][][]byte // every unit in display order; the first one is an IDR
}

// Clip parameters: 2 s of 320x240 at 30 fps, an IDR every 15 frames, no B-frames.
const (
	clipWidth  = 320
	clipHeight = 240
	clipFPS    = 30
)

// makeFixture runs ffmpeg (which must be installed) and splits its Annex-B output.
func makeFixture(t testing.TB) *fixture {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required to make the test stream (apt-get install ffmpeg): %v", err)
	}
	path := filepath.Join(t.TempDir(), "clip.h264")
	out, err := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc=size=%dx%d:rate=%d", clipWidth, clipHeight, clipFPS), "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "15", "-bf", "0", "-pix_fmt", "yuv420p",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	var cur [][]byte
	for _, n := range annexb.Split(raw) {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS: // kept apart: the camera sends them in the SDP or in band
			f.sps = n
			continue
		case h264.NALUTypePPS:
			f.pps = n
			continue
		case h264.NALUTypeIDR, h264.NALUTypeNonIDR: // one slice per frame: a slice ends the unit
			f.aus = append(f.aus, append(cur, n))
			cur = nil
			continue
		}
		cur = append(cur, n)
	}
	if f.sps == nil || f.pps == nil || len(f.aus) != 2*clipFPS || !h264.IsRandomAccess(f.aus[0]) {
		t.Fatalf("unexpected clip: sps %x pps %x, %d units", f.sps, f.pps, len(f.aus))
	}
	return f
}

// cameraConfig says how a camera serves the clip.
type cameraConfig struct {
	sprop  bool // SPS and PPS in the SDP (sprop-parameter-sets) instead of in band
	udp    bool // offer UDP transport (else TCP only: the client must switch)
	noH264 bool // serve a VP8 stream instead (the component must give up)
}

// camera is a real RTSP server on 127.0.0.1 that serves the clip in a loop, like an IP
// camera: 30 fps, RTP packets up to gortsplib's 1450-byte payloads. It can be stopped and
// started again on the same ports.
//
// Goroutines: gortsplib's server, and one feeder per start; stop ends and waits for both.
type camera struct {
	t        testing.TB
	clip     *fixture
	rtspPort int
	udpPort  int // even; RTCP on udpPort+1

	mu     sync.Mutex
	stream *gortsplib.ServerStream
	setups []string // Transport headers of the SETUP requests
	plays  int
	closed int // sessions that ended

	srv  *gortsplib.Server
	quit chan struct{}
	wg   sync.WaitGroup
}

func newCamera(t testing.TB, clip *fixture) *camera {
	c := &camera{t: t, clip: clip, rtspPort: freeTCPPort(t), udpPort: freeUDPPair(t)}
	t.Cleanup(c.stop)
	return c
}

func (c *camera) url() string { return fmt.Sprintf("rtsp://127.0.0.1:%d/cam", c.rtspPort) }

// start serves the clip until stop.
func (c *camera) start(cfg cameraConfig) {
	c.t.Helper()
	srv := &gortsplib.Server{Handler: c, RTSPAddress: "127.0.0.1:" + strconv.Itoa(c.rtspPort)}
	if cfg.udp {
		srv.UDPRTPAddress = "127.0.0.1:" + strconv.Itoa(c.udpPort)
		srv.UDPRTCPAddress = "127.0.0.1:" + strconv.Itoa(c.udpPort+1)
	}
	if err := srv.Start(); err != nil {
		c.t.Fatalf("camera: %v", err)
	}
	var forma format.Format = &format.VP8{PayloadTyp: 96}
	h := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	if cfg.sprop {
		h.SPS, h.PPS = c.clip.sps, c.clip.pps
	}
	if !cfg.noH264 {
		forma = h
	}
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	stream := &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{medi}}}
	if err := stream.Initialize(); err != nil {
		srv.Close()
		c.t.Fatalf("camera stream: %v", err)
	}
	c.mu.Lock()
	c.stream = stream
	c.mu.Unlock()
	c.srv, c.quit = srv, make(chan struct{})
	if !cfg.noH264 {
		c.wg.Go(func() { c.feed(stream, medi, !cfg.sprop) })
	}
}

// feed packetizes the clip at 30 fps; the parameter sets travel in band only when inBand.
func (c *camera) feed(stream *gortsplib.ServerStream, medi *description.Media, inBand bool) {
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		c.t.Errorf("camera encoder: %v", err)
		return
	}
	tick := time.NewTicker(time.Second / clipFPS)
	defer tick.Stop()
	ts := uint32(123456)
	for i := 0; ; i++ {
		select {
		case <-c.quit:
			return
		case <-tick.C:
		}
		au := c.clip.aus[i%len(c.clip.aus)]
		if inBand && h264.IsRandomAccess(au) {
			au = append([][]byte{c.clip.sps, c.clip.pps}, au...)
		}
		pkts, err := enc.Encode(au)
		if err != nil {
			c.t.Errorf("camera encode: %v", err)
			return
		}
		for _, p := range pkts {
			p.Timestamp = ts
			stream.WritePacketRTP(medi, p) //nolint:errcheck // no reader yet is fine
		}
		ts += 90000 / clipFPS
	}
}

// stop closes the server (the component's connection drops); idempotent.
func (c *camera) stop() {
	if c.srv == nil {
		return
	}
	close(c.quit)
	c.wg.Wait()
	c.mu.Lock()
	stream := c.stream
	c.stream = nil
	c.mu.Unlock()
	stream.Close()
	c.srv.Close()
	c.srv = nil
}

// snapshot returns what the camera saw so far.
func (c *camera) snapshot() (setups []string, plays, closed int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.setups...), c.plays, c.closed
}

func (c *camera) current() *gortsplib.ServerStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (c *camera) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, c.current(), nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (c *camera) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	c.mu.Lock()
	c.setups = append(c.setups, fmt.Sprint(ctx.Request.Header["Transport"]))
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, c.current(), nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (c *camera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	c.mu.Lock()
	c.plays++
	c.mu.Unlock()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (c *camera) OnSessionClose(*gortsplib.ServerHandlerOnSessionCloseCtx) {
	c.mu.Lock()
	c.closed++
	c.mu.Unlock()
}

// OnPacketsLost, OnDecodeError and OnStreamWriteError keep gortsplib from logging to stderr.
func (c *camera) OnPacketsLost(*gortsplib.ServerHandlerOnPacketsLostCtx)           {}
func (c *camera) OnDecodeError(*gortsplib.ServerHandlerOnDecodeErrorCtx)           {}
func (c *camera) OnStreamWriteError(*gortsplib.ServerHandlerOnStreamWriteErrorCtx) {}

// freeTCPPort returns a port on 127.0.0.1 that was free a moment ago.
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freeUDPPair returns an even UDP port p such that p and p+1 were free a moment ago.
func freeUDPPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.LocalAddr().(*net.UDPAddr).Port
		a.Close()
		p &^= 1
		if p < 1024 || p > 65534 {
			continue
		}
		c1, err1 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		c2, err2 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		for _, c := range []net.PacketConn{c1, c2} {
			if c != nil {
				c.Close()
			}
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Fatal("no free UDP port pair")
	return 0
}

// hasClientPorts reports whether a SETUP Transport header asked for client ports p-(p+1).
func hasClientPorts(transport string, p int) bool {
	return bytes.Contains([]byte(transport), fmt.Appendf(nil, "client_port=%d-%d", p, p+1))
}
