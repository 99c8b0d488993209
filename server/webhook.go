package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/signaling"
)

// webhookQueue is how many notifications a room's webhook may have pending before new ones are
// dropped (and counted in the log): a slow endpoint never blocks its room or the engine.
const webhookQueue = 1024

// webhookNotifier posts each room's notifications to the room's webhookUrl as the binary
// protobuf ServerMessage (Content-Type application/x-protobuf), in order, one request at a time
// per room. Unlike Jellyfish's single global sender, rooms do not wait for each other's
// endpoints. Deliveries are not retried; failures are logged.
//
// Goroutines: one dispatcher (reads the engine subscription) and one sender per room with a
// webhook, which ends after the room's RoomDeleted or RoomCrashed, or at close.
type webhookNotifier struct {
	engine  *jellyfish.Engine
	client  *http.Client
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	senders map[string]*webhookSender // room id -> sender; only the dispatcher touches it
}

type webhookSender struct {
	url     string
	queue   chan []byte
	dropped int
}

func newWebhookNotifier(e *jellyfish.Engine, timeout time.Duration, log *slog.Logger) *webhookNotifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &webhookNotifier{
		engine:  e,
		client:  &http.Client{Timeout: timeout},
		log:     log,
		ctx:     ctx,
		cancel:  cancel,
		senders: map[string]*webhookSender{},
	}
	sub := e.Subscribe(16 * webhookQueue)
	n.wg.Go(func() { n.dispatch(sub) })
	return n
}

func (n *webhookNotifier) close() {
	n.cancel()
	n.wg.Wait()
}

func (n *webhookNotifier) dispatch(sub *jellyfish.Subscription) {
	defer func() {
		sub.Close()
		for _, s := range n.senders {
			close(s.queue)
		}
	}()
	for {
		select {
		case <-n.ctx.Done():
			return
		case ev, ok := <-sub.Events():
			if !ok {
				if !errors.Is(sub.Err(), jellyfish.ErrSlowSubscriber) {
					return // engine closed
				}
				n.log.Error("webhook notifier fell behind the engine; notifications were lost")
				sub = n.engine.Subscribe(16 * webhookQueue)
				continue
			}
			n.route(ev)
		}
	}
}

// route queues ev for its room's webhook; only the dispatcher goroutine calls it.
func (n *webhookNotifier) route(ev jellyfish.Event) {
	if rc, ok := ev.(jellyfish.RoomCreated); ok && rc.Config.WebhookURL != "" {
		s := &webhookSender{url: rc.Config.WebhookURL, queue: make(chan []byte, webhookQueue)}
		n.senders[rc.RoomID] = s
		n.wg.Go(func() { n.send(rc.RoomID, s) })
	}
	s, ok := n.senders[ev.Room()]
	if !ok {
		return
	}
	if m := signaling.Notification(ev); m != nil {
		body, _ := proto.Marshal(m)
		select {
		case s.queue <- body:
		default:
			s.dropped++
			if s.dropped == 1 || s.dropped%100 == 0 {
				n.log.Warn("webhook endpoint too slow; notification dropped", "room", ev.Room(), "dropped", s.dropped)
			}
		}
	}
	switch ev.(type) {
	case jellyfish.RoomDeleted, jellyfish.RoomCrashed: // the room's last notification
		close(s.queue) // the sender delivers what is queued, then ends
		delete(n.senders, ev.Room())
	}
}

func (n *webhookNotifier) send(roomID string, s *webhookSender) {
	log := n.log.With("room", roomID, "webhook", s.url)
	for body := range s.queue {
		if n.ctx.Err() != nil {
			return
		}
		req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			log.Warn("webhook request", "err", err)
			continue
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := n.client.Do(req)
		if err != nil {
			log.Warn("webhook delivery failed", "err", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			log.Warn("webhook endpoint refused notification", "status", resp.StatusCode)
		}
	}
}
