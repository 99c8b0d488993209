package recording

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
)

// uploadTimeout bounds a part's upload; Engine.Close waits for uploads in flight.
const uploadTimeout = 10 * time.Minute

// recorderConfig is what the factory resolved for one recorder.
type recorderConfig struct {
	mode   jellyfish.SubscribeMode
	roomID string
	base   string
	start  time.Time // names the part directory
	target s3upload.Target
	prefix string
}

// Recorder is a "recording" component: a TrackSink that writes each accepted track to its own
// file in the part directory, and uploads the directory to S3 when it stops.
//
// Goroutines: none of its own. AddTrack and RemoveTrack run on the room's sink loop, each
// track's packets on that track's goroutine, and the upload on a ComponentMember.Go goroutine
// that the engine waits for.
type Recorder struct {
	cfg recorderConfig

	ready  chan struct{} // closed by Run once m, dir and dirErr are set
	m      *jellyfish.ComponentMember
	dir    string
	dirErr error

	mu       sync.Mutex
	tracks   map[string]*trackRecorder // accepted and not finished, by track id
	names    map[string]bool           // file names taken in the part directory
	finished []trackReport             // in finishing order
}

var (
	_ jellyfish.Component           = (*Recorder)(nil)
	_ jellyfish.TrackSink           = (*Recorder)(nil)
	_ jellyfish.ComponentPropertier = (*Recorder)(nil)
)

func newRecorder(cfg recorderConfig) *Recorder {
	return &Recorder{cfg: cfg, ready: make(chan struct{}), tracks: map[string]*trackRecorder{}, names: map[string]bool{}}
}

// Properties are Jellyfish's: {"subscribeMode": "auto"|"manual"}.
func (r *Recorder) Properties() map[string]any {
	return map[string]any{"subscribeMode": string(r.cfg.mode)}
}

// SubscribeMode is the subscribeMode option.
func (r *Recorder) SubscribeMode() jellyfish.SubscribeMode { return r.cfg.mode }

// Dir returns the part directory (empty until the recorder started).
func (r *Recorder) Dir() string {
	select {
	case <-r.ready:
		return r.dir
	default:
		return ""
	}
}

// Run creates the part directory, records until ctx ends, then finishes every file, writes
// report.json and starts the upload (which the engine, not the removal, waits for).
func (r *Recorder) Run(ctx context.Context, m *jellyfish.ComponentMember) error {
	r.m = m
	r.dir, r.dirErr = makePartDir(filepath.Join(r.cfg.base, "raw_recordings", r.cfg.roomID), r.cfg.start)
	close(r.ready)
	if r.dirErr != nil {
		return fmt.Errorf("recording: %w", r.dirErr)
	}
	m.Logger().Info("recording started", "dir", r.dir)
	<-ctx.Done()

	// The room closed every sink before ending ctx: no packet, AddTrack or RemoveTrack follows.
	r.mu.Lock()
	left := make([]*trackRecorder, 0, len(r.tracks))
	for _, t := range r.tracks {
		left = append(left, t)
	}
	r.tracks = map[string]*trackRecorder{}
	r.mu.Unlock()
	for _, t := range left {
		r.finishTrack(t)
	}
	recorded, err := r.writeReport()
	if err != nil {
		m.Logger().Error("recording: report", "err", err)
	}
	m.Logger().Info("recording finished", "dir", r.dir, "tracks", recorded)
	if recorded == 0 {
		m.Logger().Info("recording: nothing recorded; no upload")
		return nil
	}

	dir, target, log := r.dir, r.cfg.target, m.Logger()
	key := s3KeyPrefix(r.cfg.prefix, r.cfg.roomID, filepath.Base(r.dir))
	m.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), uploadTimeout)
		defer cancel()
		if err := s3upload.UploadDir(ctx, target, dir, key, nil); err != nil {
			// v0.5.0 emits no notification for a failed recording upload either.
			log.Error("recording upload failed; the files stay local", "dir", dir, "bucket", target.Bucket, "key", key, "err", err)
			return
		}
		log.Info("recording uploaded", "bucket", target.Bucket, "key", key)
	})
	return nil
}

