package clientsdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/jellyfish-go/jellyfish/signaling/wire"
)

// maxQueuedCandidates bounds server candidates kept while an answer is pending.
const maxQueuedCandidates = 256

// localTrack is one of the client's own published tracks (loop-owned).
type localTrack struct {
	id       string
	track    webrtc.TrackLocal
	metadata json.RawMessage // nil: no metadata key in sdpOffer
	tr       *webrtc.RTPTransceiver
	// offered: the track was in an sdpOffer's midToTrackId; negotiated: an sdpAnswer mapped it;
	// pendingMeta: an updateTrackMetadata is deferred until the next sdpAnswer.
	offered, negotiated, pendingMeta bool
}

// command is a queued Publish or Unpublish, executed one at a time like the browser client's
// command queue.
type command struct {
	publish  bool
	track    webrtc.TrackLocal
	metadata json.RawMessage
	trackID  string      // publish: set by the loop; unpublish: the target
	startSeq int         // offerSeq when the command started
	answered bool        // the round the command waits for has been answered
	gone     atomic.Bool // the caller gave up (ctx done)
	done     chan error  // buffered 1
}

func (cmd *command) finish(err error) {
	select {
	case cmd.done <- err:
	default:
	}
}

func (c *Client) enqueueCommand(cmd *command) {
	if c.s.disconnected {
		cmd.finish(ErrDisconnected)
		return
	}
	c.s.cmds = append(c.s.cmds, cmd)
	c.startCommand()
}

func (c *Client) abandonCommand(cmd *command) {
	cmd.gone.Store(true)
	if c.s.cur == cmd {
		c.s.cur = nil
		c.startCommand()
	}
}

// startCommand starts the next queued command unless one is running or the server's round
// (tracksAdded/tracksRemoved) is in progress.
func (c *Client) startCommand() {
	for c.s.cur == nil && !c.s.renegotiating && len(c.s.cmds) > 0 && !c.s.disconnected {
		cmd := c.s.cmds[0]
		c.s.cmds = c.s.cmds[1:]
		if cmd.gone.Load() {
			continue
		}
		cmd.startSeq = c.s.offerSeq
		var err error
		var round bool
		if cmd.publish {
			round, err = c.startPublish(cmd)
		} else {
			round, err = c.startUnpublish(cmd)
		}
		switch {
		case err != nil:
			cmd.finish(err)
		case !round:
			cmd.finish(nil)
		default:
			if err := c.sendEvent(wire.RenegotiateTracks{}); err != nil {
				cmd.finish(fmt.Errorf("send renegotiateTracks: %w", err))
				continue
			}
			c.s.cur = cmd
		}
	}
}

func (c *Client) startPublish(cmd *command) (bool, error) {
	lt := &localTrack{id: c.id + ":" + newUUID(), track: cmd.track, metadata: cmd.metadata}
	if c.s.pc != nil {
		if err := c.addSender(lt); err != nil {
			return false, err
		}
	}
	c.s.local = append(c.s.local, lt)
	cmd.trackID = lt.id
	return true, nil
}

func (c *Client) startUnpublish(cmd *command) (bool, error) {
	i := c.localIndex(cmd.trackID)
	if i < 0 {
		return false, ErrUnknownTrack
	}
	lt := c.s.local[i]
	c.s.local = append(c.s.local[:i], c.s.local[i+1:]...)
	if lt.tr == nil { // never handed to the PeerConnection
		return false, nil
	}
	if err := c.s.pc.RemoveTrack(lt.tr.Sender()); err != nil {
		return false, fmt.Errorf("remove track: %w", err)
	}
	return true, nil
}

func (c *Client) localIndex(id string) int {
	for i, lt := range c.s.local {
		if lt.id == id {
			return i
		}
	}
	return -1
}

// checkCommand finishes the running command once its round was answered and the
// PeerConnection is connected (the browser resolves addTrack/removeTrack at that point).
func (c *Client) checkCommand() {
	cmd := c.s.cur
	if cmd == nil || !cmd.answered {
		return
	}
	switch st := c.s.pc.ConnectionState(); st {
	case webrtc.PeerConnectionStateConnected:
		cmd.finish(nil)
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		cmd.finish(fmt.Errorf("peer connection %s", st))
	default:
		return
	}
	c.s.cur = nil
	c.startCommand()
}

