// Package file is the "file" component of Jellyfish v0.5.0: it plays a media file from the
// server's disk into a room as one track, in real time.
//
// Files live under <JF_RESOURCES_BASE_PATH>/file_component_sources/ (subdirectories allowed).
// Two kinds are played, chosen by the extension (compared as written):
//
//   - ".h264": raw H.264 Annex-B. It is split into access units (AUD, parameter sets, SEI and
//     first_mb_in_slice = 0 start one), and one access unit is sent every 1/framerate s
//     (default 30), packetized per RFC 6184 (STAP-A for SPS+PPS, FU-A; MTU 1200) with payload
//     type 96 and a 90 kHz clock. Parameter sets stay in band, and the last SPS and PPS are
//     repeated before an IDR that lacks them, so that a late joiner can start at any IDR (the
//     room replays the frames since the last one).
//   - ".ogg": Opus in Ogg (RFC 7845; the first logical stream). Each Opus packet is one RTP
//     packet with payload type 108 and a 48 kHz clock, sent at the sum of the durations of the
//     packets before it (from each packet's TOC byte).
//
// Options (REST "options"): "filePath" (required string, relative to the sources directory)
// and "framerate" (integer or null; video only). They are checked in Jellyfish's order, with its
// messages: a missing filePath, then the types, then the path (it must be strictly inside the
// sources directory), then existence (404 "File not found"), then framerate > 0, then the
// extension and the audio/framerate conflict. Unknown keys are ignored. Properties are
// {"filePath": as given, "framerate": n, 30 by default, or null for audio}.
//
// The component publishes one track (metadata null) as soon as it starts; there is no room codec
// restriction. At the end of the file (after the last frame's duration) Run returns nil and the
// room removes the component quietly: TrackRemoved, and no ComponentCrashed. A file that cannot
// be read, or an .ogg that is not Ogg Opus, crashes it (ComponentCrashed). Removing the
// component or deleting its room stops it at once.
//
// Differences from Jellyfish v0.5.0:
//   - An absolute filePath is refused ("Invalid file path"); Elixir's Path.join made it relative.
//   - The file is opened through an os.Root on the sources directory, so a symbolic link that
//     leads out of it is refused too ("Invalid file path"), at validation and again when played.
//   - A JSON float framerate (even 30.0) is not an integer; a string holding an integer ("30")
//     is accepted, as OpenApiSpex casts it.
//   - The video track is always offered as constrained baseline H.264 (packetization mode 1,
//     profile-level-id 42e01f), whatever profile the file has; Jellyfish did not look either.
//   - An .h264 file without any NAL unit ends at once without publishing a track. Ogg CRCs are
//     not checked, and the Opus pre-skip and end trimming (granule positions) are not applied.
package file
