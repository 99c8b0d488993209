package jellyfish

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (timer callbacks included).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
