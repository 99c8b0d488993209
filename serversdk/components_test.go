package serversdk_test

import (
	"context"
	"testing"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/builtin"
	"github.com/jellyfish-go/jellyfish/serversdk"
)

// TestComponents drives the built-in components through the SDK's typed options against the
// real server (answers validated against openapi.yaml).
func TestComponents(t *testing.T) {
	env := newEnv(t, func(cfg *jellyfish.Config, resources string) {
		cfg.ComponentFactories = builtin.Factories(builtin.Config{ResourcesPath: resources})
	})
	c, ctx := env.client, context.Background()
	room, err := c.CreateRoom(ctx, serversdk.RoomConfig{VideoCodec: new("h264")})
	if err != nil {
		t.Fatal(err)
	}
	id := room.Room.ID

	hls, err := c.AddComponent(ctx, id, serversdk.ComponentHLS, serversdk.HLSOptions{
		LowLatency: new(true), SubscribeMode: new("manual"), Transcode: new(false), TargetWindowDuration: new(60)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"lowLatency": true, "persistent": false, "playable": false, "s3": nil,
		"subscribeMode": "manual", "targetWindowDuration": float64(60), "transcode": false}
	if len(hls.Properties) != len(want) {
		t.Errorf("HLS properties %v, want %v", hls.Properties, want)
	}
	for k, v := range want {
		if hls.Properties[k] != v {
			t.Errorf("HLS property %s = %v, want %v", k, hls.Properties[k], v)
		}
	}
	if err := c.Subscribe(ctx, id, hls.ID, []string{"peer-1", "file-2"}); err != nil {
		t.Errorf("Subscribe: %v", err)
	}
	_, err = c.AddComponent(ctx, id, serversdk.ComponentHLS, serversdk.HLSOptions{Transcode: new(false)})
	wantAPIError(t, err, 400, "Reached hls components limit for component in room "+id)

	rtsp, err := c.AddComponent(ctx, id, serversdk.ComponentRTSP, serversdk.RTSPOptions{SourceURI: "rtsp://127.0.0.1:9/none", ReconnectDelay: new(60000)})
	if err != nil {
		t.Fatal(err)
	}
	if rtsp.Properties["rtpPort"] != float64(20000) || rtsp.Properties["sourceUri"] != "rtsp://127.0.0.1:9/none" {
		t.Errorf("RTSP properties %v", rtsp.Properties)
	}
	wantAPIError(t, c.Subscribe(ctx, id, rtsp.ID, nil), 400, "Subscribe mode is supported only for HLS and Recording components")

	_, err = c.AddComponent(ctx, id, serversdk.ComponentFile, serversdk.FileOptions{FilePath: "nothing.h264"})
	wantAPIError(t, err, 404, "File not found")
	_, err = c.AddComponent(ctx, id, serversdk.ComponentRecording, serversdk.RecordingOptions{})
	wantAPIError(t, err, 400, "S3 credentials has to be passed either by request or at application startup as envs")

	got, err := c.GetRoom(ctx, id)
	if err != nil || len(got.Components) != 2 {
		t.Fatalf("room components: %+v, %v", got, err)
	}
	for _, comp := range []string{hls.ID, rtsp.ID} {
		if err := c.DeleteComponent(ctx, id, comp); err != nil {
			t.Errorf("DeleteComponent: %v", err)
		}
	}
}
