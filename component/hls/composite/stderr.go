package composite

import (
	"bytes"
	"log/slog"
	"strings"
	"time"
)

// stderrLog turns ffmpeg's stderr into debug log lines, at most stderrBurst per second (the rest
// are counted), and keeps the last lines for the warning logged when ffmpeg fails. exec's copying
// goroutine is its only writer; read tail only after cmd.Wait returns.
type stderrLog struct {
	log *slog.Logger

	partial    []byte
	tail       []string
	window     time.Time
	inWindow   int
	suppressed int
}

const (
	stderrBurst = 10
	stderrTail  = 8
)

func (s *stderrLog) Write(p []byte) (int, error) {
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(strings.TrimSpace(string(s.partial[:i])))
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) > 4096 { // a runaway line without newline
		s.line(string(s.partial))
		s.partial = s.partial[:0]
	}
	return len(p), nil
}

func (s *stderrLog) line(l string) {
	if l == "" {
		return
	}
	if len(s.tail) == stderrTail {
		s.tail = s.tail[1:]
	}
	s.tail = append(s.tail, l)
	now := time.Now()
	if now.Sub(s.window) >= time.Second {
		if s.suppressed > 0 {
			s.log.Debug("ffmpeg: lines suppressed", "count", s.suppressed)
		}
		s.window, s.inWindow, s.suppressed = now, 0, 0
	}
	if s.inWindow >= stderrBurst {
		s.suppressed++
		return
	}
	s.inWindow++
	s.log.Debug("ffmpeg: " + l)
}

// lastLines is the tail of ffmpeg's stderr, for error messages.
func (s *stderrLog) lastLines() string { return strings.Join(s.tail, " | ") }
