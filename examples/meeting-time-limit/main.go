// Command meeting-time-limit is a tiny backend that embeds a Jellyfish engine in its own process
// and ends a meeting when its time is up.
//
// It creates a room, adds two peers (printing the tokens their clients would present on the peer
// socket), logs every server notification, and deletes the room once -duration has passed. It
// returns when the room is gone, or on SIGINT/SIGTERM after closing the engine.
//
//	go run ./examples/meeting-time-limit -duration 10s -room standup
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
	"syscall"
	"time"

	"github.com/jellyfish-go/jellyfish"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "meeting-time-limit:", err)
		os.Exit(1)
	}
}

// run is the whole program: it parses args, writes its log to out, and returns when the meeting
// room was deleted (nil) or when ctx ends (nil, after closing the engine).
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("meeting-time-limit", flag.ContinueOnError)
	fs.SetOutput(out)
	duration := fs.Duration("duration", 30*time.Second, "how long the meeting may last")
	roomID := fs.String("room", "meeting", "id of the meeting room (letters, digits and hyphens)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *duration <= 0 {
		return fmt.Errorf("-duration must be positive, got %v", *duration)
	}

	// The engine's own logs: warnings and errors only, to keep the output about the meeting.
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := jellyfish.New(jellyfish.Config{Logger: logger})
	if err != nil {
		return err
	}
	defer engine.Close()

	events := engine.Subscribe(0) // before creating the room, so that RoomCreated is seen
	defer events.Close()

	room, err := engine.CreateRoom(jellyfish.RoomConfig{RoomID: *roomID})
	if err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	for _, name := range []string{"alice", "bob"} {
		peer, token, err := room.AddPeer(jellyfish.PeerOptions{})
		if err != nil {
			return fmt.Errorf("add peer %s: %w", name, err)
		}
		fmt.Fprintf(out, "peer %s (%s) token: %s\n", name, peer.ID(), token)
	}
	fmt.Fprintf(out, "meeting %s ends in %v\n", room.ID(), *duration)

	limit := time.NewTimer(*duration)
	defer limit.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "shutting down")
			engine.Close() // deletes the room; its events are still delivered before the channel closes
			for ev := range events.Events() {
				logEvent(out, ev)
			}
			return nil

		case <-limit.C:
			fmt.Fprintf(out, "time is up: deleting room %s\n", room.ID())
			if err := engine.DeleteRoom(room.ID()); err != nil && !errors.Is(err, jellyfish.ErrRoomNotFound) {
				return fmt.Errorf("delete room: %w", err)
			}

		case ev, ok := <-events.Events():
			if !ok {
				return fmt.Errorf("event subscription ended: %w", events.Err())
			}
			logEvent(out, ev)
			if d, ok := ev.(jellyfish.RoomDeleted); ok && d.RoomID == room.ID() {
				return nil
			}
		}
	}
}

// logEvent writes one line per notification.
func logEvent(out io.Writer, ev jellyfish.Event) {
	switch ev := ev.(type) {
	case jellyfish.RoomCreated:
		fmt.Fprintf(out, "event: room created: %s\n", ev.RoomID)
	case jellyfish.RoomDeleted:
		fmt.Fprintf(out, "event: room deleted: %s\n", ev.RoomID)
	case jellyfish.PeerAdded:
		fmt.Fprintf(out, "event: peer added: %s/%s\n", ev.RoomID, ev.PeerID)
	case jellyfish.PeerConnected:
		fmt.Fprintf(out, "event: peer connected: %s/%s\n", ev.RoomID, ev.PeerID)
	case jellyfish.PeerDisconnected:
		fmt.Fprintf(out, "event: peer disconnected: %s/%s\n", ev.RoomID, ev.PeerID)
	case jellyfish.PeerDeleted:
		fmt.Fprintf(out, "event: peer deleted: %s/%s\n", ev.RoomID, ev.PeerID)
	default:
		fmt.Fprintf(out, "event: %T: %s\n", ev, ev.Room())
	}
}
