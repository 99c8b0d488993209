package serversdk_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/internal/apitest"
	"github.com/jellyfish-go/jellyfish/server"
	"github.com/jellyfish-go/jellyfish/serversdk"
	"github.com/jellyfish-go/jellyfish/signaling"
)

const testToken = "secret"

// env is a real server on 127.0.0.1 and an SDK client whose every answer is validated against
// openapi.yaml.
type env struct {
	ts        *httptest.Server
	srv       *server.Server
	address   string // host:port, the server's jellyfish_address
	resources string // the server's ResourcesPath
	client    *serversdk.Client
	spec      *apitest.Validator
}

// newEnv starts the server; mod, if given, changes the engine's configuration (its resources
// directory is the server's).
func newEnv(t *testing.T, mod ...func(cfg *jellyfish.Config, resources string)) *env {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	resources := t.TempDir()
	cfg := jellyfish.Config{Logger: quiet}
	for _, m := range mod {
		m(&cfg, resources)
	}
	e, err := jellyfish.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	env := &env{ts: ts, address: ts.Listener.Addr().String(), resources: resources}
	srv, err := server.New(e, server.Config{
		ServerAPIToken: testToken,
		Address:        env.address,
		ResourcesPath:  env.resources,
		Logger:         quiet,
		Sockets:        signaling.Options{MetricsInterval: 50 * time.Millisecond},
	})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	env.srv = srv
	ts.Config.Handler = srv
	ts.Start()

	env.spec = apitest.Load(t)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	httpClient := &http.Client{Transport: env.spec.Transport(t, transport)}
	env.client = serversdk.NewClient(ts.URL, testToken, serversdk.WithHTTPClient(httpClient))
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		e.Close()
		transport.CloseIdleConnections()
	})
	return env
}

// requireValidated fails t unless some answer was validated against openapi.yaml.
func (e *env) requireValidated(t *testing.T) {
	t.Helper()
	if e.spec.Checked() == 0 {
		t.Error("no response was validated against openapi.yaml")
	}
}

// wantAPIError checks that err is an *APIError with the given status and message.
func wantAPIError(t *testing.T, err error, status int, message string) {
	t.Helper()
	e, ok := errors.AsType[*serversdk.APIError](err)
	if !ok {
		t.Fatalf("err = %v, want *APIError %d %q", err, status, message)
	}
	if e.Status != status || e.Message != message {
		t.Fatalf("APIError = %d %q (detail %q), want %d %q", e.Status, e.Message, e.Detail, status, message)
	}
}
