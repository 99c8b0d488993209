package rtsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// Defaults of Jellyfish v0.5.0 (lib/jellyfish_web/api_spec/component/rtsp.ex).
const (
	defaultRTPPort           = 20000
	defaultReconnectDelay    = 15000 // ms
	defaultKeepAliveInterval = 15000 // ms
)

// Messages of Jellyfish v0.5.0 for invalid options.
const (
	msgInvalidBody      = "Invalid request body structure"
	msgMissingSourceURI = `Required field "sourceUri" missing`
	msgIncompatible     = "Incompatible video codec enforced in room %s"
)

// options are the validated REST options; immutable once built.
type options struct {
	sourceURI         string
	rtpPort           int
	reconnectDelay    int // ms
	keepAliveInterval int // ms
	pierceNAT         bool
}

// Factory returns the factory of the "rtsp" component for jellyfish.Config.ComponentFactories.
// It checks, in Jellyfish's order (room/state.ex check_component_allowed runs before the
// options are cast): the room's video codec must be h264, then sourceUri must be present, then
// every option must have its type and range.
func Factory() jellyfish.ComponentFactory {
	return func(r *jellyfish.Room, raw json.RawMessage) (jellyfish.Component, error) {
		if r.Config().VideoCodec != jellyfish.VideoCodecH264 {
			return nil, jellyfish.InvalidOption(fmt.Sprintf(msgIncompatible, r.ID()))
		}
		o, err := parseOptions(raw)
		if err != nil {
			return nil, err
		}
		return &component{opts: o}, nil
	}
}

// parseOptions validates raw (a JSON object, or nil for none) like OpenApiSpex does for the
// v0.5.0 schema: a missing required field is reported before any type error; unknown keys
// are ignored. It is stricter than OpenApiSpex in one way: numbers must be JSON integers and
// strings are never cast to numbers or booleans.
func parseOptions(raw json.RawMessage) (options, error) {
	o := options{
		rtpPort:           defaultRTPPort,
		reconnectDelay:    defaultReconnectDelay,
		keepAliveInterval: defaultKeepAliveInterval,
		pierceNAT:         true,
	}
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &fields); err != nil {
			return o, jellyfish.InvalidOption(msgInvalidBody)
		}
	}
	src, ok := fields["sourceUri"]
	if !ok {
		return o, jellyfish.InvalidOption(msgMissingSourceURI)
	}
	invalid := jellyfish.InvalidOption(msgInvalidBody)
	if !decodeString(src, &o.sourceURI) {
		return o, invalid
	}
	for _, f := range []struct {
		name   string
		dst    *int
		lo, hi int64
	}{
		{"rtpPort", &o.rtpPort, 1, 65535},
		{"reconnectDelay", &o.reconnectDelay, 0, math.MaxInt64},
		{"keepAliveInterval", &o.keepAliveInterval, 0, math.MaxInt64},
	} {
		if v, ok := fields[f.name]; ok && !decodeInt(v, f.lo, f.hi, f.dst) {
			return o, invalid
		}
	}
	if v, ok := fields["pierceNat"]; ok && !decodeBool(v, &o.pierceNAT) {
		return o, invalid
	}
	return o, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// decodeString accepts a JSON string (not null, which the schema does not allow).
func decodeString(v json.RawMessage, dst *string) bool {
	return !isNull(v) && json.Unmarshal(v, dst) == nil
}

func decodeBool(v json.RawMessage, dst *bool) bool {
	return !isNull(v) && json.Unmarshal(v, dst) == nil
}

// decodeInt accepts a JSON integer in [lo, hi].
func decodeInt(v json.RawMessage, lo, hi int64, dst *int) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return false // json.Number would also take a quoted number
	}
	var n json.Number
	if json.Unmarshal(v, &n) != nil {
		return false
	}
	i, err := n.Int64()
	if err != nil || i < lo || i > hi || int64(int(i)) != i {
		return false
	}
	*dst = int(i)
	return true
}

// millis converts a millisecond option to a duration, saturating instead of overflowing.
func millis(ms int) time.Duration {
	if int64(ms) > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// Properties returns the options with defaults filled in, as the REST API shows them
// (jellyfish.ComponentPropertier). It does not block.
func (c *component) Properties() map[string]any {
	return map[string]any{
		"sourceUri":         c.opts.sourceURI,
		"rtpPort":           c.opts.rtpPort,
		"reconnectDelay":    c.opts.reconnectDelay,
		"keepAliveInterval": c.opts.keepAliveInterval,
		"pierceNat":         c.opts.pierceNAT,
	}
}
