// Package clientsdk is a Go client for a Jellyfish (v0.5.0 protocol) room: a pion peer that
// joins over the peer socket exactly like the browser client @jellyfish-dev/ts-client-sdk
// 0.4.0 does. Integration tests, bots and the load generator use it.
//
// The protocol (shared/reference/media-events.md): the client authenticates with its token,
// sends "connect" and gets "connected"; the server starts every negotiation round with
// "offerData" and the client is always the SDP offerer (the first offerData creates the
// PeerConnection, every later one restarts ICE); the server's "sdpAnswer" maps m-line mids to
// track ids, which is how remote tracks are identified when their media starts.
//
//	c, err := clientsdk.Join(ctx, clientsdk.Config{URL: wsURL, Token: token})
//	if err != nil { ... }
//	defer c.Leave()
//	id, err := c.Publish(ctx, track, map[string]string{"source": "camera"})
//	for ev := range c.Events() {
//		if r, ok := ev.(clientsdk.TrackReady); ok {
//			go readAll(r.Remote) // the caller must read every remote track
//		}
//	}
//
// Reading remote tracks is the caller's job: every TrackReady's TrackRemote must be read until
// it returns an error, or its buffers fill and RTCP feedback stalls. Leave closes the
// PeerConnection, which ends those reads, and waits for every goroutine the Client started.
package clientsdk
