package serversdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// ListRecordings returns the ids of the finished recordings (persistent HLS output) stored by
// the server (GET /recording).
func (c *Client) ListRecordings(ctx context.Context) ([]string, error) {
	ids := []string{}
	if err := c.doData(ctx, request{method: http.MethodGet, path: "/recording", auth: true}, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteRecording deletes a recording (DELETE /recording/{recordingID}).
func (c *Client) DeleteRecording(ctx context.Context, recordingID string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path("recording", recordingID), auth: true})
	return err
}

// RecordingContent returns a file of a recording, e.g. "index.m3u8"
// (GET /recording/{recordingID}/{filename}; no token is sent, the route needs none).
func (c *Client) RecordingContent(ctx context.Context, recordingID, filename string) ([]byte, error) {
	return c.do(ctx, request{method: http.MethodGet, path: path("recording", recordingID, filename)})
}

// HLSQuery holds the LL-HLS query parameters of HLSContent. The zero value sends none.
type HLSQuery struct {
	// MSN and Part (_HLS_msn, _HLS_part), both set, ask for a blocking playlist reload: the
	// server answers once partial segment Part of segment MSN exists.
	MSN  *int
	Part *int
	// Skip (_HLS_skip, e.g. "YES") asks for the delta playlist. Empty: not sent.
	Skip string
}

func (q HLSQuery) values() url.Values {
	v := url.Values{}
	if q.MSN != nil {
		v.Set("_HLS_msn", strconv.Itoa(*q.MSN))
	}
	if q.Part != nil {
		v.Set("_HLS_part", strconv.Itoa(*q.Part))
	}
	if q.Skip != "" {
		v.Set("_HLS_skip", q.Skip)
	}
	return v
}

// HLSContent returns a file of a room's live HLS output, e.g. "index.m3u8"
// (GET /hls/{roomID}/{filename}; no token is sent, the route needs none). A blocking reload
// (q.MSN and q.Part) waits for the server, bounded by ctx.
func (c *Client) HLSContent(ctx context.Context, roomID, filename string, q HLSQuery) ([]byte, error) {
	return c.do(ctx, request{method: http.MethodGet, path: path("hls", roomID, filename), query: q.values()})
}
