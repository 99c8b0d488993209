package hls

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/hls/composite"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
)

// Messages of Jellyfish v0.5.0 (and ours for the composite mode).
const (
	msgInvalidBody  = "Invalid request body structure"
	msgIncompatible = "Incompatible video codec enforced in room %s"
	msgLimit        = "Reached hls components limit for component in room %s"
	msgNoFFmpeg     = `HLS composite mode needs ffmpeg, which is not available on this server: %v; use "transcode": false`
)

// Defaults of Jellyfish v0.5.0: 6 s segments; LL-HLS parts of about a second.
const (
	defaultSegment = 6 * time.Second
	defaultPart    = time.Second
	// unlimitedSegments is the segment count of an unlimited window (gohlslib needs a number).
	unlimitedSegments = math.MaxInt32
)

// Config configures the HLS components a Factory builds.
type Config struct {
	// Base is JF_RESOURCES_BASE_PATH: output goes to <Base>/temporary_hls/<room id>/ or, when
	// persistent, to <Base>/recordings/<room id>/.
	Base string
	// FFmpeg is the ffmpeg binary of the composite mode; "" means "ffmpeg" on PATH.
	FFmpeg string
	// S3Endpoint and S3Insecure (our extension: JF_S3_ENDPOINT, JF_S3_INSECURE) send uploads to
	// an S3-compatible store at host:port instead of AWS, over plain HTTP if insecure.
	S3Endpoint string
	S3Insecure bool

	// Test knobs: segment and part durations (0: the defaults).
	segment, part time.Duration
}

// options are a component's validated REST options.
type options struct {
	lowLatency   bool
	persistent   bool
	window       *int64 // targetWindowDuration in seconds; nil: unlimited
	mode         jellyfish.SubscribeMode
	s3           *s3upload.Credentials
	transcode    bool
	transcodeSet bool // the request named "transcode" (shown in the properties only then)
}

// Factory returns the factory of HLS components.
func Factory(cfg Config) jellyfish.ComponentFactory {
	if cfg.segment <= 0 {
		cfg.segment = defaultSegment
	}
	if cfg.part <= 0 {
		cfg.part = defaultPart
	}
	return func(r *jellyfish.Room, raw json.RawMessage) (jellyfish.Component, error) {
		opts, err := parseOptions(raw)
		if err != nil {
			return nil, err
		}
		// Jellyfish checks the codec before the count.
		if r.Config().VideoCodec != jellyfish.VideoCodecH264 {
			return nil, jellyfish.InvalidOption(fmt.Sprintf(msgIncompatible, r.ID()))
		}
		for _, m := range r.Components() {
			if m.Type() == jellyfish.ComponentHLS {
				return nil, jellyfish.InvalidOption(fmt.Sprintf(msgLimit, r.ID()))
			}
		}
		if opts.transcode {
			if err := composite.Available(cfg.FFmpeg); err != nil {
				return nil, jellyfish.InvalidOption(fmt.Sprintf(msgNoFFmpeg, err))
			}
		}
		return newComponent(cfg, opts, r.ID()), nil
	}
}

// parseOptions decodes the REST options (a JSON object, or nil for none). Every type error is
// Jellyfish's "Invalid request body structure"; so is an incomplete s3 object, on which
// v0.5.0 crashed the room instead. Unknown keys are ignored, as by Jellyfish.
func parseOptions(raw json.RawMessage) (options, error) {
	o := options{mode: jellyfish.SubscribeAuto, transcode: true}
	bad := jellyfish.InvalidOption(msgInvalidBody)
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return o, bad
	}
	for key, v := range fields {
		var ok bool
		switch key {
		case "lowLatency":
			ok = parseBool(v, &o.lowLatency)
		case "persistent":
			ok = parseBool(v, &o.persistent)
		case "transcode":
			ok, o.transcodeSet = parseBool(v, &o.transcode), true
		case "targetWindowDuration":
			if isNull(v) {
				o.window, ok = nil, true
				break
			}
			var n int64
			if n, ok = parseInt(v); ok {
				o.window = &n
			}
		case "subscribeMode":
			var s string
			if json.Unmarshal(v, &s) == nil && !isNull(v) {
				o.mode = jellyfish.SubscribeMode(s)
				ok = o.mode == jellyfish.SubscribeAuto || o.mode == jellyfish.SubscribeManual
			}
		case "s3":
			if isNull(v) {
				o.s3, ok = nil, true
				break
			}
			c, err := s3upload.ParseCredentials(v)
			if ok = err == nil; ok {
				o.s3 = &c
			}
		default:
			ok = true
		}
		if !ok {
			return o, bad
		}
	}
	return o, nil
}

func isNull(v json.RawMessage) bool { return strings.TrimSpace(string(v)) == "null" }

// parseBool accepts a JSON boolean only (not null, not a string).
func parseBool(v json.RawMessage, dst *bool) bool {
	s := strings.TrimSpace(string(v))
	if s != "true" && s != "false" {
		return false
	}
	*dst = s == "true"
	return true
}

// parseInt accepts a JSON integer (no fraction, no exponent).
func parseInt(v json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
	return n, err == nil
}

// segmentCount is how many segments the playlist keeps: the window's length in segments
// (rounded up), everything for an unlimited window or a persistent stream (a recording keeps
// every segment), and at least what gohlslib accepts (3, or 7 for LL-HLS).
func (o options) segmentCount(segment time.Duration) int {
	if o.window == nil || o.persistent {
		return unlimitedSegments
	}
	n := int64(math.Ceil(float64(*o.window) * float64(time.Second) / float64(segment)))
	least := int64(3)
	if o.lowLatency {
		least = 7
	}
	return int(max(n, least))
}

// properties are the REST properties: Jellyfish's six keys (s3 always null), plus "transcode"
// when the request set it.
func (o options) properties(playable bool) map[string]any {
	p := map[string]any{
		"lowLatency":           o.lowLatency,
		"persistent":           o.persistent,
		"playable":             playable,
		"s3":                   nil,
		"subscribeMode":        string(o.mode),
		"targetWindowDuration": nil,
	}
	if o.window != nil {
		p["targetWindowDuration"] = *o.window
	}
	if o.transcodeSet {
		p["transcode"] = o.transcode
	}
	return p
}
