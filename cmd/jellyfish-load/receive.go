package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// seqCounter counts received packets against the sequence numbers seen, RFC 3550 style:
// expected = highest - first + 1, lost = expected - received (late and retransmitted packets
// fill gaps; duplicates can make lost slightly low). width is 16 for RTP sequence numbers and
// 32 for the trailer's index. Not safe for concurrent use.
type seqCounter struct {
	started  bool
	first    uint64 // extended
	highest  uint64 // extended
	received uint64
}

// add counts one packet with sequence number s of a width-bit counter.
func (c *seqCounter) add(s uint32, width uint) {
	c.received++
	if !c.started {
		c.started = true
		c.first, c.highest = uint64(s)+1<<width, uint64(s)+1<<width // room for a packet older than the first
		return
	}
	// Extend s to the candidate nearest to highest.
	mask := uint64(1)<<width - 1
	half := uint64(1) << (width - 1)
	ext := c.highest&^mask | uint64(s)
	switch {
	case ext > c.highest && ext-c.highest > half && ext >= 1<<width:
		ext -= 1 << width
	case ext < c.highest && c.highest-ext > half:
		ext += 1 << width
	}
	if ext > c.highest {
		c.highest = ext
	}
	if ext < c.first {
		c.first = ext
	}
}

func (c *seqCounter) expected() uint64 {
	if !c.started {
		return 0
	}
	return c.highest - c.first + 1
}

func (c *seqCounter) lost() uint64 {
	if e := c.expected(); e > c.received {
		return e - c.received
	}
	return 0
}

// histogram is a log-linear latency histogram in microseconds: 16 linear sub-buckets per power
// of two (about 6% resolution), from 0 to about 2^40 µs. Not safe for concurrent use; it does
// not allocate after creation.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    uint64
}

const (
	histSub     = 16
	histSubBits = 4
	histBuckets = (41 - histSubBits + 1) * histSub
)

func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	exp := bits.Len64(v) - histSubBits - 1 // v >> exp is in [16, 32)
	return min((exp+1)*histSub+int(v>>exp)-histSub, histBuckets-1)
}

// histLower is the smallest value of bucket i.
func histLower(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	exp := i/histSub - 1
	return uint64(i%histSub+histSub) << exp
}

func (h *histogram) add(v uint64) {
	h.counts[histIndex(v)]++
	h.n++
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1): the midpoint of its bucket, capped at max.
func (h *histogram) quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			lo, hi := histLower(i), histLower(i+1)
			return min((lo+hi)/2, h.max)
		}
	}
	return h.max
}

// trackReader reads one remote track of a subscriber. The atomics are read by the progress
// printer while the reader runs; the other fields belong to the reader goroutine and are read
// only after it has returned.
type trackReader struct {
	peer    *peer
	trackID string
	kind    webrtc.RTPCodecType

	packets atomic.Uint64
	bytes   atomic.Uint64 // payload bytes
	lostRTP atomic.Uint64 // from RTP sequence gaps, updated per packet

	seq      seqCounter // RTP sequence numbers (what the subscriber's RTP stack sees)
	index    seqCounter // the publisher's trailer index (includes the server's deliberate drops)
	latency  histogram  // forwarding latency, µs
	untagged uint64     // packets without a trailer
}

// run reads the track until it ends. It reuses one buffer and one header: no allocation of its
// own per packet.
func (r *trackReader) run(remote *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		end := n
		if h.Padding && n > hl {
			end -= int(buf[n-1])
		}
		if end < hl {
			continue
		}
		payload := buf[hl:end]
		r.peer.firstPacket(r.kind, now)
		r.seq.add(uint32(h.SequenceNumber), 16)
		if idx, sent, ok := parseTrailer(payload); ok {
			r.index.add(idx, 32)
			r.latency.add(uint64(max(0, now.UnixNano()-sent)) / 1000)
		} else {
			r.untagged++
		}
		r.bytes.Add(uint64(len(payload)))
		r.packets.Add(1)
		r.lostRTP.Store(r.seq.lost())
	}
}
