package clientsdk

import (
	"errors"
	"maps"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// session is the state owned by the loop goroutine. Nothing else reads it while the loop runs;
// Leave reads pc after the loop has exited.
type session struct {
	joined    chan<- error // Join's result; nil once sent
	connected bool         // "connected" was processed
	// disconnected: the session ended (socket closed, error, own endpoint removed).
	disconnected bool

	pc         *webrtc.PeerConnection
	local      []*localTrack
	recvCount  map[webrtc.RTPCodecType]int // recvonly transceivers per kind (never decreases)
	midToTrack map[string]string           // from the last sdpAnswer
	candidates []webrtc.ICECandidateInit   // server candidates waiting for the answer

	awaitingAnswer bool            // an sdpOffer was sent and not answered yet
	lastOffered    map[string]bool // own track ids in the last sdpOffer's midToTrackId
	offerSeq       int             // number of sdpOffers sent
	// renegotiating mirrors the browser's "renegotiation in progress": set by
	// tracksAdded/tracksRemoved, cleared by sdpAnswer; it holds back queued commands.
	renegotiating bool

	cmds []*command // queued publish/unpublish commands
	cur  *command   // the command being executed
}

func (s *session) init(joined chan<- error) {
	s.joined = joined
	s.recvCount = map[webrtc.RTPCodecType]int{}
	s.midToTrack = map[string]string{}
	s.lastOffered = map[string]bool{}
}

// handle dispatches one server media event (on the loop).
func (c *Client) handle(ev wire.ServerEvent) {
	if c.s.disconnected {
		c.log.Debug("ignoring media event after disconnect", "type", wire.ServerEventType(ev))
		return
	}
	if _, ok := ev.(wire.Connected); !ok && !c.s.connected {
		c.log.Warn("media event before connected", "type", wire.ServerEventType(ev))
	}
	switch e := ev.(type) {
	case wire.Connected:
		c.onConnected(e)
	case wire.EndpointAdded:
		c.onEndpointAdded(e)
	case wire.EndpointRemoved:
		c.onEndpointRemoved(e)
	case wire.EndpointUpdated:
		c.onEndpointUpdated(e)
	case wire.TracksAdded:
		c.onTracksAdded(e)
	case wire.TracksRemoved:
		c.onTracksRemoved(e)
	case wire.TrackUpdated:
		c.onTrackUpdated(e)
	case wire.OfferData:
		c.onOfferData(e)
	case wire.SDPAnswer:
		c.onSDPAnswer(e)
	case wire.ServerCandidate:
		c.onServerCandidate(e)
	case wire.VadNotification:
		if ep, ok := c.updateTrack(e.TrackID, func(t *Track) { t.VadStatus = e.Status }); ok {
			c.emit(VadNotification{EndpointID: ep, TrackID: e.TrackID, Status: e.Status})
		} else {
			c.log.Warn("vadNotification for unknown track", "track", e.TrackID)
		}
	case wire.EncodingSwitched:
		if ep, ok := c.updateTrack(e.TrackID, func(t *Track) { t.Encoding = e.Encoding }); ok {
			c.emit(EncodingSwitched{EndpointID: ep, TrackID: e.TrackID, Encoding: e.Encoding, Reason: e.Reason})
		} else {
			c.log.Warn("encodingSwitched for unknown track", "track", e.TrackID)
		}
	case wire.Error:
		// Browser: joinError, send disconnect, close the PeerConnection.
		c.log.Error("server error event", "message", e.Message)
		if err := c.sendEvent(wire.Disconnect{}); err != nil {
			c.log.Debug("send disconnect", "err", err)
		}
		c.disconnect("error: " + e.Message)
	default:
		c.log.Debug("ignoring media event", "type", wire.ServerEventType(ev))
	}
}

func (c *Client) onConnected(e wire.Connected) {
	if c.s.connected {
		c.log.Warn("ignoring second connected")
		return
	}
	c.s.connected = true
	c.id = e.ID
	for _, ep := range e.OtherEndpoints {
		if ep.ID == c.id {
			continue
		}
		c.addEndpoint(ep.ID, ep.Type, ep.Metadata)
		c.addTracks(ep.ID, ep.Tracks)
	}
	c.signalJoined(nil)
}

func (c *Client) signalJoined(err error) {
	if c.s.joined != nil {
		c.s.joined <- err
		c.s.joined = nil
	}
}

func (c *Client) onEndpointAdded(e wire.EndpointAdded) {
	if e.ID == c.id {
		return
	}
	c.mu.Lock()
	_, known := c.endpoints[e.ID]
	c.mu.Unlock()
	if known {
		c.log.Warn("endpointAdded for a known endpoint", "endpoint", e.ID)
		return
	}
	c.addEndpoint(e.ID, e.Type, e.Metadata)
}

func (c *Client) addEndpoint(id, typ string, md []byte) {
	c.mu.Lock()
	c.endpoints[id] = &Endpoint{ID: id, Type: typ, Metadata: rawJSON(md), Tracks: map[string]Track{}}
	c.mu.Unlock()
	c.emit(EndpointAdded{ID: id, Type: typ, Metadata: rawJSON(md)})
}

// addTracks records and announces the tracks of endpoint ep that are new.
func (c *Client) addTracks(ep string, tracks map[string]wire.TrackInfo) {
	var added []TrackAdded
	c.mu.Lock()
	e := c.endpoints[ep]
	if e != nil {
		for id, info := range tracks {
			if _, ok := e.Tracks[id]; ok {
				continue
			}
			t := Track{ID: id, Metadata: rawJSON(info.Metadata), Simulcast: simulcastOf(info.SimulcastConfig)}
			e.Tracks[id] = t
			c.trackOwner[id] = ep
			added = append(added, TrackAdded{EndpointID: ep, TrackID: id, Metadata: t.Metadata, Simulcast: t.Simulcast})
		}
	}
	c.mu.Unlock()
	if e == nil {
		c.log.Warn("tracks of unknown endpoint", "endpoint", ep)
	}
	for _, ev := range added {
		c.emit(ev)
	}
}

func (c *Client) onEndpointRemoved(e wire.EndpointRemoved) {
	if e.ID == c.id {
		c.disconnect("endpoint removed")
		return
	}
	c.mu.Lock()
	ep := c.endpoints[e.ID]
	delete(c.endpoints, e.ID)
	var tracks []string
	if ep != nil {
		for id := range ep.Tracks {
			tracks = append(tracks, id)
			delete(c.trackOwner, id)
		}
	}
	c.mu.Unlock()
	if ep == nil {
		c.log.Debug("endpointRemoved for unknown endpoint", "endpoint", e.ID)
		return
	}
	for _, id := range tracks {
		c.forgetMid(id)
		c.emit(TrackRemoved{EndpointID: e.ID, TrackID: id})
	}
	c.emit(EndpointRemoved{ID: e.ID})
}

func (c *Client) onEndpointUpdated(e wire.EndpointUpdated) {
	if e.ID == c.id {
		return
	}
	c.mu.Lock()
	ep := c.endpoints[e.ID]
	if ep != nil {
		ep.Metadata = rawJSON(e.Metadata)
	}
	c.mu.Unlock()
	if ep == nil {
		c.log.Warn("endpointUpdated for unknown endpoint", "endpoint", e.ID)
		return
	}
	c.emit(EndpointUpdated{ID: e.ID, Metadata: rawJSON(e.Metadata)})
}

func (c *Client) onTracksAdded(e wire.TracksAdded) {
	c.s.renegotiating = true
	if e.EndpointID == c.id {
		return
	}
	c.addTracks(e.EndpointID, e.Tracks)
}

func (c *Client) onTracksRemoved(e wire.TracksRemoved) {
	c.s.renegotiating = true
	if e.EndpointID == c.id {
		return
	}
	for _, id := range e.TrackIDs {
		c.mu.Lock()
		ep := c.endpoints[e.EndpointID]
		_, ok := c.trackOwner[id]
		if ep != nil && ok && c.trackOwner[id] == e.EndpointID {
			delete(ep.Tracks, id)
			delete(c.trackOwner, id)
		} else {
			ok = false
		}
		c.mu.Unlock()
		if !ok {
			c.log.Warn("tracksRemoved for unknown track", "endpoint", e.EndpointID, "track", id)
			continue
		}
		c.forgetMid(id)
		c.emit(TrackRemoved{EndpointID: e.EndpointID, TrackID: id})
	}
}

func (c *Client) onTrackUpdated(e wire.TrackUpdated) {
	if e.EndpointID == c.id {
		return
	}
	ep, ok := c.updateTrack(e.TrackID, func(t *Track) { t.Metadata = rawJSON(e.Metadata) })
	if !ok || ep != e.EndpointID {
		c.log.Warn("trackUpdated for unknown track", "endpoint", e.EndpointID, "track", e.TrackID)
		return
	}
	c.emit(TrackUpdated{EndpointID: e.EndpointID, TrackID: e.TrackID, Metadata: rawJSON(e.Metadata)})
}

// updateTrack applies f to a known remote track and returns its endpoint id.
func (c *Client) updateTrack(trackID string, f func(*Track)) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ep, ok := c.trackOwner[trackID]
	if !ok {
		return "", false
	}
	e := c.endpoints[ep]
	t, ok := e.Tracks[trackID]
	if !ok {
		return "", false
	}
	f(&t)
	e.Tracks[trackID] = t
	return ep, true
}