// addSender adds a sendonly transceiver for lt and starts its RTCP reader.
func (c *Client) addSender(lt *localTrack) error {
	tr, err := c.s.pc.AddTransceiverFromTrack(lt.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fmt.Errorf("add transceiver: %w", err)
	}
	lt.tr = tr
	sender := tr.Sender()
	c.wg.Go(func() { // RTCP reader: runs the interceptors; exits when the sender stops
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	})
	return nil
}

// createPC creates the PeerConnection on the first offerData, like the browser client:
// max-bundle, the TURN servers of this offerData, relay-only if configured.
func (c *Client) createPC(turns []wire.TurnServer) error {
	api, err := c.cfg.newAPI(c.log)
	if err != nil {
		return err
	}
	conf := webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle, ICEServers: iceServers(turns)}
	if c.cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return err
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			c.post(func() { c.sendCandidate(init) })
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		c.post(func() { c.onTrack(t, r) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		c.post(func() {
			c.log.Debug("peer connection state", "state", st)
			c.checkCommand()
		})
	})
	c.s.pc = pc
	return nil
}

func (c *Client) onOfferData(e wire.OfferData) {
	restart := c.s.pc != nil
	if !restart {
		if err := c.createPC(e.IntegratedTurnServers); err != nil {
			c.log.Error("create peer connection", "err", err)
			return
		}
	}
	pc := c.s.pc
	for _, lt := range c.s.local {
		if lt.tr == nil {
			if err := c.addSender(lt); err != nil {
				c.log.Error("add local track", "track", lt.id, "err", err)
			}
		}
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		want := e.TracksTypes[kind.String()]
		if want < c.s.recvCount[kind] {
			// The browser throws a RangeError here and sends no offer; we log and go on.
			c.log.Error("offerData tracksTypes below the recvonly transceiver count",
				"kind", kind.String(), "want", want, "have", c.s.recvCount[kind])
		}
		for c.s.recvCount[kind] < want {
			if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				c.log.Error("add recvonly transceiver", "kind", kind.String(), "err", err)
				break
			}
			c.s.recvCount[kind]++
		}
	}
	offer, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	if err != nil {
		c.log.Error("create offer", "err", err)
		return
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		c.log.Error("set local description", "err", err)
		return
	}
	ev := wire.SDPOffer{
		Offer:             wire.SessionDescription{Type: "offer", SDP: offer.SDP},
		MidToTrackID:      map[string]string{},
		TrackIDToMetadata: map[string]json.RawMessage{},
		TrackIDToBitrates: map[string]json.RawMessage{},
	}
	offered := map[string]bool{}
	for _, lt := range c.s.local {
		if lt.metadata != nil {
			ev.TrackIDToMetadata[lt.id] = lt.metadata
		}
		rate := videoBitrate
		if lt.track.Kind() == webrtc.RTPCodecTypeAudio {
			rate = audioBitrate
		}
		ev.TrackIDToBitrates[lt.id] = json.RawMessage(strconv.Itoa(rate))
		if lt.tr == nil || lt.tr.Sender() == nil || lt.tr.Sender().Track() == nil || lt.tr.Mid() == "" {
			continue
		}
		ev.MidToTrackID[lt.tr.Mid()] = lt.id
		offered[lt.id] = true
		lt.offered = true
	}
	c.s.lastOffered = offered
	c.s.offerSeq++
	c.s.awaitingAnswer = true
	if err := c.sendEvent(ev); err != nil {
		c.log.Error("send sdpOffer", "err", err)
	}
}

