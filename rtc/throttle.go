package rtc

import "time"

// DefaultKeyframeInterval is the shortest time between two keyframe requests sent for one
// up-track when a KeyframeThrottle's Interval is zero. Every subscriber that joins, recovers
// from drops or sends a PLI/FIR asks for a keyframe; the publisher needs to be asked only once
// per keyframe, and a keyframe takes about a round trip to arrive.
const DefaultKeyframeInterval = 500 * time.Millisecond

// KeyframeThrottle coalesces the keyframe requests (PLI or FIR) for one up-track: at most one
// goes to the publisher per interval, and a request that arrives during the interval is
// remembered and becomes due when the interval ends, so none is lost (the subscriber that asked
// would otherwise wait for the publisher's next periodic keyframe).
//
// Call Request when a keyframe is wanted and send one if it returns true; call Due regularly
// (on each packet, or from a timer armed for NextDue) and send one if it returns true.
//
// The zero value is ready to use with DefaultKeyframeInterval. Times must come from one clock
// and not go backwards (time.Now's monotonic reading). A KeyframeThrottle is not safe for
// concurrent use: requests come from several down-tracks' RTCP readers, so the owner guards it
// with its own mutex.
type KeyframeThrottle struct {
	// Interval is the shortest time between two requests sent; zero means
	// DefaultKeyframeInterval.
	Interval time.Duration

	last    time.Time // when the last request was sent
	sent    bool      // a request was ever sent
	pending bool      // a request was held back since then
}

// Request records that a keyframe is wanted at now. It returns true if a request should be
// sent now; otherwise the request is pending and Due reports when to send it.
func (t *KeyframeThrottle) Request(now time.Time) bool {
	if t.open(now) {
		t.last, t.sent, t.pending = now, true, false
		return true
	}
	t.pending = true
	return false
}

// Due returns true, once, if a request held back by Request may now be sent; the interval then
// starts again from now.
func (t *KeyframeThrottle) Due(now time.Time) bool {
	if !t.pending || !t.open(now) {
		return false
	}
	t.last, t.pending = now, false
	return true
}

// Pending reports whether a request is being held back.
func (t *KeyframeThrottle) Pending() bool { return t.pending }

// NextDue returns when the pending request becomes due, and false if none is pending. An owner
// without a steady stream of packets arms a timer for it.
func (t *KeyframeThrottle) NextDue() (time.Time, bool) {
	if !t.pending {
		return time.Time{}, false
	}
	return t.last.Add(t.interval()), true
}

// open reports whether the interval since the last request sent is over at now.
func (t *KeyframeThrottle) open(now time.Time) bool {
	return !t.sent || now.Sub(t.last) >= t.interval()
}

func (t *KeyframeThrottle) interval() time.Duration {
	if t.Interval > 0 {
		return t.Interval
	}
	return DefaultKeyframeInterval
}
