package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Examples copied verbatim from shared/reference/media-events.md, sections 3 and 4.
const (
	exConnect                = `{"type":"connect","data":{"metadata":{"name":"Alice"}}}`
	exDisconnect             = `{"type":"disconnect"}`
	exUpdateEndpointMetadata = `{"type":"updateEndpointMetadata","data":{"metadata":{"name":"Alice (away)"}}}`
	exUpdateTrackMetadata    = `{"type":"updateTrackMetadata","data":{"trackId":"peerA-uuid:cam-uuid","trackMetadata":{"source":"screen"}}}`
	exDisableTrackEncoding   = `{"type":"disableTrackEncoding","data":{"trackId":"peerA-uuid:cam-uuid","encoding":"h"}}`
	exRenegotiateTracks      = `{"type":"custom","data":{"type":"renegotiateTracks"}}`
	exSDPOffer               = `{"type":"custom","data":{"type":"sdpOffer","data":{
  "sdpOffer": {"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n..."},
  "midToTrackId": {"0":"peerA-uuid:mic-uuid","1":"peerA-uuid:cam-uuid"},
  "trackIdToTrackMetadata": {"peerA-uuid:mic-uuid":{"source":"mic"},"peerA-uuid:cam-uuid":{"source":"camera"}},
  "trackIdToTrackBitrates": {"peerA-uuid:mic-uuid":50000,"peerA-uuid:cam-uuid":{"l":150000,"m":500000,"h":2500000}}
}}}`
	exClientCandidate = `{"type":"custom","data":{"type":"candidate","data":{
  "candidate":"candidate:3029541345 1 udp 41885695 203.0.113.10 50411 typ relay raddr 198.51.100.7 rport 61234 generation 0 ufrag Zs2a network-id 1",
  "sdpMLineIndex":0}}}`
	exTrackVariantBitrates = `{"type":"custom","data":{"type":"trackVariantBitrates","data":{
  "trackId":"peerA-uuid:cam-uuid","variantBitrates":{"l":153600,"m":512000,"h":2560000}}}}`
	exSetTargetTrackVariant = `{"type":"custom","data":{"type":"setTargetTrackVariant","data":{"trackId":"peerB-uuid:cam-uuid","variant":"l"}}}`

	exConnected = `{"type":"connected","data":{
  "id":"peerB-uuid",
  "otherEndpoints":[
    {"id":"peerA-uuid","type":"webrtc","metadata":{"name":"Alice"},
     "trackIdToMetadata":{"peerA-uuid:mic-uuid":{"source":"mic"},"peerA-uuid:cam-uuid":{"source":"camera"}},
     "tracks":{
       "peerA-uuid:mic-uuid":{"metadata":{"source":"mic"},"simulcastConfig":{"enabled":false,"activeEncodings":["h"],"disabledEncodings":[]}},
       "peerA-uuid:cam-uuid":{"metadata":{"source":"camera"},"simulcastConfig":{"enabled":true,"activeEncodings":["l","m","h"],"disabledEncodings":[]}}}},
    {"id":"hls-component-uuid","type":"hls","metadata":null,"trackIdToMetadata":{},"tracks":{}}]}}`
	exEndpointAdded   = `{"type":"endpointAdded","data":{"id":"peerB-uuid","type":"webrtc","metadata":{"name":"Bob"}}}`
	exEndpointRemoved = `{"type":"endpointRemoved","data":{"id":"peerA-uuid"}}`
	exEndpointUpdated = `{"type":"endpointUpdated","data":{"id":"peerA-uuid","metadata":{"name":"Alice (away)"}}}`
	exTracksAdded     = `{"type":"tracksAdded","data":{
  "endpointId":"peerA-uuid",
  "trackIdToMetadata":{"peerA-uuid:cam-uuid":{"source":"camera"}},
  "tracks":{"peerA-uuid:cam-uuid":{"metadata":{"source":"camera"},
            "simulcastConfig":{"enabled":true,"activeEncodings":["l","m","h"],"disabledEncodings":[]}}}}}`
	exTracksRemoved         = `{"type":"tracksRemoved","data":{"endpointId":"peerA-uuid","trackIds":["peerA-uuid:cam-uuid"]}}`
	exTrackUpdated          = `{"type":"trackUpdated","data":{"endpointId":"peerA-uuid","trackId":"peerA-uuid:cam-uuid","metadata":{"source":"screen"}}}`
	exTrackEncodingDisabled = `{"type":"trackEncodingDisabled","data":{"endpointId":"peerA-uuid","trackId":"peerA-uuid:cam-uuid","encoding":"h"}}`
	exTracksPriority        = `{"type":"tracksPriority","data":{"tracks":["peerA-uuid:cam-uuid"]}}`
	exError                 = `{"type":"error","data":{"message":"room is full"}}`
	exOfferData             = `{"type":"custom","data":{"type":"offerData","data":{
  "tracksTypes":{"audio":1,"video":1},
  "integratedTurnServers":[
    {"serverAddr":"203.0.113.10","serverPort":50018,"transport":"udp","username":"1715600000:peerB-uuid","password":"bm90LWEtcmVhbC1wYXNzd29yZA=="},
    {"serverAddr":"203.0.113.10","serverPort":49999,"transport":"tcp","username":"1715600000:peerB-uuid","password":"YW5vdGhlci1mYWtlLXBhc3M="}]}}}`
	exSDPAnswer = `{"type":"custom","data":{"type":"sdpAnswer","data":{
  "type":"answer",
  "sdp":"v=0\r\no=- 39483584182226872 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2 3\r\n...",
  "midToTrackId":{"0":"peerB-uuid:mic-uuid","1":"peerB-uuid:cam-uuid","2":"peerA-uuid:mic-uuid","3":"peerA-uuid:cam-uuid"}}}}`
	exServerCandidate = `{"type":"custom","data":{"type":"candidate","data":{
  "candidate":"candidate:1 1 UDP 2015363327 203.0.113.10 50123 typ host",
  "sdpMLineIndex":0,"sdpMid":null,"usernameFragment":null}}}`
	exEncodingSwitched = `{"type":"custom","data":{"type":"encodingSwitched","data":{
  "endpointId":"peerA-uuid","trackId":"peerA-uuid:cam-uuid","encoding":"m","reason":"other"}}}`
	exVadNotification     = `{"type":"custom","data":{"type":"vadNotification","data":{"trackId":"peerA-uuid:mic-uuid","status":"speech"}}}`
	exBandwidthEstimation = `{"type":"custom","data":{"type":"bandwidthEstimation","data":{"estimation":812345.25}}}`
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }
func u16(n uint16) *uint16         { return &n }
func sp(s string) *string          { return &s }

