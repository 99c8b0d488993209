package recording_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (an upload, a sink), and removes
// the ffmpeg fixtures the tests shared.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if fixtureDir != "" {
			os.RemoveAll(fixtureDir)
		}
	}))
}
