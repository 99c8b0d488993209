package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jellyfish-go/jellyfish/serversdk"
)

// load is one run of the generator.
//
// Goroutines: one join goroutine per peer (joinWG; ends when the peer has joined and published,
// or failed); two media loops per publisher (mediaWG; end when stopMedia closes); each peer's
// own (peer.wg; end in peer.leave); the progress printer (ends when its stop channel closes).
// run starts and waits for all of them.
type load struct {
	cfg   config
	out   io.Writer
	log   *slog.Logger
	api   *serversdk.Client
	probe serverProbe

	rooms []string
	peers []*peer // fixed once planned: publishers first

	sentVideo, sentAudio sendStats
	phase                atomic.Pointer[string]

	joinWG    sync.WaitGroup
	mediaWG   sync.WaitGroup
	stopMedia chan struct{}
}

// cleanupTimeout bounds the teardown (leaving peers, deleting rooms), also after SIGINT.
const cleanupTimeout = 30 * time.Second

// run generates the load described by cfg against the server, prints progress and the final
// table to out, and returns the report. When ctx ends early (SIGINT) it tears down, returns the
// partial report and ctx's error. Rooms it created are deleted in every case.
func run(ctx context.Context, cfg config, out io.Writer, log *slog.Logger) (rep *Report, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	l := &load{
		cfg: cfg, out: out, log: log,
		api:       serversdk.NewClient(cfg.URL, cfg.Token, serversdk.WithHTTPClient(hc)),
		probe:     serverProbe{metricsURL: cfg.MetricsURL, hc: hc},
		stopMedia: make(chan struct{}),
	}
	if cfg.ServerPID > 0 {
		l.probe.pid = strconv.Itoa(cfg.ServerPID)
	}
	if _, err := l.api.Health(ctx); err != nil {
		return nil, fmt.Errorf("server at %s: %w", cfg.URL, err)
	}
	l.setPhase("setup")

	rep = newReport(cfg)
	rep.Baseline, _ = l.sampleServer(ctx)

	if err := l.createRooms(ctx); err != nil {
		l.deleteRooms()
		return nil, err
	}
	defer l.deleteRooms()

	stopProgress := make(chan struct{})
	var progressWG sync.WaitGroup
	if cfg.Progress > 0 {
		progressWG.Go(func() { l.progress(stopProgress) })
	}
	defer func() {
		close(stopProgress)
		progressWG.Wait()
	}()

	err = l.drive(ctx, rep)
	l.teardown()
	l.fill(rep)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		rep.Interrupted = true
	}
	return rep, err
}

// drive joins the peers, waits for the settle time and measures the window.
func (l *load) drive(ctx context.Context, rep *Report) error {
	start := time.Now()
	pubs, subs := l.split()
	l.setPhase("ramp")
	if err := l.ramp(ctx, pubs); err != nil {
		return err
	}
	for _, p := range pubs {
		if err := p.failure(); err != nil {
			return fmt.Errorf("publisher %s: %w", p.name, err)
		}
	}
	if err := l.ramp(ctx, subs); err != nil {
		return err
	}
	rep.RampSeconds = time.Since(start).Seconds()
	l.setPhase("settle")
	if !sleep(ctx, l.cfg.Settle) {
		return ctx.Err()
	}
	l.setPhase("run")
	a := l.snapshot(ctx)
	ok := sleep(ctx, l.cfg.Duration)
	b := l.snapshot(ctx)
	rep.window(a, b, len(l.peers))
	if !ok {
		return ctx.Err()
	}
	return nil
}

// split returns the peers that publish (joined first) and the others.
func (l *load) split() (pubs, subs []*peer) {
	for _, p := range l.peers {
		if (p.publishAudio || p.publishVideo) && !p.subscriber {
			pubs = append(pubs, p)
		} else {
			subs = append(subs, p)
		}
	}
	return pubs, subs
}

// ramp starts the joins of peers at cfg.Ramp per second and waits for all of them.
func (l *load) ramp(ctx context.Context, peers []*peer) error {
	if len(peers) == 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / l.cfg.Ramp)
	t := time.NewTicker(interval)
	defer t.Stop()
	var wg sync.WaitGroup
	for i, p := range peers {
		if i > 0 {
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		l.joinWG.Go(func() {
			defer wg.Done()
			if err := l.join(ctx, p); err != nil {
				p.setErr(err)
				if ctx.Err() == nil {
					l.log.Error("peer failed to join", "peer", p.name, "err", err)
				}
				return
			}
			p.joined.Store(true)
		})
	}
	wg.Wait()
	return ctx.Err()
}

// plan creates the rooms' ids and the peers of the scenario.
func (l *load) plan() {
	var suffix [4]byte
	rand.Read(suffix[:])
	room := fmt.Sprintf("%s-%s-%s", l.cfg.RoomPrefix, l.cfg.Scenario, hex.EncodeToString(suffix[:]))
	l.rooms = []string{room}
	add := func(name string, video, audio, sub bool) {
		l.peers = append(l.peers, &peer{name: name, room: room, publishVideo: video, publishAudio: audio, subscriber: sub})
	}
	switch l.cfg.Scenario {
	case scenarioLivestream:
		add("pub-0", true, true, false)
		for i := range l.cfg.Subscribers {
			add(fmt.Sprintf("sub-%d", i), false, false, true)
		}
	case scenarioAudio:
		for i := range l.cfg.Publishers {
			add(fmt.Sprintf("pub-%d", i), false, true, false)
		}
		for i := range l.cfg.Subscribers {
			add(fmt.Sprintf("sub-%d", i), false, false, true)
		}
	case scenarioMeeting:
		for i := range l.cfg.Peers {
			add(fmt.Sprintf("peer-%d", i), true, true, true)
		}
	}
}