var simH = SimulcastConfig{ActiveEncodings: []string{"h"}, DisabledEncodings: []string{}}
var simLMH = SimulcastConfig{Enabled: true, ActiveEncodings: []string{"l", "m", "h"}, DisabledEncodings: []string{}}

type clientCase struct {
	name string
	json string
	ev   ClientEvent
}

var clientExamples = []clientCase{
	{"connect", exConnect, Connect{Metadata: raw(`{"name":"Alice"}`)}},
	{"disconnect", exDisconnect, Disconnect{}},
	{"updateEndpointMetadata", exUpdateEndpointMetadata, UpdateEndpointMetadata{Metadata: raw(`{"name":"Alice (away)"}`)}},
	{"updateTrackMetadata", exUpdateTrackMetadata, UpdateTrackMetadata{TrackID: "peerA-uuid:cam-uuid", TrackMetadata: raw(`{"source":"screen"}`)}},
	{"disableTrackEncoding", exDisableTrackEncoding, DisableTrackEncoding{TrackID: "peerA-uuid:cam-uuid", Encoding: "h"}},
	{"enableTrackEncoding", strings.Replace(exDisableTrackEncoding, "disable", "enable", 1), EnableTrackEncoding{TrackID: "peerA-uuid:cam-uuid", Encoding: "h"}},
	{"renegotiateTracks", exRenegotiateTracks, RenegotiateTracks{}},
	{"sdpOffer", exSDPOffer, SDPOffer{
		Offer:             SessionDescription{Type: "offer", SDP: "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n..."},
		MidToTrackID:      map[string]string{"0": "peerA-uuid:mic-uuid", "1": "peerA-uuid:cam-uuid"},
		TrackIDToMetadata: map[string]json.RawMessage{"peerA-uuid:mic-uuid": raw(`{"source":"mic"}`), "peerA-uuid:cam-uuid": raw(`{"source":"camera"}`)},
		TrackIDToBitrates: map[string]json.RawMessage{"peerA-uuid:mic-uuid": raw(`50000`), "peerA-uuid:cam-uuid": raw(`{"l":150000,"m":500000,"h":2500000}`)},
	}},
	{"candidate", exClientCandidate, ClientCandidate{
		Candidate:     "candidate:3029541345 1 udp 41885695 203.0.113.10 50411 typ relay raddr 198.51.100.7 rport 61234 generation 0 ufrag Zs2a network-id 1",
		SDPMLineIndex: u16(0),
	}},
	{"trackVariantBitrates", exTrackVariantBitrates, TrackVariantBitrates{TrackID: "peerA-uuid:cam-uuid", VariantBitrates: raw(`{"l":153600,"m":512000,"h":2560000}`)}},
	{"setTargetTrackVariant", exSetTargetTrackVariant, SetTargetTrackVariant{TrackID: "peerB-uuid:cam-uuid", Variant: "l"}},
}

type serverCase struct {
	name string
	json string
	ev   ServerEvent
}

