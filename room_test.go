package jellyfish

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
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
