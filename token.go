package jellyfish

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Peer token errors, returned by Engine.VerifyPeerToken and Engine.ConnectPeer.
var (
	ErrInvalidToken = errors.New("invalid token")
	ErrExpiredToken = errors.New("expired token")
)

// tokenSigner mints and checks peer tokens: "v1.<payload>.<signature>", both parts base64url
// without padding, the signature an HMAC-SHA256 over "v1.<payload>". The payload binds the room,
// the peer and the issue time; tokens are opaque to every client.
type tokenSigner struct {
	key []byte
	ttl time.Duration
}

type tokenClaims struct {
	Room     string `json:"r"`
	Peer     string `json:"p"`
	IssuedMs int64  `json:"t"`
}

const tokenPrefix = "v1."

var b64 = base64.RawURLEncoding

func newTokenSigner(key []byte, ttl time.Duration) tokenSigner {
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand documents it)
	}
	return tokenSigner{key: append([]byte(nil), key...), ttl: ttl}
}

func (s tokenSigner) sign(roomID, peerID string) string {
	payload, _ := json.Marshal(tokenClaims{Room: roomID, Peer: peerID, IssuedMs: time.Now().UnixMilli()})
	signed := tokenPrefix + b64.EncodeToString(payload)
	return signed + "." + b64.EncodeToString(s.mac(signed))
}

func (s tokenSigner) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

func (s tokenSigner) verify(token string) (roomID, peerID string, err error) {
	dot := strings.LastIndexByte(token, '.')
	if !strings.HasPrefix(token, tokenPrefix) || dot <= len(tokenPrefix) {
		return "", "", ErrInvalidToken
	}
	signed, sig := token[:dot], token[dot+1:]
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(signed)) { // constant time
		return "", "", ErrInvalidToken
	}
	payload, err := b64.DecodeString(signed[len(tokenPrefix):])
	if err != nil {
		return "", "", ErrInvalidToken
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.Room == "" || c.Peer == "" {
		return "", "", ErrInvalidToken
	}
	if time.Since(time.UnixMilli(c.IssuedMs)) > s.ttl {
		return "", "", ErrExpiredToken
	}
	return c.Room, c.Peer, nil
}

// newUUID returns a random (version 4) UUID in canonical lowercase form, as Jellyfish ids are.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
