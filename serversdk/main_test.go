package serversdk_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (notifier readers, HTTP
// connections, the server's socket goroutines).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
