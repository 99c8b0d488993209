package composite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// stopReason says why a run was stopped by us; stopNone means ffmpeg exited by itself.
type stopReason int32

const (
	stopNone stopReason = iota
	stopCtx
	stopLayout
	stopStalled
	stopOutput
)

// runResult is how one ffmpeg run ended.
type runResult struct {
	reason   stopReason
	produced bool          // ffmpeg wrote at least one video access unit
	fatal    error         // ffmpeg could not start, or Output failed: Run returns it
	exit     error         // ffmpeg's exit status, for the log
	stopTook time.Duration // from our stop request to ffmpeg's exit
	stderr   string
}

// outputError marks an error returned by Output, so that it ends Run.
type outputError struct{ err error }

func (e outputError) Error() string { return e.err.Error() }
func (e outputError) Unwrap() error { return e.err }

// termGrace is how long ffmpeg may take to exit after interrupt before it is killed.
const termGrace = 3 * time.Second

// runOnce runs ffmpeg once over layout, demuxing its output into out on the calling goroutine,
// until ffmpeg exits or the watcher stops it (ctx ended, layout changed, output stalled).
func (c *Compositor) runOnce(ctx context.Context, layout []*input, out Output, tl *timeline) runResult {
	ports, err := freePortPairs(len(layout))
	if err != nil {
		return runResult{exit: err}
	}
	slots := make([]slot, len(layout))
	for i, in := range layout {
		slots[i] = slot{enc: in.enc, port: ports[i]}
	}
	dir, err := os.MkdirTemp("", "composite-")
	if err != nil {
		return runResult{fatal: fmt.Errorf("composite: %w", err)}
	}
	defer os.RemoveAll(dir)
	sdpPath := filepath.Join(dir, "in.sdp")
	if err := os.WriteFile(sdpPath, []byte(sdp(slots)), 0o600); err != nil {
		return runResult{fatal: fmt.Errorf("composite: %w", err)}
	}
	sender, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return runResult{exit: err}
	}
	defer sender.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(runCtx, c.cfg.FFmpeg, ffmpegArgs(c.cfg, slots, sdpPath)...)
	cmd.Cancel = func() error { return interrupt(cmd.Process) }
	cmd.WaitDelay = termGrace
	errLog := &stderrLog{log: c.log}
	cmd.Stderr = errLog
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return runResult{fatal: fmt.Errorf("composite: %w", err)}
	}
	if err := cmd.Start(); err != nil {
		return runResult{fatal: fmt.Errorf("composite: start ffmpeg: %w", err)}
	}
	c.stats.runs.Add(1)
	c.log.Debug("composite: ffmpeg started", "pid", cmd.Process.Pid, "inputs", len(layout))
	c.stats.pid.Store(int64(cmd.Process.Pid))

	dests := make([]*dest, len(layout))
	for i, in := range layout {
		dests[i] = &dest{conn: sender, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(slots[i].port)), pt: payloadType(i)}
		in.dest.Store(dests[i])
	}

	var reason atomic.Int32
	var stopAt atomic.Int64
	stop := func(r stopReason) {
		if reason.CompareAndSwap(int32(stopNone), int32(r)) {
			stopAt.Store(time.Now().UnixNano())
		}
		cancel()
	}
	prog := &progress{start: time.Now()}
	prog.last.Store(prog.start.UnixNano())
	ended, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		c.watch(ctx, ended, layout, prog, stop)
	}()

	err = c.demux(ctx, stdout, out, tl, prog)
	var oe outputError
	if errors.As(err, &oe) {
		stop(stopOutput)
	}
	_, _ = io.Copy(io.Discard, stdout) // until ffmpeg exits, so it never blocks on a full pipe
	exitErr := cmd.Wait()
	exited := time.Now()
	close(ended)
	<-watched
	var refused uint64
	for i, in := range layout {
		in.dest.CompareAndSwap(dests[i], nil)
		refused += in.dropped.Swap(0)
	}
	c.log.Debug("composite: ffmpeg exited", "pid", cmd.Process.Pid, "exit", exitErr, "sendErrors", refused)
	if ps := cmd.ProcessState; ps != nil {
		c.stats.cpu += ps.UserTime() + ps.SystemTime()
	}

	res := runResult{reason: stopReason(reason.Load()), produced: prog.video.Load(), exit: exitErr, stderr: errLog.lastLines()}
	if at := stopAt.Load(); at != 0 {
		res.stopTook = exited.Sub(time.Unix(0, at))
	}
	if res.reason == stopOutput {
		res.fatal = oe.err
	}
	return res
}

