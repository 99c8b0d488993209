package jellyfish

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestCreateRoomInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  RoomConfig
		want string // the ValidationError message, as Jellyfish v0.5.0 words it
	}{
		{"roomId with slash", RoomConfig{RoomID: "test/path"},
			`Cannot add room with id "test/path" - roomId may contain only alphanumeric characters and hyphens`},
		{"roomId with underscore", RoomConfig{RoomID: "room_1"},
			`Cannot add room with id "room_1" - roomId may contain only alphanumeric characters and hyphens`},
		{"roomId with dot", RoomConfig{RoomID: "room.1"},
			`Cannot add room with id "room.1" - roomId may contain only alphanumeric characters and hyphens`},
		{"roomId with space", RoomConfig{RoomID: "room 1"},
			`Cannot add room with id "room 1" - roomId may contain only alphanumeric characters and hyphens`},
		{"roomId not ascii", RoomConfig{RoomID: "pokój"},
			`Cannot add room with id "pokój" - roomId may contain only alphanumeric characters and hyphens`},
		{"negative maxPeers", RoomConfig{MaxPeers: Limit(-1)},
			`Expected maxPeers to be a number, got: -1`},
		{"uppercase codec", RoomConfig{VideoCodec: "VP8"},
			`Expected videoCodec to be 'h264' or 'vp8', got: VP8`},
		{"unknown codec", RoomConfig{VideoCodec: "av1"},
			`Expected videoCodec to be 'h264' or 'vp8', got: av1`},
		{"webhook without path", RoomConfig{WebhookURL: "http://host"},
			`Expected webhookUrl to be valid URL, got: http://host`},
		{"webhook without scheme", RoomConfig{WebhookURL: "host/path"},
			`Expected webhookUrl to be valid URL, got: host/path`},
		{"webhook without host", RoomConfig{WebhookURL: "http:///path"},
			`Expected webhookUrl to be valid URL, got: http:///path`},
		{"webhook unparsable", RoomConfig{WebhookURL: "http://[::1/x"},
			`Expected webhookUrl to be valid URL, got: http://[::1/x`},
		{"negative peerlessPurgeTimeout", RoomConfig{PeerlessPurgeTimeout: -5 * time.Second},
			`Expected peerlessPurgeTimeout to be a positive integer, got: -5`},
		{"fractional peerlessPurgeTimeout", RoomConfig{PeerlessPurgeTimeout: 1500 * time.Millisecond},
			`Expected peerlessPurgeTimeout to be a positive integer, got: 1.5`},
		{"sub-second peerlessPurgeTimeout", RoomConfig{PeerlessPurgeTimeout: time.Millisecond},
			`Expected peerlessPurgeTimeout to be a positive integer, got: 0.001`},
		{"negative peerDisconnectedTimeout", RoomConfig{PeerDisconnectedTimeout: -time.Second},
			`Expected peerDisconnectedTimeout to be a positive integer, got: -1`},
		{"fractional peerDisconnectedTimeout", RoomConfig{PeerDisconnectedTimeout: 2500 * time.Millisecond},
			`Expected peerDisconnectedTimeout to be a positive integer, got: 2.5`},
		// Jellyfish checks in a fixed order and reports the first failure.
		{"order: roomId before maxPeers", RoomConfig{RoomID: "a/b", MaxPeers: Limit(-1)},
			`Cannot add room with id "a/b" - roomId may contain only alphanumeric characters and hyphens`},
		{"order: maxPeers before videoCodec", RoomConfig{MaxPeers: Limit(-2), VideoCodec: "x"},
			`Expected maxPeers to be a number, got: -2`},
		{"order: videoCodec before webhookUrl", RoomConfig{VideoCodec: "x", WebhookURL: "y"},
			`Expected videoCodec to be 'h264' or 'vp8', got: x`},
		{"order: webhookUrl before peerlessPurgeTimeout", RoomConfig{WebhookURL: "y", PeerlessPurgeTimeout: -1},
			`Expected webhookUrl to be valid URL, got: y`},
		{"order: peerless before peerDisconnected",
			RoomConfig{PeerlessPurgeTimeout: -time.Second, PeerDisconnectedTimeout: -time.Second},
			`Expected peerlessPurgeTimeout to be a positive integer, got: -1`},
	}
	e := newTestEngine(t, Config{})
	sub := e.Subscribe(0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := e.CreateRoom(tc.cfg)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("CreateRoom: got error %v, want a *ValidationError", err)
			}
			if ve.Msg != tc.want || err.Error() != tc.want {
				t.Errorf("CreateRoom: got message %q, want %q", err.Error(), tc.want)
			}
			if errors.Is(err, ErrRoomExists) {
				t.Errorf("CreateRoom: got an error matching ErrRoomExists, want only a validation error")
			}
			if r != nil {
				t.Errorf("CreateRoom: got room %q, want nil", r.ID())
			}
		})
	}
	if n := len(e.Rooms()); n != 0 {
		t.Errorf("rooms after invalid configs: got %d, want 0", n)
	}
	equalEvents(t, drain(sub), nil)
}

