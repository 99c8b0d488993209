package integration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"go.uber.org/goleak"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
)

// TestChurn: 20 peers in one room, each publishing one audio track. Three stay throughout;
// seventeen join concurrently, publish, wait until they receive the three stayers' audio, and
// leave, all at once. The stayers keep receiving each other's audio during and after the churn,
// see every churner come and go (EndpointRemoved, with TrackRemoved for every announced track),
// and end up knowing only each other. Then the churners are removed from the room, the engine
// is closed and no goroutine is left.
func TestChurn(t *testing.T) {
	const stayers, churners = 3, 17
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered: runs after every other cleanup
	start := time.Now()
	e := newEnv(t)
	room := e.room(jellyfish.RoomConfig{})

	stay := make([]*peer, stayers)
	ids := make([]string, stayers) // their audio track ids
	for i := range stay {
		stay[i] = e.join(t, room, fmt.Sprintf("S%d", i), nil, nil)
		src := newAudioSource(t)
		src.start(t)
		ids[i] = stay[i].publish(t, e.ctx, src.track, nil)
	}
	for i, p := range stay {
		for j, id := range ids {
			if i != j {
				p.waitPackets(t, id, 10)
			}
		}
	}
	before := make([]int, stayers)
	for i, p := range stay {
		before[i] = p.eventCount()
	}
	t.Logf("stayers ready after %v", time.Since(start))

	// The churn. Each churner is its own goroutine; errors are collected, not fatal there.
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() }) // also when the test fails before wg.Wait below
	errs := make(chan error, churners)
	churnIDs := make(chan string, churners)
	for i := range churners {
		name := fmt.Sprintf("C%d", i)
		wg.Go(func() {
			if err := churn(ctx, e, room, name, ids, churnIDs); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	// Stayers' media flows during the churn.
	for i, p := range stay {
		p.waitMore(t, ids[(i+1)%stayers], 25)
	}
	wg.Wait()
	close(errs)
	close(churnIDs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("churn done after %v", time.Since(start))

	gone := map[string]bool{}
	for id := range churnIDs {
		gone[id] = true
	}
	for i, p := range stay {
		p.waitUntil(t, "EndpointRemoved of every churner", func() bool {
			n := 0
			for _, ev := range p.events[before[i]:] {
				if r, ok := ev.(clientsdk.EndpointRemoved); ok && gone[r.ID] {
					n++
				}
			}
			return n == churners
		})
		announced := map[string]bool{}
		for _, ev := range p.eventsSince(before[i]) {
			switch ev := ev.(type) {
			case clientsdk.TrackAdded:
				announced[ev.TrackID] = true
			case clientsdk.TrackRemoved:
				delete(announced, ev.TrackID)
			}
		}
		if len(announced) > 0 {
			t.Errorf("%s: %d churner tracks added and never removed", p.name, len(announced))
		}
		if eps := p.Endpoints(); len(eps) != stayers-1 {
			t.Errorf("%s knows %d endpoints after the churn, want %d", p.name, len(eps), stayers-1)
		}
		for j, id := range ids {
			if i != j {
				p.waitMore(t, id, 25) // still flowing after the churn
			}
		}
		p.mu.Lock()
		gaps := ""
		for j, id := range ids {
			if i != j {
				gaps += fmt.Sprintf(" %v", p.tracks[id].maxGap)
			}
		}
		p.mu.Unlock()
		t.Logf("%s: longest audio gaps%s", p.name, gaps)
	}

	// The churners left their sockets; remove them from the room.
	for id := range gone {
		if err := room.RemovePeer(id); err != nil {
			t.Errorf("RemovePeer(%s): %v", id, err)
		}
	}
	if n := len(room.Info().Peers); n != stayers {
		t.Errorf("room has %d peers, want %d", n, stayers)
	}
	for _, p := range stay {
		p.leave()
	}
	if err := e.engine.Close(); err != nil {
		t.Errorf("engine Close: %v", err)
	}
	t.Logf("all gone after %v", time.Since(start))
}

// churn is one churner: join, publish audio, wait for the stayers' audio, leave.
func churn(ctx context.Context, e *env, room *jellyfish.Room, name string, stayerTracks []string, ids chan<- string) error {
	p, err := e.tryJoin(ctx, room, name, map[string]string{"name": name}, nil)
	if err != nil {
		return err
	}
	defer p.leave()
	ids <- p.ID()
	src, err := trySource(opusCodec, "audio", &codecs.OpusPayloader{}, sourceOpts{})
	if err != nil {
		return err
	}
	if _, err := p.Publish(ctx, src.track, nil); err != nil {
		return err
	}
	stop := src.run()
	defer stop()
	// Wait until audio of every stayer arrived (needs the rounds of the churn to complete).
	for {
		p.mu.Lock()
		ok := true
		for _, id := range stayerTracks {
			if tr := p.tracks[id]; tr == nil || tr.count == 0 {
				ok = false
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("no audio from every stayer: %w; events:%s", ctx.Err(), p.describe())
		}
	}
}
