package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/apitest"
	"github.com/jellyfish-go/jellyfish/server"
	"github.com/jellyfish-go/jellyfish/signaling"
)

const testToken = "development"

type harness struct {
	t      *testing.T
	engine *jellyfish.Engine
	ts     *httptest.Server
	client *http.Client
	spec   *apitest.Validator
	calls  atomic.Int64 // REST calls made through do
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newHarness starts a real server on 127.0.0.1 whose every API answer is validated against
// openapi.yaml.
func newHarness(t *testing.T, mods ...func(*jellyfish.Config, *server.Config)) *harness {
	t.Helper()
	ecfg := jellyfish.Config{Logger: quietLogger()}
	scfg := server.Config{
		ServerAPIToken: testToken,
		Logger:         quietLogger(),
		ResourcesPath:  t.TempDir(),
		Sockets:        signaling.Options{MetricsInterval: 50 * time.Millisecond, AuthTimeout: 2 * time.Second},
	}
	for _, m := range mods {
		m(&ecfg, &scfg)
	}
	e, err := jellyfish.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	scfg.Address = ts.Listener.Addr().String()
	srv, err := server.New(e, scfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	spec := apitest.Load(t)
	h := &harness{t: t, engine: e, ts: ts, spec: spec, client: &http.Client{Transport: spec.Transport(t, nil)}}
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		e.Close()
		ts.Client().CloseIdleConnections()
		if h.calls.Load() > 0 && spec.Checked() == 0 {
			t.Error("no response was validated against openapi.yaml")
		}
	})
	return h
}

type response struct {
	status int
	body   string
	header http.Header
}

// do sends a request with the server token and a JSON content type unless headers override
// them ("Authorization": "" removes the token).
func (h *harness) do(method, path, body string, headers ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	h.calls.Add(1)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func (h *harness) expect(method, path, body string, wantStatus int, wantBody string, headers ...string) response {
	h.t.Helper()
	r := h.do(method, path, body, headers...)
	if r.status != wantStatus || (wantBody != "*" && r.body != wantBody) {
		h.t.Errorf("%s %s %s: got %d %s, want %d %s", method, path, body, r.status, r.body, wantStatus, wantBody)
	}
	return r
}
