package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// checkOrder fails unless every line of want occurs in out, in that order.
func checkOrder(tb testing.TB, out string, want ...string) {
	tb.Helper()
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			tb.Fatalf("output: got\n%s\nwant %q (after the lines before it in %q)", out, w, want)
		}
		rest = rest[i+len(w):]
	}
}

func TestRunDeletesRoomAtTimeLimit(t *testing.T) {
	const limit = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a safety net only
	defer cancel()
	var out syncBuffer
	start := time.Now()
	if err := run(ctx, []string{"-duration", limit.String(), "-room", "standup"}, &out); err != nil {
		t.Fatalf("run: got %v, want nil\noutput:\n%s", err, out.String())
	}
	if took := time.Since(start); took < limit {
		t.Errorf("run returned after %v, want at least %v", took, limit)
	}
	if ctx.Err() != nil {
		t.Fatalf("run returned because of the safety timeout, want after RoomDeleted")
	}
	got := out.String()
	checkOrder(t, got,
		"peer alice (", ") token: ",
		"peer bob (", ") token: ",
		"meeting standup ends in 100ms",
		"event: room created: standup",
		"event: peer added: standup/",
		"event: peer added: standup/",
		"time is up: deleting room standup",
		"event: peer deleted: standup/",
		"event: peer deleted: standup/",
		"event: room deleted: standup",
	)
	if strings.Contains(got, "shutting down") {
		t.Errorf("output: got %q, want no shutdown (the time limit ended the meeting)", got)
	}
}

// On SIGINT/SIGTERM (here: a cancelled ctx) run closes the engine, which deletes the room.
func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out syncBuffer
	if err := run(ctx, []string{"-duration", "1h"}, &out); err != nil {
		t.Fatalf("run: got %v, want nil\noutput:\n%s", err, out.String())
	}
	got := out.String()
	checkOrder(t, got, "meeting meeting ends in 1h0m0s", "shutting down", "event: room deleted: meeting")
	if strings.Contains(got, "time is up") {
		t.Errorf("output: got %q, want no time limit", got)
	}
}

func TestRunBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"zero duration", []string{"-duration", "0s"}, "-duration must be positive"},
		{"negative duration", []string{"-duration", "-1s"}, "-duration must be positive"},
		{"bad duration", []string{"-duration", "soon"}, "invalid value"},
		{"unknown flag", []string{"-rooms", "x"}, "flag provided but not defined"},
		{"invalid room id", []string{"-room", "a/b"}, `roomId may contain only alphanumeric characters and hyphens`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			err := run(t.Context(), tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%q): got error %v, want one containing %q", tc.args, err, tc.want)
			}
		})
	}
}
