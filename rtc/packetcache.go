package rtc

import "sync"

// packetCacheSlotSize is the capacity a slot's buffer starts with: a full Ethernet MTU, so
// that a slot is allocated once and then reused. A larger packet grows its slot.
const packetCacheSlotSize = 1500

// PacketCache keeps the most recent RTP packets of one up-track, keyed by sequence number, to
// answer NACKs with retransmissions.
//
// It is a ring of a power-of-two number of slots indexed by the low bits of the sequence
// number. Packets are copied in and out: a slot's buffer is allocated on first use and reused,
// so Add does not allocate once every slot has been used. A packet is found while it is among
// the last Cap() sequence numbers of the newest one added; older packets, and packets whose
// slot was reused, are gone.
//
// A PacketCache is safe for concurrent use: one writer (the up-track's reader calling Add) and
// any number of readers (NACK handlers on down-tracks' RTCP goroutines calling Get). A mutex
// guards it; it is held only for one copy of one packet.
type PacketCache struct {
	mu      sync.Mutex
	slots   []cacheSlot
	mask    uint16
	newest  uint16 // highest sequence number added
	started bool
}

type cacheSlot struct {
	seq   uint16
	valid bool
	buf   []byte // len is the packet's length
}

// NewPacketCache returns a PacketCache of size slots, rounded up to a power of two between 1
// and 32768 (half the sequence space, so that the window never wraps onto itself).
func NewPacketCache(size int) *PacketCache {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &PacketCache{slots: make([]cacheSlot, n), mask: uint16(n - 1)}
}

// Cap returns how many packets c holds at most.
func (c *PacketCache) Cap() int { return len(c.slots) }

// Add stores a copy of pkt, the RTP packet with sequence number seq, overwriting the packet
// that used its slot. A packet more than Cap() behind the newest is taken as a restart of the
// sequence (a new source) and becomes the newest; a merely late one is stored as it is.
func (c *PacketCache) Add(seq uint16, pkt []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := seq - c.newest; !c.started || int16(d) > 0 || int(-d) >= len(c.slots) {
		c.newest, c.started = seq, true
	}
	s := &c.slots[seq&c.mask]
	if cap(s.buf) < len(pkt) {
		s.buf = make([]byte, len(pkt), max(len(pkt), packetCacheSlotSize))
	}
	s.buf = s.buf[:len(pkt)]
	copy(s.buf, pkt)
	s.seq, s.valid = seq, true
}

// Get copies the packet with sequence number seq into buf and returns its length and true. It
// returns 0 and false if the packet is not in the cache (never added, overwritten, or too old),
// and the packet's length and false, copying nothing, if buf is too short to hold it.
func (c *PacketCache) Get(seq uint16, buf []byte) (n int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started || int(c.newest-seq) >= len(c.slots) {
		return 0, false
	}
	s := &c.slots[seq&c.mask]
	if !s.valid || s.seq != seq {
		return 0, false
	}
	if len(buf) < len(s.buf) {
		return len(s.buf), false
	}
	return copy(buf, s.buf), true
}

// Reset empties c, keeping its buffers; use it when the cached stream changes source (a
// different SSRC's sequence numbers would otherwise mix with the old ones).
func (c *PacketCache) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.slots {
		c.slots[i].valid = false
	}
	c.started = false
}
