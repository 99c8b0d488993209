// Package rtc is the media plane: the pion/webrtc API builder, published-track readers, the
// non-blocking fan-out and per-subscriber down-tracks. It knows nothing of rooms or sockets.
//
// It is empty until the media-plane work lands; the control plane (rooms, peers, tokens,
// notifications) lives in the root package and needs none of it.
package rtc
