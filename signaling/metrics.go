package signaling

import (
	"encoding/json"

	jellyfish "github.com/jellyfish-go/jellyfish"
)

// MetricsReport renders the JSON of a metrics report: an object keyed "room_id=<room>" whose
// values are objects keyed "endpoint_id=<peer>", one per connected peer, as Jellyfish's WebRTC
// metrics are. Until the media plane reports ICE and RTP counters, an endpoint carries only its
// peer's status and track count. With no connected peer the report is {}.
func MetricsReport(e *jellyfish.Engine) string {
	report := map[string]map[string]map[string]any{}
	for _, room := range e.Rooms() {
		info := room.Info()
		endpoints := map[string]map[string]any{}
		for _, p := range info.Peers {
			if p.Status != jellyfish.PeerStatusConnected {
				continue
			}
			endpoints["endpoint_id="+p.ID] = map[string]any{
				"peer.status": string(p.Status),
				"peer.tracks": len(p.Tracks),
			}
		}
		if len(endpoints) > 0 {
			report["room_id="+info.ID] = endpoints
		}
	}
	b, _ := json.Marshal(report)
	return string(b)
}
