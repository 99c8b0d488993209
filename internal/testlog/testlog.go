// Package testlog gives tests a slog.Logger that writes into the test's output (shown on
// failure or with -v) and goes quiet once the test's cleanups have run, so that goroutines
// which log late never reach a finished test.
package testlog

import (
	"io"
	"log/slog"
	"sync"
	"testing"
)

// New returns a logger at level writing to t.Output(). Call it before registering other
// cleanups: its own cleanup, which silences it, then runs last.
func New(t testing.TB, level slog.Level) *slog.Logger {
	w := &writer{w: t.Output()}
	t.Cleanup(func() {
		w.mu.Lock()
		w.off = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

type writer struct {
	mu  sync.Mutex
	w   io.Writer
	off bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.off {
		return len(p), nil
	}
	return w.w.Write(p)
}
