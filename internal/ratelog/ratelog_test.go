package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestWarnRateLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := Logger{Log: slog.New(slog.NewTextHandler(&buf, nil))}
		for range 5 {
			l.Warn("bad input")
		}
		time.Sleep(time.Second)
		l.Warn("bad input")
		out := buf.String()
		if got := strings.Count(out, "bad input"); got != 2 {
			t.Fatalf("logged %d lines, want 2:\n%s", got, out)
		}
		if !strings.Contains(out, "suppressed=4") {
			t.Errorf("second line does not count the 4 suppressed warnings:\n%s", out)
		}
	})
}
