// Package server is the network surface of an engine: the Jellyfish v0.5.0 REST API, the peer
// and server WebSockets (from package signaling) and webhooks, as one http.Handler that an
// embedder can mount on its own mux.
package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/signaling"
)

// Version is the Jellyfish version whose API this server implements, reported by GET /health.
const Version = "0.5.0"

// Paths of the two WebSockets.
const (
	PeerSocketPath   = "/socket/peer/websocket"
	ServerSocketPath = "/socket/server/websocket"
)

// Config configures a Server. Its zero value works except for ServerAPIToken.
type Config struct {
	// ServerAPIToken authenticates the REST API (Authorization: Bearer) and the server socket.
	// Required.
	ServerAPIToken string
	// Address is the public "host:port" of this server (JF_HOST): the jellyfish_address of new
	// rooms and the base of peer_websocket_url. Default: "127.0.0.1:8080".
	Address string
	// CheckOrigin decides which Origin headers may open a WebSocket (host is the request's Host).
	// Nil: any origin. A request without Origin always passes.
	CheckOrigin func(origin, host string) bool
	// ResourcesPath is the base directory of recordings and HLS output (JF_RESOURCES_BASE_PATH).
	// Default: "jellyfish_resources".
	ResourcesPath string
	// GitCommit is reported by GET /health (JF_GIT_COMMIT). Default: "dev".
	GitCommit string
	// Logger receives the server's logs. Default: slog.Default().
	Logger *slog.Logger
	// Sockets tunes the WebSockets (ping interval, timeouts, metrics period). Zero: defaults.
	Sockets signaling.Options
	// WebhookTimeout bounds one webhook delivery. Default: 10 s.
	WebhookTimeout time.Duration
}

// ErrNoToken is returned by New without a ServerAPIToken.
var ErrNoToken = errors.New("server: ServerAPIToken is required")

// Server serves an engine over HTTP. Create it with New, mount it as an http.Handler, and Close
// it when done (it does not close the engine).
type Server struct {
	engine   *jellyfish.Engine
	cfg      Config
	log      *slog.Logger
	token    [sha256.Size]byte
	handler  http.Handler
	peers    *signaling.PeerHandler
	servers  *signaling.ServerHandler
	webhooks *webhookNotifier
}

// New returns a server for engine e. It starts the webhook notifier, which Close stops.
func New(e *jellyfish.Engine, cfg Config) (*Server, error) {
	if cfg.ServerAPIToken == "" {
		return nil, ErrNoToken
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:8080"
	}
	if cfg.ResourcesPath == "" {
		cfg.ResourcesPath = "jellyfish_resources"
	}
	if cfg.GitCommit == "" {
		cfg.GitCommit = "dev"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	sockets := cfg.Sockets
	sockets.Logger = cfg.Logger
	sockets.CheckOrigin = cfg.CheckOrigin
	s := &Server{
		engine:   e,
		cfg:      cfg,
		log:      cfg.Logger,
		token:    sha256.Sum256([]byte(cfg.ServerAPIToken)),
		peers:    signaling.NewPeerHandler(e, sockets),
		servers:  signaling.NewServerHandler(e, cfg.ServerAPIToken, sockets),
		webhooks: newWebhookNotifier(e, cfg.WebhookTimeout, cfg.Logger),
	}
	s.handler = cors(trimTrailingSlash(s.dotSegments(s.routes())))
	return s, nil
}

// ServeHTTP serves the REST API and the WebSockets.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close closes every WebSocket and stops the webhook notifier, waiting for their goroutines.
// Register it with http.Server.RegisterOnShutdown: Shutdown does not wait for WebSockets.
func (s *Server) Close() error {
	s.peers.Close()
	s.servers.Close()
	s.webhooks.close()
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.authenticated(h)) }
	api("GET /health", s.health)
	api("GET /room", s.listRooms)
	api("POST /room", s.createRoom)
	api("GET /room/{room_id}", s.getRoom)
	api("DELETE /room/{room_id}", s.deleteRoom)
	api("POST /room/{room_id}/peer", s.addPeer)
	api("DELETE /room/{room_id}/peer/{id}", s.deletePeer)
	api("POST /room/{room_id}/component", s.addComponent)
	api("DELETE /room/{room_id}/component/{id}", s.deleteComponent)
	api("POST /room/{room_id}/component/{component_id}/subscribe", s.subscribe)
	api("POST /sip/{room_id}/{component_id}/call", s.sipCall)
	api("DELETE /sip/{room_id}/{component_id}/call", s.sipCall)
	api("GET /recording", s.listRecordings)
	api("DELETE /recording/{recording_id}", s.deleteRecording)
	mux.HandleFunc("GET /recording/{recording_id}/{filename}", s.recordingContent)
	mux.HandleFunc("GET /hls/{room_id}/{filename}", s.hlsContent)
	mux.Handle("GET "+PeerSocketPath, s.peers)
	mux.Handle("GET "+ServerSocketPath, s.servers)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFrameworkError(w, http.StatusNotFound)
	})
	return mux
}