var serverExamples = []serverCase{
	{"connected", exConnected, Connected{ID: "peerB-uuid", OtherEndpoints: []Endpoint{
		{ID: "peerA-uuid", Type: "webrtc", Metadata: raw(`{"name":"Alice"}`), Tracks: map[string]TrackInfo{
			"peerA-uuid:mic-uuid": {Metadata: raw(`{"source":"mic"}`), SimulcastConfig: simH},
			"peerA-uuid:cam-uuid": {Metadata: raw(`{"source":"camera"}`), SimulcastConfig: simLMH},
		}},
		{ID: "hls-component-uuid", Type: "hls", Metadata: raw(`null`), Tracks: map[string]TrackInfo{}},
	}}},
	{"endpointAdded", exEndpointAdded, EndpointAdded{ID: "peerB-uuid", Type: "webrtc", Metadata: raw(`{"name":"Bob"}`)}},
	{"endpointRemoved", exEndpointRemoved, EndpointRemoved{ID: "peerA-uuid"}},
	{"endpointUpdated", exEndpointUpdated, EndpointUpdated{ID: "peerA-uuid", Metadata: raw(`{"name":"Alice (away)"}`)}},
	{"tracksAdded", exTracksAdded, TracksAdded{EndpointID: "peerA-uuid", Tracks: map[string]TrackInfo{
		"peerA-uuid:cam-uuid": {Metadata: raw(`{"source":"camera"}`), SimulcastConfig: simLMH}}}},
	{"tracksRemoved", exTracksRemoved, TracksRemoved{EndpointID: "peerA-uuid", TrackIDs: []string{"peerA-uuid:cam-uuid"}}},
	{"trackUpdated", exTrackUpdated, TrackUpdated{EndpointID: "peerA-uuid", TrackID: "peerA-uuid:cam-uuid", Metadata: raw(`{"source":"screen"}`)}},
	{"trackEncodingDisabled", exTrackEncodingDisabled, TrackEncodingDisabled{EndpointID: "peerA-uuid", TrackID: "peerA-uuid:cam-uuid", Encoding: "h"}},
	{"trackEncodingEnabled", strings.Replace(exTrackEncodingDisabled, "Disabled", "Enabled", 1), TrackEncodingEnabled{EndpointID: "peerA-uuid", TrackID: "peerA-uuid:cam-uuid", Encoding: "h"}},
	{"tracksPriority", exTracksPriority, TracksPriority{Tracks: []string{"peerA-uuid:cam-uuid"}}},
	{"error", exError, Error{Message: "room is full"}},
	{"offerData", exOfferData, OfferData{
		TracksTypes: map[string]int{"audio": 1, "video": 1},
		IntegratedTurnServers: []TurnServer{
			{ServerAddr: "203.0.113.10", ServerPort: 50018, Transport: "udp", Username: "1715600000:peerB-uuid", Password: "bm90LWEtcmVhbC1wYXNzd29yZA=="},
			{ServerAddr: "203.0.113.10", ServerPort: 49999, Transport: "tcp", Username: "1715600000:peerB-uuid", Password: "YW5vdGhlci1mYWtlLXBhc3M="},
		}}},
	{"sdpAnswer", exSDPAnswer, SDPAnswer{Type: "answer",
		SDP:          "v=0\r\no=- 39483584182226872 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2 3\r\n...",
		MidToTrackID: map[string]string{"0": "peerB-uuid:mic-uuid", "1": "peerB-uuid:cam-uuid", "2": "peerA-uuid:mic-uuid", "3": "peerA-uuid:cam-uuid"}}},
	{"candidate", exServerCandidate, ServerCandidate{Candidate: "candidate:1 1 UDP 2015363327 203.0.113.10 50123 typ host", SDPMLineIndex: u16(0)}},
	{"encodingSwitched", exEncodingSwitched, EncodingSwitched{EndpointID: "peerA-uuid", TrackID: "peerA-uuid:cam-uuid", Encoding: "m", Reason: ReasonOther}},
	{"vadNotification", exVadNotification, VadNotification{TrackID: "peerA-uuid:mic-uuid", Status: VadSpeech}},
	{"bandwidthEstimation", exBandwidthEstimation, BandwidthEstimation{Estimation: 812345.25}},
}

// customClient lists the client event types the 0.4.0 client sends inside "custom".
var customClient = map[string]bool{"renegotiateTracks": true, "sdpOffer": true, "candidate": true,
	"trackVariantBitrates": true, "setTargetTrackVariant": true}

// customServer lists the server event types Jellyfish sent inside "custom" (section 1.5).
var customServer = map[string]bool{"offerData": true, "sdpAnswer": true, "candidate": true,
	"encodingSwitched": true, "vadNotification": true, "bandwidthEstimation": true}

func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return v
}

func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	g, w := generic(t, got), generic(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, want)
	}
}

func TestDecodeClientExamples(t *testing.T) {
	for _, c := range clientExamples {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeClientEvent([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev, c.ev) {
				t.Fatalf("got  %#v\nwant %#v", ev, c.ev)
			}
			if got := ClientEventType(ev); got != c.name {
				t.Errorf("ClientEventType = %q, want %q", got, c.name)
			}
		})
	}
}

func TestEncodeClientMatchesExamples(t *testing.T) {
	for _, c := range clientExamples {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeClientEvent(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, b, c.json)
		})
	}
}

func TestDecodeServerExamples(t *testing.T) {
	for _, c := range serverExamples {
		t.Run(c.name, func(t *testing.T) {
			ev, err := DecodeServerEvent([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev, c.ev) {
				t.Fatalf("got  %#v\nwant %#v", ev, c.ev)
			}
			if got := ServerEventType(ev); got != c.name {
				t.Errorf("ServerEventType = %q, want %q", got, c.name)
			}
		})
	}
}

func TestEncodeServerMatchesExamples(t *testing.T) {
	for _, c := range serverExamples {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeServerEvent(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, b, c.json)
		})
	}
}

