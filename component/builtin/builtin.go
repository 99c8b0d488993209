// Package builtin assembles the component kinds this server ships — file, RTSP, HLS and
// recording — into the factories an engine takes (jellyfish.Config.ComponentFactories). SIP is
// not built: adding one is refused with a clear 400.
package builtin

import (
	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/component/file"
	"github.com/jellyfish-go/jellyfish/component/hls"
	"github.com/jellyfish-go/jellyfish/component/recording"
	"github.com/jellyfish-go/jellyfish/component/rtsp"
	"github.com/jellyfish-go/jellyfish/component/s3upload"
)

// Config is what the built-in kinds need from the server's configuration.
type Config struct {
	// ResourcesPath is JF_RESOURCES_BASE_PATH: file_component_sources/, temporary_hls/,
	// recordings/ and raw_recordings/ live under it.
	ResourcesPath string
	// FFmpeg is the ffmpeg binary of HLS's composite mode; "" means "ffmpeg" on PATH.
	FFmpeg string
	// RecordingDisabled refuses Recording components (JF_RECORDING_USED=false).
	RecordingDisabled bool
	// S3 holds the default credentials of Recording components (JF_S3_*); nil when unset.
	S3 *s3upload.Credentials
	// S3PathPrefix is JF_S3_PATH_PREFIX; nil when unset.
	S3PathPrefix *string
	// S3Endpoint and S3Insecure (our extension: JF_S3_ENDPOINT, JF_S3_INSECURE) send every S3
	// upload to an S3-compatible store at host:port instead of AWS, over plain HTTP if insecure.
	S3Endpoint string
	S3Insecure bool
}

// Factories returns the factories of the built-in component kinds.
func Factories(cfg Config) map[jellyfish.ComponentType]jellyfish.ComponentFactory {
	rec := recording.Config{
		Base:       cfg.ResourcesPath,
		Enabled:    !cfg.RecordingDisabled,
		PathPrefix: cfg.S3PathPrefix,
		Endpoint:   cfg.S3Endpoint,
		Insecure:   cfg.S3Insecure,
	}
	if cfg.S3 != nil {
		rec.S3 = &s3upload.Target{Credentials: *cfg.S3, Endpoint: cfg.S3Endpoint, Insecure: cfg.S3Insecure}
	}
	return map[jellyfish.ComponentType]jellyfish.ComponentFactory{
		jellyfish.ComponentFile:      file.Factory(cfg.ResourcesPath),
		jellyfish.ComponentRTSP:      rtsp.Factory(),
		jellyfish.ComponentHLS:       hls.Factory(hls.Config{Base: cfg.ResourcesPath, FFmpeg: cfg.FFmpeg, S3Endpoint: cfg.S3Endpoint, S3Insecure: cfg.S3Insecure}),
		jellyfish.ComponentRecording: recording.Factory(rec),
	}
}
