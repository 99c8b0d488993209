package jellyfish

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

func peerStates(tb testing.TB, events []string) map[string]PeerStatus {
	tb.Helper()
	state := map[string]PeerStatus{}
	for _, ev := range events {
		f := strings.Fields(ev)
		if len(f) != 3 {
			continue // room events
		}
		kind, id := f[0], f[2]
		st, known := state[id]
		switch {
		case kind == "PeerAdded" && !known:
			state[id] = PeerStatusDisconnected
		case kind == "PeerConnected" && known && st == PeerStatusDisconnected:
			state[id] = PeerStatusConnected
		case kind == "PeerDisconnected" && known && st == PeerStatusConnected:
			state[id] = PeerStatusDisconnected
		case kind == "PeerDeleted" && known && st == PeerStatusDisconnected:
			delete(state, id)
		default:
			tb.Fatalf("event %q in state %q (known %v): illegal sequence", ev, st, known)
		}
	}
	return state
}

// countStatuses checks the room's snapshot and its connected counter against want.
func countStatuses(tb testing.TB, r *Room) (connected, disconnected int) {
	tb.Helper()
	for _, p := range r.Info().Peers {
		switch p.Status {
		case PeerStatusConnected:
			connected++
		case PeerStatusDisconnected:
			disconnected++
		default:
			tb.Errorf("peer %s: got status %q, want connected or disconnected", p.ID, p.Status)
		}
	}
	r.mu.Lock()
	counter := r.connected
	r.mu.Unlock()
	if counter != connected {
		tb.Errorf("Room.connected: got %d, want %d (peers with status connected)", counter, connected)
	}
	return connected, disconnected
}

