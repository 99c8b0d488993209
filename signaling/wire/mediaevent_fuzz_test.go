package wire

import (
	"reflect"
	"testing"
)

// FuzzDecodeMediaEvent: the decoders never panic; whatever they accept re-encodes and decodes
// again to an equal value.
func FuzzDecodeMediaEvent(f *testing.F) {
	for _, c := range clientExamples {
		f.Add([]byte(c.json))
	}
	for _, c := range serverExamples {
		f.Add([]byte(c.json))
	}
	for _, s := range []string{
		`{"type":"connect","data":{}}`,
		`{"type":"connect","data":{"metadata":"<&>\u2028"}}`,
		`{"type":"custom","data":{"type":"custom","data":{"type":"disconnect","data":[1]}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":1e0,"sdpMid":"0","usernameFragment":null}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":null,"trackIdToTrackMetadata":{"a":{ "x" : 1 }}}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"screen":2},"integratedTurnServers":[{"serverAddr":"h","serverPort":"0050","transport":"udp","username":"u","password":"p"}]}}}`,
		`{"type":"tracksAdded","data":{"endpointId":"a","tracks":{"t":{}}}}`,
		`{"type":"custom","data":{"type":"bandwidthEstimation","data":{"estimation":-0}}}`,
		"{\"type\":\"connect\",\"data\":{\"metadata\":\"\xff\"}}",
		`{"type":"connect","type":"disconnect"}`,
		`{"type":"unknown"}`,
		`not json`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if ev, err := DecodeClientEvent(data); err == nil {
			b, err := EncodeClientEvent(ev)
			if err != nil {
				t.Fatalf("decoded %#v from %q but cannot encode it: %v", ev, data, err)
			}
			again, err := DecodeClientEvent(b)
			if err != nil {
				t.Fatalf("re-encoded %q (from %q) does not decode: %v", b, data, err)
			}
			if !reflect.DeepEqual(ev, again) {
				t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", data, b, again, ev)
			}
		}
		if ev, err := DecodeServerEvent(data); err == nil {
			b, err := EncodeServerEvent(ev)
			if err != nil {
				t.Fatalf("decoded %#v from %q but cannot encode it: %v", ev, data, err)
			}
			again, err := DecodeServerEvent(b)
			if err != nil {
				t.Fatalf("re-encoded %q (from %q) does not decode: %v", b, data, err)
			}
			if !reflect.DeepEqual(ev, again) {
				t.Fatalf("round trip of %q via %q:\n got %#v\nwant %#v", data, b, again, ev)
			}
		}
	})
}
