// Package testserver starts a real engine and its Jellyfish server on 127.0.0.1 for tests that
// drive it over the network (the Go client SDK, the integration tests, the load tool).
package testserver

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/server"
)

// Token is the server API token of the servers Start starts.
const Token = "t"

// Server is a running engine and server; the test's cleanup closes both.
type Server struct {
	Engine *jellyfish.Engine
	// URL is the base URL of the REST API ("http://127.0.0.1:port").
	URL string
	// PeerURL is the peer_websocket_url ("127.0.0.1:port/socket/peer/websocket").
	PeerURL string
}

// Options change what Start starts.
type Options struct {
	// ComponentFactories is the engine's Config.ComponentFactories (none by default).
	ComponentFactories map[jellyfish.ComponentType]jellyfish.ComponentFactory
	// ResourcesPath is the server's JF_RESOURCES_BASE_PATH; default: a temporary directory.
	ResourcesPath string
}

// Start starts an engine and its server, logging to log (tagged side=server).
func Start(t testing.TB, log *slog.Logger) *Server { return StartWith(t, log, Options{}) }

// StartWith starts an engine and its server with opts.
func StartWith(t testing.TB, log *slog.Logger, opts Options) *Server {
	t.Helper()
	log = log.With("side", "server")
	if opts.ResourcesPath == "" {
		opts.ResourcesPath = t.TempDir()
	}
	e, err := jellyfish.New(jellyfish.Config{Logger: log, ComponentFactories: opts.ComponentFactories})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	addr := ts.Listener.Addr().String()
	srv, err := server.New(e, server.Config{ServerAPIToken: Token, Address: addr, Logger: log, ResourcesPath: opts.ResourcesPath})
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
		e.Close()
	})
	return &Server{Engine: e, URL: ts.URL, PeerURL: addr + server.PeerSocketPath}
}