// interrupt asks ffmpeg to stop gracefully (flushing its encoders into the output). After its
// start-up ffmpeg honours one signal only between input packets, so a single SIGTERM leaves it
// blocked on idle inputs; a second signal interrupts the blocked read. SIGINT and SIGTERM are both
// sent because two pending signals of one kind would merge into one.
func interrupt(p *os.Process) error {
	if err := p.Signal(syscall.SIGINT); err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

// progress is what the demuxer tells the watcher.
type progress struct {
	start time.Time    // ffmpeg's start
	last  atomic.Int64 // unix nanos of the last output (or of the start)
	video atomic.Bool  // a video access unit came out
}

// demux reads ffmpeg's MPEG-TS and hands access units to out, until EOF or an error.
func (c *Compositor) demux(ctx context.Context, r io.Reader, out Output, tl *timeline, prog *progress) error {
	rd := &mpegts.Reader{R: r}
	if err := rd.Initialize(); err != nil {
		return err
	}
	var video, audio *mpegts.Track
	for _, t := range rd.Tracks() {
		switch t.Codec.(type) {
		case *codecs.H264:
			video = t
		case *codecs.MPEG4Audio:
			audio = t
		}
	}
	if video == nil || audio == nil {
		return errors.New("composite: ffmpeg output lacks H.264 or AAC")
	}
	decodeErrors := 0
	rd.OnDecodeError(func(error) { decodeErrors++ })
	tl.startRun()
	rd.OnDataH264(video, func(pts, _ int64, au [][]byte) error {
		now := time.Now()
		prog.last.Store(now.UnixNano())
		if !prog.video.Swap(true) {
			c.log.Debug("composite: first picture", "after", now.Sub(prog.start))
		}
		p, ok := tl.video(pts)
		if !ok || ctx.Err() != nil {
			return nil
		}
		if err := out.WriteH264(p, au); err != nil {
			return outputError{err}
		}
		return nil
	})
	rd.OnDataMPEG4Audio(audio, func(pts int64, aus [][]byte) error {
		prog.last.Store(time.Now().UnixNano())
		p, ok := tl.audio(pts, len(aus))
		if !ok || ctx.Err() != nil {
			return nil
		}
		for i, au := range aus {
			if err := out.WriteAAC(p+time.Duration(i)*aacDuration, au); err != nil {
				return outputError{err}
			}
		}
		return nil
	})
	for {
		if err := rd.Read(); err != nil {
			if decodeErrors > 0 {
				c.log.Debug("composite: MPEG-TS decode errors", "count", decodeErrors)
			}
			return err
		}
	}
}

// freePortPairs finds n ports P such that P and P+1 (ffmpeg's RTP and RTCP sockets) are free on
// loopback, holding them all until done so that they differ. ffmpeg binds them a moment later;
// should another process win that race, ffmpeg fails and the next run picks other ports.
func freePortPairs(n int) ([]int, error) {
	lo := net.IPv4(127, 0, 0, 1)
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries == 50*n {
			return nil, errors.New("composite: no free UDP port pair on loopback")
		}
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
		if err != nil {
			return nil, err
		}
		held = append(held, a)
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p >= 65534 {
			continue
		}
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo, Port: p + 1})
		if err != nil {
			continue
		}
		held = append(held, b)
		ports = append(ports, p)
	}
	return ports, nil
}
