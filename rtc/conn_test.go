package rtc

import (
	"io"
	"log/slog"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestAnswerUnusedRecvonlyInactive: a recvonly m-line that gets no track of ours must be answered
// inactive; answered sendonly, the browser fires ontrack for a mid the client cannot map and its
// handler throws (media-events.md pitfall 9.1.7).
func TestAnswerUnusedRecvonlyInactive(t *testing.T) {
	api, err := NewAPI(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	conn, err := api.NewConn(ConnConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	client, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.GracefulClose()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := client.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := conn.Answer(offer.SDP, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sections, err := ParseSections(answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(sections) != 2 {
		t.Fatalf("answer has %d m-lines, want 2:\n%s", len(sections), answer)
	}
	for _, sec := range sections {
		if sec.Direction != webrtc.RTPTransceiverDirectionInactive {
			t.Errorf("m-line %s (%s) answered %s, want inactive:\n%s", sec.Mid, sec.Kind, sec.Direction, answer)
		}
	}
}
