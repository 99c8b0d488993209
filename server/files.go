package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// Recordings (persistent HLS output) live in <resources>/recordings/<recording id>/; the live HLS
// output of a room in <resources>/temporary_hls/<room id>/. Every file is opened through an
// os.Root, so neither "..", an absolute name nor a symlink can reach outside those directories.

func (s *Server) recordingsDir() string { return filepath.Join(s.cfg.ResourcesPath, "recordings") }

// insideName reports whether name is a single relative name strictly inside its directory.
func insideName(name string) bool {
	return name != "" && filepath.IsLocal(name) && filepath.Clean(name) != "."
}

func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request) {
	entries, err := os.ReadDir(s.recordingsDir())
	ids := []string{}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.log.Warn("list recordings", "err", err)
		writeError(w, http.StatusNotFound, "Unable to obtain recordings")
		return
	}
	for _, e := range entries {
		if e.IsDir() && s.liveHLS(e.Name()) == nil { // a live stream is not a recording yet
			ids = append(ids, e.Name())
		}
	}
	writeData(w, http.StatusOK, ids)
}

func (s *Server) deleteRecording(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("recording_id")
	if !insideName(id) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid recording id, got: %s", id))
		return
	}
	root, err := os.OpenRoot(s.recordingsDir())
	if err == nil && s.liveHLS(id) != nil {
		root.Close()
		err = errors.New("live")
	}
	if err == nil {
		defer root.Close()
		var fi os.FileInfo
		if fi, err = root.Lstat(id); err == nil && fi.IsDir() {
			err = root.RemoveAll(id)
			if err == nil {
				s.log.Info("recording deleted", "recording", id)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "Recording not found")
}

func (s *Server) recordingContent(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("recording_id"), r.PathValue("filename")
	if !insideName(id) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid recording, got: %s", id))
		return
	}
	if !insideName(name) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid filename, got: %s", name))
		return
	}
	if s.liveHLS(id) != nil {
		writeError(w, http.StatusNotFound, "File not found") // still live
		return
	}
	serveFile(w, s.recordingsDir(), id, name)
}

func (s *Server) hlsContent(w http.ResponseWriter, r *http.Request) {
	roomID, name := r.PathValue("room_id"), r.PathValue("filename")
	if !insideName(name) {
		// Jellyfish's message has no colon here, unlike the recording endpoint.
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid filename, got %s", name))
		return
	}
	// Live HLS output exists only while a room has an HLS component.
	h := s.liveHLS(roomID)
	if h == nil {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	h.ServeFile(w, r, name)
}

// hlsOutput is what an HLS component offers the /hls route (component/hls implements it).
type hlsOutput interface {
	ServeFile(w http.ResponseWriter, r *http.Request, filename string)
}

// liveHLS returns the HLS component of the room with the given id, or nil.
func (s *Server) liveHLS(roomID string) hlsOutput {
	room, err := s.engine.Room(roomID)
	if err != nil {
		return nil
	}
	for _, c := range room.Components() {
		if h, ok := c.Component().(hlsOutput); ok && c.Type() == jellyfish.ComponentHLS {
			return h
		}
	}
	return nil
}

// serveFile answers the raw bytes of base/sub/name, or 404 "File not found". Both sub and name
// are resolved inside base, so a symlinked sub cannot lead out of it either.
func serveFile(w http.ResponseWriter, base, sub, name string) {
	root, err := os.OpenRoot(base)
	if err != nil {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.Join(sub, name))
	if err != nil {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	if strings.HasSuffix(name, ".m3u8") {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f)
}
