package jellyfish

import (
	"errors"
	"sync"
)

// ErrSlowSubscriber ends a Subscription whose reader fell a whole buffer behind.
var ErrSlowSubscriber = errors.New("event subscriber too slow")

// Subscription receives the events of every room of an engine, in order, until it is closed.
// Publishing never waits for a subscriber: one whose buffer is full is dropped (its channel is
// closed and Err returns ErrSlowSubscriber), so a stuck reader cannot stall rooms.
type Subscription struct {
	hub *eventHub
	c   chan Event
	err error // guarded by hub.mu; set before c is closed
}

// Events returns the channel of events. It is closed when the subscription ends.
func (s *Subscription) Events() <-chan Event { return s.c }

// Err tells why the subscription ended: nil while it runs or after Close, ErrSlowSubscriber, or
// ErrEngineClosed.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes its channel. It is idempotent.
func (s *Subscription) Close() { s.hub.remove(s, nil) }

// eventHub fans events out to subscriptions. It is the only sender on, and closer of, their
// channels, both under mu, so a send never races a close.
type eventHub struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

func newEventHub() *eventHub { return &eventHub{subs: map[*Subscription]struct{}{}} }

func (h *eventHub) subscribe(buffer int) *Subscription {
	s := &Subscription{hub: h, c: make(chan Event, buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.err = ErrEngineClosed
		close(s.c)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// publish never blocks: callers hold room or engine locks to keep per-room order.
func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.c <- ev:
		default:
			h.removeUnlocked(s, ErrSlowSubscriber)
		}
	}
}

func (h *eventHub) remove(s *Subscription, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeUnlocked(s, err)
}

// removeUnlocked expects h.mu to be held.
func (h *eventHub) removeUnlocked(s *Subscription, err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.err = err
	close(s.c)
}

func (h *eventHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.removeUnlocked(s, ErrEngineClosed)
	}
}
