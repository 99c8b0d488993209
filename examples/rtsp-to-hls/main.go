// Command rtsp-to-hls broadcasts an RTSP camera to HLS viewers: it embeds the engine, starts a
// simulated IP camera (an RTSP server on 127.0.0.1 playing a test pattern made by ffmpeg),
// creates a room with an RTSP component pulling the camera and an HLS component, and serves a
// player page (hls.js) next to the Jellyfish API.
//
//	scripts/install-e2e-deps        # once: hls.js (npm) and ffmpeg
//	go run ./examples/rtsp-to-hls   # then open the printed URL
//
// With -camera rtsp://... it pulls a real camera instead of the simulated one. The HLS output
// is LL-HLS by default; -transcode (needs ffmpeg) composites through ffmpeg as Jellyfish does
// instead of forwarding the camera's H.264 as it is.
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/builtin"
	"github.com/jellyfish-go/jellyfish/server"
)

//go:embed web/index.html
var page embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rtsp-to-hls:", err)
		os.Exit(1)
	}
}

// run is the whole program: it prints the player's URL to out once everything is up, logs to
// logw, and returns when ctx ends.
func run(ctx context.Context, args []string, out, logw io.Writer) error {
	flags := flag.NewFlagSet("rtsp-to-hls", flag.ContinueOnError)
	flags.SetOutput(logw)
	addr := flags.String("addr", "127.0.0.1:5006", "address of the player page and the Jellyfish API; port 0 picks a free one")
	cameraAddr := flags.String("camera-addr", "127.0.0.1:8554", "address of the simulated camera's RTSP server")
	cameraURL := flags.String("camera", "", "RTSP URL of a real camera; empty: start the simulated one")
	transcode := flags.Bool("transcode", false, "composite through ffmpeg (Jellyfish's HLS) instead of forwarding the camera's H.264")
	lowLatency := flags.Bool("low-latency", true, "LL-HLS (partial segments, blocking playlist reload)")
	ffmpeg := flags.String("ffmpeg", "ffmpeg", "ffmpeg binary (the simulated camera's clip, -transcode)")
	hlsjs := flags.String("hlsjs", "e2e/node_modules/hls.js/dist/hls.min.js", "hls.js file the page loads (installed by scripts/install-e2e-deps)")
	resources := flags.String("resources", "", "JF_RESOURCES_BASE_PATH; empty: a temporary directory")
	logLevel := flags.String("log-level", "info", "debug, info, warn or error")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	if _, err := os.Stat(*hlsjs); err != nil {
		return fmt.Errorf("hls.js not found (%w): run scripts/install-e2e-deps from the repository root, or pass -hlsjs", err)
	}
	if *resources == "" {
		dir, err := os.MkdirTemp("", "rtsp-to-hls-resources-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*resources = dir
	}

	source := *cameraURL
	if source == "" {
		cam, err := startCamera(ctx, *cameraAddr, *ffmpeg)
		if err != nil {
			return err
		}
		defer cam.close()
		source = "rtsp://" + *cameraAddr + "/cam"
		log.Info("simulated camera serving", "url", source)
	}

	engine, err := jellyfish.New(jellyfish.Config{Logger: log, ComponentFactories: builtin.Factories(builtin.Config{ResourcesPath: *resources, FFmpeg: *ffmpeg})})
	if err != nil {
		return err
	}
	defer engine.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	token := rand.Text() // the REST API's bearer token: printed, for curl
	api, err := server.New(engine, server.Config{ServerAPIToken: token, Address: ln.Addr().String(), ResourcesPath: *resources, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer api.Close()

	room, err := broadcast(engine, source, *transcode, *lowLatency)
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/", api) // the Jellyfish API, /hls/<room>/... included
	mux.HandleFunc("GET /player", func(w http.ResponseWriter, r *http.Request) {
		b, _ := page.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	})
	mux.HandleFunc("GET /player/hls.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, *hlsjs) })
	mux.HandleFunc("GET /player/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"playlist": "/hls/" + room.ID() + "/index.m3u8", "room": room.ID()})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "rtsp-to-hls: open http://%s/player (camera %s, room %s, API token %s)\n", ln.Addr(), source, room.ID(), token)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// broadcast creates an H.264 room with the camera and an HLS output subscribed to it.
func broadcast(engine *jellyfish.Engine, source string, transcode, lowLatency bool) (*jellyfish.Room, error) {
	room, err := engine.CreateRoom(jellyfish.RoomConfig{VideoCodec: jellyfish.VideoCodecH264})
	if err != nil {
		return nil, err
	}
	rtspOpts, _ := json.Marshal(map[string]any{"sourceUri": source, "reconnectDelay": 1000})
	if _, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentRTSP, Options: rtspOpts}); err != nil {
		return nil, fmt.Errorf("adding the RTSP component: %w", err)
	}
	hlsOpts, _ := json.Marshal(map[string]any{"lowLatency": lowLatency, "transcode": transcode})
	if _, err := room.AddComponent(jellyfish.ComponentOptions{Type: jellyfish.ComponentHLS, Options: hlsOpts}); err != nil {
		return nil, fmt.Errorf("adding the HLS component: %w", err)
	}
	return room, nil
}
