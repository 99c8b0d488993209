package jellyfish

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// newTestEngine returns an engine with a silent logger, closed when the test ends. Inside a
// synctest bubble, call it from the bubble so that its timers use the fake clock.
func newTestEngine(tb testing.TB, cfg Config) *Engine {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: got error %v, want nil", err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func mustCreateRoom(tb testing.TB, e *Engine, cfg RoomConfig) *Room {
	tb.Helper()
	r, err := e.CreateRoom(cfg)
	if err != nil {
		tb.Fatalf("CreateRoom(%+v): got error %v, want nil", cfg, err)
	}
	return r
}

func mustAddPeer(tb testing.TB, r *Room) (*Peer, string) {
	tb.Helper()
	p, token, err := r.AddPeer(PeerOptions{})
	if err != nil {
		tb.Fatalf("AddPeer: got error %v, want nil", err)
	}
	return p, token
}

func mustConnect(tb testing.TB, e *Engine, token string) (*Peer, *fakeTransport) {
	tb.Helper()
	ft := &fakeTransport{}
	p, err := e.ConnectPeer(token, ft)
	if err != nil {
		tb.Fatalf("ConnectPeer: got error %v, want nil", err)
	}
	return p, ft
}

// fakeTransport is a PeerTransport that records what the room does to it.
type fakeTransport struct {
	mu      sync.Mutex
	reasons []DisconnectReason
	sent    []string
}

func (f *fakeTransport) SendMediaEvent(data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, data)
}

func (f *fakeTransport) Close(reason DisconnectReason) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reasons = append(f.reasons, reason)
}

// Reasons returns the reasons of every Close call so far.
func (f *fakeTransport) Reasons() []DisconnectReason {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reasons)
}

var _ PeerTransport = (*fakeTransport)(nil)

// describe renders an event compactly with its ids, e.g. "PeerAdded room-1 <peer id>".
func describe(ev Event) string {
	switch ev := ev.(type) {
	case RoomCreated:
		return "RoomCreated " + ev.RoomID
	case RoomDeleted:
		return "RoomDeleted " + ev.RoomID
	case RoomCrashed:
		return "RoomCrashed " + ev.RoomID
	case PeerAdded:
		return "PeerAdded " + ev.RoomID + " " + ev.PeerID
	case PeerConnected:
		return "PeerConnected " + ev.RoomID + " " + ev.PeerID
	case PeerDisconnected:
		return "PeerDisconnected " + ev.RoomID + " " + ev.PeerID
	case PeerDeleted:
		return "PeerDeleted " + ev.RoomID + " " + ev.PeerID
	default:
		return fmt.Sprintf("%T %s", ev, ev.Room())
	}
}

// drain returns the events already buffered in sub without waiting. Events are published
// synchronously, so after a call returns its events are buffered.
func drain(sub *Subscription) []string {
	var got []string
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return got
			}
			got = append(got, describe(ev))
		default:
			return got
		}
	}
}

// nextEvent waits for the next event of sub; inside a synctest bubble the wait advances the fake
// clock to the next timer.
func nextEvent(tb testing.TB, sub *Subscription) Event {
	tb.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			tb.Fatalf("subscription ended (%v), want an event", sub.Err())
		}
		return ev
	case <-time.After(48 * time.Hour):
		tb.Fatalf("no event after 48h, want one")
		return nil
	}
}

func equalEvents(tb testing.TB, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("events:\ngot  %q\nwant %q", got, want)
	}
}

func TestNewNegativeTokenTTL(t *testing.T) {
	if _, err := New(Config{PeerTokenTTL: -time.Second}); err == nil {
		t.Errorf("New(PeerTokenTTL: -1s): got nil error, want one")
	}
}