// TestWrapping checks the wrapper each event is encoded with, and that decoders accept the event
// top level, custom-wrapped and double custom-wrapped.
func TestWrapping(t *testing.T) {
	inner := func(b []byte) (outerType string, innerEnv []byte) {
		var env struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if env.Type != "custom" {
			return env.Type, b
		}
		return env.Type, env.Data
	}
	for _, c := range clientExamples {
		t.Run("client/"+c.name, func(t *testing.T) {
			b, err := EncodeClientEvent(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			outer, env := inner(b)
			want := c.name
			if customClient[c.name] {
				want = "custom"
			}
			if outer != want {
				t.Errorf("outer type %q, want %q", outer, want)
			}
			for _, form := range [][]byte{
				env,
				[]byte(`{"type":"custom","data":` + string(env) + `}`),
				[]byte(`{"type":"custom","data":{"type":"custom","data":` + string(env) + `}}`),
			} {
				ev, err := DecodeClientEvent(form)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if !reflect.DeepEqual(ev, c.ev) {
					t.Errorf("%s: got %#v, want %#v", form, ev, c.ev)
				}
			}
		})
	}
	for _, c := range serverExamples {
		t.Run("server/"+c.name, func(t *testing.T) {
			b, err := EncodeServerEvent(c.ev)
			if err != nil {
				t.Fatal(err)
			}
			outer, env := inner(b)
			want := c.name
			if customServer[c.name] {
				want = "custom"
			}
			if outer != want {
				t.Errorf("outer type %q, want %q", outer, want)
			}
			for _, form := range [][]byte{
				env,
				[]byte(`{"type":"custom","data":` + string(env) + `}`),
				[]byte(`{"type":"custom","data":{"type":"custom","data":` + string(env) + `}}`),
			} {
				ev, err := DecodeServerEvent(form)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if !reflect.DeepEqual(ev, c.ev) {
					t.Errorf("%s: got %#v, want %#v", form, ev, c.ev)
				}
			}
		})
	}
}

func TestCustomDepthBounded(t *testing.T) {
	ev := exDisconnect
	for i := 0; i < maxCustomDepth; i++ {
		ev = `{"type":"custom","data":` + ev + `}`
	}
	if _, err := DecodeClientEvent([]byte(ev)); err != nil {
		t.Fatalf("%d wrappers: %v", maxCustomDepth, err)
	}
	ev = `{"type":"custom","data":` + ev + `}`
	if _, err := DecodeClientEvent([]byte(ev)); !errors.Is(err, ErrMalformedEvent) {
		t.Fatalf("%d wrappers: err = %v, want ErrMalformedEvent", maxCustomDepth+1, err)
	}
	if _, err := DecodeServerEvent([]byte(strings.Repeat(`{"type":"custom","data":`, 10000) + `{}` + strings.Repeat(`}`, 10000))); err == nil {
		t.Fatal("deep nesting accepted")
	}
}

func TestClientRoundTrip(t *testing.T) {
	evs := []ClientEvent{
		Connect{Metadata: raw(`null`)},
		Connect{Metadata: raw(`"a string"`)},
		Connect{Metadata: raw(`{"a":[1,2,{"b":null}],"html":"<&>"}`)},
		Disconnect{},
		UpdateEndpointMetadata{Metadata: raw(`42`)},
		UpdateTrackMetadata{TrackID: "p:t", TrackMetadata: raw(`null`)},
		EnableTrackEncoding{TrackID: "p:t", Encoding: "m"},
		DisableTrackEncoding{TrackID: "p:t", Encoding: "l"},
		RenegotiateTracks{},
		SDPOffer{Offer: SessionDescription{Type: "offer", SDP: "v=0\r\n"}, MidToTrackID: map[string]string{},
			TrackIDToMetadata: map[string]json.RawMessage{"p:t": raw(`null`)}, TrackIDToBitrates: map[string]json.RawMessage{}},
		ClientCandidate{Candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ relay", SDPMLineIndex: u16(65535), SDPMid: sp("0"), UsernameFragment: sp("abcd")},
		ClientCandidate{Candidate: "", SDPMid: sp("1")},
		ClientCandidate{},
		TrackVariantBitrates{TrackID: "p:t", VariantBitrates: raw(`2500000`)},
		TrackVariantBitrates{TrackID: "p:t", VariantBitrates: raw(`null`)},
		SetTargetTrackVariant{TrackID: "p:t", Variant: "h"},
	}
	for _, c := range clientExamples {
		evs = append(evs, c.ev)
	}
	for _, ev := range evs {
		b, err := EncodeClientEvent(ev)
		if err != nil {
			t.Fatalf("%#v: %v", ev, err)
		}
		got, err := DecodeClientEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %s:\n got %#v\nwant %#v", b, got, ev)
		}
		// Pointers encode like values.
		p := reflect.New(reflect.TypeOf(ev))
		p.Elem().Set(reflect.ValueOf(ev))
		b2, err := EncodeClientEvent(p.Interface().(ClientEvent))
		if err != nil || string(b2) != string(b) {
			t.Errorf("pointer %T encodes as %s (%v), want %s", p.Interface(), b2, err, b)
		}
	}
}

func TestServerRoundTrip(t *testing.T) {
	evs := []ServerEvent{
		Connected{ID: "p", OtherEndpoints: []Endpoint{}},
		Connected{ID: "p", OtherEndpoints: []Endpoint{{ID: "q", Type: "webrtc", Metadata: raw(`null`), Tracks: map[string]TrackInfo{
			"q:t": {Metadata: raw(`[1]`), SimulcastConfig: SimulcastConfig{Enabled: true, ActiveEncodings: []string{"l", "h"}, DisabledEncodings: []string{"l"}}}}}}},
		EndpointAdded{ID: "p", Type: "rtsp", Metadata: raw(`null`)},
		EndpointRemoved{ID: "p"},
		EndpointUpdated{ID: "p", Metadata: raw(`{"x":"<b>"}`)},
		TracksAdded{EndpointID: "p", Tracks: map[string]TrackInfo{}},
		TracksRemoved{EndpointID: "p", TrackIDs: []string{}},
		TrackUpdated{EndpointID: "p", TrackID: "p:t", Metadata: raw(`null`)},
		TrackEncodingDisabled{EndpointID: "p", TrackID: "p:t", Encoding: "l"},
		TrackEncodingEnabled{EndpointID: "p", TrackID: "p:t", Encoding: "l"},
		TracksPriority{Tracks: []string{}},
		Error{Message: ""},
		OfferData{TracksTypes: map[string]int{"audio": 0, "video": 3}, IntegratedTurnServers: []TurnServer{}},
		SDPAnswer{Type: "answer", SDP: "", MidToTrackID: map[string]string{}},
		ServerCandidate{Candidate: "candidate:x", SDPMid: sp("0"), UsernameFragment: sp("u")},
		EncodingSwitched{EndpointID: "p", TrackID: "p:t", Encoding: "l", Reason: ReasonLowBandwidth},
		VadNotification{TrackID: "p:t", Status: VadSilence},
		BandwidthEstimation{Estimation: 0},
		BandwidthEstimation{Estimation: 1e15},
	}
	for _, c := range serverExamples {
		evs = append(evs, c.ev)
	}
	for _, ev := range evs {
		b, err := EncodeServerEvent(ev)
		if err != nil {
			t.Fatalf("%#v: %v", ev, err)
		}
		got, err := DecodeServerEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %s:\n got %#v\nwant %#v", b, got, ev)
		}
		p := reflect.New(reflect.TypeOf(ev))
		p.Elem().Set(reflect.ValueOf(ev))
		b2, err := EncodeServerEvent(p.Interface().(ServerEvent))
		if err != nil || string(b2) != string(b) {
			t.Errorf("pointer %T encodes as %s (%v), want %s", p.Interface(), b2, err, b)
		}
	}
}

