// Package hls is the HLS component (type "hls"): it takes the room's tracks out as HLS or
// LL-HLS (fMP4, built on gohlslib's Muxer), served live at /hls/<room id>/<file> (ServeFile)
// and, when persistent, kept as a VOD recording.
//
// # Options (REST, Jellyfish v0.5.0 plus one extension)
//
//	lowLatency            bool, false      LL-HLS: parts of about 1 s, blocking reload, delta playlists
//	persistent            bool, false      keep the output in <base>/recordings/<room id>/ (a recording)
//	targetWindowDuration  int or null      live window in seconds: ceil(window / 6 s) segments, at least
//	                                       3 (7 for LL-HLS, gohlslib's minimum); null: every segment
//	subscribeMode         "auto"/"manual"  auto: every track of the room; manual: Room.SubscribeComponent
//	s3                    object or null   {accessKeyId, secretAccessKey, region, bucket}: upload at the end
//	transcode             bool, true       OUR EXTENSION, see Modes
//
// Errors, in Jellyfish's order: a badly typed option (also an incomplete s3 object) → 400
// "Invalid request body structure"; a room whose videoCodec is not h264 → "Incompatible video
// codec enforced in room <id>"; a second HLS → "Reached hls components limit for component in
// room <id>"; then, ours, the composite mode without a usable ffmpeg → 400 "HLS composite mode
// needs ffmpeg, which is not available on this server: <why>; use "transcode": false".
//
// Properties are Jellyfish's six keys — lowLatency, persistent, playable, s3 (always null),
// subscribeMode, targetWindowDuration — plus "transcode" only when the request set it.
// playable turns true, and HlsPlayable is emitted once, when gohlslib first serves the video
// playlist (two segments, or one with LL-HLS).
//
// # Modes
//
// transcode true (the default, Jellyfish's behaviour): package composite lays every subscribed
// video out on a 1920×1080 canvas at 24 fps and mixes the audio, with ffmpeg; the stream is
// H.264 + AAC. ffmpeg runs only while some input is active and never outlives the component.
//
// transcode false: no decoding. The component forwards ONE H.264 video track and ONE Opus
// audio track: the first of each kind it was offered (other codecs are declined). When that
// track ends, the next offered track of its kind takes over at its next keyframe (asked for),
// and the stream goes on (its clock is the wall clock since the first keyframe). The stream
// starts at the first video keyframe; it carries audio only if an audio track was there by
// then. Audio alone never starts a stream (nor did it become playable in Jellyfish). The
// component asks the video's publisher for a keyframe when a segment is due without one.
//
// # Files
//
// Segments last at least 6 s (they start at keyframes). gohlslib stores them in the output
// directory as <prefix>_video1_seg<N>.mp4 / <prefix>_audio2_seg<N>.mp4 (<prefix> is random per
// stream); without LL-HLS it writes its live playlists and init files there too, with LL-HLS
// those and the parts stay in memory. ServeFile serves everything from the muxer under the
// names the playlists use: index.m3u8 (master), video1_stream.m3u8, audio2_stream.m3u8,
// <prefix>_<stream>_init.mp4, segments, and LL-HLS parts <prefix>_<stream>_part<N>.mp4.
//
// When the component stops (removed, or its room deleted), the segment being written is
// closed (so the tail of the stream is kept; its last picture may stand still until the
// segment's minimum length), the muxer closes, and the directory becomes a VOD set:
// index.m3u8, video1_stream.m3u8 and audio2_stream.m3u8 (EXT-X-PLAYLIST-TYPE:VOD, ENDLIST),
// video1_init.mp4, audio2_init.mp4, video1_seg<N>.mp4, audio2_seg<N>.mp4. With s3, every
// .m3u8/.mp4/.m4s file is then uploaded to s3://<bucket>/<room id>/<file> in the background
// (HlsUploaded or HlsUploadCrashed follows). A non-persistent output is deleted afterwards
// (at once without s3); a persistent one stays in recordings/<room id>/.
//
// # Differences from Jellyfish v0.5.0
//
//   - Audio and video are separate renditions (gohlslib's fMP4 layout: video1_stream.m3u8 with
//     an EXT-X-MEDIA audio2_stream.m3u8), not one muxed stream; file names differ (Jellyfish's
//     parts end in _part.m4s; ours are <prefix>_<stream>_part<N>.mp4). Both are what the
//     master playlist names, so players do not notice.
//   - LL-HLS parts last about 1 s (Jellyfish: 1.1 s); the live LL-HLS playlist starts with
//     seven EXT-X-GAP segments (gohlslib, for iOS).
//   - An incomplete or badly typed s3 object is a 400, not a room crash (500).
//   - A persistent stream keeps every segment whatever targetWindowDuration says (the live
//     playlist then shows them all); an output directory left by an earlier stream of the
//     same room id is replaced; a stream that produced no segment leaves no directory.
//   - _HLS_skip on a non-LL stream, and any name ending in _delta.m3u8 there, is 404;
//     blocking reloads answer the playlist once the part exists (gohlslib's rules: an msn more
//     than one past the live one is 404 at once).
//   - Non-playlist files are served as application/octet-stream (as the server's /recording
//     route does); Jellyfish sends no content type.
//   - The transcode option and the transcoding-free mode are ours.
package hls
