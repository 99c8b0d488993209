package turn

import (
	"log/slog"

	"github.com/jellyfish-go/jellyfish/internal/pionlog"
)

// turnLevels maps pion/turn's levels: it logs at Info for every datagram from a peer without
// permission and at Debug for every relayed datagram, so Trace, Debug and Info all become slog
// Debug; Warn and Error stay.
var turnLevels = [5]slog.Level{slog.LevelDebug, slog.LevelDebug, slog.LevelDebug, slog.LevelWarn, slog.LevelError}

func pionLoggerFactory(log *slog.Logger) pionlog.Factory {
	return pionlog.Factory{Log: log, Levels: &turnLevels}
}
