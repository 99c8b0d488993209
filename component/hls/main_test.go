package hls

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (a muxer request, an upload,
// the compositor).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
