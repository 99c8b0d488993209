package jellyfish

import "encoding/json"

// TrackType is the media kind of a track.
type TrackType string

// Track types.
const (
	TrackTypeAudio TrackType = "audio"
	TrackTypeVideo TrackType = "video"
)

// Track is a published track as the server API shows it.
type Track struct {
	// ID is assigned by the media engine.
	ID   string
	Type TrackType
	// Metadata is the JSON value the publisher attached; nil means JSON null.
	Metadata json.RawMessage
}

// MetadataJSON returns the metadata as JSON text ("null" when there is none), as the
// notifications carry it.
func (t Track) MetadataJSON() string { return jsonOrNull(t.Metadata) }

func jsonOrNull(m json.RawMessage) string {
	if len(m) == 0 {
		return "null"
	}
	return string(m)
}
