package jellyfish

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func roomExists(e *Engine, id string) bool {
	_, err := e.Room(id)
	return err == nil
}

// sleepUntil sleeps, inside a synctest bubble, until d after start, then lets timer callbacks
// that are due finish.
func sleepUntil(start time.Time, d time.Duration) {
	time.Sleep(d - time.Since(start))
	synctest.Wait()
}

// awaitEvent waits for the next event of sub, which must be want, and returns when (since start)
// it arrived. Inside a bubble the clock only moves while every goroutine waits, so this is the
// time at which the event was published.
func awaitEvent(tb testing.TB, sub *Subscription, start time.Time, want string) time.Duration {
	tb.Helper()
	ev := nextEvent(tb, sub)
	if got := describe(ev); got != want {
		tb.Fatalf("event at %v: got %q, want %q", time.Since(start), got, want)
	}
	return time.Since(start)
}

func checkAt(tb testing.TB, what string, got, want time.Duration) {
	tb.Helper()
	if got != want {
		tb.Errorf("%s: got it %v after the start, want %v", what, got, want)
	}
}

// TestPeerlessPurgeTimer covers server-api.md §10.1 with a fake clock.
func TestPeerlessPurgeTimer(t *testing.T) {
	const timeout = 5 * time.Second
	tests := []struct {
		name string
		run  func(t *testing.T, e *Engine, sub *Subscription, start time.Time)
	}{
		{"peers never connected", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			p1, _ := mustAddPeer(t, r)
			sleepUntil(start, time.Second)
			p2, _ := mustAddPeer(t, r) // restarts the countdown: due at 6 s
			sleepUntil(start, 6*time.Second-time.Nanosecond)
			if !roomExists(e, "room") {
				t.Fatalf("room gone before 6s, want it until 6s")
			}
			drain(sub)
			checkAt(t, "PeerDeleted", awaitEvent(t, sub, start, "PeerDeleted room "+p1.ID()), 6*time.Second)
			awaitEvent(t, sub, start, "PeerDeleted room "+p2.ID())
			checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), 6*time.Second)
		}},
		{"empty room", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			drain(sub)
			checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), timeout)
		}},
		{"connected peer keeps the room; purged after it disconnects", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			p, token := mustAddPeer(t, r)
			sleepUntil(start, time.Second)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, time.Hour)
			if !roomExists(e, "room") {
				t.Fatalf("room with a connected peer purged, want it kept")
			}
			p.Disconnect(ft) // the countdown restarts now
			drain(sub)
			sleepUntil(start, time.Hour+timeout-time.Nanosecond)
			if !roomExists(e, "room") {
				t.Fatalf("room gone before %v after the disconnect, want it kept until then", timeout)
			}
			awaitEvent(t, sub, start, "PeerDeleted room "+p.ID())
			checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), time.Hour+timeout)
			if got := ft.Reasons(); len(got) != 0 {
				t.Errorf("disconnected transport closed with %v, want untouched", got)
			}
		}},
		{"reconnect within the timeout", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, time.Second)
			p.Disconnect(ft) // due at 6 s unless someone connects
			sleepUntil(start, 4*time.Second)
			mustConnect(t, e, token)
			sleepUntil(start, time.Hour)
			if !roomExists(e, "room") {
				t.Errorf("room purged although its peer reconnected, want it kept")
			}
		}},
		{"countdown restarts when a peer is added and removed", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			sleepUntil(start, 3*time.Second)
			p, _ := mustAddPeer(t, r) // due at 8 s
			sleepUntil(start, 6*time.Second)
			if err := r.RemovePeer(p.ID()); err != nil { // due at 11 s
				t.Fatal(err)
			}
			sleepUntil(start, 11*time.Second-time.Nanosecond)
			if !roomExists(e, "room") {
				t.Fatalf("room gone before 11s, want the countdown restarted at 6s")
			}
			drain(sub)
			checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), 11*time.Second)
		}},
		{"purged after its only connected peer is removed", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, 2*time.Second)
			if err := r.RemovePeer(p.ID()); err != nil {
				t.Fatal(err)
			}
			drain(sub)
			checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), 2*time.Second+timeout)
			if got, want := ft.Reasons(), []DisconnectReason{ReasonPeerRemoved}; !slices.Equal(got, want) {
				t.Errorf("transport closed with %v, want %v", got, want)
			}
		}},
		{"removing one of two connected peers starts nothing", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			p1, token1 := mustAddPeer(t, r)
			_, token2 := mustAddPeer(t, r)
			mustConnect(t, e, token1)
			mustConnect(t, e, token2)
			sleepUntil(start, time.Second)
			if err := r.RemovePeer(p1.ID()); err != nil {
				t.Fatal(err)
			}
			sleepUntil(start, time.Hour)
			if !roomExists(e, "room") {
				t.Errorf("room with a connected peer purged, want it kept")
			}
		}},
		{"unset: never purged", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
			mustAddPeer(t, r)
			sleepUntil(start, 1000*time.Hour)
			if !roomExists(e, "room") {
				t.Errorf("room without peerlessPurgeTimeout purged, want it kept")
			}
		}},
		{"a deleted room's countdown does not touch its successor", func(t *testing.T, e *Engine, sub *Subscription, start time.Time) {
			mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerlessPurgeTimeout: timeout})
			sleepUntil(start, time.Second)
			if err := e.DeleteRoom("room"); err != nil {
				t.Fatal(err)
			}
			mustCreateRoom(t, e, RoomConfig{RoomID: "room"}) // same id, no timeout
			drain(sub)
			sleepUntil(start, time.Hour)
			if !roomExists(e, "room") {
				t.Errorf("new room purged by the old room's countdown, want it kept")
			}
			equalEvents(t, drain(sub), nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				e := newTestEngine(t, Config{}) // in the bubble: its timers use the fake clock
				sub := e.Subscribe(0)
				tc.run(t, e, sub, start)
			})
		})
	}
}