// TestEncodeZeroValues: nil slices encode as [], nil maps as {}, nil metadata as null, and the
// fixed keys are always present.
func TestEncodeZeroValues(t *testing.T) {
	server := []struct {
		ev   ServerEvent
		want string
	}{
		{Connected{}, `{"type":"connected","data":{"id":"","otherEndpoints":[]}}`},
		{Connected{ID: "b", OtherEndpoints: []Endpoint{{ID: "a", Type: "webrtc", Tracks: map[string]TrackInfo{"a:t": {}}}}},
			`{"type":"connected","data":{"id":"b","otherEndpoints":[{"id":"a","type":"webrtc","metadata":null,
			"trackIdToMetadata":{"a:t":null},
			"tracks":{"a:t":{"metadata":null,"simulcastConfig":{"enabled":false,"activeEncodings":[],"disabledEncodings":[]}}}}]}}`},
		{Connected{OtherEndpoints: []Endpoint{{}}},
			`{"type":"connected","data":{"id":"","otherEndpoints":[{"id":"","type":"","metadata":null,"trackIdToMetadata":{},"tracks":{}}]}}`},
		{EndpointAdded{ID: "a", Type: "webrtc"}, `{"type":"endpointAdded","data":{"id":"a","type":"webrtc","metadata":null}}`},
		{EndpointUpdated{ID: "a", Metadata: raw("")}, `{"type":"endpointUpdated","data":{"id":"a","metadata":null}}`},
		{TracksAdded{EndpointID: "a"}, `{"type":"tracksAdded","data":{"endpointId":"a","trackIdToMetadata":{},"tracks":{}}}`},
		{TracksRemoved{EndpointID: "a"}, `{"type":"tracksRemoved","data":{"endpointId":"a","trackIds":[]}}`},
		{TrackUpdated{EndpointID: "a", TrackID: "a:t"}, `{"type":"trackUpdated","data":{"endpointId":"a","trackId":"a:t","metadata":null}}`},
		{TracksPriority{}, `{"type":"tracksPriority","data":{"tracks":[]}}`},
		{OfferData{}, `{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":0,"video":0},"integratedTurnServers":[]}}}`},
		{OfferData{TracksTypes: map[string]int{"video": 2}}, `{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":0,"video":2},"integratedTurnServers":[]}}}`},
		{SDPAnswer{SDP: "v=0"}, `{"type":"custom","data":{"type":"sdpAnswer","data":{"type":"answer","sdp":"v=0","midToTrackId":{}}}}`},
		{ServerCandidate{Candidate: "c", SDPMLineIndex: u16(3)}, `{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":3,"sdpMid":null,"usernameFragment":null}}}`},
		{EncodingSwitched{}, `{"type":"custom","data":{"type":"encodingSwitched","data":{"endpointId":"","trackId":"","encoding":"","reason":""}}}`},
	}
	for _, c := range server {
		b, err := EncodeServerEvent(c.ev)
		if err != nil {
			t.Fatalf("%#v: %v", c.ev, err)
		}
		sameJSON(t, b, c.want)
	}
	client := []struct {
		ev   ClientEvent
		want string
	}{
		{Connect{}, `{"type":"connect","data":{"metadata":null}}`},
		{Disconnect{}, `{"type":"disconnect"}`},
		{UpdateEndpointMetadata{}, `{"type":"updateEndpointMetadata","data":{"metadata":null}}`},
		{UpdateTrackMetadata{TrackID: "t"}, `{"type":"updateTrackMetadata","data":{"trackId":"t","trackMetadata":null}}`},
		{RenegotiateTracks{}, `{"type":"custom","data":{"type":"renegotiateTracks"}}`},
		{SDPOffer{Offer: SessionDescription{Type: "offer", SDP: "v=0"}, TrackIDToMetadata: map[string]json.RawMessage{"t": nil}},
			`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":{},"trackIdToTrackMetadata":{"t":null},"trackIdToTrackBitrates":{}}}}`},
		{ClientCandidate{Candidate: "c"}, `{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":null}}}`},
		{TrackVariantBitrates{TrackID: "t"}, `{"type":"custom","data":{"type":"trackVariantBitrates","data":{"trackId":"t","variantBitrates":null}}}`},
	}
	for _, c := range client {
		b, err := EncodeClientEvent(c.ev)
		if err != nil {
			t.Fatalf("%#v: %v", c.ev, err)
		}
		sameJSON(t, b, c.want)
	}
}

