package s3upload

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if an upload leaves a goroutine (an idle HTTP connection) behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