func (c *Client) onSDPAnswer(e wire.SDPAnswer) {
	pc := c.s.pc
	if pc == nil || !c.s.awaitingAnswer {
		c.log.Warn("sdpAnswer without an offer")
		return
	}
	c.s.awaitingAnswer = false
	c.s.midToTrack = map[string]string{}
	mapped := map[string]bool{}
	for mid, id := range e.MidToTrackID {
		c.s.midToTrack[mid] = id
		mapped[id] = true
	}
	// Like the browser: mark own tracks negotiated and flush deferred metadata before applying
	// the answer.
	for _, lt := range c.s.local {
		if !mapped[lt.id] {
			continue
		}
		lt.negotiated = true
		if lt.pendingMeta {
			lt.pendingMeta = false
			c.sendTrackMetadata(lt)
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: e.SDP}); err != nil {
		c.log.Error("set remote description", "err", err)
	}
	for _, cand := range c.s.candidates {
		if err := pc.AddICECandidate(cand); err != nil {
			c.log.Warn("add queued server candidate", "candidate", cand.Candidate, "err", err)
		}
	}
	c.s.candidates = nil
	c.s.renegotiating = false

	if cmd := c.s.cur; cmd != nil {
		switch {
		case !cmd.publish:
			cmd.answered = c.s.offerSeq > cmd.startSeq
		case mapped[cmd.trackID]:
			cmd.answered = true
		case c.s.lastOffered[cmd.trackID]:
			cmd.finish(errors.New("the server's answer did not map the track"))
			c.s.cur = nil
		}
	}
	c.checkCommand()
	c.startCommand()
}

func (c *Client) onServerCandidate(e wire.ServerCandidate) {
	cand := webrtc.ICECandidateInit{
		Candidate:        strings.TrimPrefix(e.Candidate, "a="),
		SDPMid:           e.SDPMid,
		SDPMLineIndex:    e.SDPMLineIndex,
		UsernameFragment: e.UsernameFragment,
	}
	if c.s.pc == nil || c.s.awaitingAnswer || c.s.pc.RemoteDescription() == nil {
		if len(c.s.candidates) < maxQueuedCandidates {
			c.s.candidates = append(c.s.candidates, cand)
		}
		return
	}
	if err := c.s.pc.AddICECandidate(cand); err != nil {
		c.log.Warn("add server candidate", "candidate", cand.Candidate, "err", err)
	}
}

// sendCandidate sends a local candidate as the browser does: candidate and sdpMLineIndex only.
func (c *Client) sendCandidate(init webrtc.ICECandidateInit) {
	if c.s.disconnected {
		return
	}
	if err := c.sendEvent(wire.ClientCandidate{Candidate: init.Candidate, SDPMLineIndex: init.SDPMLineIndex}); err != nil {
		c.log.Warn("send candidate", "err", err)
	}
}

// onTrack maps a remote track to its Jellyfish track id through the transceiver's mid and the
// last sdpAnswer's table, and emits TrackReady.
func (c *Client) onTrack(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	if c.s.pc == nil {
		return
	}
	mid := ""
	for _, tr := range c.s.pc.GetTransceivers() {
		if tr.Receiver() == r {
			mid = tr.Mid()
			break
		}
	}
	id, ok := c.s.midToTrack[mid]
	if !ok {
		c.log.Warn("remote track on a mid the server did not map", "mid", mid)
		return
	}
	if c.localIndex(id) >= 0 {
		return
	}
	ep, ok := c.updateTrack(id, func(tr *Track) { tr.Ready = true })
	if !ok {
		c.log.Warn("remote track for an unknown track id", "mid", mid, "track", id)
		return
	}
	c.emit(TrackReady{EndpointID: ep, TrackID: id, Remote: t, Receiver: r})
}

func (c *Client) updateTrackMetadata(trackID string, md json.RawMessage) error {
	if c.s.disconnected {
		return ErrDisconnected
	}
	i := c.localIndex(trackID)
	if i < 0 {
		return ErrUnknownTrack
	}
	lt := c.s.local[i]
	lt.metadata = md
	switch {
	case lt.negotiated:
		return c.sendTrackMetadata(lt)
	case lt.offered:
		lt.pendingMeta = true
	}
	return nil
}

func (c *Client) sendTrackMetadata(lt *localTrack) error {
	b, err := metadataEvent("updateTrackMetadata", "trackMetadata", lt.metadata, map[string]string{"trackId": lt.id})
	if err != nil {
		return err
	}
	if err := c.send(b); err != nil {
		c.log.Warn("send updateTrackMetadata", "track", lt.id, "err", err)
		return err
	}
	return nil
}
