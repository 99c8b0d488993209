package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// SourcesDir is the directory, under the resources base path, that file components read from.
const SourcesDir = "file_component_sources"

// defaultFramerate is the framerate of a video file without one in its options.
const defaultFramerate = 30

// The messages of Jellyfish v0.5.0 for invalid options.
const (
	msgMissingPath      = `Required field "filePath" missing`
	msgInvalidBody      = "Invalid request body structure"
	msgInvalidFramerate = "Invalid framerate passed"
	msgInvalidPath      = "Invalid file path"
	msgNotFound         = "File not found"
	msgAudioFramerate   = "Attempted to set framerate for audio component which is not supported."
	msgUnsupportedType  = "Unsupported file type"
)

// Factory returns the ComponentFactory of "file" components; base is JF_RESOURCES_BASE_PATH
// (sources live in <base>/file_component_sources/). The factory checks the options in the order
// of Jellyfish v0.5.0 and answers its messages.
func Factory(base string) jellyfish.ComponentFactory {
	dir := filepath.Join(base, SourcesDir)
	return func(_ *jellyfish.Room, options json.RawMessage) (jellyfish.Component, error) {
		return newComponent(dir, options)
	}
}

// options are the decoded REST options.
type options struct {
	path      string
	framerate *int64 // nil: absent or null
}

// newComponent validates options against the sources directory dir.
func newComponent(dir string, raw json.RawMessage) (*component, error) {
	o, err := decodeOptions(raw)
	if err != nil {
		return nil, err
	}
	rel, err := checkPath(dir, o.path)
	if err != nil {
		return nil, err
	}
	if o.framerate != nil && *o.framerate <= 0 {
		return nil, jellyfish.InvalidOption(msgInvalidFramerate)
	}
	c := &component{dir: dir, rel: rel, given: o.path}
	// Jellyfish compares the extension as it is written: ".H264" is not supported.
	switch filepath.Ext(rel) {
	case ".h264":
		c.kind = jellyfish.TrackTypeVideo
		c.framerate = defaultFramerate
		if o.framerate != nil {
			c.framerate = *o.framerate
		}
	case ".ogg":
		if o.framerate != nil {
			return nil, jellyfish.InvalidOption(msgAudioFramerate)
		}
		c.kind = jellyfish.TrackTypeAudio
	default:
		return nil, jellyfish.InvalidOption(msgUnsupportedType)
	}
	return c, nil
}

// decodeOptions does what Jellyfish's OpenApiSpex cast does: a missing filePath first, then the
// types (a filePath that is not a string, a framerate that is not an integer). Other keys are
// ignored.
func decodeOptions(raw json.RawMessage) (options, error) {
	var fields map[string]json.RawMessage
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &fields); err != nil {
			return options{}, jellyfish.InvalidOption(msgInvalidBody)
		}
	}
	rawPath, ok := fields["filePath"]
	if !ok {
		return options{}, jellyfish.InvalidOption(msgMissingPath)
	}
	var o options
	if rawPath[0] != '"' || json.Unmarshal(rawPath, &o.path) != nil {
		return options{}, jellyfish.InvalidOption(msgInvalidBody)
	}
	if rawRate, ok := fields["framerate"]; ok && string(rawRate) != "null" {
		n, ok := parseInteger(rawRate)
		if !ok {
			return options{}, jellyfish.InvalidOption(msgInvalidFramerate)
		}
		o.framerate = &n
	}
	return o, nil
}

// parseInteger accepts a JSON integer, or a string holding one (OpenApiSpex casts "30" to 30).
// Fractions, exponents, booleans and other strings are not integers.
func parseInteger(raw json.RawMessage) (int64, bool) {
	text := string(raw)
	if raw[0] == '"' {
		if json.Unmarshal(raw, &text) != nil {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// checkPath resolves p inside dir. Like Jellyfish, the check is first lexical ("../x.ogg", "."
// and "" are outside); unlike it, an absolute path is refused rather than read as relative, and
// the file is looked up through an os.Root, so a symbolic link that leaves dir is refused too.
// It returns the cleaned relative path that Run opens.
func checkPath(dir, p string) (string, error) {
	rel := filepath.Clean(p)
	if !filepath.IsLocal(p) || rel == "." {
		return "", jellyfish.InvalidOption(msgInvalidPath)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", jellyfish.NotFoundError(msgNotFound) // no sources directory: no file
	}
	defer root.Close()
	if _, err := root.Stat(rel); err != nil {
		if missing(err) {
			return "", jellyfish.NotFoundError(msgNotFound)
		}
		// What is left is os.Root's (unexported) "path escapes from parent".
		return "", jellyfish.InvalidOption(msgInvalidPath)
	}
	return rel, nil
}

// missing reports whether a lookup error means that there is no such file, which is what
// Jellyfish's File.exists? says for every failure.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		errors.Is(err, syscall.ENAMETOOLONG) || errors.Is(err, syscall.EINVAL)
}