func TestEngineRoomsLookup(t *testing.T) {
	e := newTestEngine(t, Config{})
	for _, id := range []string{"b", "a", "c"} {
		mustCreateRoom(t, e, RoomConfig{RoomID: id})
	}
	if err := e.DeleteRoom("a"); err != nil {
		t.Fatalf("DeleteRoom(a): got %v, want nil", err)
	}
	mustCreateRoom(t, e, RoomConfig{RoomID: "a"})
	var ids []string
	for _, r := range e.Rooms() {
		ids = append(ids, r.ID())
	}
	if want := []string{"b", "c", "a"}; !slices.Equal(ids, want) {
		t.Errorf("Rooms(): got %q, want %q (creation order)", ids, want)
	}
	tests := []struct {
		id      string
		wantErr error
	}{
		{"a", nil},
		{"b", nil},
		{"nope", ErrRoomNotFound},
		{"", ErrRoomNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			r, err := e.Room(tc.id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Room(%q): got error %v, want %v", tc.id, err, tc.wantErr)
			}
			if err == nil && r.ID() != tc.id {
				t.Errorf("Room(%q).ID(): got %q, want %q", tc.id, r.ID(), tc.id)
			}
			if err := e.DeleteRoom(tc.id); !errors.Is(err, tc.wantErr) {
				t.Errorf("DeleteRoom(%q): got error %v, want %v", tc.id, err, tc.wantErr)
			}
			if err := e.DeleteRoom(tc.id); !errors.Is(err, ErrRoomNotFound) {
				t.Errorf("second DeleteRoom(%q): got error %v, want %v", tc.id, err, ErrRoomNotFound)
			}
		})
	}
}

func TestConnectPeerErrors(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	removed, removedToken := mustAddPeer(t, r)
	_, connectedToken := mustAddPeer(t, r)
	mustConnect(t, e, connectedToken)
	if err := r.RemovePeer(removed.ID()); err != nil {
		t.Fatal(err)
	}
	gone := mustCreateRoom(t, e, RoomConfig{RoomID: "gone"})
	_, goneToken := mustAddPeer(t, gone)
	if err := e.DeleteRoom("gone"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrInvalidToken},
		{"garbage", "garbage", ErrInvalidToken},
		{"room deleted", goneToken, ErrRoomNotFound},
		{"peer removed", removedToken, ErrPeerNotFound},
		{"already connected", connectedToken, ErrPeerAlreadyConnected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{}
			p, err := e.ConnectPeer(tc.token, ft)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ConnectPeer: got error %v, want %v", err, tc.want)
			}
			if p != nil {
				t.Errorf("ConnectPeer: got peer %v, want nil", p.ID())
			}
			if got := ft.Reasons(); len(got) != 0 {
				t.Errorf("transport closed with %v, want untouched", got)
			}
		})
	}
}

func TestReconnectAndStaleDisconnect(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	sub := e.Subscribe(0)
	peer, token := mustAddPeer(t, r)

	p1, t1 := mustConnect(t, e, token)
	if p1 != peer {
		t.Fatalf("ConnectPeer: got peer %s, want %s", p1.ID(), peer.ID())
	}
	peer.Disconnect(t1)
	if got := peer.Info().Status; got != PeerStatusDisconnected {
		t.Fatalf("status after Disconnect: got %s, want %s", got, PeerStatusDisconnected)
	}
	p2, t2 := mustConnect(t, e, token) // the same token works again
	if p2 != peer {
		t.Fatalf("reconnect: got peer %s, want %s", p2.ID(), peer.ID())
	}
	peer.Disconnect(t1)               // stale: t1 is no longer the peer's transport
	peer.Disconnect(&fakeTransport{}) // never was
	if got := peer.Info().Status; got != PeerStatusConnected {
		t.Errorf("status after stale Disconnect: got %s, want %s", got, PeerStatusConnected)
	}
	peer.Disconnect(t2)
	peer.Disconnect(t2) // twice: the second is ignored
	id := peer.ID()
	equalEvents(t, drain(sub), []string{
		"PeerAdded room " + id,
		"PeerConnected room " + id,
		"PeerDisconnected room " + id,
		"PeerConnected room " + id,
		"PeerDisconnected room " + id,
	})
	for i, ft := range []*fakeTransport{t1, t2} {
		if got := ft.Reasons(); len(got) != 0 {
			t.Errorf("transport %d: closed with %v, want untouched (the client went away)", i+1, got)
		}
	}
}

func TestSubscribeSlowSubscriber(t *testing.T) {
	e := newTestEngine(t, Config{})
	slow := e.Subscribe(1)
	fast := e.Subscribe(0)
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"}) // fills slow's buffer
	p, _ := mustAddPeer(t, r)                             // overflows it
	if err := r.RemovePeer(p.ID()); err != nil {
		t.Fatal(err)
	}

	var got []string
	for ev := range slow.Events() { // must end: the channel is closed
		got = append(got, describe(ev))
	}
	equalEvents(t, got, []string{"RoomCreated room"})
	if err := slow.Err(); !errors.Is(err, ErrSlowSubscriber) {
		t.Errorf("slow.Err(): got %v, want %v", err, ErrSlowSubscriber)
	}

	equalEvents(t, drain(fast), []string{
		"RoomCreated room", "PeerAdded room " + p.ID(), "PeerDeleted room " + p.ID(),
	})
	if err := fast.Err(); err != nil {
		t.Errorf("fast.Err(): got %v, want nil", err)
	}
	slow.Close() // closing a dropped subscription is harmless
	if err := slow.Err(); !errors.Is(err, ErrSlowSubscriber) {
		t.Errorf("slow.Err() after Close: got %v, want %v", err, ErrSlowSubscriber)
	}
}

