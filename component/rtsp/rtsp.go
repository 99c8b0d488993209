package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// minRetryGap spaces connection attempts when reconnectDelay is 0, so that an unreachable
// camera does not make the component spin.
const minRetryGap = 100 * time.Millisecond

// errFatal marks what Jellyfish v0.5.0 crashes on rather than retrying: an invalid sourceUri
// and a stream without H.264 video.
var errFatal = errors.New("rtsp")

// component is one RTSP camera in a room.
//
// Goroutines: Run's own (connects, waits, reconnects); while a connection is up, one watcher
// that closes the RTSP client when Run's context ends, and the gortsplib client's goroutines
// (its reader calls forwarder.handle). Both are stopped and waited for before the connection
// attempt returns.
type component struct {
	opts options
}

var (
	_ jellyfish.Component           = (*component)(nil)
	_ jellyfish.ComponentPropertier = (*component)(nil)
)

// Run connects to the camera and publishes its video until ctx ends. A failed or lost
// connection is retried after reconnectDelay, forever; the track, once published, stays
// published across reconnections. Run returns an error (ComponentCrashed) only where
// Jellyfish v0.5.0 crashes: an invalid sourceUri or a stream without H.264 video.
func (c *component) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	log := m.Logger().With("source", redact(c.opts.sourceURI))
	u, err := base.ParseURL(c.opts.sourceURI)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return fmt.Errorf("%w: invalid sourceUri %q", errFatal, redact(c.opts.sourceURI))
	}
	fw, err := newForwarder()
	if err != nil {
		return err
	}
	s := &session{opts: c.opts, url: u, fw: fw, log: log, member: m}
	delay := max(millis(c.opts.reconnectDelay), minRetryGap)
	for failures := 0; ; {
		up, err := s.run(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errFatal):
			return err // logged by the room as a crash
		case up:
			failures = 0
			log.Warn("rtsp stream lost; reconnecting", "err", err, "delay", delay)
		default:
			failures++
			// Quiet after the first few: an absent camera is retried forever.
			lvl := slog.LevelDebug
			if failures <= 3 || failures%100 == 0 {
				lvl = slog.LevelWarn
			}
			log.Log(ctx, lvl, "rtsp connection failed; retrying", "err", err, "attempt", failures, "delay", delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session is what one connection attempt needs; owned by Run's goroutine.
type session struct {
	opts   options
	url    *base.URL
	fw     *forwarder
	log    *slog.Logger
	member *jellyfish.ComponentMember
	track  *jellyfish.LocalTrack // published at the first PLAY, kept for the component's life
}

// run makes one connection and forwards its stream until it fails or ctx ends. up says
// whether PLAY succeeded.
func (s *session) run(ctx context.Context) (up bool, err error) {
	var lost atomic.Uint64
	client := &gortsplib.Client{
		Scheme: s.url.Scheme,
		Host:   s.url.Host,
		OnTransportSwitch: func(err error) {
			s.log.Info("rtsp transport switch", "reason", err)
		},
		OnPacketsLost: func(n uint64) { lost.Add(n) },
		OnDecodeError: func(err error) { s.log.Debug("rtsp decode error", "err", err) },
	}
	// RTP and RTCP are received on the address the camera is talking to (that of the RTSP
	// connection), not on every interface.
	client.ListenPacket = func(network, address string) (net.PacketConn, error) {
		return net.ListenPacket(network, onLocalIP(client.NetConn(), address))
	}
	if err := client.Start(); err != nil {
		return false, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-ctx.Done():
			client.Close() // unblocks the request in progress and Wait
		case <-stop:
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
		client.Close() // waits for the client's goroutines: no packet is handled after this
		st := s.fw.endSession()
		if up {
			s.log.Info("rtsp session ended", "frames", st.frames, "skipped", st.skipped,
				"lost_packets", lost.Load(), "decode_errors", st.decodeErrors, "write_errors", st.writeErrors)
		}
	}()

	desc, _, err := client.Describe(s.url)
	if err != nil {
		return false, fmt.Errorf("describe: %w", err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return false, fmt.Errorf("%w: setup returned no H.264 video stream", errFatal)
	}
	if err := s.fw.startSession(forma); err != nil {
		return false, fmt.Errorf("%w: %v", errFatal, err) // packetization mode 2
	}
	if err := s.setup(client, desc, medi); err != nil {
		return false, fmt.Errorf("setup: %w", err)
	}
	client.OnPacketRTP(medi, forma, s.fw.handle)
	if _, err := client.Play(nil); err != nil {
		return false, fmt.Errorf("play: %w", err)
	}
	if s.track == nil {
		// Jellyfish announces the track once the RTSP setup completed.
		t, err := s.member.Publish(jellyfish.TrackOptions{Kind: jellyfish.TrackTypeVideo, Codec: trackCodec(s.fw.knownSPS())})
		if err != nil {
			return true, fmt.Errorf("%w: publish: %v", errFatal, err) // the component left its room
		}
		s.track = t
		s.fw.setTrack(t)
	}
	transport := "unknown"
	if tr := client.Transport().Session; tr != nil {
		transport = tr.Protocol.String()
	}
	s.log.Info("rtsp stream up", "transport", transport)
	return true, client.Wait()
}

// setup sets the video up, over UDP on rtpPort/rtpPort+1 when the camera offers UDP (gortsplib
// falls back to TCP interleaving when it does not, or when no UDP packet arrives in 3 s). If
// those ports cannot be bound (another component uses them), random ports are used.
func (s *session) setup(client *gortsplib.Client, desc *description.Session, medi *description.Media) error {
	port := s.opts.rtpPort
	_, err := client.Setup(desc.BaseURL, medi, port, port+1)
	var op *net.OpError
	if err != nil && errors.As(err, &op) && op.Op == "listen" {
		s.log.Warn("rtp port unavailable; using random ports", "rtp_port", port, "err", err)
		_, err = client.Setup(desc.BaseURL, medi, 0, 0)
	}
	return err
}

// onLocalIP puts the local IP of conn into a listen address (":port").
func onLocalIP(conn net.Conn, address string) string {
	if conn == nil {
		return address
	}
	local, ok := conn.LocalAddr().(*net.TCPAddr)
	host, port, err := net.SplitHostPort(address)
	if !ok || err != nil || (host != "" && host != "0.0.0.0") {
		return address
	}
	return net.JoinHostPort(local.IP.String(), port)
}

// redact hides the password of a source URI in logs and errors.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		return uri
	}
	if _, ok := u.User.Password(); !ok {
		return uri
	}
	return u.Redacted()
}
