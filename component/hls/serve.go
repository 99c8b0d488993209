package hls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// ServeFile answers GET /hls/<room id>/<filename> as Jellyfish v0.5.0 does (§4.16): with
// _HLS_skip the playlist's delta form (<name>_delta.m3u8); with _HLS_msn and _HLS_part the
// playlist once that part exists (LL-HLS blocking reload); otherwise the file. Files come from
// gohlslib's muxer (parts and the LL-HLS init live only in memory); a request that waits for a
// part ends when the client goes away or the component stops.
func (c *Component) ServeFile(w http.ResponseWriter, r *http.Request, filename string) {
	if filename == "" || !filepath.IsLocal(filename) || filepath.Clean(filename) == "." {
		writeError(w, http.StatusBadRequest, "Invalid filename, got "+filename)
		return
	}
	q := r.URL.Query()
	name := filename
	muxerQuery := url.Values{}
	if q.Has("_HLS_skip") {
		if strings.HasSuffix(name, ".m3u8") {
			name = strings.TrimSuffix(name, ".m3u8") + "_delta.m3u8"
		}
	}
	if base, ok := strings.CutSuffix(name, "_delta.m3u8"); ok {
		// gohlslib makes delta playlists of LL-HLS media playlists only.
		if !c.opts.lowLatency {
			writeError(w, http.StatusNotFound, "File not found")
			return
		}
		name = base + ".m3u8"
		muxerQuery.Set("_HLS_skip", "YES")
	}
	blocking := q.Has("_HLS_msn") && q.Has("_HLS_part")
	if blocking {
		msn, err1 := strconv.ParseUint(q.Get("_HLS_msn"), 10, 64)
		part, err2 := strconv.ParseUint(q.Get("_HLS_part"), 10, 64)
		if err1 != nil || err2 != nil {
			// Jellyfish crashes on these (500 with Phoenix's body).
			writeJSON(w, http.StatusInternalServerError, map[string]any{"errors": map[string]string{"detail": "Internal Server Error"}})
			return
		}
		muxerQuery.Set("_HLS_msn", strconv.FormatUint(msn, 10))
		muxerQuery.Set("_HLS_part", strconv.FormatUint(part, 10))
	}
	// gohlslib holds a playlist request until the stream has content; Jellyfish answers 404
	// until the playlist file exists.
	playlist := strings.HasSuffix(name, ".m3u8")
	if playlist && !blocking && !c.playable.Load() {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	rec, ok := c.fromMuxer(r, name, muxerQuery.Encode())
	if !ok || rec.status() != http.StatusOK {
		writeError(w, http.StatusNotFound, "File not found")
		return
	}
	if playlist {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.WriteHeader(http.StatusOK)
	w.Write(rec.body.Bytes())
}

// fromMuxer runs the muxer's handler for name on a goroutine of its own, so that the request
// can end while gohlslib still waits (it does not watch the request's context); Run closes the
// muxer, which ends every wait, and then waits for these goroutines.
func (c *Component) fromMuxer(r *http.Request, name, rawQuery string) (*recorder, bool) {
	c.mu.Lock()
	if c.closed || c.out == nil {
		c.mu.Unlock()
		return nil, false
	}
	m := c.out.m
	c.serving.Add(1)
	c.mu.Unlock()

	done := make(chan *recorder, 1)
	go func() {
		defer c.serving.Done()
		rec := &recorder{}
		m.Handle(rec, muxerRequest(name, rawQuery))
		done <- rec
	}()
	select {
	case rec := <-done:
		return rec, true
	case <-r.Context().Done():
		return nil, false
	}
}

// muxerRequest is a request for one of the muxer's files.
func muxerRequest(name, rawQuery string) *http.Request {
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/" + name, RawQuery: rawQuery},
		Header: http.Header{}}
}

// recorder is the http.ResponseWriter the muxer writes to: its status (0 when the muxer has no
// such file) and body.
type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (r *recorder) status() int { return r.code }

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"errors": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b)
}
