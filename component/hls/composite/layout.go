package composite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxInputs bounds a layout: one RTP payload type (96..127) per SDP m-line.
const maxInputs = 32

// slot is one input of an ffmpeg run: its encoding and the UDP port ffmpeg listens on (RTCP on
// port+1).
type slot struct {
	enc  encoding
	port int
}

func payloadType(i int) uint8 { return uint8(96 + i) }

// sdp describes the run's inputs, one m-line each, in slot order: ffmpeg numbers its streams the
// same way, so stream 0:i is slot i.
func sdp(slots []slot) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=composite\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for i, s := range slots {
		pt := payloadType(i)
		media := "audio"
		if s.enc.video {
			media = "video"
		}
		fmt.Fprintf(&b, "m=%s %d RTP/AVP %d\r\n", media, s.port, pt)
		if s.enc.channels > 0 {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d/%d\r\n", pt, s.enc.name, s.enc.clock, s.enc.channels)
		} else {
			fmt.Fprintf(&b, "a=rtpmap:%d %s/%d\r\n", pt, s.enc.name, s.enc.clock)
		}
		if s.enc.fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", pt, s.enc.fmtp)
		}
		b.WriteString("a=recvonly\r\n")
	}
	return b.String()
}

// grid returns the columns and rows that fit n cells: the squarest grid, wider than tall.
func grid(n int) (cols, rows int) {
	if n <= 0 {
		return 0, 0
	}
	cols = int(math.Ceil(math.Sqrt(float64(n))))
	rows = (n + cols - 1) / cols
	return cols, rows
}

// filterGraph builds the -filter_complex graph. Video: each input is scaled to fit its grid cell
// (aspect kept) and overlaid, centred, on a black canvas whose frame rate drives the output.
// Audio: every input resampled to 48 kHz stereo, gaps filled with silence, then summed (with a
// limiter against clipping); silence when there is none. Outputs are labelled [v] and [a].
func filterGraph(cfg Config, slots []slot) string {
	var videos, audios []int
	for i, s := range slots {
		if s.enc.video {
			videos = append(videos, i)
		} else {
			audios = append(audios, i)
		}
	}
	var parts []string
	canvas := fmt.Sprintf("color=c=black:s=%dx%d:r=%d", cfg.Width, cfg.Height, cfg.FPS)
	if len(videos) == 0 {
		parts = append(parts, canvas+",format=yuv420p[v]")
	} else {
		parts = append(parts, canvas+"[bg0]")
		cols, rows := grid(len(videos))
		cw, ch := (cfg.Width/cols)&^1, (cfg.Height/rows)&^1
		for k, i := range videos {
			x, y := (k%cols)*cw, (k/cols)*ch
			parts = append(parts, fmt.Sprintf(
				"[0:%d]scale=w=%d:h=%d:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear,setsar=1[in%d]",
				i, cw, ch, k))
			out := fmt.Sprintf("[bg%d]", k+1)
			if k == len(videos)-1 {
				out = "[vo]"
			}
			// repeatlast/eof_action: a finished input keeps its last picture; shortest=0: the
			// canvas never ends.
			parts = append(parts, fmt.Sprintf(
				"[bg%d][in%d]overlay=x=%d+(%d-overlay_w)/2:y=%d+(%d-overlay_h)/2:eof_action=repeat:repeatlast=1:shortest=0%s",
				k, k, x, cw, y, ch, out))
		}
		parts = append(parts, "[vo]format=yuv420p[v]")
	}
	const toStereo = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo"
	switch len(audios) {
	case 0:
		parts = append(parts, "anullsrc=r=48000:cl=stereo,"+toStereo+"[a]")
	case 1:
		parts = append(parts, fmt.Sprintf("[0:%d]aresample=48000:async=1:first_pts=0,%s[a]", audios[0], toStereo))
	default:
		var mix strings.Builder
		for k, i := range audios {
			parts = append(parts, fmt.Sprintf("[0:%d]aresample=48000:async=1:first_pts=0,%s[a%d]", i, toStereo, k))
			fmt.Fprintf(&mix, "[a%d]", k)
		}
		parts = append(parts, fmt.Sprintf(
			"%samix=inputs=%d:duration=longest:dropout_transition=0:normalize=0,alimiter=limit=0.95:level=0,%s[a]",
			mix.String(), len(audios), toStereo))
	}
	return strings.Join(parts, ";")
}

// ffmpegArgs is the command line of one run reading sdpPath and writing MPEG-TS to stdout.
func ffmpegArgs(cfg Config, slots []slot, sdpPath string) []string {
	gop := strconv.Itoa(2 * cfg.FPS)
	return []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		// input: the SDP, its RTP sockets bound to loopback only
		"-protocol_whitelist", "file,udp,rtp",
		"-localaddr", "127.0.0.1",
		"-buffer_size", strconv.Itoa(4 << 20),
		"-analyzeduration", "5000000", "-fpsprobesize", "0",
		"-f", "sdp", "-i", sdpPath,
		"-filter_complex", filterGraph(cfg, slots),
		"-map", "[v]", "-map", "[a]",
		// H.264: constant frame rate, a keyframe every 2 s, no B-frames, SPS/PPS before each IDR
		// (x264 repeats headers because MPEG-TS asks for no global header).
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high",
		"-pix_fmt", "yuv420p", "-r", strconv.Itoa(cfg.FPS), "-fps_mode", "cfr",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-bf", "0",
		"-crf", "23", "-maxrate", "6M", "-bufsize", "12M",
		"-c:a", "aac", "-profile:a", "aac_low", "-b:a", audioBitrate, "-ar", "48000", "-ac", "2",
		"-muxdelay", "0", "-muxpreload", "0", "-flush_packets", "1",
		"-f", "mpegts", "pipe:1",
	}
}