func TestEncodeNoHTMLEscaping(t *testing.T) {
	b, err := EncodeServerEvent(EndpointUpdated{ID: "a&b", Metadata: raw(`{"n":"<i>"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"endpointUpdated","data":{"id":"a&b","metadata":{"n":"<i>"}}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

func TestEndpointAddedExactKeys(t *testing.T) {
	b, err := EncodeServerEvent(EndpointAdded{ID: "a", Type: "webrtc", Metadata: raw(`{"k":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Data map[string]any }
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range env.Data {
		keys = append(keys, k)
	}
	if len(keys) != 3 || env.Data["id"] == nil || env.Data["type"] == nil || env.Data["metadata"] == nil {
		t.Fatalf("endpointAdded data keys %v, want exactly id, type, metadata", keys)
	}
}

func TestTrackIDToMetadataDerived(t *testing.T) {
	tracks := map[string]TrackInfo{
		"a:1": {Metadata: raw(`{"s":"mic"}`), SimulcastConfig: simH},
		"a:2": {SimulcastConfig: simLMH},
	}
	want := map[string]any{"a:1": map[string]any{"s": "mic"}, "a:2": nil}
	for _, ev := range []ServerEvent{
		TracksAdded{EndpointID: "a", Tracks: tracks},
		Connected{ID: "b", OtherEndpoints: []Endpoint{{ID: "a", Type: "webrtc", Tracks: tracks}}},
	} {
		b, err := EncodeServerEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Data struct {
				TrackIDToMetadata map[string]any `json:"trackIdToMetadata"`
				OtherEndpoints    []struct {
					TrackIDToMetadata map[string]any `json:"trackIdToMetadata"`
				} `json:"otherEndpoints"`
			}
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		got := env.Data.TrackIDToMetadata
		if len(env.Data.OtherEndpoints) > 0 {
			got = env.Data.OtherEndpoints[0].TrackIDToMetadata
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%T: trackIdToMetadata = %v, want %v", ev, got, want)
		}
	}
}

// TestMissingMetadata: metadata keys dropped by JSON.stringify decode as JSON null (9.1.15).
func TestMissingMetadata(t *testing.T) {
	null := raw("null")
	cases := []struct {
		json string
		want ClientEvent
	}{
		{`{"type":"connect","data":{}}`, Connect{Metadata: null}},
		{`{"type":"connect"}`, Connect{Metadata: null}},
		{`{"type":"connect","data":null}`, Connect{Metadata: null}},
		{`{"type":"connect","data":{"metadata":null}}`, Connect{Metadata: null}},
		{`{"type":"connect","data":{"Metadata":{"x":1}}}`, Connect{Metadata: null}}, // keys are case-sensitive, as in JS
		{`{"type":"updateEndpointMetadata","data":{}}`, UpdateEndpointMetadata{Metadata: null}},
		{`{"type":"updateTrackMetadata","data":{"trackId":"p:t"}}`, UpdateTrackMetadata{TrackID: "p:t", TrackMetadata: null}},
		{`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":{"0":"p:a","1":"p:b"},"trackIdToTrackMetadata":{"p:a":{"m":1}},"trackIdToTrackBitrates":{"p:a":50000,"p:b":2500000}}}}`,
			SDPOffer{Offer: SessionDescription{Type: "offer", SDP: "v=0"}, MidToTrackID: map[string]string{"0": "p:a", "1": "p:b"},
				TrackIDToMetadata: map[string]json.RawMessage{"p:a": raw(`{"m":1}`)},
				TrackIDToBitrates: map[string]json.RawMessage{"p:a": raw("50000"), "p:b": raw("2500000")}}},
		{`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"}}}}`,
			SDPOffer{Offer: SessionDescription{Type: "offer", SDP: "v=0"}, MidToTrackID: map[string]string{},
				TrackIDToMetadata: map[string]json.RawMessage{}, TrackIDToBitrates: map[string]json.RawMessage{}}},
		{`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":null}}}`,
			SDPOffer{Offer: SessionDescription{Type: "offer", SDP: "v=0"}, MidToTrackID: map[string]string{},
				TrackIDToMetadata: map[string]json.RawMessage{}, TrackIDToBitrates: map[string]json.RawMessage{}}},
		{`{"type":"custom","data":{"type":"trackVariantBitrates","data":{"trackId":"p:t"}}}`, TrackVariantBitrates{TrackID: "p:t", VariantBitrates: null}},
		{`{"type":"connect","data":{"metadata":  { "a" : [ 1 , 2 ] } }}`, Connect{Metadata: raw(`{"a":[1,2]}`)}}, // compacted
	}
	for _, c := range cases {
		ev, err := DecodeClientEvent([]byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.json, err)
			continue
		}
		if !reflect.DeepEqual(ev, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.json, ev, c.want)
		}
	}

	servers := []struct {
		json string
		want ServerEvent
	}{
		{`{"type":"endpointAdded","data":{"id":"a","type":"webrtc"}}`, EndpointAdded{ID: "a", Type: "webrtc", Metadata: null}},
		{`{"type":"endpointUpdated","data":{"id":"a"}}`, EndpointUpdated{ID: "a", Metadata: null}},
		{`{"type":"trackUpdated","data":{"endpointId":"a","trackId":"a:t"}}`, TrackUpdated{EndpointID: "a", TrackID: "a:t", Metadata: null}},
		{`{"type":"tracksAdded","data":{"endpointId":"a","tracks":{"a:t":{}}}}`, TracksAdded{EndpointID: "a", Tracks: map[string]TrackInfo{
			"a:t": {Metadata: null, SimulcastConfig: SimulcastConfig{ActiveEncodings: []string{}, DisabledEncodings: []string{}}}}}},
		{`{"type":"connected","data":{"id":"b","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{}}]}}`,
			Connected{ID: "b", OtherEndpoints: []Endpoint{{ID: "a", Type: "webrtc", Metadata: null, Tracks: map[string]TrackInfo{}}}}},
		{`{"type":"custom","data":{"type":"encodingSwitched","data":{"trackId":"a:t","encoding":"l"}}}`, EncodingSwitched{TrackID: "a:t", Encoding: "l"}},
		{`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{},"integratedTurnServers":[{"serverAddr":"h","serverPort":"3478","transport":"tls","username":"u","password":"p"}]}}}`,
			OfferData{TracksTypes: map[string]int{"audio": 0, "video": 0}, IntegratedTurnServers: []TurnServer{{ServerAddr: "h", ServerPort: 3478, Transport: "tls", Username: "u", Password: "p"}}}},
		{`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMid":"0"}}}`, ServerCandidate{Candidate: "c", SDPMid: sp("0")}},
	}
	for _, c := range servers {
		ev, err := DecodeServerEvent([]byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.json, err)
			continue
		}
		if !reflect.DeepEqual(ev, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.json, ev, c.want)
		}
	}
}

