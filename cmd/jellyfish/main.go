// Command jellyfish runs the Jellyfish-compatible media server: the REST API, the peer and
// server WebSockets and webhooks on JF_IP:JF_PORT, and Prometheus metrics on
// JF_METRICS_IP:JF_METRICS_PORT. It is configured by JF_* environment variables (jellyfish -h).
package main

import (
	"context"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/builtin"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
	"github.com/jellyfish-go/jellyfish/metrics"
	"github.com/jellyfish-go/jellyfish/rtc"
	"github.com/jellyfish-go/jellyfish/rtc/turn"
	"github.com/jellyfish-go/jellyfish/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jellyfish:", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds the graceful shutdown of the HTTP listeners.
const shutdownTimeout = 10 * time.Second

// run serves until ctx ends, then shuts down gracefully. Logs go to out.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), out io.Writer) error {
	flags := flag.NewFlagSet("jellyfish", flag.ContinueOnError)
	flags.SetOutput(out)
	flags.Usage = func() { usage(out) }
	if err := flags.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(lookup)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg, out)
	log.Info("starting jellyfish", "version", server.Version, "config", cfg)
	if cfg.ServerAPITokenGenerated {
		log.Warn("JF_SERVER_API_TOKEN is not set; using a generated server API token", "token", cfg.ServerAPIToken)
	}

	engine, err := jellyfish.New(engineConfig(cfg, log))
	if err != nil {
		return err
	}
	defer engine.Close()
	if cfg.WebRTC.Used {
		if err := engine.StartMedia(); err != nil {
			return fmt.Errorf("media plane: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	collector, err := metrics.New(engine, reg, metrics.Options{Logger: log})
	if err != nil {
		return err
	}
	defer collector.Close()

	api, err := server.New(engine, server.Config{
		ServerAPIToken: cfg.ServerAPIToken,
		Address:        cfg.Host,
		CheckOrigin:    cfg.CheckOrigin,
		ResourcesPath:  cfg.ResourcesBasePath,
		GitCommit:      cfg.GitCommit,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	defer api.Close()

	mainLn, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return err
	}
	metricsLn, err := net.Listen("tcp", cfg.MetricsAddr())
	if err != nil {
		mainLn.Close()
		return err
	}
	mainSrv := &http.Server{Handler: collector.HTTPMiddleware(api), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	// http.Server.Shutdown does not wait for hijacked connections: close the sockets ourselves.
	mainSrv.RegisterOnShutdown(func() { api.Close() })
	metricsSrv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 10 * time.Second}

	errc := make(chan error, 2)
	go func() { // ends when mainSrv is shut down below
		if cfg.TLS() {
			errc <- mainSrv.ServeTLS(mainLn, cfg.SSLCertPath, cfg.SSLKeyPath)
		} else {
			errc <- mainSrv.Serve(mainLn)
		}
	}()
	go func() { errc <- metricsSrv.Serve(metricsLn) }() // ends when metricsSrv is shut down below
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	log.Info("listening", "api", scheme+"://"+mainLn.Addr().String(), "metrics", "http://"+metricsLn.Addr().String()+"/metrics", "public_address", cfg.Host)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
		log.Error("listener failed", "err", serveErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	mainSrv.Shutdown(sctx)
	metricsSrv.Shutdown(sctx)
	for range 2 - btoi(serveErr != nil) {
		<-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	log.Info("stopped")
	return serveErr
}

// engineConfig maps the JF_* configuration to the engine's.
func engineConfig(cfg config, log *slog.Logger) jellyfish.Config {
	w := cfg.WebRTC
	ec := jellyfish.Config{
		Logger:             log,
		PeerTokenSecret:    cfg.SecretKeyBase,
		WebRTCDisabled:     !w.Used,
		ComponentFactories: builtin.Factories(componentConfig(cfg)),
	}
	if !w.Used {
		return ec
	}
	ec.Media = rtc.Config{Logger: log, ListenIP: w.TURNListenIP, UDPPort: w.ICEUDPPort, TCPPort: w.ICETCPPort}
	if w.TURNIP != w.TURNListenIP {
		ec.Media.PublicIPs = []string{w.TURNIP.String()}
	}
	ec.TURN = turn.Config{
		Logger: log, ListenIP: w.TURNListenIP, PublicIP: w.TURNIP,
		UDPPort: w.TURNUDPPort, TCPPort: w.TCPPort,
		RelayPortMin: w.PortMin, RelayPortMax: w.PortMax,
	}
	return ec
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func newLogger(cfg config, out io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.StructuredLogging {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// componentConfig maps the environment to the built-in components' configuration.
func componentConfig(cfg config) builtin.Config {
	bc := builtin.Config{
		ResourcesPath:     cfg.ResourcesBasePath,
		FFmpeg:            cfg.FFmpegPath,
		RecordingDisabled: !cfg.RecordingUsed,
		S3Endpoint:        cfg.S3Endpoint,
		S3Insecure:        cfg.S3Insecure,
	}
	if c := cfg.S3; c != nil {
		bc.S3 = &s3upload.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Region: c.Region, Bucket: c.Bucket}
	}
	if cfg.S3PathPrefix != "" {
		p := cfg.S3PathPrefix
		bc.S3PathPrefix = &p
	}
	return bc
}
