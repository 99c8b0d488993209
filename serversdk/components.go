package serversdk

import (
	"context"
	"net/http"
)

// Component types (AddComponent, Component.Type).
const (
	ComponentHLS       = "hls"
	ComponentRTSP      = "rtsp"
	ComponentFile      = "file"
	ComponentSIP       = "sip"
	ComponentRecording = "recording"
)

// Component is a component of a room (a server-side media endpoint: HLS output, RTSP input, ...).
type Component struct {
	ID string `json:"id"`
	// Type is one of the Component* constants.
	Type string `json:"type"`
	// Properties are the component's options with defaults filled in, camelCase keys
	// (e.g. "lowLatency" for HLS). JSON numbers decode as float64.
	Properties map[string]any `json:"properties"`
	Tracks     []Track        `json:"tracks"`
}

// The option types below are the typed bodies of AddComponent; any value that encodes to the
// same JSON object (e.g. a map) works as well. A nil pointer leaves the server's default.

// HLSOptions are the options of an HLS component.
type HLSOptions struct {
	LowLatency           *bool          `json:"lowLatency,omitempty"`
	Persistent           *bool          `json:"persistent,omitempty"`
	TargetWindowDuration *int           `json:"targetWindowDuration,omitempty"`
	SubscribeMode        *string        `json:"subscribeMode,omitempty"` // "auto" or "manual"
	S3                   *S3Credentials `json:"s3,omitempty"`
	// Transcode false (our extension, not in Jellyfish) forwards one publisher's H.264 and Opus
	// without decoding instead of compositing every video with ffmpeg (the default, true).
	Transcode *bool `json:"transcode,omitempty"`
}

// RTSPOptions are the options of an RTSP component.
type RTSPOptions struct {
	SourceURI         string `json:"sourceUri"`
	RTPPort           *int   `json:"rtpPort,omitempty"`
	ReconnectDelay    *int   `json:"reconnectDelay,omitempty"`    // ms
	KeepAliveInterval *int   `json:"keepAliveInterval,omitempty"` // ms
	PierceNAT         *bool  `json:"pierceNat,omitempty"`
}

// FileOptions are the options of a File component.
type FileOptions struct {
	// FilePath is relative to the server's file_component_sources directory.
	FilePath  string `json:"filePath"`
	Framerate *int   `json:"framerate,omitempty"`
}

// SIPOptions are the options of a SIP component.
type SIPOptions struct {
	RegistrarCredentials SIPCredentials `json:"registrarCredentials"`
}

// SIPCredentials authenticate a SIP component with its registrar.
type SIPCredentials struct {
	// Address is an FQDN or IPv4 address, with an optional ":port" (default 5060).
	Address  string `json:"address"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// RecordingOptions are the options of a Recording component.
type RecordingOptions struct {
	Credentials   *S3Credentials `json:"credentials,omitempty"`
	PathPrefix    *string        `json:"pathPrefix,omitempty"`
	SubscribeMode *string        `json:"subscribeMode,omitempty"` // "auto" or "manual"
}

// S3Credentials give access to an S3 bucket.
type S3Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
}

// AddComponent adds a component of type typ (a Component* constant) to a room
// (POST /room/{roomID}/component). options is JSON-encoded as the "options" member, e.g. an
// HLSOptions; nil omits it.
func (c *Client) AddComponent(ctx context.Context, roomID, typ string, options any) (*Component, error) {
	body := struct {
		Type    string `json:"type"`
		Options any    `json:"options,omitempty"`
	}{typ, options}
	var comp Component
	if err := c.doData(ctx, request{method: http.MethodPost, path: path("room", roomID, "component"), body: body, auth: true}, &comp); err != nil {
		return nil, err
	}
	return &comp, nil
}

// DeleteComponent removes a component from a room (DELETE /room/{roomID}/component/{componentID}).
func (c *Client) DeleteComponent(ctx context.Context, roomID, componentID string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path("room", roomID, "component", componentID), auth: true})
	return err
}

// Subscribe makes an HLS or Recording component in manual subscribe mode take the tracks of the
// given peers and components (POST /room/{roomID}/component/{componentID}/subscribe).
func (c *Client) Subscribe(ctx context.Context, roomID, componentID string, origins []string) error {
	if origins == nil {
		origins = []string{}
	}
	body := struct {
		Origins []string `json:"origins"`
	}{origins}
	_, err := c.do(ctx, request{method: http.MethodPost, path: path("room", roomID, "component", componentID, "subscribe"), body: body, auth: true})
	return err
}

// DialSIP makes a SIP component call phoneNumber (POST /sip/{roomID}/{componentID}/call). The
// call is placed asynchronously.
func (c *Client) DialSIP(ctx context.Context, roomID, componentID, phoneNumber string) error {
	body := struct {
		PhoneNumber string `json:"phoneNumber"`
	}{phoneNumber}
	_, err := c.do(ctx, request{method: http.MethodPost, path: path("sip", roomID, componentID, "call"), body: body, auth: true})
	return err
}

// EndSIPCall ends the call of a SIP component (DELETE /sip/{roomID}/{componentID}/call).
func (c *Client) EndSIPCall(ctx context.Context, roomID, componentID string) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: path("sip", roomID, componentID, "call"), auth: true})
	return err
}
