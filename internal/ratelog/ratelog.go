// Package ratelog logs repeated warnings at most once a second, counting what it held back, so
// that a client flooding bad input cannot flood the log.
package ratelog

import (
	"log/slog"
	"sync"
	"time"
)

// Logger wraps a slog.Logger; its zero value needs Log set before use. Safe for concurrent use.
type Logger struct {
	Log *slog.Logger

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn logs msg unless a warning was logged less than a second ago.
func (l *Logger) Warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Log.Warn(msg, args...)
}