// TestConcurrentPeers has 20 goroutines add, connect, disconnect, reconnect and remove peers of
// one room while others read snapshots and a second room is created and deleted. Run with -race.
func TestConcurrentPeers(t *testing.T) {
	const workers, rounds = 20, 12
	e := newTestEngine(t, Config{})
	sub := e.Subscribe(100_000)
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})

	var events []string // this room's, in order
	var collector sync.WaitGroup
	collector.Go(func() {
		for ev := range sub.Events() { // ends with sub.Close below
			if ev.Room() == "room" {
				events = append(events, describe(ev))
			}
		}
	})

	var wg sync.WaitGroup
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() { // snapshots while everything changes
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, p := range r.Info().Peers {
				_ = p.Status
			}
			_ = e.Rooms()
		}
	})
	readers.Go(func() { // other rooms come and go, with their own connected peers
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			o, err := e.CreateRoom(RoomConfig{})
			if err != nil {
				t.Errorf("CreateRoom: got %v, want nil", err)
				return
			}
			_, token, err := o.AddPeer(PeerOptions{})
			if err != nil {
				t.Errorf("AddPeer: got %v, want nil", err)
				return
			}
			ft := &fakeTransport{}
			if _, err := e.ConnectPeer(token, ft); err != nil {
				t.Errorf("ConnectPeer: got %v, want nil", err)
			}
			if err := e.DeleteRoom(o.ID()); err != nil {
				t.Errorf("DeleteRoom: got %v, want nil", err)
			}
			if got := ft.Reasons(); !slices.Equal(got, []DisconnectReason{ReasonRoomStopped}) {
				t.Errorf("transport of a deleted room: got %v, want [%v]", got, ReasonRoomStopped)
			}
		}
	})

	for range workers {
		wg.Go(func() {
			for j := range rounds {
				p, token, err := r.AddPeer(PeerOptions{})
				if err != nil {
					t.Errorf("AddPeer: got %v, want nil", err)
					return
				}
				ft := &fakeTransport{}
				if _, err := e.ConnectPeer(token, ft); err != nil {
					t.Errorf("ConnectPeer: got %v, want nil", err)
					return
				}
				if _, err := e.ConnectPeer(token, &fakeTransport{}); !errors.Is(err, ErrPeerAlreadyConnected) {
					t.Errorf("second ConnectPeer: got %v, want %v", err, ErrPeerAlreadyConnected)
				}
				switch j % 4 {
				case 0: // stays connected
				case 1: // stays disconnected
					p.Disconnect(ft)
				case 2: // removed while connected
					if err := r.RemovePeer(p.ID()); err != nil {
						t.Errorf("RemovePeer: got %v, want nil", err)
					}
					p.Disconnect(ft) // late: ignored
					if got := ft.Reasons(); !slices.Equal(got, []DisconnectReason{ReasonPeerRemoved}) {
						t.Errorf("removed peer's transport: got %v, want [%v]", got, ReasonPeerRemoved)
					}
				case 3: // reconnects, then is removed while disconnected
					p.Disconnect(ft)
					ft2 := &fakeTransport{}
					if _, err := e.ConnectPeer(token, ft2); err != nil {
						t.Errorf("reconnect: got %v, want nil", err)
					}
					p.Disconnect(ft) // stale
					p.Disconnect(ft2)
					if err := r.RemovePeer(p.ID()); err != nil {
						t.Errorf("RemovePeer: got %v, want nil", err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()

	perKind := func(k int) int { // rounds with j%4 == k, per worker
		n := 0
		for j := range rounds {
			if j%4 == k {
				n++
			}
		}
		return n
	}
	wantConnected, wantDisconnected := workers*perKind(0), workers*perKind(1)
	connected, disconnected := countStatuses(t, r)
	if connected != wantConnected || disconnected != wantDisconnected {
		t.Errorf("statuses: got %d connected, %d disconnected, want %d, %d",
			connected, disconnected, wantConnected, wantDisconnected)
	}

	sub.Close()
	collector.Wait()
	if err := sub.Err(); err != nil {
		t.Fatalf("subscription: got %v, want nil (buffer too small?)", err)
	}
	if got, want := len(events), 1+workers*rounds*2; got < want {
		t.Errorf("events of the room: got %d, want at least %d", got, want)
	}
	state := peerStates(t, events)
	var fromEvents [2]int
	for _, st := range state {
		if st == PeerStatusConnected {
			fromEvents[0]++
		} else {
			fromEvents[1]++
		}
	}
	if fromEvents != [2]int{connected, disconnected} {
		t.Errorf("statuses replayed from events: got %v, want [%d %d]", fromEvents, connected, disconnected)
	}
}

// Many clients present the same token at once: exactly one wins.
func TestConcurrentConnectSameToken(t *testing.T) {
	const workers = 20
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	p, token := mustAddPeer(t, r)
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []*fakeTransport
		for range workers {
			wg.Go(func() {
				ft := &fakeTransport{}
				_, err := e.ConnectPeer(token, ft)
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, ft)
					mu.Unlock()
				case !errors.Is(err, ErrPeerAlreadyConnected):
					t.Errorf("ConnectPeer: got %v, want nil or %v", err, ErrPeerAlreadyConnected)
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: got %d successful connects, want 1", round, len(winners))
		}
		if c, _ := countStatuses(t, r); c != 1 {
			t.Fatalf("round %d: got %d connected peers, want 1", round, c)
		}
		p.Disconnect(winners[0])
	}
}

// Removing a peer, deleting its room and its client connecting and disconnecting all race; the
// counters must stay consistent and every transport that got in must be closed exactly once.
func TestConcurrentRemoveConnectDelete(t *testing.T) {
	const workers = 20
	for round := range 20 {
		e := newTestEngine(t, Config{})
		r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
		type member struct {
			p     *Peer
			token string
			ft    *fakeTransport
			ok    bool
		}
		members := make([]*member, workers)
		for i := range members {
			p, token := mustAddPeer(t, r)
			members[i] = &member{p: p, token: token, ft: &fakeTransport{}}
		}
		var wg sync.WaitGroup
		for i, m := range members {
			wg.Go(func() {
				_, err := e.ConnectPeer(m.token, m.ft)
				m.ok = err == nil
				if err != nil && !errors.Is(err, ErrPeerNotFound) && !errors.Is(err, ErrRoomNotFound) {
					t.Errorf("ConnectPeer: got %v, want nil, %v or %v", err, ErrPeerNotFound, ErrRoomNotFound)
				}
			})
			if i%3 == 0 {
				wg.Go(func() {
					if err := r.RemovePeer(m.p.ID()); err != nil && !errors.Is(err, ErrRoomNotFound) {
						t.Errorf("RemovePeer: got %v, want nil or %v", err, ErrRoomNotFound)
					}
				})
			}
			if i == workers/2 {
				wg.Go(func() { _ = e.DeleteRoom("room") })
			}
		}
		wg.Wait()
		if roomExists(e, "room") {
			t.Fatalf("round %d: room still exists after DeleteRoom", round)
		}
		for i, m := range members {
			got := m.ft.Reasons()
			switch {
			case !m.ok && len(got) != 0:
				t.Errorf("round %d, peer %d: refused transport closed with %v, want untouched", round, i, got)
			case m.ok && len(got) != 1:
				t.Errorf("round %d, peer %d: accepted transport closed %d times (%v), want once", round, i, len(got), got)
			}
		}
		if c, d := countStatuses(t, r); c != 0 || d != 0 {
			t.Errorf("round %d: deleted room has %d connected, %d disconnected peers, want none", round, c, d)
		}
		e.Close()
	}
}
