package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// maxBodyBytes bounds request bodies; a larger one gets 413 (Jellyfish's parser allows 8 MB, but
// no request of this API needs more than a few hundred bytes).
const maxBodyBytes = 1 << 20

var (
	errBadRequest = errors.New("malformed body")
	errTooLarge   = errors.New("body too large")
)

// params is the flat parameter map a Jellyfish controller sees: query string values (as JSON
// strings), overlaid by the keys of a JSON object body. A body that is not an object is kept
// under "_json", so the expected keys are missing, as in Phoenix.
type params map[string]json.RawMessage

// readParams parses the query string and, when the content type is JSON, the body. A body of
// any other content type is ignored, as Jellyfish ignores it.
func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p[k], _ = json.Marshal(vs[len(vs)-1])
		}
	}
	if !isJSONContentType(r.Header.Get("Content-Type")) || r.Body == nil {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errBadRequest
	}
	if len(body) > maxBodyBytes {
		return nil, errTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	if !json.Valid(body) {
		return nil, errBadRequest
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil { // valid JSON, but not an object
		p["_json"] = body
		return p, nil
	}
	for k, v := range obj {
		p[k] = v
	}
	return p, nil
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// present reports whether key is set to something other than null.
func (p params) present(key string) bool {
	v, ok := p[key]
	return ok && string(v) != "null"
}

// str returns the value of key if it is a JSON string.
func (p params) str(key string) (string, bool) {
	var s string
	if v, ok := p[key]; ok && len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return "", false
}

// integer returns the value of key if it is a JSON integer (no fraction, no exponent).
func (p params) integer(key string) (int64, bool) {
	v := string(p[key])
	if v == "" || strings.ContainsAny(v, ".eE\"") {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// raw renders a client value the way Jellyfish interpolates it into error messages: strings
// bare, numbers and booleans as written, null or missing as "". Objects and arrays (which crash
// Jellyfish) are rendered as compact JSON.
func (p params) raw(key string) string {
	v, ok := p[key]
	if !ok || string(v) == "null" {
		return ""
	}
	if s, ok := p.str(key); ok {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return buf.String()
	}
	return string(v)
}
