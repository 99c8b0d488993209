// Package serversdk is the Go server SDK of a Jellyfish v0.5.0 compatible media server: a typed
// client of its REST API (Client) and of its server WebSocket (Notifier), for backends that run
// in another process than the media server.
//
// It is a remote client: it talks HTTP and WebSocket only and imports nothing of the server.
//
// # REST
//
//	c := serversdk.NewClient("http://127.0.0.1:8080", token)
//	created, err := c.CreateRoom(ctx, serversdk.RoomConfig{MaxPeers: new(10), VideoCodec: new(serversdk.VideoCodecVP8)})
//	peer, err := c.AddPeer(ctx, created.Room.ID, serversdk.PeerOptions{})
//	// hand peer.Token and peer.PeerWebsocketURL to the client application
//
// Every method takes a context first. A non-2xx answer is returned as an *APIError carrying the
// status and the server's message; IsNotFound and friends test for common statuses.
//
// # Notifications
//
//	n, err := serversdk.DialNotifier(ctx, "ws://127.0.0.1:8080/socket/server/websocket", token)
//	defer n.Close()
//	err = n.SubscribeServerNotifications(ctx)
//	for ev := range n.Events() {
//		switch ev := ev.(type) {
//		case serversdk.PeerConnected:
//			...
//		}
//	}
//
// Webhook bodies (Content-Type application/x-protobuf) carry the same notifications; decode them
// with DecodeNotification.
//
// Client and Notifier are safe for concurrent use.
package serversdk