// createRooms plans the run and creates its rooms. A room left behind by a killed run is
// purged by the server a minute after its last peer left.
func (l *load) createRooms(ctx context.Context) error {
	l.plan()
	for i, id := range l.rooms {
		_, err := l.api.CreateRoom(ctx, serversdk.RoomConfig{
			RoomID:               new(id),
			VideoCodec:           new(serversdk.VideoCodecVP8),
			PeerlessPurgeTimeout: new(60),
		})
		if err != nil {
			l.rooms = l.rooms[:i]
			return fmt.Errorf("create room %s: %w", id, err)
		}
	}
	return nil
}

// teardown stops the media, makes every peer leave (in parallel) and waits for all
// goroutines of the run.
func (l *load) teardown() {
	l.setPhase("teardown")
	l.joinWG.Wait() // joins end on their own: they are bounded by JoinTimeout and by ctx
	close(l.stopMedia)
	l.mediaWG.Wait()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, p := range l.peers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			p.leave()
		})
	}
	wg.Wait()
}

// deleteRooms deletes the run's rooms with a fresh context (it also runs after SIGINT).
func (l *load) deleteRooms() {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	for _, id := range l.rooms {
		if err := l.api.DeleteRoom(ctx, id); err != nil && !serversdk.IsNotFound(err) {
			l.log.Error("delete room", "room", id, "err", err)
		}
	}
}

func (l *load) setPhase(s string) { l.phase.Store(&s) }

// counters sums what publishers sent and subscribers received so far.
type counters struct {
	sentPackets, sentBytes uint64
	recvPackets, recvBytes uint64
	lostRTP                uint64
	joined, failed, tracks int
}

func (l *load) counters() counters {
	c := counters{
		sentPackets: l.sentVideo.packets.Load() + l.sentAudio.packets.Load(),
		sentBytes:   l.sentVideo.bytes.Load() + l.sentAudio.bytes.Load(),
	}
	for _, p := range l.peers {
		if p.joined.Load() {
			c.joined++
		} else if p.failure() != nil {
			c.failed++
		}
		for _, r := range p.snapshotReaders() {
			c.tracks++
			c.recvPackets += r.packets.Load()
			c.recvBytes += r.bytes.Load()
			c.lostRTP += r.lostRTP.Load()
		}
	}
	return c
}

// snapshot is the state at one end of the measured window.
type snapshot struct {
	at      time.Time
	c       counters
	server  procSample
	self    procSample
	machine float64 // busy CPU seconds of all cores; 0 if unknown
	load1   float64
}

func (l *load) snapshot(ctx context.Context) snapshot {
	s := snapshot{at: time.Now(), c: l.counters(), self: selfSample(), load1: loadAvg()}
	s.machine, _ = machineCPU()
	s.server, _ = l.sampleServer(ctx)
	return s
}

// sampleServer reads the server's resources if a probe is configured; failures are logged.
func (l *load) sampleServer(ctx context.Context) (procSample, error) {
	if !l.probe.enabled() {
		return procSample{}, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s, err := l.probe.sample(ctx)
	if err != nil {
		l.log.Error("sampling the server", "err", err)
	}
	return s, err
}

// progress prints a line every cfg.Progress until stop closes.
func (l *load) progress(stop <-chan struct{}) {
	t := time.NewTicker(l.cfg.Progress)
	defer t.Stop()
	start := time.Now()
	prev, prevAt := l.counters(), start
	v, ok := l.serverCPU()
	prevCPU := optFloat{v, ok}
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c := l.counters()
			dt := now.Sub(prevAt).Seconds()
			line := fmt.Sprintf("[%6.1fs] %-8s peers %d/%d (%d failed) tracks %d | out %6.0f pkt/s %7.2f Mbit/s | in %7.0f pkt/s %8.2f Mbit/s | lost %d",
				now.Sub(start).Seconds(), *l.phase.Load(), c.joined, len(l.peers), c.failed, c.tracks,
				float64(c.sentPackets-prev.sentPackets)/dt, float64(c.sentBytes-prev.sentBytes)*8/dt/1e6,
				float64(c.recvPackets-prev.recvPackets)/dt, float64(c.recvBytes-prev.recvBytes)*8/dt/1e6, c.lostRTP)
			if cpu, ok := l.serverCPU(); ok {
				if prevCPU.ok {
					line += fmt.Sprintf(" | server cpu %3.0f%%", (cpu-prevCPU.v)/dt*100)
				}
				prevCPU = optFloat{cpu, true}
			}
			fmt.Fprintln(l.out, line)
			prev, prevAt = c, now
		}
	}
}

type optFloat struct {
	v  float64
	ok bool
}

// serverCPU reads the server's CPU seconds from /proc only (cheap enough for every line).
func (l *load) serverCPU() (float64, bool) {
	if l.probe.pid == "" {
		return 0, false
	}
	v, err := procCPU(l.probe.pid)
	return v, err == nil
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
