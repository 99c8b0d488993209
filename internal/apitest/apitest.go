// Package apitest checks HTTP traffic against the project's OpenAPI
// description (openapi.yaml at the module root).
//
// Tests wrap their client's transport so that every response of the REST
// API is validated as it is received:
//
//	v := apitest.Load(t)
//	client := &http.Client{Transport: v.Transport(t, nil)}
//	// ... exercise the server with client ...
//	if v.Checked() == 0 { t.Fatal("no response was validated") }
//
// Requests are not validated, so tests may send malformed requests on
// purpose; the answers to them are still checked.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// specFile is the name of the OpenAPI description at the module root.
const specFile = "openapi.yaml"

// apiPrefixes are the first path segments of the REST API. Responses for
// other paths (the WebSockets under /socket, /metrics, ...) are not checked.
var apiPrefixes = []string{"/health", "/room", "/sip", "/recording", "/hls"}

// Validator checks requests and responses against the project's openapi.yaml.
//
// A Validator is safe for concurrent use; the transports it returns may be
// shared by parallel requests.
type Validator struct {
	router  routers.Router
	checked atomic.Int64
}

// Load reads and validates openapi.yaml from the module root, found by
// walking up from the working directory to the directory holding go.mod.
// It fails tb if the file cannot be found, parsed or validated.
func Load(tb testing.TB) *Validator {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	v, err := load(tb.Context(), filepath.Join(root, specFile))
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	return v
}

// LoadReference reads Jellyfish v0.5.0's own openapi.yaml (a verbatim copy in testdata), so a
// test can prove that what a client generated from the original description expects is what
// the server answers.
func LoadReference(tb testing.TB) *Validator {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	v, err := load(tb.Context(), filepath.Join(root, "internal", "apitest", "testdata", "jellyfish-v0.5.0-openapi.yaml"))
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	return v
}

func load(ctx context.Context, path string) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	// Match paths on any host: test servers listen on random ports.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router for %s: %w", path, err)
	}
	return &Validator{router: router}, nil
}

// moduleRoot returns the nearest directory at or above the working
// directory that contains go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Checked returns the number of responses validated so far.
func (v *Validator) Checked() int {
	return int(v.checked.Load())
}

// Transport returns a RoundTripper that sends requests through base
// (http.DefaultTransport if nil) and validates every response of the REST
// API against the spec. A mismatch is reported with tb.Errorf, naming the
// method, path, status, body and the validation error; the response is
// still returned to the caller with its body intact.
//
// Not validated: OPTIONS (CORS preflight) and HEAD requests, paths outside
// the REST API, and 404/405 answers to a path and method the spec does not
// list (unknown routes). Any other answer to an unlisted route is an error.
func (v *Validator) Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{v: v, tb: tb, base: base}
}

type transport struct {
	v    *Validator
	tb   testing.TB
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("apitest: read response body: %w", err)
	}
	if err := t.v.check(req, resp, body); err != nil {
		t.tb.Errorf("apitest: %s %s: status %d, body %q: %v",
			req.Method, req.URL.RequestURI(), resp.StatusCode, body, err)
	}
	return resp, nil
}

// check validates one response. It returns nil for traffic it skips.
func (v *Validator) check(req *http.Request, resp *http.Response, body []byte) error {
	if req.Method == http.MethodOptions || req.Method == http.MethodHead {
		return nil
	}
	path := routePath(req.URL)
	if !inAPI(path) {
		return nil
	}
	// Route on a copy whose path keeps its escapes (so "..%2Fx" stays one
	// segment) and loses a trailing slash (the server ignores it).
	rreq := &http.Request{
		Method: req.Method,
		URL:    &url.URL{Path: path, RawQuery: req.URL.RawQuery},
		Header: req.Header,
	}
	route, params, err := v.router.FindRoute(rreq)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("route not in spec: %w", err)
	}
	v.checked.Add(1)
	if resp.StatusCode == http.StatusNoContent && len(body) > 0 {
		return errors.New("204 response has a body")
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    rreq,
			PathParams: params,
			Route:      route,
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // undeclared statuses are errors
			MultiError:            true,
			// The body is already in the report; leave out the schema dumps.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	input.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), input)
}

// routePath returns the escaped path of u without a trailing slash.
func routePath(u *url.URL) string {
	p := u.EscapedPath()
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func inAPI(path string) bool {
	for _, prefix := range apiPrefixes {
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}
