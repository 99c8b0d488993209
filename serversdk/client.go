package serversdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Option configures a Client (NewClient) or a Notifier (DialNotifier).
type Option func(*options)

type options struct {
	httpClient  *http.Client
	eventBuffer int
}

func collect(opts []Option) options {
	o := options{httpClient: http.DefaultClient, eventBuffer: defaultEventBuffer}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithHTTPClient makes the Client send its requests, and DialNotifier its WebSocket handshake,
// through hc instead of http.DefaultClient. For DialNotifier hc.Timeout must be 0 (the
// WebSocket library refuses it; use the context instead).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) {
		if hc != nil {
			o.httpClient = hc
		}
	}
}

// Client is a client of the REST API of one Jellyfish server. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client of the server at baseURL (for example "http://127.0.0.1:8080"; a
// path prefix is kept, a trailing slash is ignored) that authenticates with the server API
// token. Options other than WithHTTPClient are ignored.
func NewClient(baseURL, token string, opts ...Option) *Client {
	o := collect(opts)
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: o.httpClient}
}

// APIError is a non-2xx answer of the server.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the application error, from a {"errors": "<message>"} body
	// (e.g. "Room r1 does not exist").
	Message string
	// Detail is the framework error, from a {"errors": {"detail": "<detail>"}} body
	// (e.g. "Not Found" for an unknown route, "Bad Request" for malformed JSON).
	Detail string
	// Body is the start of the body when it has neither shape (e.g. from a proxy), else "".
	Body string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Detail
	}
	if msg == "" {
		msg = e.Body
	}
	if msg == "" {
		return fmt.Sprintf("serversdk: %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("serversdk: %d %s: %s", e.Status, http.StatusText(e.Status), msg)
}

// StatusCode returns the HTTP status of an *APIError in err's chain, or 0.
func StatusCode(err error) int {
	if e, ok := errors.AsType[*APIError](err); ok {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer (unknown room, peer, component, file, route).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsBadRequest reports whether err is a 400 answer (invalid options or request body).
func IsBadRequest(err error) bool { return StatusCode(err) == http.StatusBadRequest }

// IsUnauthorized reports whether err is a 401 answer (missing or wrong server API token).
func IsUnauthorized(err error) bool { return StatusCode(err) == http.StatusUnauthorized }

// IsServiceUnavailable reports whether err is a 503 answer (the room's peer limit is reached).
func IsServiceUnavailable(err error) bool {
	return StatusCode(err) == http.StatusServiceUnavailable
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// request describes one API call.
type request struct {
	method string
	path   string     // already escaped
	query  url.Values // optional
	body   any        // JSON-encoded when non-nil
	auth   bool       // send the bearer token and Accept: application/json
}

// do sends req and returns the body of a 2xx answer, or an *APIError.
func (c *Client) do(ctx context.Context, req request) ([]byte, error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("serversdk: encode %s %s: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("serversdk: %w", err)
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.auth {
		hr.Header.Set("Authorization", "Bearer "+c.token)
		hr.Header.Set("Accept", "application/json")
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("serversdk: %s %s: %w", req.method, req.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, newAPIError(resp.StatusCode, b)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("serversdk: %s %s: read body: %w", req.method, req.path, err)
	}
	return b, nil
}

// doData sends req and decodes the "data" member of the answer into out.
func (c *Client) doData(ctx context.Context, req request, out any) error {
	b, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	env := struct {
		Data any `json:"data"`
	}{out}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("serversdk: %s %s: decode answer: %w", req.method, req.path, err)
	}
	return nil
}

func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var shape struct {
		Errors json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &shape) == nil && len(shape.Errors) > 0 {
		var detail struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(shape.Errors, &e.Message) == nil {
			return e
		}
		if json.Unmarshal(shape.Errors, &detail) == nil && detail.Detail != "" {
			e.Detail = detail.Detail
			return e
		}
	}
	const maxShown = 512
	s := strings.TrimSpace(string(body))
	if len(s) > maxShown {
		s = s[:maxShown]
	}
	e.Body = s
	return e
}

// path joins escaped path segments: path("room", id) is "/room/<id escaped>".
func path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
