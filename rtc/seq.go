package rtc

// SeqUnwrapper extends 16-bit RTP sequence numbers to 64 bits, counting wrap-arounds.
//
// A number is taken to be within half the sequence space (32767 steps ahead or 32768 behind)
// of the highest one seen so far, so reordered and duplicated packets get the extended value
// they had, or would have had, in order. The first number lands in cycle 1 (it is extended to
// seq + 65536), so that a packet reordered before the first one still gets a smaller value;
// since the highest value only grows and a step back is at most 32768, values never underflow.
//
// The zero value is ready to use. A SeqUnwrapper is not safe for concurrent use: it belongs to
// the goroutine that reads the stream.
type SeqUnwrapper struct {
	max     uint64 // highest extended number so far
	started bool
}

// Unwrap returns the extended sequence number of seq.
func (u *SeqUnwrapper) Unwrap(seq uint16) uint64 {
	if !u.started {
		u.started = true
		u.max = 1<<16 | uint64(seq)
		return u.max
	}
	ext := u.max + uint64(int64(int16(seq-uint16(u.max)))) // two's complement: may step back
	if ext > u.max {
		u.max = ext
	}
	return ext
}

// Max returns the highest extended sequence number returned so far, and false before the
// first call to Unwrap.
func (u *SeqUnwrapper) Max() (uint64, bool) { return u.max, u.started }

// Reset forgets the stream, so that the next number starts over in cycle 1.
func (u *SeqUnwrapper) Reset() { *u = SeqUnwrapper{} }

// TSUnwrapper extends 32-bit RTP timestamps to 64 bits, counting wrap-arounds. It is the
// timestamp counterpart of [SeqUnwrapper], with the same rules: a timestamp is within half the
// space (2^31) of the highest one seen, and the first lands in cycle 1 (ts + 2^32).
//
// The zero value is ready to use. A TSUnwrapper is not safe for concurrent use.
type TSUnwrapper struct {
	max     uint64
	started bool
}

// Unwrap returns the extended timestamp of ts.
func (u *TSUnwrapper) Unwrap(ts uint32) uint64 {
	if !u.started {
		u.started = true
		u.max = 1<<32 | uint64(ts)
		return u.max
	}
	ext := u.max + uint64(int64(int32(ts-uint32(u.max))))
	if ext > u.max {
		u.max = ext
	}
	return ext
}

// Max returns the highest extended timestamp returned so far, and false before the first call
// to Unwrap.
func (u *TSUnwrapper) Max() (uint64, bool) { return u.max, u.started }

// Reset forgets the stream, so that the next timestamp starts over in cycle 1.
func (u *TSUnwrapper) Reset() { *u = TSUnwrapper{} }
