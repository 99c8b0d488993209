// Package composite turns the tracks of a room into one stream for HLS, as Jellyfish v0.5.0's
// HLS component did: every video composited onto a 1920×1080 canvas at 24 fps, every audio mixed,
// encoded to H.264 + AAC. The work is done by Debian's ffmpeg, run as a supervised child process;
// nothing here touches codecs beyond depacketizing ffmpeg's MPEG-TS output.
//
// # Data path
//
// Each run of ffmpeg reads one SDP file (in a temp dir) with one m-line per input, so all inputs
// open at once and are probed together. Inputs are fed over loopback UDP: the function AddTrack
// returns rewrites the payload type to the SDP's, drops header extensions and padding, and sends
// the packet from a socket shared by the run. ffmpeg's RTP and RTCP ports are picked free on
// 127.0.0.1 just before the run (a lost race makes ffmpeg fail; the next run picks others).
// ffmpeg writes MPEG-TS to its stdout, which Run demuxes with mediacommon's mpegts.Reader and hands
// to Output on Run's own goroutine. An Output that blocks stalls ffmpeg: keep it fast.
//
// # Layout
//
// Videos (in track-ID order) fill the squarest grid, wider than tall (1 → full canvas, 2 → side by
// side, 3–4 → 2×2, 5–6 → 3×2, …); each is scaled to fit its cell keeping its aspect and centred
// on black. The canvas is a color source at the output rate, so the output is constant frame
// rate; with no video input it stays black. Audio inputs are resampled to 48 kHz stereo with gaps
// filled (aresample async), summed (amix, normalize=0) and limited; with none, silence. Encoding:
// libx264 veryfast/zerolatency, High profile, CRF 23 capped at 6 Mb/s, no B-frames, a keyframe
// every 2 s, SPS/PPS before every IDR; AAC-LC 128 kb/s 48 kHz stereo (AudioConfig). At most 32
// inputs (one payload type each) are composited; the rest wait.
//
// # Supervision
//
// ffmpeg runs only while at least one input is active, i.e. had a packet in the last 3 s: an input
// joins the layout with its first packet and leaves it when it goes quiet, because ffmpeg's
// filters wait for every input and one silent input would freeze the picture (it does freeze for
// those 3 s: the video then has one long frame while the sound goes on). With no active input
// nothing is produced, as in v0.5.0, which produced output only with tracks. A change of the
// active set (AddTrack's first packet, RemoveTrack, an input going quiet) restarts ffmpeg after
// 300 ms without further change. ffmpeg is also restarted when it produces nothing for 10 s and
// when it exits by itself (backoff 0.5 s doubling to 8 s); after 5 such exits in a row without
// output Run returns an error. After each start, OnKeyframeNeeded is called for every video input
// at 300 ms and then every second until the first picture comes out.
//
// Stopping a run sends SIGINT+SIGTERM (ffmpeg flushes what it has, which still reaches Output;
// it needs two signals to leave a blocked read) and SIGKILL 3 s later; Run always waits for the process, so none outlives it, and stdout is drained
// so ffmpeg never blocks on a full pipe. A restart leaves a gap in wall-clock time (ffmpeg's start
// and probing, typically 0.3–1 s) but not in the output: each run's timestamps are shifted to
// start one frame after the previous run's last video frame or audio access unit, whichever is
// later, so pts only grow (the output then lags real time by the sum of those gaps).
//
// # Goroutines
//
// Run's goroutine demuxes; one watcher goroutine per run (stops the run, asks for keyframes) and
// exec's stderr copier (ffmpeg's stderr goes to the logger at debug level, at most 10 lines a
// second, and its last lines into the warning logged when ffmpeg fails) are waited for before the
// next run. The functions AddTrack returns run on the callers' goroutines and only touch atomics.
package composite
