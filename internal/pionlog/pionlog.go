// Package pionlog routes pion's logs to slog. pion logs ordinary events of a busy SFU (stale ICE
// candidates after every restart, unhandled RTCP, datagrams without permission) at levels up to
// Error, so each factory says which slog level each pion level maps to; messages are formatted
// only when that level is enabled.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory is a logging.LoggerFactory writing to Log. Levels maps pion's Trace, Debug, Info,
// Warn and Error, in that order; the zero value maps everything below Error to Debug and Error
// to Info.
type Factory struct {
	Log    *slog.Logger
	Levels *[5]slog.Level
}

// Quiet maps every pion level below Error to Debug and Error to Info: what a server wants
// from pion/webrtc and pion/ice.
var quiet = [5]slog.Level{slog.LevelDebug, slog.LevelDebug, slog.LevelDebug, slog.LevelDebug, slog.LevelInfo}

// NewLogger returns the logger of one pion scope (webrtc.LoggerFactory).
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	levels := quiet
	if f.Levels != nil {
		levels = *f.Levels
	}
	return logger{log: f.Log.With("pion", scope), levels: levels}
}

type logger struct {
	log    *slog.Logger
	levels [5]slog.Level
}

var _ logging.LeveledLogger = logger{}

func (l logger) emit(level slog.Level, msg string) { l.log.Log(context.Background(), level, msg) }

func (l logger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  { l.emit(l.levels[0], msg) }
func (l logger) Tracef(format string, args ...any) { l.emitf(l.levels[0], format, args...) }
func (l logger) Debug(msg string)                  { l.emit(l.levels[1], msg) }
func (l logger) Debugf(format string, args ...any) { l.emitf(l.levels[1], format, args...) }
func (l logger) Info(msg string)                   { l.emit(l.levels[2], msg) }
func (l logger) Infof(format string, args ...any)  { l.emitf(l.levels[2], format, args...) }
func (l logger) Warn(msg string)                   { l.emit(l.levels[3], msg) }
func (l logger) Warnf(format string, args ...any)  { l.emitf(l.levels[3], format, args...) }
func (l logger) Error(msg string)                  { l.emit(l.levels[4], msg) }
func (l logger) Errorf(format string, args ...any) { l.emitf(l.levels[4], format, args...) }
