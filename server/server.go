// Package server is the network surface of an engine: the Jellyfish v0.5.0 REST API, the peer
// and server WebSockets (from package signaling) and webhooks, as one http.Handler that an
// embedder can mount on its own mux.
package server

import (
	"log/slog"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// Config configures a Server. Its zero value works except for ServerAPIToken.
type Config struct {
	// ServerAPIToken authenticates the REST API (Authorization: Bearer) and the server socket.
	// Required.
	ServerAPIToken string
	// Address is the public "host:port" of this server (JF_HOST): the jellyfish_address of new
	// rooms and the base of peer_websocket_url. Default: "127.0.0.1:8080".
	Address string
	// CheckOrigin decides which Origin headers may open a WebSocket. Nil: any origin (a request
	// without Origin always passes).
	CheckOrigin func(origin, host string) bool
	// ResourcesPath is the base directory of recordings and HLS output (JF_RESOURCES_BASE_PATH).
	// Default: "jellyfish_resources".
	ResourcesPath string
	// GitCommit is reported by GET /health (JF_GIT_COMMIT). Default: "dev".
	GitCommit string
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
}

var _ = jellyfish.New
