package hls

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// deferredHandler logs through a logger known only later: the compositor is built by the
// factory, before Run receives the component's logger.
type deferredHandler struct {
	log *atomic.Pointer[slog.Logger]
	ops []func(slog.Handler) slog.Handler // WithAttrs and WithGroup, in order
}

func (d deferredHandler) handler() slog.Handler {
	h := d.log.Load().Handler()
	for _, op := range d.ops {
		h = op(h)
	}
	return h
}

func (d deferredHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return d.log.Load().Handler().Enabled(ctx, l)
}

func (d deferredHandler) Handle(ctx context.Context, r slog.Record) error {
	return d.handler().Handle(ctx, r)
}

func (d deferredHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return d.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

func (d deferredHandler) WithGroup(name string) slog.Handler {
	return d.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (d deferredHandler) with(op func(slog.Handler) slog.Handler) slog.Handler {
	return deferredHandler{log: d.log, ops: append(d.ops[:len(d.ops):len(d.ops)], op)}
}
