package turn

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: pion/turn's listener,
// TCP connection and allocation read loops must all be gone after Server.Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
