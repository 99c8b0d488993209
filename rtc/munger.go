package rtc

import (
	"time"

	"github.com/pion/rtp"
)

// mungerRanges is how many offset changes (runs of dropped packets) a Munger remembers, so
// that a late or retransmitted packet maps to the same outgoing sequence number it has (or
// would have had) in order. With one change per run of drops, this covers at least 64 runs:
// several hundred packets of a temporally filtered stream, far more of an unfiltered one.
const mungerRanges = 64

// mungerRange says how incoming extended sequence numbers from start on map out, until the next
// range: out = in - offset (mod 2^64). The numbers in [dropFrom, start) were dropped on purpose
// and map nowhere.
type mungerRange struct {
	dropFrom uint64
	start    uint64
	offset   uint64
}

// Munger rewrites the sequence numbers and timestamps of one subscriber's copy of a stream so
// that what it receives is continuous although the source changes (a simulcast layer switch,
// a replaced publisher track) and although some packets are deliberately not forwarded.
//
//   - The first packet ever passes unchanged; later ones keep its offsets.
//   - After [Munger.Switch], the next packet starts a new source: it gets the sequence number
//     after the last one forwarded, and a timestamp that advances the last one by the wall time
//     elapsed between the two packets' arrivals (or by one 30 fps frame when an arrival time
//     is unknown). Packets of the new source older than that one are refused.
//   - [Munger.Drop] notes a packet that is not forwarded; when it is the newest so far, the
//     following packets close the gap, so the subscriber sees no hole and sends no NACK.
//     A genuinely lost packet still leaves a hole, so it can be NACKed and retransmitted.
//   - Late, duplicated and retransmitted packets of the current source map to the same
//     outgoing sequence number as in order, as long as the offset in force for them is among
//     the last 64 offset changes. A packet that was dropped on purpose is refused if it comes
//     back.
//
// The zero value is a Munger for a 90 kHz (video) clock; use [NewMunger] for another rate.
// A Munger is not safe for concurrent use: it belongs to the down-track's writer goroutine.
// It does not allocate.
type Munger struct {
	clockRate uint32

	started   bool
	switching bool // the next Rewrite starts a new source

	in        SeqUnwrapper // incoming sequence numbers of the current source
	highestIn uint64       // highest incoming extended seq handled (forwarded or dropped)
	ranges    [mungerRanges]mungerRange
	head      int // index of the newest range
	n         int // valid ranges, newest first backwards from head

	tsOffset    uint32    // out ts = in ts - tsOffset
	lastOut     uint64    // extended outgoing seq of the newest packet forwarded
	lastTS      uint32    // outgoing ts of that packet
	lastArrival time.Time // its arrival time
}

// NewMunger returns a Munger for a stream whose RTP clock runs at clockRate Hz (90000 for
// video, 48000 for Opus). A zero clockRate means 90000.
func NewMunger(clockRate uint32) *Munger {
	return &Munger{clockRate: clockRate}
}

// Switch marks the next packet passed to Rewrite as the first of a new source. Before the
// first packet it has no effect.
func (m *Munger) Switch() {
	m.switching = m.started
}

// Rewrite maps h's sequence number and timestamp to the outgoing stream, in place. h must be
// the caller's own copy of the header (packets are shared between subscribers); arrival is
// when the packet was received, or the zero time if unknown. Rewrite returns false, leaving h
// unchanged, for a packet that must not be forwarded: one older than the current source's
// first packet or than the window, or one that was dropped with [Munger.Drop].
func (m *Munger) Rewrite(h *rtp.Header, arrival time.Time) bool {
	if !m.started || m.switching {
		m.startSource(h, arrival)
		return true
	}
	x := m.in.Unwrap(h.SequenceNumber)
	if x > m.highestIn { // in order, possibly after a loss
		out := x - m.ranges[m.head].offset
		h.SequenceNumber = uint16(out)
		h.Timestamp -= m.tsOffset
		m.highestIn, m.lastOut, m.lastTS, m.lastArrival = x, out, h.Timestamp, arrival
		return true
	}
	offset, ok := m.offsetOf(x) // late, duplicated or retransmitted
	if !ok {
		return false
	}
	h.SequenceNumber = uint16(x - offset)
	h.Timestamp -= m.tsOffset
	return true
}

// Drop notes that the packet with incoming sequence number seq is deliberately not forwarded
// (another temporal layer, padding, waiting for a keyframe). If it is the newest packet so far,
// the next forwarded packets take its place; a late packet's gap cannot be closed and is left.
// Drops before the first forwarded packet of a source are ignored.
func (m *Munger) Drop(seq uint16) {
	if !m.started || m.switching {
		return
	}
	x := m.in.Unwrap(seq)
	if x <= m.highestIn {
		return
	}
	r := &m.ranges[m.head]
	if r.start == x { // the previous packet was dropped too: extend that run
		r.start++
		r.offset++
	} else {
		m.head = (m.head + 1) % mungerRanges
		m.n = min(m.n+1, mungerRanges)
		m.ranges[m.head] = mungerRange{dropFrom: x, start: x + 1, offset: r.offset + 1}
	}
	m.highestIn = x
}

// Last returns the outgoing sequence number and timestamp of the newest packet forwarded, and
// false before the first one. A down-track uses them for sender reports and padding.
func (m *Munger) Last() (seq uint16, ts uint32, ok bool) {
	return uint16(m.lastOut), m.lastTS, m.started
}

// startSource makes h the first packet of a new source (or of the stream).
func (m *Munger) startSource(h *rtp.Header, arrival time.Time) {
	m.in.Reset()
	x := m.in.Unwrap(h.SequenceNumber)
	out := x // the very first packet passes unchanged
	m.tsOffset = 0
	if m.started {
		out = m.lastOut + 1
		m.tsOffset = h.Timestamp - (m.lastTS + m.tsAdvance(arrival))
	}
	m.ranges[0] = mungerRange{dropFrom: x, start: x, offset: x - out}
	m.head, m.n = 0, 1
	h.SequenceNumber = uint16(out)
	h.Timestamp -= m.tsOffset
	m.highestIn, m.lastOut, m.lastTS, m.lastArrival = x, out, h.Timestamp, arrival
	m.started, m.switching = true, false
}

// Limits of the timestamp step across a source switch.
const (
	mungerFrameRate  = 30      // frames per second assumed when no arrival time is known
	mungerMaxAdvance = 1 << 30 // ticks; a quarter of the timestamp space
)

// tsAdvance returns how many clock ticks the first packet of a new source comes after the last
// packet forwarded: the elapsed wall time, at least one tick, or one frame if unknown.
func (m *Munger) tsAdvance(arrival time.Time) uint32 {
	rate := uint64(m.clockRate)
	if rate == 0 {
		rate = 90000
	}
	d := arrival.Sub(m.lastArrival)
	if arrival.IsZero() || m.lastArrival.IsZero() || d <= 0 {
		return uint32(max(rate/mungerFrameRate, 1))
	}
	d = min(d, time.Hour) // keeps the product below in range
	ticks := uint64(d.Microseconds()) * rate / 1e6
	return uint32(min(max(ticks, 1), mungerMaxAdvance))
}

// offsetOf returns the offset in force for the incoming extended sequence number x, and false
// if x was dropped on purpose or is older than the current source or the remembered ranges.
func (m *Munger) offsetOf(x uint64) (uint64, bool) {
	for i := range m.n {
		r := &m.ranges[(m.head-i+mungerRanges)%mungerRanges]
		if x >= r.start {
			return r.offset, true
		}
		if x >= r.dropFrom {
			return 0, false
		}
	}
	return 0, false
}
