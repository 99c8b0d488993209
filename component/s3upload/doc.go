// Package s3upload copies finished component output (recordings, HLS playlists and segments)
// to an S3 bucket, or to any S3-compatible store, with minio-go.
//
// Credentials are Jellyfish's S3Credentials object. A Target adds where to send them: AWS by
// default, or an explicit endpoint (path-style addressing, optionally plain HTTP) for
// S3-compatible stores and tests.
//
// Every upload call is synchronous and takes a context; it builds its own HTTP transport and
// closes its idle connections before returning, so no goroutine outlives the call. The functions
// are safe for concurrent use.
package s3upload