// forgetMid removes a remote track's entry from the mid table.
func (c *Client) forgetMid(trackID string) {
	maps.DeleteFunc(c.s.midToTrack, func(_, id string) bool { return id == trackID })
}

// onSocketClosed runs on the loop when the reader saw the socket end.
func (c *Client) onSocketClosed(err error) {
	var ce websocket.CloseError
	reason := err.Error()
	if errors.As(err, &ce) {
		reason = ce.Reason
		c.signalJoined(&CloseError{Code: int(ce.Code), Reason: ce.Reason})
	} else {
		c.signalJoined(&CloseError{Code: -1, Reason: reason})
	}
	c.disconnect(reason)
}

// disconnect ends the session: pending commands fail, the PeerConnection is closed (so remote
// tracks end) and Disconnected is emitted. Leave still has to be called.
func (c *Client) disconnect(reason string) {
	if c.s.disconnected {
		return
	}
	c.s.disconnected = true
	c.signalJoined(&CloseError{Code: -1, Reason: reason})
	if c.s.cur != nil {
		c.s.cur.finish(ErrDisconnected)
		c.s.cur = nil
	}
	for _, cmd := range c.s.cmds {
		cmd.finish(ErrDisconnected)
	}
	c.s.cmds = nil
	if c.s.pc != nil {
		if err := c.s.pc.Close(); err != nil {
			c.log.Debug("close peer connection", "err", err)
		}
	}
	c.log.Info("disconnected", "reason", reason)
	c.emit(Disconnected{Reason: reason})
}
