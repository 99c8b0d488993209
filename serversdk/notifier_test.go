package serversdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/jellyfish-go/jellyfish/serversdk"
)

// dial opens a notifier on env's server and closes it at the end of the test.
func dial(t *testing.T, env *env, url string, opts ...serversdk.Option) *serversdk.Notifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	n, err := serversdk.DialNotifier(ctx, url, testToken, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return n
}

// next returns the next event that is not a metrics report.
func next(t *testing.T, n *serversdk.Notifier) serversdk.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-n.Events():
			if !ok {
				t.Fatalf("Events closed: %v", n.Err())
			}
			if _, metrics := ev.(serversdk.MetricsReport); !metrics {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

func TestNotifierSequence(t *testing.T) {
	env := newEnv(t)
	ctx := t.Context()
	n := dial(t, env, "ws://"+env.address+serversdk.ServerSocketPath)
	if err := n.SubscribeServerNotifications(ctx); err != nil {
		t.Fatal(err)
	}

	created, err := env.client.CreateRoom(ctx, serversdk.RoomConfig{})
	if err != nil {
		t.Fatal(err)
	}
	roomID := created.Room.ID
	peer, err := env.client.AddPeer(ctx, roomID, serversdk.PeerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	peerID := peer.Peer.ID
	if err := env.client.DeletePeer(ctx, roomID, peerID); err != nil {
		t.Fatal(err)
	}
	if err := env.client.DeleteRoom(ctx, roomID); err != nil {
		t.Fatal(err)
	}

	want := []serversdk.Event{
		serversdk.RoomCreated{RoomID: roomID},
		serversdk.PeerAdded{RoomID: roomID, PeerID: peerID},
		serversdk.PeerDeleted{RoomID: roomID, PeerID: peerID},
		serversdk.RoomDeleted{RoomID: roomID},
	}
	for i, w := range want {
		if got := next(t, n); got != w {
			t.Fatalf("event %d = %#v, want %#v", i, got, w)
		}
	}
	select {
	case ev := <-n.Events():
		t.Errorf("unexpected event after the sequence: %#v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	if err := n.Err(); err != nil {
		t.Errorf("Err() = %v while open, want nil", err)
	}
	env.requireValidated(t)
}

func TestNotifierMetrics(t *testing.T) {
	env := newEnv(t)
	ctx := t.Context()
	n := dial(t, env, env.ts.URL) // an http base URL works too
	if err := n.SubscribeMetrics(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-n.Events():
		if ev != (serversdk.MetricsReport{JSON: "{}"}) {
			t.Fatalf("first event = %#v, want MetricsReport{JSON: \"{}\"}", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no metrics report within 5s")
	}

	// Reports keep arriving every 50 ms while we subscribe to notifications: the subscribe
	// response is routed past them, and the notifications follow.
	for range 3 {
		if err := n.SubscribeServerNotifications(ctx); err != nil {
			t.Fatal(err)
		}
	}
	created, err := env.client.CreateRoom(ctx, serversdk.RoomConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, n), (serversdk.RoomCreated{RoomID: created.Room.ID}); got != want {
		t.Fatalf("event = %#v, want %#v", got, want)
	}
}

func TestNotifierAddressForms(t *testing.T) {
	env := newEnv(t)
	for _, url := range []string{
		env.address, // a jellyfish_address
		"ws://" + env.address,
		"http://" + env.address + "/",
		"ws://" + env.address + serversdk.ServerSocketPath,
	} {
		n := dial(t, env, url)
		if err := n.SubscribeServerNotifications(t.Context()); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
}

func TestNotifierInvalidToken(t *testing.T) {
	env := newEnv(t)
	n, err := serversdk.DialNotifier(t.Context(), "ws://"+env.address+serversdk.ServerSocketPath, "wrong")
	if err == nil {
		n.Close()
		t.Fatal("DialNotifier with a wrong token succeeded")
	}
	if !strings.Contains(err.Error(), "invalid token") {
		t.Errorf("error %q does not mention \"invalid token\"", err)
	}
	ce, ok := errors.AsType[*serversdk.CloseError](err)
	if !ok || ce.Code != websocket.StatusNormalClosure || ce.Reason != "invalid token" {
		t.Errorf("error %v: want a *CloseError 1000 \"invalid token\"", err)
	}
}

func TestNotifierBadURL(t *testing.T) {
	for _, url := range []string{"ftp://127.0.0.1:1/x", "ws://127.0.0.1:1/%zz"} {
		if n, err := serversdk.DialNotifier(t.Context(), url, testToken); err == nil {
			n.Close()
			t.Errorf("DialNotifier(%q) succeeded", url)
		}
	}
}

func TestNotifierClose(t *testing.T) {
	env := newEnv(t)
	n, err := serversdk.DialNotifier(t.Context(), env.address, testToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SubscribeMetrics(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	for range n.Events() { // drains what was buffered; must end
	}
	if err := n.Err(); !errors.Is(err, serversdk.ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", err)
	}
	if err := n.SubscribeServerNotifications(t.Context()); !errors.Is(err, serversdk.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

// A reader blocked on a full Events channel must not stop Close.
func TestNotifierCloseWhileBlocked(t *testing.T) {
	env := newEnv(t)
	n, err := serversdk.DialNotifier(t.Context(), env.address, testToken, serversdk.WithEventBuffer(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.SubscribeMetrics(t.Context()); err != nil {
		t.Fatal(err)
	}
	for len(n.Events()) < cap(n.Events()) { // wait until the buffer is full ...
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // ... and a few more reports arrived: the reader waits
	done := make(chan error, 1)
	go func() { done <- n.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked")
	}
}

func TestNotifierServerShutdown(t *testing.T) {
	env := newEnv(t)
	n := dial(t, env, env.address)
	if err := n.SubscribeServerNotifications(t.Context()); err != nil {
		t.Fatal(err)
	}
	env.srv.Close() // closes every socket: 1001 "server shutting down"
	for range n.Events() {
	}
	ce, ok := errors.AsType[*serversdk.CloseError](n.Err())
	if !ok || ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
		t.Errorf("Err() = %v, want a *CloseError 1001 \"server shutting down\"", n.Err())
	}
	if err := n.SubscribeMetrics(t.Context()); err == nil {
		t.Error("Subscribe on a closed socket succeeded")
	}
}