func TestDecodeUnknown(t *testing.T) {
	for _, s := range []string{
		`{"type":"prioritizeTrack","data":{"trackId":"x"}}`,
		`{"type":"custom","data":{"type":"preferedVideoSizes","data":{}}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[]}}`, // server event on the client decoder
		`{"type":"sdpAnswer","data":{}}`,
		`{"type":""}`,
	} {
		_, err := DecodeClientEvent([]byte(s))
		if !errors.Is(err, ErrUnknownEvent) || errors.Is(err, ErrMalformedEvent) {
			t.Errorf("client %s: err = %v, want ErrUnknownEvent", s, err)
			continue
		}
		var env struct{ Type string }
		_ = json.Unmarshal([]byte(s), &env)
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", env.Type)) && env.Type != "custom" {
			t.Errorf("client %s: error %q does not name the type", s, err)
		}
	}
	for _, s := range []string{
		`{"type":"connect","data":{"metadata":null}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{}}}`,
		`{"type":"custom","data":{"type":"trackVariantSwitched","data":{}}}`,
	} {
		if _, err := DecodeServerEvent([]byte(s)); !errors.Is(err, ErrUnknownEvent) {
			t.Errorf("server %s: err = %v, want ErrUnknownEvent", s, err)
		}
	}
	_, err := DecodeClientEvent([]byte(`{"type":"custom","data":{"type":"bogusEvent"}}`))
	if err == nil || !strings.Contains(err.Error(), `"bogusEvent"`) {
		t.Errorf("error %v does not name the inner type", err)
	}
}

func TestDecodeClientMalformed(t *testing.T) {
	for _, s := range []string{
		``,
		`null`,
		`[]`,
		`"connect"`,
		`{"type":"connect"`,
		`{"type":"connect"} trailing`,
		`{}`,
		`{"type":null}`,
		`{"type":7}`,
		`{"data":{}}`,
		`{"type":"connect","data":[]}`,
		`{"type":"connect","data":"x"}`,
		`{"type":"custom"}`,
		`{"type":"custom","data":null}`,
		`{"type":"custom","data":"sdpOffer"}`,
		`{"type":"custom","data":{"data":{}}}`,
		`{"type":"updateTrackMetadata","data":{"trackMetadata":{}}}`,
		`{"type":"updateTrackMetadata","data":{"trackId":1,"trackMetadata":{}}}`,
		`{"type":"enableTrackEncoding","data":{"trackId":"t"}}`,
		`{"type":"disableTrackEncoding","data":{"trackId":"t","encoding":null}}`,
		`{"type":"custom","data":{"type":"sdpOffer"}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":"v=0"}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer"}}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"sdp":"v=0"}}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":1}}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":[]}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"midToTrackId":{"0":5}}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"trackIdToTrackMetadata":"x"}}}`,
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"v=0"},"trackIdToTrackBitrates":[1]}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":5,"sdpMLineIndex":0}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":"0"}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":-1}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":65536}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":0.5}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":1e999}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMid":0}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","usernameFragment":{}}}}`,
		`{"type":"custom","data":{"type":"trackVariantBitrates","data":{"variantBitrates":1}}}`,
		`{"type":"custom","data":{"type":"setTargetTrackVariant","data":{"trackId":"t"}}}`,
		`{"type":"custom","data":{"type":"setTargetTrackVariant","data":{"trackId":"t","variant":["l"]}}}`,
		"{\"type\":\"connect\",\"data\":{\"metadata\":\xff}}",
	} {
		ev, err := DecodeClientEvent([]byte(s))
		if err == nil {
			t.Errorf("%s: decoded %#v, want an error", s, ev)
			continue
		}
		if !errors.Is(err, ErrMalformedEvent) || errors.Is(err, ErrUnknownEvent) {
			t.Errorf("%s: err = %v, want ErrMalformedEvent", s, err)
		}
	}
}

func TestDecodeServerMalformed(t *testing.T) {
	for _, s := range []string{
		`{"type":"connected"}`,
		`{"type":"connected","data":{"otherEndpoints":[]}}`,
		`{"type":"connected","data":{"id":"p"}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":{}}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[null]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc"}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":[]}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","tracks":{}}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{"t":null}}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{"t":{"simulcastConfig":[]}}}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{"t":{"simulcastConfig":{"enabled":"yes"}}}}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{"t":{"simulcastConfig":{"activeEncodings":"h"}}}}]}}`,
		`{"type":"connected","data":{"id":"p","otherEndpoints":[{"id":"a","type":"webrtc","tracks":{"t":{"simulcastConfig":{"activeEncodings":[1]}}}}]}}`,
		`{"type":"endpointAdded","data":{"id":"a"}}`,
		`{"type":"endpointRemoved","data":{}}`,
		`{"type":"endpointUpdated","data":{"metadata":{}}}`,
		`{"type":"tracksAdded","data":{"endpointId":"a"}}`,
		`{"type":"tracksAdded","data":{"endpointId":"a","tracks":[]}}`,
		`{"type":"tracksRemoved","data":{"endpointId":"a"}}`,
		`{"type":"tracksRemoved","data":{"endpointId":"a","trackIds":"t"}}`,
		`{"type":"tracksRemoved","data":{"endpointId":"a","trackIds":[null]}}`,
		`{"type":"trackUpdated","data":{"endpointId":"a"}}`,
		`{"type":"trackEncodingEnabled","data":{"endpointId":"a","trackId":"t"}}`,
		`{"type":"tracksPriority","data":{}}`,
		`{"type":"error","data":{}}`,
		`{"type":"error"}`,
		`{"type":"custom","data":{"type":"offerData","data":{"integratedTurnServers":[]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":1}}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":-1},"integratedTurnServers":[]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":1.5},"integratedTurnServers":[]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{"audio":"1"},"integratedTurnServers":[]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{},"integratedTurnServers":[{"serverAddr":"h","serverPort":"x","transport":"udp","username":"u","password":"p"}]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{},"integratedTurnServers":[{"serverAddr":"h","serverPort":70000,"transport":"udp","username":"u","password":"p"}]}}}`,
		`{"type":"custom","data":{"type":"offerData","data":{"tracksTypes":{},"integratedTurnServers":[{"serverAddr":"h","serverPort":1,"transport":"udp","username":"u"}]}}}`,
		`{"type":"custom","data":{"type":"sdpAnswer","data":{"type":"offer","sdp":"v=0","midToTrackId":{}}}}`,
		`{"type":"custom","data":{"type":"sdpAnswer","data":{"type":"answer"}}}`,
		`{"type":"custom","data":{"type":"sdpAnswer","data":{"type":"answer","sdp":"v=0","midToTrackId":{"0":null}}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c"}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":"c","sdpMLineIndex":null,"sdpMid":null}}}`,
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":1,"sdpMLineIndex":0}}}`,
		`{"type":"custom","data":{"type":"encodingSwitched","data":{"trackId":"t"}}}`,
		`{"type":"custom","data":{"type":"encodingSwitched","data":{"trackId":"t","encoding":"l","reason":1}}}`,
		`{"type":"custom","data":{"type":"vadNotification","data":{"trackId":"t"}}}`,
		`{"type":"custom","data":{"type":"bandwidthEstimation","data":{}}}`,
		`{"type":"custom","data":{"type":"bandwidthEstimation","data":{"estimation":"1"}}}`,
	} {
		ev, err := DecodeServerEvent([]byte(s))
		if err == nil {
			t.Errorf("%s: decoded %#v, want an error", s, ev)
			continue
		}
		if !errors.Is(err, ErrMalformedEvent) || errors.Is(err, ErrUnknownEvent) {
			t.Errorf("%s: err = %v, want ErrMalformedEvent", s, err)
		}
	}
}