func TestSubscriptionClose(t *testing.T) {
	e := newTestEngine(t, Config{})
	sub := e.Subscribe(0)
	sub.Close()
	sub.Close() // idempotent
	if _, ok := <-sub.Events(); ok {
		t.Errorf("Events() after Close: got an event, want a closed channel")
	}
	if err := sub.Err(); err != nil {
		t.Errorf("Err() after Close: got %v, want nil", err)
	}
	mustCreateRoom(t, e, RoomConfig{}) // publishing to nobody is fine
}

func TestEngineClose(t *testing.T) {
	e := newTestEngine(t, Config{})
	sub := e.Subscribe(0)
	a := mustCreateRoom(t, e, RoomConfig{RoomID: "a"})
	mustCreateRoom(t, e, RoomConfig{RoomID: "b"})
	pa, token := mustAddPeer(t, a)
	_, ft := mustConnect(t, e, token)
	pa2, token2 := mustAddPeer(t, a)

	if err := e.Close(); err != nil {
		t.Fatalf("Close: got %v, want nil", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil", err)
	}
	var got []string
	for ev := range sub.Events() { // must end: Close ends subscriptions
		got = append(got, describe(ev))
	}
	equalEvents(t, got, []string{
		"RoomCreated a", "RoomCreated b",
		"PeerAdded a " + pa.ID(), "PeerConnected a " + pa.ID(), "PeerAdded a " + pa2.ID(),
		"PeerDeleted a " + pa.ID(), "PeerDeleted a " + pa2.ID(), "RoomDeleted a",
		"RoomDeleted b",
	})
	if n := len(a.Info().Peers); n != 0 {
		t.Errorf("peers of a closed room: got %d, want 0", n)
	}
	if err := sub.Err(); !errors.Is(err, ErrEngineClosed) {
		t.Errorf("sub.Err(): got %v, want %v", err, ErrEngineClosed)
	}
	if got, want := ft.Reasons(), []DisconnectReason{ReasonRoomStopped}; !slices.Equal(got, want) {
		t.Errorf("transport reasons: got %v, want %v", got, want)
	}
	if n := len(e.Rooms()); n != 0 {
		t.Errorf("len(Rooms()) after Close: got %d, want 0", n)
	}

	t.Run("CreateRoom", func(t *testing.T) {
		if _, err := e.CreateRoom(RoomConfig{}); !errors.Is(err, ErrEngineClosed) {
			t.Errorf("got %v, want %v", err, ErrEngineClosed)
		}
	})
	t.Run("Room", func(t *testing.T) {
		if _, err := e.Room("a"); !errors.Is(err, ErrEngineClosed) {
			t.Errorf("got %v, want %v", err, ErrEngineClosed)
		}
	})
	t.Run("DeleteRoom", func(t *testing.T) {
		if err := e.DeleteRoom("b"); !errors.Is(err, ErrEngineClosed) {
			t.Errorf("got %v, want %v", err, ErrEngineClosed)
		}
	})
	t.Run("ConnectPeer", func(t *testing.T) {
		if _, err := e.ConnectPeer(token2, &fakeTransport{}); !errors.Is(err, ErrEngineClosed) {
			t.Errorf("got %v, want %v", err, ErrEngineClosed)
		}
	})
	t.Run("Subscribe", func(t *testing.T) {
		s := e.Subscribe(0)
		if _, ok := <-s.Events(); ok {
			t.Errorf("Events(): got an event, want a closed channel")
		}
		if err := s.Err(); !errors.Is(err, ErrEngineClosed) {
			t.Errorf("Err(): got %v, want %v", err, ErrEngineClosed)
		}
	})
	t.Run("AddPeer", func(t *testing.T) {
		if _, _, err := a.AddPeer(PeerOptions{}); !errors.Is(err, ErrRoomNotFound) {
			t.Errorf("got %v, want %v", err, ErrRoomNotFound)
		}
	})
}
