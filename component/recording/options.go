package recording

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
)

// Config is what a server knows about recording before any request.
type Config struct {
	// Base is JF_RESOURCES_BASE_PATH: a recorder writes under
	// <Base>/raw_recordings/<room_id>/part_<timestamp>/.
	Base string
	// Enabled is JF_RECORDING_USED (true unless "false"). When false, adding a recorder is
	// refused with a 400 (Jellyfish v0.5.0 crashed the room instead).
	Enabled bool
	// S3 are the default credentials from JF_S3_* (nil when unset). When its Endpoint is empty,
	// Endpoint and Insecure below apply.
	S3 *s3upload.Target
	// PathPrefix is JF_S3_PATH_PREFIX (nil when unset).
	PathPrefix *string
	// Endpoint and Insecure are our extension (JF_S3_ENDPOINT, JF_S3_INSECURE): an
	// S3-compatible store used for every upload, request credentials included. Empty: AWS.
	Endpoint string
	Insecure bool
}

// Messages of Jellyfish v0.5.0 (server-api.md §4.8, §6.5), and ours for a disabled server.
const (
	msgInvalidBody       = "Invalid request body structure"
	msgCodec             = "Incompatible video codec enforced in room %s"
	msgLimit             = "Reached recording components limit for component in room %s"
	msgNoCredentials     = "S3 credentials has to be passed either by request or at application startup as envs"
	msgConflictingCreds  = "Conflicting S3 credentials supplied via environment variables and the REST API. Overrides on existing values are disallowed"
	msgConflictingPrefix = "Conflicting S3 path prefix supplied via environment variables and the REST API. Overrides on existing values are disallowed"
	msgDisabled          = "Recording components are disabled on this server (JF_RECORDING_USED=false)"
)

// partTimeLayout renders the part's start like Elixir's DateTime.to_string with microseconds.
const partTimeLayout = "2006-01-02 15:04:05.000000Z"

// Factory returns the factory of "recording" components. Its checks, in order (the first
// failing one answers): the server's JF_RECORDING_USED; the room's video codec, then the one-per-
// room limit (v0.5.0 checks both before it looks at the options); the option types; the S3
// credentials (request xor environment); the S3 path prefix (request xor environment, or none).
func Factory(cfg Config) jellyfish.ComponentFactory {
	return func(r *jellyfish.Room, options json.RawMessage) (jellyfish.Component, error) {
		if !cfg.Enabled {
			return nil, jellyfish.InvalidOption(msgDisabled)
		}
		if r.Config().VideoCodec != jellyfish.VideoCodecH264 {
			return nil, jellyfish.InvalidOption(fmt.Sprintf(msgCodec, r.ID()))
		}
		for _, c := range r.Components() {
			if c.Type() == jellyfish.ComponentRecording {
				return nil, jellyfish.InvalidOption(fmt.Sprintf(msgLimit, r.ID()))
			}
		}
		opts, err := parseOptions(options)
		if err != nil {
			return nil, err
		}
		target, err := cfg.target(opts.credentials)
		if err != nil {
			return nil, err
		}
		prefix := ""
		switch {
		case opts.pathPrefix != nil && cfg.PathPrefix != nil:
			return nil, jellyfish.InvalidOption(msgConflictingPrefix)
		case opts.pathPrefix != nil:
			prefix = *opts.pathPrefix
		case cfg.PathPrefix != nil:
			prefix = *cfg.PathPrefix
		}
		start := time.Now().UTC()
		return newRecorder(recorderConfig{
			mode:   opts.mode,
			roomID: r.ID(),
			base:   cfg.Base,
			start:  start,
			target: target,
			prefix: prefix,
		}), nil
	}
}

// target picks the credentials: from the request or from the environment, never both.
func (cfg Config) target(req *s3upload.Credentials) (s3upload.Target, error) {
	switch {
	case req != nil && cfg.S3 != nil:
		return s3upload.Target{}, jellyfish.InvalidOption(msgConflictingCreds)
	case req != nil:
		return s3upload.Target{Credentials: *req, Endpoint: cfg.Endpoint, Insecure: cfg.Insecure}, nil
	case cfg.S3 != nil:
		t := *cfg.S3
		if t.Endpoint == "" {
			t.Endpoint, t.Insecure = cfg.Endpoint, cfg.Insecure
		}
		return t, nil
	}
	return s3upload.Target{}, jellyfish.InvalidOption(msgNoCredentials)
}

// options are a recorder's validated REST options.
type options struct {
	credentials *s3upload.Credentials // nil: not given (or null)
	pathPrefix  *string               // nil: not given (or null)
	mode        jellyfish.SubscribeMode
}

// parseOptions checks the option types as v0.5.0's schema does: credentials is an
// S3Credentials object or null, pathPrefix a string or null, subscribeMode "auto" or "manual".
// Unknown options are ignored.
func parseOptions(raw json.RawMessage) (options, error) {
	o := options{mode: jellyfish.SubscribeAuto}
	if len(raw) == 0 || string(raw) == "null" {
		return o, nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return o, jellyfish.InvalidOption(msgInvalidBody)
	}
	if v, ok := fields["credentials"]; ok && !isNull(v) {
		c, err := s3upload.ParseCredentials(v)
		if err != nil {
			return o, jellyfish.InvalidOption(msgInvalidBody)
		}
		o.credentials = &c
	}
	if v, ok := fields["pathPrefix"]; ok && !isNull(v) {
		var s string
		if !isString(v) || json.Unmarshal(v, &s) != nil {
			return o, jellyfish.InvalidOption(msgInvalidBody)
		}
		o.pathPrefix = &s
	}
	if v, ok := fields["subscribeMode"]; ok {
		var s string
		if !isString(v) || json.Unmarshal(v, &s) != nil {
			return o, jellyfish.InvalidOption(msgInvalidBody)
		}
		switch m := jellyfish.SubscribeMode(s); m {
		case jellyfish.SubscribeAuto, jellyfish.SubscribeManual:
			o.mode = m
		default:
			return o, jellyfish.InvalidOption(msgInvalidBody)
		}
	}
	return o, nil
}

func isNull(v json.RawMessage) bool   { return strings.TrimSpace(string(v)) == "null" }
func isString(v json.RawMessage) bool { return strings.HasPrefix(strings.TrimSpace(string(v)), `"`) }

// partName is the directory of one recorder's output: "part_<UTC start, microseconds>".
func partName(start time.Time) string { return "part_" + start.UTC().Format(partTimeLayout) }

// s3KeyPrefix is where a part's files go in the bucket: <prefix>/<room_id>/<part>/, without a
// leading slash (an empty prefix gives <room_id>/<part>/).
func s3KeyPrefix(prefix, roomID, part string) string {
	return strings.TrimLeft(path.Join(prefix, roomID, part), "/") + "/"
}
