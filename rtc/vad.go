package rtc

import "time"

// Voice activity detection constants. Audio levels are RFC 6464 values: 0 to 127, the level of
// the packet's audio in -dBov, so lower is louder and 127 is digital silence. Conversational
// speech into a headset or laptop microphone usually measures 20 to 45; a quiet room 60 to 90.
const (
	// VADThreshold is the level below which (louder than -50 dBov) the averaged audio counts as
	// voice.
	VADThreshold = 50
	// VADWindow is the span of recent packets whose levels are averaged, so that single loud
	// clicks and the short dips between syllables do not flip the state.
	VADWindow = 100 * time.Millisecond
	// VADOnset is how long the average must stay below VADThreshold before the speaker counts
	// as speaking.
	VADOnset = 100 * time.Millisecond
	// VADHangover is how long the average must stay at or above VADThreshold (or no packet
	// arrive) before a speaker counts as silent again: pauses between words and sentences are
	// shorter.
	VADHangover = 500 * time.Millisecond
)

// vadSamples bounds how many levels the window holds: 100 ms of 10 ms packets, with room to
// spare; at shorter packet times only the newest vadSamples levels are averaged.
const vadSamples = 16

type vadSample struct {
	level uint8
	at    time.Time
}

// VAD detects voice activity of one audio track from the RFC 6464 audio-level header extension
// of its packets, with hysteresis (see VADThreshold, VADWindow, VADOnset and VADHangover).
//
// The extension's V flag is honoured only from a sender that has been seen to set it: once a
// packet had V=1, packets with V=0 count as silence whatever their level. Many senders never
// set V, and for them the level alone decides.
//
// The zero value is ready to use and silent. A VAD is not safe for concurrent use: it belongs
// to the track's reader goroutine. It does not allocate.
type VAD struct {
	ring     [vadSamples]vadSample
	next     int // where the next sample goes
	count    int // valid samples in ring
	trustV   bool
	speaking bool

	loudSince  time.Time // start of the current run of loud averages; zero if quiet
	quietSince time.Time // start of the current run of quiet averages; zero if loud
	lastAt     time.Time // arrival of the newest sample
}

// Update adds the audio level of a packet received at now (level is clamped to 127; voiceBit
// is the extension's V flag). It returns changed=true when the speaking state flips, and the
// state after the update.
func (v *VAD) Update(level uint8, voiceBit bool, now time.Time) (changed, speaking bool) {
	level = min(level, 127)
	if voiceBit {
		v.trustV = true
	} else if v.trustV {
		level = 127
	}
	v.ring[v.next] = vadSample{level: level, at: now}
	v.next = (v.next + 1) % vadSamples
	v.count = min(v.count+1, vadSamples)
	v.lastAt = now

	if v.loud(now) {
		v.quietSince = time.Time{}
		if v.loudSince.IsZero() {
			v.loudSince = now
		}
		if !v.speaking && now.Sub(v.loudSince) >= VADOnset {
			v.speaking = true
			return true, true
		}
	} else {
		v.loudSince = time.Time{}
		if v.quietSince.IsZero() {
			v.quietSince = now
		}
		if v.speaking && now.Sub(v.quietSince) >= VADHangover {
			v.speaking = false
			return true, false
		}
	}
	return false, v.speaking
}

// Tick ends speech when no packet has arrived for VADHangover (a muted or stopped sender, or
// discontinuous transmission), or the quiet run already in progress has lasted that long. Call
// it from a timer; it returns like Update.
func (v *VAD) Tick(now time.Time) (changed, speaking bool) {
	if !v.speaking {
		return false, false
	}
	quiet := v.quietSince
	if quiet.IsZero() {
		quiet = v.lastAt
	}
	if now.Sub(quiet) >= VADHangover {
		v.speaking = false
		v.loudSince, v.quietSince = time.Time{}, quiet
		return true, false
	}
	return false, true
}

// Speaking reports the current state.
func (v *VAD) Speaking() bool { return v.speaking }

// loud reports whether the mean level of the samples received within VADWindow before now is
// below VADThreshold. The newest sample always counts.
func (v *VAD) loud(now time.Time) bool {
	sum, n := 0, 0
	for i := range v.count {
		s := &v.ring[(v.next-1-i+vadSamples)%vadSamples]
		if i > 0 && now.Sub(s.at) >= VADWindow {
			break // the rest are older still
		}
		sum += int(s.level)
		n++
	}
	return sum < VADThreshold*n
}
