package jellyfish

import (
	"context"
	"errors"
	"slices"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// A component's life: startComponent adds it to the room (peers see endpointAdded) and starts
// two goroutines, Run and the sink loop. It leaves the room in one of three ways, each under
// room.mu through leaveComponentUnlocked (TrackRemoved, tracksRemoved + endpointRemoved to the
// peers): RemoveComponent, the room's deletion, or Run returning on its own. stop then ends the
// loop, closes its sink tracks (no packet arrives after that), cancels Run's context and waits
// for Run.

// startComponent expects r.addMu to be held.
func (r *Room) startComponent(typ ComponentType, c Component) (*ComponentMember, error) {
	id := newUUID()
	m := &ComponentMember{
		id: id, typ: typ, room: r, impl: c,
		log:     r.log.With("component", id, "type", string(typ)),
		origins: map[string]bool{}, offered: map[string]bool{},
		box: newInbox(), ran: make(chan struct{}),
		quit: make(chan struct{}), loopEnd: make(chan struct{}),
	}
	m.sink, _ = c.(TrackSink)
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel()
		return nil, ErrRoomNotFound
	}
	r.components = append(r.components, m)
	added := wire.EndpointAdded{ID: m.id, Type: string(m.typ), Metadata: orNull(nil)}
	r.postToOthersUnlocked(nil, func(qs *mediaSession) {
		if qs.connected {
			qs.send(added)
		}
	})
	if m.sink != nil && m.sink.SubscribeMode() != SubscribeManual {
		r.offerExistingUnlocked(m)
	}
	r.mu.Unlock()
	m.log.Info("component added")

	go m.loop()
	go m.run(ctx)
	return m, nil
}

// findComponentUnlocked expects r.mu to be held.
func (r *Room) findComponentUnlocked(id string) *ComponentMember {
	for _, m := range r.components {
		if m.id == id {
			return m
		}
	}
	return nil
}

// leaveComponentUnlocked takes m out of the room: TrackRemoved for its tracks, and its
// departure to the ready peers. r.mu must be held; call m.stop after releasing it.
func (r *Room) leaveComponentUnlocked(m *ComponentMember) {
	if m.left {
		return
	}
	m.left = true
	ids := make([]string, 0, len(m.published))
	for _, t := range m.published {
		r.emitUnlocked(TrackRemoved{RoomID: r.id, ComponentID: m.id, Track: t.infoUnlocked()})
		ids = append(ids, t.id)
		r.dropFromSinksUnlocked(t)
	}
	m.published = nil
	r.components = slices.DeleteFunc(r.components, func(x *ComponentMember) bool { return x == m })
	r.stopping = append(r.stopping, m)
	if !r.closed {
		r.postToOthersUnlocked(nil, func(qs *mediaSession) { qs.endpointLeft(m.id, ids) })
	}
}

// run runs the component; when it returns on its own, the component leaves the room.
func (m *ComponentMember) run(ctx context.Context) {
	err := m.impl.Run(ctx, m)
	close(m.ran)
	if ctx.Err() != nil {
		return // it was stopped: stop does the rest
	}
	r := m.room
	r.mu.Lock()
	left := m.left
	r.leaveComponentUnlocked(m)
	if !left && err != nil {
		m.log.Error("component crashed", "err", err)
		r.emitUnlocked(ComponentCrashed{RoomID: r.id, ComponentID: m.id})
	} else if !left {
		m.log.Info("component finished")
	}
	r.mu.Unlock()
	m.stop()
}

// stop ends the component's goroutines and waits for them; it is idempotent and safe from Run's
// own goroutine (after Run returned).
func (m *ComponentMember) stop() {
	m.stopOnce.Do(func() {
		close(m.quit)
		<-m.loopEnd
		for _, e := range m.sinks {
			e.down.Close()
		}
		m.sinks = nil
		m.cancel()
		<-m.ran
		r := m.room
		r.mu.Lock()
		r.stopping = slices.DeleteFunc(r.stopping, func(x *ComponentMember) bool { return x == m })
		r.mu.Unlock()
		m.log.Info("component stopped")
	})
}

// loop runs the sink calls the room posts, in order, until stop.
func (m *ComponentMember) loop() {
	defer close(m.loopEnd)
	for {
		select {
		case <-m.quit:
			return
		case <-m.box.notify:
			for _, f := range m.box.drain() {
				f()
			}
		}
	}
}

// errRoomGone is what Publish returns once the component left its room.
var errRoomGone = errors.New("jellyfish: the component is no longer in its room")
