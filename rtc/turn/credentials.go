package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the TURN REST API scheme is defined with HMAC-SHA1
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// credentials issues and checks TURN REST API style credentials
// (draft-uberti-behave-turn-rest): the username is "<expiry unix time>:<peer id>" and the
// password is base64(HMAC-SHA1(secret, username)). The secret is random per Server, so
// credentials are valid only for the Server that issued them; nothing is stored per peer.
//
// A credentials value is immutable after newCredentials and safe for concurrent use.
type credentials struct {
	secret []byte
	realm  string
	ttl    time.Duration
}

func newCredentials(realm string, ttl time.Duration) (*credentials, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("turn secret: %w", err)
	}
	return &credentials{secret: secret, realm: realm, ttl: ttl}, nil
}

// issue returns a username and password for peerID that expire ttl after now.
func (c *credentials) issue(peerID string, now time.Time) (username, password string) {
	username = strconv.FormatInt(now.Add(c.ttl).Unix(), 10) + ":" + peerID
	return username, c.password(username)
}

// password derives the password of username.
func (c *credentials) password(username string) string {
	mac := hmac.New(sha1.New, c.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// authKey is the AuthHandler body: it returns the long-term credential key
// (MD5(username:realm:password)) when username is well formed, was issued for our realm
// and has not expired at now. pion/turn then checks MESSAGE-INTEGRITY with that key, so a
// wrong password fails there. The returned reason explains a refusal, for logs.
func (c *credentials) authKey(username, realm string, now time.Time) (key []byte, reason string) {
	if realm != c.realm {
		return nil, "wrong realm"
	}
	expiry, _, ok := strings.Cut(username, ":")
	if !ok {
		return nil, "malformed username"
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		return nil, "malformed username"
	}
	if now.Unix() > unix {
		return nil, "expired username"
	}
	return pionturn.GenerateAuthKey(username, realm, c.password(username)), ""
}

// peerOf returns the peer id part of a username issued by credentials.
func peerOf(username string) string {
	_, peer, _ := strings.Cut(username, ":")
	return peer
}