func TestCreateRoomValid(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		name string
		cfg  RoomConfig
	}{
		{"zero value", RoomConfig{}},
		{"letters digits hyphens", RoomConfig{RoomID: "My-Room-1"}},
		{"hyphen only", RoomConfig{RoomID: "-"}},
		{"maxPeers zero", RoomConfig{MaxPeers: Limit(0)}},
		{"maxPeers", RoomConfig{MaxPeers: Limit(10)}},
		{"h264", RoomConfig{VideoCodec: VideoCodecH264}},
		{"vp8", RoomConfig{VideoCodec: VideoCodecVP8}},
		{"webhook with root path", RoomConfig{WebhookURL: "http://host/"}},
		{"webhook with path", RoomConfig{WebhookURL: "https://backend.example.com/jellyfish-hook"}},
		{"timeouts", RoomConfig{PeerlessPurgeTimeout: 60 * time.Second, PeerDisconnectedTimeout: time.Second}},
		{"everything", RoomConfig{
			RoomID: "my-room-1", MaxPeers: Limit(10), VideoCodec: VideoCodecH264,
			WebhookURL:           "https://backend.example.com/jellyfish-hook",
			PeerlessPurgeTimeout: 60 * time.Second, PeerDisconnectedTimeout: 30 * time.Second,
		}},
	}
	e := newTestEngine(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub := e.Subscribe(0)
			defer sub.Close()
			r := mustCreateRoom(t, e, tc.cfg)
			id := r.ID()
			if tc.cfg.RoomID == "" && !uuid.MatchString(id) {
				t.Errorf("ID(): got %q, want a generated UUID", id)
			}
			if tc.cfg.RoomID != "" && id != tc.cfg.RoomID {
				t.Errorf("ID(): got %q, want %q", id, tc.cfg.RoomID)
			}
			want := tc.cfg
			want.RoomID = id
			checkConfig(t, "Config()", r.Config(), want)
			checkConfig(t, "Info().Config", r.Info().Config, want)
			ev := nextEvent(t, sub)
			created, ok := ev.(RoomCreated)
			if !ok || created.RoomID != id {
				t.Fatalf("event: got %q, want RoomCreated %s", describe(ev), id)
			}
			checkConfig(t, "RoomCreated.Config", created.Config, want)
			if got, err := e.Room(id); err != nil || got != r {
				t.Errorf("Room(%q): got %v, %v, want the room", id, got, err)
			}
		})
	}
}

