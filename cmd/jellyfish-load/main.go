// Command jellyfish-load generates WebRTC load against a running Jellyfish server and reports
// throughput, loss, latency and the server's CPU and memory per forwarded packet.
//
// Rooms and peers are created over the REST API (serversdk); every peer is a pion
// PeerConnection joined over the real peer WebSocket (clientsdk). Publishers send synthetic VP8
// and Opus whose payloads carry a send timestamp; subscribers read every remote track. See
// jellyfish-load -h and docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // after the first signal, a second one kills the process (default behaviour)
		<-ctx.Done()
		stop()
	}()
	err := runMain(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "jellyfish-load: interrupted")
		stop()
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jellyfish-load:", err)
		stop()
		os.Exit(1)
	}
}

// runMain parses the command line, runs the load, prints the report to out and writes the JSON
// file. Logs go to errOut.
func runMain(ctx context.Context, args []string, lookup func(string) (string, bool), out, errOut io.Writer) error {
	cfg, err := parseFlags(args, lookup, errOut)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := run(ctx, cfg, out, log)
	if rep == nil {
		return err
	}
	rep.print(out)
	if cfg.JSONPath != "" {
		if jerr := rep.writeJSON(cfg.JSONPath); jerr != nil {
			return errors.Join(err, fmt.Errorf("write -json: %w", jerr))
		}
	}
	return err
}