// AddTrack accepts H.264 video and Opus audio; other codecs are declined with a log line.
func (r *Recorder) AddTrack(st *jellyfish.SinkTrack) func(h *rtp.Header, payload []byte) {
	<-r.ready // Run starts together with the sink loop: wait for the directory
	if r.dirErr != nil {
		return nil
	}
	log := r.m.Logger()
	var codec mediaCodec
	switch mime := st.Codec.MimeType; {
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		codec = newH264Codec(st.RequestKeyframe)
	case strings.EqualFold(mime, webrtc.MimeTypeOpus):
		ch := int(st.Codec.Channels)
		if ch == 0 {
			ch = 2
		}
		codec = &opusCodec{channels: ch}
	default:
		log.Warn("recording: codec not recorded; track skipped", "track", st.ID, "codec", mime)
		return nil
	}
	r.mu.Lock()
	name := trackFileName(st.ID)
	for i := 2; r.names[name]; i++ {
		name = fmt.Sprintf("%s_%d.mp4", strings.TrimSuffix(trackFileName(st.ID), ".mp4"), i)
	}
	r.names[name] = true
	t := &trackRecorder{
		info: trackReport{ID: st.ID, EndpointID: st.EndpointID, Kind: string(st.Kind),
			Codec: st.Codec.MimeType, File: name, Metadata: st.Metadata},
		path: filepath.Join(r.dir, name), log: log, codec: codec, partAt: r.cfg.start,
	}
	r.tracks[st.ID] = t
	r.mu.Unlock()
	log.Info("recording track", "track", st.ID, "codec", st.Codec.MimeType, "file", name)
	return t.write
}

// RemoveTrack finishes the track's file.
func (r *Recorder) RemoveTrack(st *jellyfish.SinkTrack) {
	r.mu.Lock()
	t := r.tracks[st.ID]
	delete(r.tracks, st.ID)
	r.mu.Unlock()
	if t != nil {
		r.finishTrack(t)
	}
}

func (r *Recorder) finishTrack(t *trackRecorder) {
	rep, ok := t.finish()
	if !ok {
		return
	}
	r.mu.Lock()
	r.finished = append(r.finished, rep)
	r.mu.Unlock()
}

// makePartDir creates <roomDir>/part_<start>; should that exist (a recorder re-added within
// the same microsecond), the next microsecond.
func makePartDir(roomDir string, start time.Time) (string, error) {
	if err := os.MkdirAll(roomDir, 0o755); err != nil {
		return "", err
	}
	for i := 0; ; i++ {
		dir := filepath.Join(roomDir, partName(start.Add(time.Duration(i)*time.Microsecond)))
		err := os.Mkdir(dir, 0o755)
		if err == nil || !errors.Is(err, fs.ErrExist) || i == 100 {
			return dir, err
		}
	}
}

// trackReport describes one recorded track in report.json.
type trackReport struct {
	ID         string          `json:"trackId"`
	EndpointID string          `json:"endpointId"`
	Kind       string          `json:"kind"`
	Codec      string          `json:"codec"`
	File       string          `json:"file"`
	Metadata   json.RawMessage `json:"metadata"`
	// StartOffsetMs is when the track's first sample arrived, after the part's start: what
	// aligns the tracks (each file starts at 0).
	StartOffsetMs int64 `json:"startOffsetMs"`
	DurationMs    int64 `json:"durationMs"`
	Samples       int   `json:"samples"`
}

// report is report.json: what a post-processor needs to put the part's files together.
type report struct {
	RoomID      string        `json:"roomId"`
	ComponentID string        `json:"componentId"`
	Start       string        `json:"start"`
	Tracks      []trackReport `json:"tracks"`
}

// writeReport writes report.json and returns how many tracks it lists.
func (r *Recorder) writeReport() (int, error) {
	r.mu.Lock()
	rep := report{RoomID: r.cfg.roomID, ComponentID: r.m.ID(), Start: r.cfg.start.Format(partTimeLayout),
		Tracks: append([]trackReport{}, r.finished...)}
	r.mu.Unlock()
	for i := range rep.Tracks {
		if len(rep.Tracks[i].Metadata) == 0 {
			rep.Tracks[i].Metadata = json.RawMessage("null")
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return len(rep.Tracks), err
	}
	return len(rep.Tracks), os.WriteFile(filepath.Join(r.dir, "report.json"), append(b, '\n'), 0o644)
}
