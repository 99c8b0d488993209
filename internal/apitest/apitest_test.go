package apitest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recordingTB is a testing.TB whose Errorf records the message instead of
// failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recordingTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

const (
	jsonCT = "application/json; charset=utf-8"
	health = `{"data":{"distribution":{"enabled":false,"nodeStatus":"DOWN","nodesInCluster":0},` +
		`"gitCommit":"dev","status":"UP","uptime":3,"version":"0.5.0"}}`
)

// reply is what the fake server answers; the request names it by index.
type reply struct {
	status int
	ct     string
	body   string
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		path        string
		reply       reply
		wantErr     bool // the validator reports a mismatch
		wantChecked bool // the validator counts the response
	}{
		{"health ok", "GET", "/health", reply{200, jsonCT, health}, false, true},
		{"health missing fields", "GET", "/health", reply{200, jsonCT, `{"data":{"status":"UP"}}`}, true, true},
		{"health not json", "GET", "/health", reply{200, "text/plain", health}, true, true},
		{"health undeclared status", "GET", "/health", reply{503, jsonCT, `{"errors":"x"}`}, true, true},
		{"application error", "GET", "/room/abc/", reply{404, jsonCT, `{"errors":"Room abc does not exist"}`}, false, true},
		{"framework error", "GET", "/health", reply{406, jsonCT, `{"errors":{"detail":"Not Acceptable"}}`}, false, true},
		{"error extra key", "GET", "/health", reply{401, jsonCT, `{"errors":"Missing token","x":1}`}, true, true},
		{"sip end call", "DELETE", "/sip/r/c/call", reply{204, jsonCT, ""}, false, true},
		{"delete room 200", "DELETE", "/room/abc", reply{200, jsonCT, "{}"}, true, true},
		{"subscribe text", "POST", "/room/r/component/c/subscribe", reply{201, "text/plain; charset=utf-8", "Successfully subscribed for tracks"}, false, true},
		{"hls playlist", "GET", "/hls/r/index.m3u8", reply{200, "application/vnd.apple.mpegurl", "#EXTM3U\n"}, false, true},
		{"hls no content type", "GET", "/hls/r/index.m3u8", reply{200, "", "#EXTM3U\n"}, true, true},
		{"escaped id", "DELETE", "/recording/..%2Fx", reply{400, jsonCT, `{"errors":"Invalid recording id, got: ../x"}`}, false, true},
		{"unknown route 404", "PUT", "/room", reply{404, jsonCT, `{"errors":{"detail":"Not Found"}}`}, false, false},
		{"unknown route 200", "PUT", "/room", reply{200, jsonCT, `{}`}, true, false},
		{"preflight", "OPTIONS", "/room", reply{204, "", ""}, false, false},
		{"outside api", "GET", "/socket/peer/websocket", reply{400, "text/plain", "Bad Request"}, false, false},
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.Header.Get("X-Case"))
		if err != nil || i < 0 || i >= len(tests) {
			http.Error(w, "bad case", http.StatusTeapot)
			return
		}
		rep := tests[i].reply
		if rep.ct != "" {
			w.Header().Set("Content-Type", rep.ct)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)

	v := Load(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			client := &http.Client{Transport: v.Transport(rec, base)}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Case", strconv.Itoa(i))
			before := v.Checked()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.reply.body {
				t.Errorf("body after validation = %q, want %q", body, tc.reply.body)
			}
			errs := rec.errors()
			if gotErr := len(errs) > 0; gotErr != tc.wantErr {
				t.Errorf("reported errors = %q, want error: %v", errs, tc.wantErr)
			}
			for _, e := range errs {
				if !strings.Contains(e, tc.method) || !strings.Contains(e, strconv.Itoa(tc.reply.status)) {
					t.Errorf("error %q does not name the method and status", e)
				}
			}
			if gotChecked := v.Checked() > before; gotChecked != tc.wantChecked {
				t.Errorf("counted = %v, want %v", gotChecked, tc.wantChecked)
			}
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A Go server cannot send a body with 204, so the base transport fakes one.
func TestTransportNoContentWithBody(t *testing.T) {
	base := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode: http.StatusNoContent,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader("x")),
			Request:    r,
		}, nil
	})
	rec := &recordingTB{TB: t}
	req, err := http.NewRequestWithContext(t.Context(), "DELETE", "http://127.0.0.1:1/room/abc", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := Load(t).Transport(rec, base).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], "204") {
		t.Errorf("reported errors = %q, want one about the 204 body", errs)
	}
}
