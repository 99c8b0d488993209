// Package rtsp is the "rtsp" component of Jellyfish v0.5.0: it pulls an H.264 stream from an
// RTSP camera (a gortsplib client) and publishes it in the room as one video track.
//
// Register it with
//
//	jellyfish.Config{ComponentFactories: map[jellyfish.ComponentType]jellyfish.ComponentFactory{
//		jellyfish.ComponentRTSP: rtsp.Factory(),
//	}}
//
// # Options (REST "options", camelCase)
//
//	sourceUri          string, required   rtsp:// or rtsps:// URL; user:password@ for authentication
//	rtpPort            integer 1..65535, default 20000   local UDP port for RTP (RTCP on rtpPort+1)
//	reconnectDelay     integer ms ≥ 0, default 15000     wait between connection attempts
//	keepAliveInterval  integer ms ≥ 0, default 15000     accepted and shown, see below
//	pierceNat          bool, default true                accepted and shown, see below
//
// Validation follows Jellyfish's order: the room's video codec must be h264 ("Incompatible video
// codec enforced in room <id>", also for a room without a codec; room/state.ex checks this
// before the options are cast), then a missing sourceUri gives `Required field "sourceUri"
// missing`, then any option of the wrong type or out of range gives "Invalid request body
// structure". Unknown keys are ignored. The properties are the five options with defaults.
//
// # Behaviour
//
// Run connects (DESCRIBE, SETUP of the first H.264 video media, PLAY) and, after the first
// successful PLAY, publishes the track (TrackAdded; Jellyfish also announces it when the RTSP
// setup completes). The track is H.264, 90 kHz, packetization-mode=1, payload type 96. The
// camera's packets are not forwarded as they are: they are rebuilt into access units, access
// unit delimiters are dropped, SPS and PPS (from the SDP's sprop-parameter-sets, or the last ones
// seen in band) are put in front of every IDR, and the units are packetized again into packets
// of at most 1200 bytes with the component's own sequence numbers and timestamps. Forwarding
// starts at an IDR after every (re)connection. Late subscribers get the last group of pictures
// replayed by the room, so they start at once with a decodable keyframe.
//
// When the connection fails or drops (TCP closed, or no RTP for 10 s), the component waits
// reconnectDelay (at least 100 ms) and connects again, forever. The track stays published and
// continues with the same numbering; its timestamps advance by the time the camera was away.
// Run ends only when the component is removed or its room deleted (TrackRemoved), or with
// ComponentCrashed where Jellyfish crashes too: a sourceUri that is not an rtsp(s) URL with a
// host, or a stream without H.264 video (or with H.264 packetization mode 2).
//
// Transport: UDP first, with RTP/RTCP bound to rtpPort/rtpPort+1 on the local address of the
// RTSP connection. If those ports are taken (e.g. two components with the default 20000), random
// ports are used instead of failing. If the camera refuses UDP, or no UDP packet arrives within
// 3 s, or the stream uses packetization mode 0, gortsplib switches to RTP interleaved in the RTSP
// TCP connection.
//
// # Differences from Jellyfish v0.5.0
//
//   - Reconnection also after a connection that was up: Jellyfish's RTSP endpoint retries
//     forever only until the first successful setup, and shuts down when an established
//     connection drops. Here the component reconnects and keeps its track.
//   - keepAliveInterval is not applied: gortsplib sends its own keep-alives (OPTIONS or
//     GET_PARAMETER) every session-timeout − 5 s (30 s when the camera gives no timeout) plus
//     RTCP receiver reports every 5 s, and exposes no setting for it.
//   - pierceNat=false is not honoured: gortsplib always sends one empty RTP and RTCP packet to
//     the camera's ports before PLAY (what pierceNat=true does).
//   - A busy rtpPort falls back to random ports; the port is bound on the RTSP connection's
//     local address rather than on every interface.
//   - The track's profile-level-id names a baseline profile (42e0xx, or 4200xx for a Baseline
//     SPS without the constrained flag) with the SPS's level, whatever the camera's profile:
//     this server's WebRTC peers only negotiate those two H.264 profiles. Jellyfish announced
//     the camera's own fmtp. A Main or High stream still decodes in browsers.
//   - Jellyfish forwarded the camera's RTP packets unchanged (its docs say that only HLS could
//     use a stream whose SPS/PPS are only out of band); here they are repacketized as above, so
//     WebRTC peers can decode such streams too.
//   - Option types are checked strictly: numbers must be JSON integers (OpenApiSpex also casts
//     numeric strings).
package rtsp
