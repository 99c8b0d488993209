// Command videoroom is a small video-conference web app: a Go backend plus a browser page that
// uses the unmodified official client, @jellyfish-dev/ts-client-sdk 0.4.0.
//
// The backend serves the page and one JSON endpoint, POST /api/join?room=<name>&name=<display
// name>, which creates the room if needed, adds a peer and returns its token and where its
// client connects. By default it embeds the engine and serves the Jellyfish API (REST and both
// WebSockets) on the same address as the page; with -jellyfish-url it drives an existing
// Jellyfish server through the server SDK instead.
//
//	go run ./examples/videoroom                # then open http://127.0.0.1:5005
//	go run ./examples/videoroom -jellyfish-url http://127.0.0.1:8080 -token secret
//
// The page's bundle (static/app.js) is built by scripts/install-e2e-deps; -test-hooks adds the
// endpoints the browser tests (e2e/) use.
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// assets holds the page. static/app.js is generated (gitignored); static/README.md keeps the
// directory embeddable when it has not been built yet.
//
//go:embed web/index.html static
var assets embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "videoroom:", err)
		os.Exit(1)
	}
}

// run is the whole program: it parses args, prints the page's URL to out once it listens, logs to
// logw, and returns when ctx ends (nil, after a graceful shutdown) or the server fails.
func run(ctx context.Context, args []string, out, logw io.Writer) error {
	flags := flag.NewFlagSet("videoroom", flag.ContinueOnError)
	flags.SetOutput(logw)
	addr := flags.String("addr", "127.0.0.1:5005", "address of the page, /api/join and (embedded mode) the Jellyfish API; port 0 picks a free one")
	jellyfishURL := flags.String("jellyfish-url", "", "base URL of an existing Jellyfish server (e.g. http://127.0.0.1:8080); empty: embed the engine")
	token := flags.String("token", os.Getenv("JF_SERVER_API_TOKEN"), "server API token: of the Jellyfish server with -jellyfish-url, else of the embedded API (default: $JF_SERVER_API_TOKEN, else random and printed)")
	codec := flags.String("video-codec", "vp8", "video codec of the rooms this app creates: vp8, h264 or any")
	testHooks := flags.Bool("test-hooks", false, "embedded mode only: add POST /api/test/drop-socket?peer=<id> for the browser tests")
	logLevel := flags.String("log-level", "info", "log level: debug, info, warn or error")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if *codec != "vp8" && *codec != "h264" && *codec != "any" {
		return fmt.Errorf("-video-codec: want vp8, h264 or any, got %q", *codec)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	pageURL := "http://" + ln.Addr().String()

	mux := http.NewServeMux()
	var b backend
	switch {
	case *jellyfishURL != "":
		if *token == "" {
			return errors.New("-token (or JF_SERVER_API_TOKEN) is required with -jellyfish-url")
		}
		if *testHooks {
			return errors.New("-test-hooks needs the embedded engine (no -jellyfish-url)")
		}
		b, err = newRemote(*jellyfishURL, *token, *codec)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "videoroom: using the Jellyfish server at %s\n", *jellyfishURL)
	default:
		if *token == "" {
			*token = randomToken()
			fmt.Fprintf(out, "videoroom: server API token of the embedded Jellyfish API: %s\n", *token)
		}
		e, err := newEmbedded(embeddedConfig{
			Address: ln.Addr().String(), Token: *token, Codec: *codec, TestHooks: *testHooks, Logger: logger,
		})
		if err != nil {
			return err
		}
		defer e.Close()
		e.mount(mux)
		b = e
	}
	mountApp(mux, b, logger)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(func() { b.Close() }) // Shutdown does not wait for WebSockets
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }() // owned by run: it waits for serveErr below

	fmt.Fprintf(out, "videoroom: open %s/\n", pageURL)
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// backend is where rooms and peers are made: the embedded engine or a remote Jellyfish server.
type backend interface {
	// join creates room if it does not exist and adds a peer to it. host is the Host the browser
	// used to reach this app.
	join(ctx context.Context, room, host string) (joinAnswer, error)
	// Close releases the backend (closes the embedded engine's sockets).
	Close() error
}

// joinAnswer is the body of POST /api/join.
type joinAnswer struct {
	RoomID string `json:"roomId"`
	PeerID string `json:"peerId"`
	Token  string `json:"token"`
	// PeerWebsocketURL is Jellyfish's "host:port/path" of the peer socket, without a scheme.
	PeerWebsocketURL string `json:"peerWebsocketUrl"`
	// Signaling is the same address in the shape of the client's ConnectConfig.signaling.
	Signaling signalingURL `json:"signaling"`
}

// signalingURL is the client SDK's SignalingUrl.
type signalingURL struct {
	Protocol string `json:"protocol"`
	Host     string `json:"host"`
	Path     string `json:"path"`
}

// errBadRequest marks a join error caused by the request (answered 400).
var errBadRequest = errors.New("bad request")

// maxNameLen bounds the display name, in characters.
const maxNameLen = 64

// mountApp adds the page, its bundle and POST /api/join to mux.
func mountApp(mux *http.ServeMux, b backend, log *slog.Logger) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page, _ := assets.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(page)
	})
	bundle := func(name, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(assets, "static/"+name)
			if err != nil {
				http.Error(w, "static/"+name+" is not built: run scripts/install-e2e-deps, then restart", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write(b)
		}
	}
	mux.HandleFunc("GET /app.js", bundle("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.js.map", bundle("app.js.map", "application/json"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /api/join", func(w http.ResponseWriter, r *http.Request) {
		room, name := r.URL.Query().Get("room"), r.URL.Query().Get("name")
		switch {
		case room == "":
			writeJSONError(w, http.StatusBadRequest, "room is required")
			return
		case name == "" || utf8.RuneCountInString(name) > maxNameLen:
			writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("name is required, at most %d characters", maxNameLen))
			return
		}
		answer, err := b.join(r.Context(), room, r.Host)
		if err != nil {
			status := http.StatusBadGateway
			if errors.Is(err, errBadRequest) {
				status = http.StatusBadRequest
			}
			log.Warn("join failed", "room", room, "err", err)
			writeJSONError(w, status, err.Error())
			return
		}
		log.Info("joined through the app", "room", answer.RoomID, "peer", answer.PeerID, "name", name)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	})
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// splitSocketURL splits Jellyfish's peer_websocket_url ("host:port/path") for the client.
func splitSocketURL(u, protocol string) signalingURL {
	host, path, ok := strings.Cut(u, "/")
	if !ok {
		return signalingURL{Protocol: protocol, Host: host, Path: "/socket/peer/websocket"}
	}
	return signalingURL{Protocol: protocol, Host: host, Path: "/" + path}
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
