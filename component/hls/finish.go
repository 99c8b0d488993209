package hls

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
)

// uploadTimeout bounds an S3 upload (Engine.Close waits for it).
const uploadTimeout = 10 * time.Minute

// The files a finished stream leaves (a VOD directory, as /recording serves it):
//
//	index.m3u8                     master playlist
//	video1_stream.m3u8             video playlist (VOD, ENDLIST)
//	video1_init.mp4, video1_segN.mp4
//	audio2_stream.m3u8, audio2_init.mp4, audio2_segN.mp4   when there is audio
//
// While live, gohlslib names its files <prefix>_<stream>_... with a random prefix, and removes
// them all when the muxer closes: the finish links the finished segments to their final names
// first.

// vodSegment is a finished segment of the final playlists.
type vodSegment struct {
	n   uint64
	dur time.Duration
}

// finish ends the stream: it closes the last segment, closes the muxer, writes the final
// playlists, then uploads (in the background) and removes a non-persistent output.
func (c *Component) finish(w *writer, m *jellyfish.ComponentMember) {
	w.flush()
	var segs []vodSegment
	if w.out != nil && w.prefix != "" {
		segs = c.keepSegments(w)
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if w.out != nil {
		w.out.m.Close() // ends every waiting request
	}
	c.serving.Wait()
	w.watch.Wait()

	if w.prefix != "" {
		removeMatching(c.dir, func(name string) bool { return strings.HasPrefix(name, w.prefix+"_") })
	}
	if len(segs) == 0 {
		// Nothing to keep (gohlslib may have left playlists of its own).
		removeMatching(c.dir, func(string) bool { return true })
	} else if err := c.writePlaylists(w, segs); err != nil {
		w.log.Error("hls: final playlists", "err", err)
	}
	w.log.Info("hls stream ended", "segments", len(segs), "dir", c.dir, "persistent", c.opts.persistent)
	c.upload(m, len(segs) == 0)
}

// keepSegments links the finished segments (and writes the init files) under their final
// names, before Muxer.Close removes gohlslib's files. The segment list and durations come
// from gohlslib's own playlist when it serves one, else from the files (at most two then).
func (c *Component) keepSegments(w *writer) []vodSegment {
	out := w.out
	var segs []vodSegment
	if c.playable.Load() {
		rec := &recorder{}
		out.m.Handle(rec, muxerRequest(out.videoID+"_stream.m3u8", ""))
		var pl playlist.Media
		if rec.status() == 200 && pl.Unmarshal(rec.body.Bytes()) == nil {
			for _, s := range pl.Segments {
				if n, ok := segmentNumber(s.URI, w.prefix, out.videoID); ok && !s.Gap {
					segs = append(segs, vodSegment{n: n, dur: s.Duration})
				}
			}
		}
	} else {
		segs = c.segmentsFromFiles(w)
	}
	ids := []string{out.videoID}
	if out.audioID != "" {
		ids = append(ids, out.audioID)
	}
	for _, id := range ids {
		rec := &recorder{}
		out.m.Handle(rec, muxerRequest(w.prefix+"_"+id+"_init.mp4", ""))
		if rec.status() != 200 {
			return nil // no segment was finished
		}
		if err := os.WriteFile(filepath.Join(c.dir, id+"_init.mp4"), rec.body.Bytes(), 0o644); err != nil {
			w.log.Error("hls: keep the init file", "err", err)
			return nil
		}
		for _, s := range segs {
			from := filepath.Join(c.dir, segmentName(w.prefix, id, s.n))
			if err := linkOrCopy(from, filepath.Join(c.dir, finalSegmentName(id, s.n))); err != nil {
				w.log.Warn("hls: keep a segment", "err", err)
			}
		}
	}
	return segs
}

// segmentsFromFiles lists the finished video segments on disk with their durations (read
// from the files: the sum of their samples' durations).
func (c *Component) segmentsFromFiles(w *writer) []vodSegment {
	var segs []vodSegment
	for n := uint64(0); n < w.seg; n++ {
		b, err := os.ReadFile(filepath.Join(c.dir, segmentName(w.prefix, w.out.videoID, n)))
		if err != nil {
			continue
		}
		var parts fmp4.Parts
		if err := parts.Unmarshal(b); err != nil {
			w.log.Warn("hls: read a segment", "n", n, "err", err)
			continue
		}
		var ticks int64
		for _, p := range parts {
			for _, t := range p.Tracks {
				for _, s := range t.Samples {
					ticks += int64(s.Duration)
				}
			}
		}
		if ticks > 0 {
			segs = append(segs, vodSegment{n: n, dur: ticksToDuration(ticks, videoRate)})
		}
	}
	return segs
}

// segmentNumber parses gohlslib's segment URI <prefix>_<id>_seg<n>.mp4.
func segmentNumber(uri, prefix, id string) (uint64, bool) {
	uri, _, _ = strings.Cut(uri, "?")
	s, ok := strings.CutPrefix(uri, prefix+"_"+id+"_seg")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".mp4")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func finalSegmentName(id string, n uint64) string {
	return id + "_seg" + strconv.FormatUint(n, 10) + ".mp4"
}

// writePlaylists writes the VOD media playlists and the master playlist.
func (c *Component) writePlaylists(w *writer, segs []vodSegment) error {
	out := w.out
	target := 1
	for _, s := range segs {
		target = max(target, int(math.Round(s.dur.Seconds())))
	}
	var size int64
	var total time.Duration
	ids := []string{out.videoID}
	if out.audioID != "" {
		ids = append(ids, out.audioID)
	}
	for _, id := range ids {
		vod := playlist.MediaPlaylistTypeVOD
		pl := playlist.Media{
			Version: 7, IndependentSegments: true, TargetDuration: target,
			MediaSequence: int(segs[0].n), PlaylistType: &vod,
			Map: &playlist.MediaMap{URI: id + "_init.mp4"}, Endlist: true,
		}
		for _, s := range segs {
			name := finalSegmentName(id, s.n)
			if fi, err := os.Stat(filepath.Join(c.dir, name)); err == nil {
				size += fi.Size()
			}
			pl.Segments = append(pl.Segments, &playlist.MediaSegment{Duration: s.dur, URI: name})
			if id == out.videoID {
				total += s.dur
			}
		}
		if err := writePlaylist(filepath.Join(c.dir, id+"_stream.m3u8"), pl); err != nil {
			return err
		}
	}

	bandwidth := int(float64(size*8) / max(total.Seconds(), 1))
	variant := &playlist.MultivariantVariant{Bandwidth: bandwidth, URI: out.videoID + "_stream.m3u8",
		Codecs: w.codecs()}
	if width, height := w.resolution(); width > 0 {
		variant.Resolution = fmt.Sprintf("%dx%d", width, height)
	}
	master := playlist.Multivariant{Version: 7, IndependentSegments: true,
		Variants: []*playlist.MultivariantVariant{variant}}
	if out.audioID != "" {
		variant.Audio = "audio"
		uri := out.audioID + "_stream.m3u8"
		master.Renditions = append(master.Renditions, &playlist.MultivariantRendition{
			Type: playlist.MultivariantRenditionTypeAudio, GroupID: "audio", Name: out.audioID,
			Autoselect: true, Default: true, URI: &uri,
		})
	}
	return writePlaylist(filepath.Join(c.dir, "index.m3u8"), master)
}

func writePlaylist(path string, pl interface{ Marshal() ([]byte, error) }) error {
	b, err := pl.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// upload sends the output to S3 in the background when the request gave credentials (an
// empty output too: the backend still gets its HlsUploaded), then removes a non-persistent or
// empty output; without credentials that happens now.
func (c *Component) upload(m *jellyfish.ComponentMember, empty bool) {
	remove := !c.opts.persistent || empty
	if c.opts.s3 == nil {
		if remove {
			os.RemoveAll(c.dir)
		}
		return
	}
	dir := c.dir
	if !c.opts.persistent { // (a persistent directory would show in GET /recording)
		// Out of the way: a new HLS component of a room with the same id starts afresh.
		moved := c.dir + ".upload-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := os.Rename(c.dir, moved); err == nil {
			dir = moved
		}
	}
	target := s3upload.Target{Credentials: *c.opts.s3, Endpoint: c.cfg.S3Endpoint, Insecure: c.cfg.S3Insecure}
	roomID, log := c.roomID, m.Logger()
	m.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
		defer cancel()
		err := s3upload.UploadDir(ctx, target, dir, roomID+"/", func(name string) bool {
			return slices.Contains([]string{".m4s", ".m3u8", ".mp4"}, filepath.Ext(name))
		})
		if err != nil {
			log.Error("hls: S3 upload failed", "err", err)
			m.Emit(jellyfish.HlsUploadCrashed{RoomID: roomID})
		} else {
			log.Info("hls: uploaded to S3", "bucket", target.Bucket, "prefix", roomID+"/")
			m.Emit(jellyfish.HlsUploaded{RoomID: roomID})
		}
		if remove {
			os.RemoveAll(dir)
		}
	})
}

// linkOrCopy gives the file from a second name (a copy where hard links are not supported).
func linkOrCopy(from, to string) error {
	if os.Link(from, to) == nil {
		return nil
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// removeMatching removes the files of dir whose names match.
func removeMatching(dir string, match func(string) bool) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if match(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