func checkConfig(tb testing.TB, what string, got, want RoomConfig) {
	tb.Helper()
	if (got.MaxPeers == nil) != (want.MaxPeers == nil) ||
		(got.MaxPeers != nil && *got.MaxPeers != *want.MaxPeers) {
		tb.Errorf("%s.MaxPeers: got %v, want %v", what, fmtLimit(got.MaxPeers), fmtLimit(want.MaxPeers))
	}
	got.MaxPeers, want.MaxPeers = nil, nil
	if got != want {
		tb.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

// The room keeps its own copy of MaxPeers, and hands out copies.
func TestRoomConfigMaxPeersIsCopied(t *testing.T) {
	e := newTestEngine(t, Config{})
	limit := Limit(1)
	r := mustCreateRoom(t, e, RoomConfig{MaxPeers: limit})
	*limit = 5
	*r.Config().MaxPeers = 7
	if got := *r.Config().MaxPeers; got != 1 {
		t.Errorf("MaxPeers after the caller changed its pointers: got %d, want 1", got)
	}
	mustAddPeer(t, r)
	if _, _, err := r.AddPeer(PeerOptions{}); !errors.Is(err, ErrPeerLimit) {
		t.Errorf("second AddPeer: got %v, want %v", err, ErrPeerLimit)
	}
}

func TestCreateRoomDuplicate(t *testing.T) {
	e := newTestEngine(t, Config{})
	first := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	sub := e.Subscribe(0)
	r, err := e.CreateRoom(RoomConfig{RoomID: "room", MaxPeers: Limit(3)})
	if r != nil {
		t.Errorf("CreateRoom: got room %p, want nil", r)
	}
	if !errors.Is(err, ErrRoomExists) {
		t.Errorf("CreateRoom: got error %v, want one matching %v", err, ErrRoomExists)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("CreateRoom: got error %v, want a *ValidationError", err)
	}
	if want := `Cannot add room with id "room" - room already exists`; ve.Msg != want {
		t.Errorf("ValidationError.Msg: got %q, want %q", ve.Msg, want)
	}
	if got, _ := e.Room("room"); got != first {
		t.Errorf("Room(room): got %p, want the first room %p", got, first)
	}
	if first.Config().MaxPeers != nil {
		t.Errorf("first room's MaxPeers: got %d, want unlimited", *first.Config().MaxPeers)
	}
	equalEvents(t, drain(sub), nil)
}

func TestAddPeerLimit(t *testing.T) {
	tests := []struct {
		name     string
		maxPeers *int
		adds     int
		wantOK   int
	}{
		{"unlimited", nil, 20, 20},
		{"zero", Limit(0), 3, 0},
		{"one", Limit(1), 3, 1},
		{"three", Limit(3), 5, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, Config{})
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room", MaxPeers: tc.maxPeers})
			sub := e.Subscribe(0)
			var peers []*Peer
			for i := range tc.adds {
				p, token, err := r.AddPeer(PeerOptions{})
				if i < tc.wantOK {
					if err != nil {
						t.Fatalf("AddPeer #%d: got error %v, want nil", i+1, err)
					}
					peers = append(peers, p)
					// Connected peers count against the limit too.
					if i%2 == 0 {
						mustConnect(t, e, token)
					}
					continue
				}
				if !errors.Is(err, ErrPeerLimit) {
					t.Fatalf("AddPeer #%d: got error %v, want %v", i+1, err, ErrPeerLimit)
				}
				if p != nil || token != "" {
					t.Errorf("AddPeer #%d: got a peer or a token with an error, want neither", i+1)
				}
			}
			if n := len(r.Info().Peers); n != tc.wantOK {
				t.Errorf("peers: got %d, want %d", n, tc.wantOK)
			}
			added := 0
			for _, ev := range drain(sub) {
				if strings.HasPrefix(ev, "PeerAdded ") {
					added++
				}
			}
			if added != tc.wantOK {
				t.Errorf("PeerAdded events: got %d, want %d", added, tc.wantOK)
			}
			if len(peers) == 0 {
				return
			}
			// Removing a peer frees a slot.
			if err := r.RemovePeer(peers[0].ID()); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.AddPeer(PeerOptions{}); err != nil {
				t.Errorf("AddPeer after RemovePeer: got %v, want nil", err)
			}
		})
	}
}

func TestAddPeerWebRTCDisabled(t *testing.T) {
	e := newTestEngine(t, Config{WebRTCDisabled: true})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	sub := e.Subscribe(0)
	p, token, err := r.AddPeer(PeerOptions{})
	if !errors.Is(err, ErrWebRTCDisabled) {
		t.Errorf("AddPeer: got error %v, want %v", err, ErrWebRTCDisabled)
	}
	if p != nil || token != "" {
		t.Errorf("AddPeer: got a peer or a token with an error, want neither")
	}
	equalEvents(t, drain(sub), nil)
	if _, err := e.Room("room"); err != nil {
		t.Errorf("Room after the refused peer: got %v, want nil (the room survives)", err)
	}
}

func TestPeerInfo(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	p, _, err := r.AddPeer(PeerOptions{DisableSimulcast: true})
	if err != nil {
		t.Fatal(err)
	}
	info := p.Info()
	if info.ID != p.ID() || info.Type != PeerTypeWebRTC || info.Status != PeerStatusDisconnected ||
		!info.Options.DisableSimulcast || info.Metadata != nil || info.Tracks == nil || len(info.Tracks) != 0 {
		t.Errorf("Info(): got %+v, want a disconnected webrtc peer with its options and no tracks", info)
	}
	if p.Room() != r {
		t.Errorf("Room(): got %p, want %p", p.Room(), r)
	}
	if got, err := r.Peer(p.ID()); err != nil || got != p {
		t.Errorf("Peer(%q): got %v, %v, want the peer", p.ID(), got, err)
	}
	if _, err := r.Peer("nope"); !errors.Is(err, ErrPeerNotFound) {
		t.Errorf("Peer(nope): got %v, want %v", err, ErrPeerNotFound)
	}
	if err := r.RemovePeer("nope"); !errors.Is(err, ErrPeerNotFound) {
		t.Errorf("RemovePeer(nope): got %v, want %v", err, ErrPeerNotFound)
	}
}

