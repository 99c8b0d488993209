package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// camera simulates an IP camera: an RTSP server (gortsplib) on 127.0.0.1 that serves an H.264
// test pattern in a loop at 25 fps, with SPS and PPS in band before every IDR. The clip is made
// once by ffmpeg at start.
type camera struct {
	srv    *gortsplib.Server
	stream *gortsplib.ServerStream
	media  *description.Media
	aus    [][][]byte // access units; the first one is an IDR
	quit   chan struct{}
	wg     sync.WaitGroup
}

const cameraFPS = 25

// startCamera serves rtsp://<addr>/cam until close.
func startCamera(ctx context.Context, addr, ffmpeg string) (*camera, error) {
	aus, err := makeClip(ctx, ffmpeg)
	if err != nil {
		return nil, err
	}
	c := &camera{aus: aus, quit: make(chan struct{})}
	c.srv = &gortsplib.Server{Handler: c, RTSPAddress: addr}
	if err := c.srv.Start(); err != nil {
		return nil, fmt.Errorf("camera: %w", err)
	}
	c.media = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}
	c.stream = &gortsplib.ServerStream{Server: c.srv, Desc: &description.Session{Medias: []*description.Media{c.media}}}
	if err := c.stream.Initialize(); err != nil {
		c.srv.Close()
		return nil, fmt.Errorf("camera stream: %w", err)
	}
	c.wg.Go(c.feed)
	return c, nil
}

func (c *camera) close() {
	close(c.quit)
	c.wg.Wait()
	c.stream.Close()
	c.srv.Close()
}

// feed packetizes the clip in real time, forever.
func (c *camera) feed() {
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return
	}
	tick := time.NewTicker(time.Second / cameraFPS)
	defer tick.Stop()
	ts := uint32(0)
	for i := 0; ; i++ {
		select {
		case <-c.quit:
			return
		case <-tick.C:
		}
		pkts, err := enc.Encode(c.aus[i%len(c.aus)])
		if err != nil {
			return
		}
		for _, p := range pkts {
			p.Timestamp = ts
			c.stream.WritePacketRTP(c.media, p) //nolint:errcheck // no reader is fine
		}
		ts += 90000 / cameraFPS
	}
}

// OnDescribe serves the stream at any path (gortsplib.ServerHandlerOnDescribe).
func (c *camera) OnDescribe(*gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnSetup accepts readers (gortsplib.ServerHandlerOnSetup).
func (c *camera) OnSetup(*gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return &base.Response{StatusCode: base.StatusOK}, c.stream, nil
}

// OnPlay lets them play (gortsplib.ServerHandlerOnPlay).
func (c *camera) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// makeClip encodes 4 s of ffmpeg's test pattern (640x360, an IDR every second, no B-frames) and
// splits it into access units with the parameter sets before each IDR.
func makeClip(ctx context.Context, ffmpeg string) ([][][]byte, error) {
	dir, err := os.MkdirTemp("", "rtsp-to-hls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "clip.h264")
	out, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc=size=640x360:rate=%d", cameraFPS), "-t", "4",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", fmt.Sprint(cameraFPS), "-bf", "0", "-pix_fmt", "yuv420p",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("making the camera's clip with %s: %w\n%s", ffmpeg, err, out)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var aus [][][]byte
	var cur [][]byte
	for _, n := range splitAnnexB(raw) {
		cur = append(cur, n)
		if t := h264.NALUType(n[0] & 0x1f); t == h264.NALUTypeIDR || t == h264.NALUTypeNonIDR {
			aus = append(aus, cur) // one slice per frame: a slice ends the unit
			cur = nil
		}
	}
	if len(aus) == 0 || !h264.IsRandomAccess(aus[0]) {
		return nil, fmt.Errorf("the camera's clip has no IDR first (%d units)", len(aus))
	}
	return aus, nil
}

// splitAnnexB returns the NAL units of an Annex-B stream.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			out = append(out, bytes.TrimRight(b[start:i], "\x00"))
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}