// authenticated runs Jellyfish's two plugs of the API scope: the Accept check, then bearer auth.
func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsJSON(r.Header.Values("Accept")) {
			writeFrameworkError(w, http.StatusNotAcceptable)
			return
		}
		auth := r.Header.Values("Authorization")
		if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
			writeError(w, http.StatusUnauthorized, "Missing token")
			return
		}
		// Hashing first makes the comparison constant-time in the token's length too
		// (Jellyfish compares with ==).
		got := sha256.Sum256([]byte(strings.TrimPrefix(auth[0], "Bearer ")))
		if subtle.ConstantTimeCompare(got[:], s.token[:]) != 1 {
			writeError(w, http.StatusUnauthorized, "Invalid token")
			return
		}
		h(w, r)
	})
}

// acceptsJSON reports whether the Accept headers allow a JSON answer; no header allows anything.
func acceptsJSON(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || params["q"] == "0" {
				continue
			}
			if mt == "*/*" || mt == "application/*" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
				return true
			}
		}
	}
	return false
}

// params reads the request's parameters, answering the framework error if the body is bad.
func (s *Server) params(w http.ResponseWriter, r *http.Request) (params, bool) {
	p, err := readParams(r)
	switch {
	case errors.Is(err, errTooLarge):
		writeFrameworkError(w, http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		writeFrameworkError(w, http.StatusBadRequest)
		return nil, false
	}
	return p, true
}

// trimTrailingSlash makes "/room/" route as "/room", as Jellyfish's router does.
func trimTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimRight(p, "/")
			if r2.URL.Path == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = strings.TrimRight(r.URL.RawPath, "/")
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// dotSegments answers DELETE /recording/. and /recording/.. itself: http.ServeMux would clean
// the path and redirect, but Jellyfish answers these with 400 (its tests send them).
func (s *Server) dotSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/recording/"); ok && (id == "." || id == "..") && r.Method == http.MethodDelete {
			s.authenticated(s.deleteRecording).ServeHTTP(w, withPathValue(r, "recording_id", id))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func withPathValue(r *http.Request, name, value string) *http.Request {
	r = r.Clone(r.Context())
	r.SetPathValue(name, value)
	return r
}

// cors allows any origin, as Jellyfish's CORS plug does, and answers preflights itself (before
// auth). Unlike cors_plug's defaults it does not allow credentials: with origin "*" browsers
// refuse them anyway, and the API authenticates with a bearer header.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE,OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization,Content-Type,Accept,Origin,User-Agent,DNT,Cache-Control,X-Mx-ReqToken,Keep-Alive,X-Requested-With,If-Modified-Since,X-CSRF-Token")
			h.Set("Access-Control-Max-Age", "1728000")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