// A deleted room refuses everything with ErrRoomNotFound.
func TestDeletedRoom(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	p, _ := mustAddPeer(t, r)
	if err := e.DeleteRoom("room"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"AddPeer", func() error { _, _, err := r.AddPeer(PeerOptions{}); return err }},
		{"Peer", func() error { _, err := r.Peer(p.ID()); return err }},
		{"RemovePeer", func() error { return r.RemovePeer(p.ID()) }},
		{"AddComponent", func() error { _, err := r.AddComponent(ComponentOptions{Type: ComponentHLS}); return err }},
		{"Component", func() error { _, err := r.Component("x"); return err }},
		{"RemoveComponent", func() error { return r.RemoveComponent("x") }},
		{"Engine.Room", func() error { _, err := e.Room("room"); return err }},
		{"Engine.DeleteRoom", func() error { return e.DeleteRoom("room") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, ErrRoomNotFound) {
				t.Errorf("got %v, want %v", err, ErrRoomNotFound)
			}
		})
	}
}

// TestNotificationOrder checks the sequences of server-api.md §9.2 and the reasons transports are
// closed with.
func TestNotificationOrder(t *testing.T) {
	type result struct {
		want    []string           // events after RoomCreated
		ft      *fakeTransport     // the peer's transport
		reasons []DisconnectReason // Close calls it must have seen
	}
	tests := []struct {
		name string
		run  func(t *testing.T, e *Engine, r *Room) result
	}{
		{"lifecycle", func(t *testing.T, e *Engine, r *Room) result {
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			p.Disconnect(ft) // the client went away
			if err := e.DeleteRoom(r.ID()); err != nil {
				t.Fatal(err)
			}
			return result{ft: ft, want: []string{
				"PeerAdded room " + p.ID(), "PeerConnected room " + p.ID(),
				"PeerDisconnected room " + p.ID(), "PeerDeleted room " + p.ID(), "RoomDeleted room",
			}}
		}},
		{"remove connected peer", func(t *testing.T, e *Engine, r *Room) result {
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			if err := r.RemovePeer(p.ID()); err != nil {
				t.Fatal(err)
			}
			p.Disconnect(ft) // the socket reports its end late: ignored
			if got := p.Info().Status; got != PeerStatusDisconnected {
				t.Errorf("status of the removed peer: got %s, want %s", got, PeerStatusDisconnected)
			}
			return result{ft: ft, reasons: []DisconnectReason{ReasonPeerRemoved}, want: []string{
				"PeerAdded room " + p.ID(), "PeerConnected room " + p.ID(),
				"PeerDisconnected room " + p.ID(), "PeerDeleted room " + p.ID(),
			}}
		}},
		{"remove disconnected peer", func(t *testing.T, e *Engine, r *Room) result {
			p, _ := mustAddPeer(t, r)
			if err := r.RemovePeer(p.ID()); err != nil {
				t.Fatal(err)
			}
			if err := r.RemovePeer(p.ID()); !errors.Is(err, ErrPeerNotFound) {
				t.Errorf("second RemovePeer: got %v, want %v", err, ErrPeerNotFound)
			}
			return result{want: []string{"PeerAdded room " + p.ID(), "PeerDeleted room " + p.ID()}}
		}},
		{"delete room with connected peer", func(t *testing.T, e *Engine, r *Room) result {
			p, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			if err := e.DeleteRoom(r.ID()); err != nil {
				t.Fatal(err)
			}
			p.Disconnect(ft) // late: ignored
			return result{ft: ft, reasons: []DisconnectReason{ReasonRoomStopped}, want: []string{
				"PeerAdded room " + p.ID(), "PeerConnected room " + p.ID(),
				"PeerDeleted room " + p.ID(), "RoomDeleted room",
			}}
		}},
		{"delete room with two peers", func(t *testing.T, e *Engine, r *Room) result {
			p1, _ := mustAddPeer(t, r)
			p2, token := mustAddPeer(t, r)
			_, ft := mustConnect(t, e, token)
			if err := e.DeleteRoom(r.ID()); err != nil {
				t.Fatal(err)
			}
			return result{ft: ft, reasons: []DisconnectReason{ReasonRoomStopped}, want: []string{
				"PeerAdded room " + p1.ID(), "PeerAdded room " + p2.ID(), "PeerConnected room " + p2.ID(),
				"PeerDeleted room " + p1.ID(), "PeerDeleted room " + p2.ID(), "RoomDeleted room",
			}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, Config{})
			sub := e.Subscribe(0) // subscribe first
			r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
			res := tc.run(t, e, r)
			equalEvents(t, drain(sub), append([]string{"RoomCreated room"}, res.want...))
			if res.ft != nil {
				if got := res.ft.Reasons(); !slices.Equal(got, res.reasons) {
					t.Errorf("transport closed with %v, want %v", got, res.reasons)
				}
			}
		})
	}
}

// roomExists reports whether e still has room id.
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