func TestMalformedErrorsAreDescriptive(t *testing.T) {
	cases := map[string]string{
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer"}}}}`:                                  "data.sdpOffer.sdp: missing",
		`{"type":"custom","data":{"type":"candidate","data":{"candidate":5}}}`:                                               "data.candidate: want string, got number",
		`{"type":"custom","data":{"type":"sdpOffer","data":{"sdpOffer":{"type":"offer","sdp":"x"},"midToTrackId":{"0":1}}}}`: `data.midToTrackId."0": want string, got number`,
		`{"type":7}`: "event.type: want string, got number",
	}
	for in, want := range cases {
		_, err := DecodeClientEvent([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to contain %q", in, err, want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	var nilConnect *Connect
	var nilAnswer *SDPAnswer
	for _, ev := range []ClientEvent{nil, nilConnect, Connect{Metadata: raw(`{bad`)},
		SDPOffer{TrackIDToMetadata: map[string]json.RawMessage{"t": raw(`[`)}}} {
		if _, err := EncodeClientEvent(ev); err == nil {
			t.Errorf("EncodeClientEvent(%#v) succeeded", ev)
		}
	}
	for _, ev := range []ServerEvent{nil, nilAnswer,
		SDPAnswer{Type: "offer"},
		ServerCandidate{Candidate: "c"},
		OfferData{TracksTypes: map[string]int{"audio": -1}},
		OfferData{IntegratedTurnServers: []TurnServer{{ServerPort: 65536}}},
		EndpointUpdated{Metadata: raw(`nope`)},
		TracksAdded{Tracks: map[string]TrackInfo{"t": {Metadata: raw(`{`)}}},
	} {
		if _, err := EncodeServerEvent(ev); err == nil {
			t.Errorf("EncodeServerEvent(%#v) succeeded", ev)
		}
	}
	if ClientEventType(nil) != "" || ServerEventType(nilAnswer) != "" {
		t.Error("type names of nil events are not empty")
	}
}

func TestParseBitrates(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]float64
		ok   bool
	}{
		{``, map[string]float64{}, true},
		{`null`, map[string]float64{}, true},
		{`50000`, map[string]float64{"h": 50000}, true},
		{`{"l":150000,"m":500000,"h":2500000}`, map[string]float64{"l": 150000, "m": 500000, "h": 2500000}, true},
		{`{}`, map[string]float64{}, true},
		{`"50000"`, nil, false},
		{`{"l":"x"}`, nil, false},
		{`[1]`, nil, false},
		{`{`, nil, false},
	}
	for _, c := range cases {
		got, err := ParseBitrates(raw(c.in))
		if (err == nil) != c.ok {
			t.Errorf("ParseBitrates(%s) error = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseBitrates(%s) = %v, want %v", c.in, got, c.want)
		}
	}
}
