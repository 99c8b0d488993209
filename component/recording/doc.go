// Package recording is Jellyfish's Recording component (type "recording"): it records the
// room's tracks to files and uploads them to S3 when it stops.
//
// # Options and checks
//
// Factory checks, in order: JF_RECORDING_USED (Config.Enabled; a disabled server answers 400,
// where Jellyfish v0.5.0 crashed the room); the room's video codec must be h264; at most one
// recorder per room (v0.5.0 checks codec and limit before it reads the options); the option
// types (credentials: S3Credentials or null, pathPrefix: string or null, subscribeMode:
// "auto" or "manual"; anything else is "Invalid request body structure"); S3 credentials from
// exactly one of the request and JF_S3_*; the path prefix from at most one of the request and
// JF_S3_PATH_PREFIX. Properties are exactly {"subscribeMode": ...}.
//
// # Output
//
// Each recorder writes to <Base>/raw_recordings/<room_id>/part_<UTC start>/ (the start rendered
// like "2024-05-15 09:04:37.123456Z"), so a recorder removed and added again makes a new part:
//
//   - one fragmented MP4 per track, named after the track id ("<endpoint>_<uuid>.mp4", any
//     character but letters, digits, '-', '_' and '.' replaced by '_'): H.264 video (from the
//     first IDR with its SPS and PPS; later parameter sets stay in band) or Opus audio. Times
//     come from the RTP timestamps, relative to the track's first sample. A fragment is written
//     per second of media, so a crash loses at most about a second; the file is flushed and
//     closed when its track ends or the recorder stops. Other codecs (VP8) are skipped with a
//     log line.
//   - report.json, written when the recorder stops: the room, the component, the part's start
//     and, per track, its id, endpoint, kind, codec, metadata, file, sample count, duration and
//     startOffsetMs (when its first sample arrived after the part's start), which aligns the
//     per-track files.
//
// When the recorder stops (removed, room deleted, engine closed) it finishes every file, then
// uploads the part directory to s3://<bucket>/<prefix>/<room_id>/part_<start>/<file> (no leading
// slash; an empty prefix gives <room_id>/part_<start>/...) on a ComponentMember.Go goroutine:
// the removal does not wait for the upload, Engine.Close does. A failed upload is logged (v0.5.0
// emits no notification for it either) and the files stay. A recorder that recorded nothing
// uploads nothing. Local parts are never deleted: v0.5.0's hourly janitor of old parts is not
// implemented (it would be package-level state).
package recording