// TestPeerDisconnectedTimer covers server-api.md §10.2 with a fake clock.
func TestPeerDisconnectedTimer(t *testing.T) {
	const timeout = 3 * time.Second
	tests := []struct {
		name string
		run  func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time)
	}{
		{"never connected", func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time) {
			p, _ := mustAddPeer(t, r)
			sleepUntil(start, timeout-time.Nanosecond)
			if _, err := r.Peer(p.ID()); err != nil {
				t.Fatalf("peer gone before %v: %v, want it kept until then", timeout, err)
			}
			drain(sub)
			checkAt(t, "PeerDeleted", awaitEvent(t, sub, start, "PeerDeleted room "+p.ID()), timeout)
			sleepUntil(start, time.Hour)
			equalEvents(t, drain(sub), nil) // PeerDeleted only; the room stays
			if !roomExists(e, "room") {
				t.Errorf("room gone, want it kept (no peerlessPurgeTimeout)")
			}
		}},
		{"connected peer is kept; removed after it disconnects", func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time) {
			p, token := mustAddPeer(t, r)
			sleepUntil(start, time.Second)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, time.Hour)
			if got := p.Info().Status; got != PeerStatusConnected {
				t.Fatalf("status after an hour: got %s, want %s", got, PeerStatusConnected)
			}
			if _, err := r.Peer(p.ID()); err != nil {
				t.Fatalf("connected peer removed: %v, want it kept", err)
			}
			p.Disconnect(ft)
			drain(sub)
			checkAt(t, "PeerDeleted", awaitEvent(t, sub, start, "PeerDeleted room "+p.ID()), time.Hour+timeout)
		}},
		{"countdown restarts at each disconnect", func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time) {
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, 2*time.Second)
			p.Disconnect(ft) // due at 5 s
			sleepUntil(start, 3*time.Second)
			_, ft = mustConnect(t, e, token)
			sleepUntil(start, 4*time.Second)
			p.Disconnect(ft) // due at 7 s
			drain(sub)
			checkAt(t, "PeerDeleted", awaitEvent(t, sub, start, "PeerDeleted room "+p.ID()), 7*time.Second)
		}},
		{"reconnect within the timeout", func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time) {
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			sleepUntil(start, time.Second)
			p.Disconnect(ft)
			sleepUntil(start, 2*time.Second)
			mustConnect(t, e, token)
			sleepUntil(start, time.Hour)
			if _, err := r.Peer(p.ID()); err != nil {
				t.Errorf("reconnected peer removed: %v, want it kept", err)
			}
		}},
		{"removed by hand first", func(t *testing.T, e *Engine, r *Room, sub *Subscription, start time.Time) {
			p, _ := mustAddPeer(t, r)
			sleepUntil(start, time.Second)
			if err := r.RemovePeer(p.ID()); err != nil {
				t.Fatal(err)
			}
			drain(sub)
			sleepUntil(start, time.Hour)
			equalEvents(t, drain(sub), nil) // no second PeerDeleted
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				e := newTestEngine(t, Config{})
				sub := e.Subscribe(0)
				r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", PeerDisconnectedTimeout: timeout})
				tc.run(t, e, r, sub, start)
			})
		})
	}
}

// Jellyfish's "does work with peerlessPurgeTimeout": disconnected 3 s, peerless 6 s → the peer is
// gone at 3 s, which restarts the peerless countdown, so the room is gone at 9 s.
func TestPeerlessPurgeWithDisconnectedTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		e := newTestEngine(t, Config{})
		sub := e.Subscribe(0)
		r := mustCreateRoom(t, e, RoomConfig{
			RoomID: "room", PeerDisconnectedTimeout: 3 * time.Second, PeerlessPurgeTimeout: 6 * time.Second,
		})
		p, _ := mustAddPeer(t, r)
		equalEvents(t, drain(sub), []string{"RoomCreated room", "PeerAdded room " + p.ID()})
		checkAt(t, "PeerDeleted", awaitEvent(t, sub, start, "PeerDeleted room "+p.ID()), 3*time.Second)
		sleepUntil(start, 9*time.Second-time.Nanosecond)
		if !roomExists(e, "room") {
			t.Fatalf("room gone before 9s, want it kept until then")
		}
		checkAt(t, "RoomDeleted", awaitEvent(t, sub, start, "RoomDeleted room"), 9*time.Second)
	})
}

// Close stops every countdown: nothing fires after it.
func TestCloseStopsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		e := newTestEngine(t, Config{})
		sub := e.Subscribe(0)
		r := mustCreateRoom(t, e, RoomConfig{
			RoomID: "room", PeerDisconnectedTimeout: 3 * time.Second, PeerlessPurgeTimeout: 6 * time.Second,
		})
		p, _ := mustAddPeer(t, r)
		sleepUntil(start, time.Second)
		drain(sub)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		sleepUntil(start, time.Hour)
		var got []string
		for ev := range sub.Events() {
			got = append(got, describe(ev))
		}
		equalEvents(t, got, []string{"PeerDeleted room " + p.ID(), "RoomDeleted room"})
	})
}

// peerStates replays events and checks that each peer's follow a legal sequence:
// PeerAdded (PeerConnected PeerDisconnected)* [PeerConnected] [PeerDisconnected] PeerDeleted.
// It returns the final state of every peer that is still there.
