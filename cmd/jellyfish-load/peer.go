package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/serversdk"
)

// peer is one simulated participant: a REST peer plus a clientsdk.Client.
//
// Goroutines, all in wg and all ended by leave: the event loop (ends when Leave closes
// Events) and one reader per remote track (ends when Leave closes the PeerConnection). Media
// loops of publishers belong to the load (load.mediaWG), not to the peer.
type peer struct {
	name         string
	room         string
	publishVideo bool
	publishAudio bool
	subscriber   bool // receives media and counts in the subscriber figures

	// Written by the join goroutine before joined is set; read after it (or after joinWG.Wait).
	joinStart time.Time
	joinTime  time.Duration // REST + socket + "connected" + publications
	client    *clientsdk.Client
	joined    atomic.Bool

	// Unix nanoseconds of the first RTP packet on any track, on video, on audio; 0: none yet.
	first, firstVideo, firstAudio atomic.Int64

	mu      sync.Mutex
	readers []*trackReader
	err     error // first failure: join error or disconnection

	wg sync.WaitGroup
}

// firstPacket records the arrival of a packet of kind.
func (p *peer) firstPacket(kind webrtc.RTPCodecType, now time.Time) {
	if p.first.Load() != 0 && (kind == webrtc.RTPCodecTypeVideo && p.firstVideo.Load() != 0 ||
		kind == webrtc.RTPCodecTypeAudio && p.firstAudio.Load() != 0) {
		return // the common case: two atomic loads
	}
	ns := now.UnixNano()
	p.first.CompareAndSwap(0, ns)
	if kind == webrtc.RTPCodecTypeVideo {
		p.firstVideo.CompareAndSwap(0, ns)
	} else {
		p.firstAudio.CompareAndSwap(0, ns)
	}
}

// setErr records the peer's first failure.
func (p *peer) setErr(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// failure returns the peer's first failure, if any.
func (p *peer) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// snapshotReaders copies the reader list.
func (p *peer) snapshotReaders() []*trackReader {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*trackReader(nil), p.readers...)
}

// join adds the peer over REST, joins it over the peer socket, starts its event loop and
// publishes its tracks; media starts flowing from l.startMedia.
func (l *load) join(ctx context.Context, p *peer) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.JoinTimeout)
	defer cancel()
	p.joinStart = time.Now()
	created, err := l.api.AddPeer(ctx, p.room, serversdk.PeerOptions{})
	if err != nil {
		return fmt.Errorf("add peer: %w", err)
	}
	c, err := clientsdk.Join(ctx, clientsdk.Config{
		URL:      created.PeerWebsocketURL,
		Token:    created.Token,
		Metadata: map[string]string{"name": p.name},
		Logger:   l.log.With("peer", p.name),
	})
	if err != nil {
		return err
	}
	p.client = c
	p.wg.Go(func() { p.eventLoop(c) })
	var video, audio *webrtc.TrackLocalStaticRTP
	if p.publishVideo {
		video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", p.name)
		if err == nil {
			_, err = c.Publish(ctx, video, map[string]string{"source": "camera"})
		}
		if err != nil {
			return fmt.Errorf("publish video: %w", err)
		}
	}
	if p.publishAudio {
		audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", p.name)
		if err == nil {
			_, err = c.Publish(ctx, audio, map[string]string{"source": "microphone"})
		}
		if err != nil {
			return fmt.Errorf("publish audio: %w", err)
		}
	}
	l.startMedia(p, video, audio)
	p.joinTime = time.Since(p.joinStart)
	return nil
}

// eventLoop drains the client's events and starts a reader for every remote track.
func (p *peer) eventLoop(c *clientsdk.Client) {
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case clientsdk.TrackReady:
			r := &trackReader{peer: p, trackID: ev.TrackID, kind: ev.Remote.Kind()}
			p.mu.Lock()
			p.readers = append(p.readers, r)
			p.mu.Unlock()
			remote := ev.Remote
			p.wg.Go(func() { r.run(remote) })
		case clientsdk.Disconnected:
			p.setErr(fmt.Errorf("disconnected: %s", ev.Reason))
		}
	}
}

// leave closes the client (ending its readers) and waits for the peer's goroutines.
func (p *peer) leave() {
	if p.client != nil {
		p.client.Leave()
	}
	p.wg.Wait()
}

// startMedia starts the media loops of a publisher's tracks (nil tracks are skipped).
func (l *load) startMedia(p *peer, video, audio *webrtc.TrackLocalStaticRTP) {
	seed := uint64(time.Now().UnixNano())
	if video != nil {
		src := newVP8Source(video, &l.sentVideo, l.cfg.Bitrate, l.cfg.FPS, l.cfg.KeyframeInterval, seed)
		l.mediaWG.Go(func() { l.pace(time.Second/time.Duration(l.cfg.FPS), func() { src.frame() }) })
	}
	if audio != nil {
		src := newOpusSource(audio, &l.sentAudio, seed+1)
		l.mediaWG.Go(func() { l.pace(opusPacketDuration, src.packet) })
	}
}

// pace calls f every interval on an absolute schedule (a late call does not shift the later
// ones; after a stall of more than 5 intervals the schedule restarts) until stopMedia closes.
func (l *load) pace(interval time.Duration, f func()) {
	t := time.NewTimer(0)
	defer t.Stop()
	next := time.Now()
	for {
		select {
		case <-l.stopMedia:
			return
		case <-t.C:
		}
		f()
		next = next.Add(interval)
		now := time.Now()
		if now.Sub(next) > 5*interval {
			next = now
		}
		t.Reset(next.Sub(now))
	}
}
