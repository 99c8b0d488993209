package jellyfish

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// flipFirst changes the first character of s to another base64url character, which changes the
// top bits of the first decoded byte (changing the last character might not change any byte).
func flipFirst(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// splitToken returns the payload and the signature of a "v1.<payload>.<signature>" token.
func splitToken(tb testing.TB, token string) (payload, sig string) {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		tb.Fatalf("token %q: got %d parts, want v1.<payload>.<signature>", token, len(parts))
	}
	return parts[1], parts[2]
}

func TestVerifyPeerToken(t *testing.T) {
	e := newTestEngine(t, Config{})
	r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
	p, token := mustAddPeer(t, r)
	payload, sig := splitToken(t, token)

	other := newTestEngine(t, Config{}) // another random secret
	otherRoom := mustCreateRoom(t, other, RoomConfig{RoomID: "room"})
	_, foreign := mustAddPeer(t, otherRoom)

	// A payload naming another peer, with the original signature.
	var c tokenClaims
	raw, err := b64.DecodeString(payload)
	if err != nil || json.Unmarshal(raw, &c) != nil {
		t.Fatalf("payload %q does not decode: %v", payload, err)
	}
	c.Peer = "someone-else"
	forged, _ := json.Marshal(c)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", token, nil},
		{"empty", "", ErrInvalidToken},
		{"garbage", "garbage", ErrInvalidToken},
		{"prefix only", "v1.", ErrInvalidToken},
		{"no payload", "v1.." + sig, ErrInvalidToken},
		{"no signature", "v1." + payload + ".", ErrInvalidToken},
		{"missing signature part", "v1." + payload, ErrInvalidToken},
		{"wrong version", "v2." + payload + "." + sig, ErrInvalidToken},
		{"tampered signature", "v1." + payload + "." + flipFirst(sig), ErrInvalidToken},
		{"truncated signature", "v1." + payload + "." + sig[:len(sig)-2], ErrInvalidToken},
		{"signature not base64", "v1." + payload + ".!!!", ErrInvalidToken},
		{"tampered payload", "v1." + flipFirst(payload) + "." + sig, ErrInvalidToken},
		{"forged claims", "v1." + b64.EncodeToString(forged) + "." + sig, ErrInvalidToken},
		{"other engine's secret", foreign, ErrInvalidToken},
		{"trailing garbage", token + "x", ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			roomID, peerID, err := e.VerifyPeerToken(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyPeerToken(%q): got error %v, want %v", tc.token, err, tc.want)
			}
			if err != nil {
				if roomID != "" || peerID != "" {
					t.Errorf("VerifyPeerToken: got ids %q, %q with an error, want empty", roomID, peerID)
				}
				if _, err := e.ConnectPeer(tc.token, &fakeTransport{}); !errors.Is(err, tc.want) {
					t.Errorf("ConnectPeer: got error %v, want %v", err, tc.want)
				}
				return
			}
			if roomID != r.ID() || peerID != p.ID() {
				t.Errorf("VerifyPeerToken: got %q, %q, want %q, %q", roomID, peerID, r.ID(), p.ID())
			}
		})
	}
}

func TestPeerTokenSharedSecret(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := newTestEngine(t, Config{PeerTokenSecret: secret})
	b := newTestEngine(t, Config{PeerTokenSecret: secret})
	r := mustCreateRoom(t, a, RoomConfig{RoomID: "room"})
	p, token := mustAddPeer(t, r)
	roomID, peerID, err := b.VerifyPeerToken(token)
	if err != nil || roomID != "room" || peerID != p.ID() {
		t.Errorf("VerifyPeerToken on a second engine: got %q, %q, %v, want %q, %q, nil",
			roomID, peerID, err, "room", p.ID())
	}
	secret[0] = 'X' // the engines keep their own copy
	if _, _, err := a.VerifyPeerToken(token); err != nil {
		t.Errorf("VerifyPeerToken after the caller changed its secret: got %v, want nil", err)
	}
}

func TestPeerTokenExpiry(t *testing.T) {
	tests := []struct {
		name string
		ttl  time.Duration // Config.PeerTokenTTL
		age  time.Duration
		want error
	}{
		{"fresh", 0, 0, nil},
		{"default ttl, exactly 24h", 0, 24 * time.Hour, nil},
		{"default ttl, past 24h", 0, 24*time.Hour + time.Millisecond, ErrExpiredToken},
		{"custom ttl, at the limit", time.Minute, time.Minute, nil},
		{"custom ttl, past the limit", time.Minute, time.Minute + time.Millisecond, ErrExpiredToken},
		{"custom ttl, long past", time.Minute, 1000 * time.Hour, ErrExpiredToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newTestEngine(t, Config{PeerTokenTTL: tc.ttl}) // inside the bubble: fake clock
				r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
				p, token := mustAddPeer(t, r)
				time.Sleep(tc.age)
				if _, _, err := e.VerifyPeerToken(token); !errors.Is(err, tc.want) {
					t.Errorf("VerifyPeerToken after %v: got error %v, want %v", tc.age, err, tc.want)
				}
				got, err := e.ConnectPeer(token, &fakeTransport{})
				if !errors.Is(err, tc.want) {
					t.Fatalf("ConnectPeer after %v: got error %v, want %v", tc.age, err, tc.want)
				}
				if err == nil && got != p {
					t.Errorf("ConnectPeer: got peer %s, want %s", got.ID(), p.ID())
				}
			})
		})
	}
}

// An established connection is not cut when its token ages; only authentication checks it.
func TestPeerTokenExpiryKeepsConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, Config{PeerTokenTTL: time.Minute})
		r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
		p, token := mustAddPeer(t, r)
		_, ft := mustConnect(t, e, token)
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := p.Info().Status; got != PeerStatusConnected {
			t.Errorf("status after the token expired: got %s, want %s", got, PeerStatusConnected)
		}
		p.Disconnect(ft)
		if _, err := e.ConnectPeer(token, &fakeTransport{}); !errors.Is(err, ErrExpiredToken) {
			t.Errorf("reconnect with the expired token: got %v, want %v", err, ErrExpiredToken)
		}
	})
}

// The token is checked before the room: an expired token for a deleted room is "expired".
func TestConnectPeerErrorOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTestEngine(t, Config{PeerTokenTTL: time.Minute})
		r := mustCreateRoom(t, e, RoomConfig{RoomID: "room"})
		_, token := mustAddPeer(t, r)
		if err := e.DeleteRoom(r.ID()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ConnectPeer(token, &fakeTransport{}); !errors.Is(err, ErrRoomNotFound) {
			t.Errorf("fresh token, deleted room: got %v, want %v", err, ErrRoomNotFound)
		}
		time.Sleep(2 * time.Minute)
		if _, err := e.ConnectPeer(token, &fakeTransport{}); !errors.Is(err, ErrExpiredToken) {
			t.Errorf("expired token, deleted room: got %v, want %v", err, ErrExpiredToken)
		}
	})
}

func TestNewUUID(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		if !v4.MatchString(id) {
			t.Fatalf("newUUID(): got %q, want a lowercase v4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("newUUID(): got %q twice, want unique ids", id)
		}
		seen[id] = true
	}
}
