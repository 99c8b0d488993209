package jellyfish

import "sync"

// inbox is a session loop's queue of work: anyone may post without blocking (the room posts to
// many sessions while holding its lock), and the loop drains it in order. It is galene's
// "unbounded" queue with a bound: a client that floods a session beyond maxInbox loses the
// excess, which is logged, rather than the server's memory.
type inbox struct {
	mu      sync.Mutex
	items   []func()
	notify  chan struct{} // 1 slot: "something was posted"
	dropped int
}

const maxInbox = 8192

func newInbox() *inbox { return &inbox{notify: make(chan struct{}, 1)} }

// post queues f; it reports false if the inbox is full.
func (b *inbox) post(f func()) bool {
	b.mu.Lock()
	if len(b.items) >= maxInbox {
		b.dropped++
		b.mu.Unlock()
		return false
	}
	b.items = append(b.items, f)
	b.mu.Unlock()
	select {
	case b.notify <- struct{}{}:
	default:
	}
	return true
}

// drain takes everything queued so far.
func (b *inbox) drain() []func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}
