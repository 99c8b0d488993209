package s3upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Credentials are Jellyfish's S3Credentials: all four fields are required.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	Bucket          string
}

// ParseCredentials decodes an S3Credentials JSON object
// {"accessKeyId","secretAccessKey","region","bucket"}. A missing or non-string field is an
// error; other fields are ignored.
func ParseCredentials(raw json.RawMessage) (Credentials, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Credentials{}, errors.New("s3 credentials: not a JSON object")
	}
	var c Credentials
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"accessKeyId", &c.AccessKeyID},
		{"secretAccessKey", &c.SecretAccessKey},
		{"region", &c.Region},
		{"bucket", &c.Bucket},
	} {
		v, ok := fields[f.name]
		if !ok {
			return Credentials{}, fmt.Errorf("s3 credentials: %q missing", f.name)
		}
		// Unmarshal accepts null into a string: check the token itself.
		if err := json.Unmarshal(v, f.dst); err != nil || !strings.HasPrefix(strings.TrimSpace(string(v)), `"`) {
			return Credentials{}, fmt.Errorf("s3 credentials: %q is not a string", f.name)
		}
	}
	return c, nil
}

// Target is where uploads go. Endpoint "" means AWS (s3.<region>.amazonaws.com over TLS); an
// S3-compatible store (or a test) sets Endpoint to "host:port" and, for plain HTTP, Insecure.
// With an Endpoint, buckets are addressed by path (http://host:port/bucket/key).
type Target struct {
	Credentials
	Endpoint string
	Insecure bool
}

// UploadDir uploads every regular file directly in dir (no subdirectories) whose name include
// accepts (nil accepts all) to s3://<bucket>/<keyPrefix><name>, in name order, with a content
// type from the extension (ContentType). It stops at the first error.
func UploadDir(ctx context.Context, t Target, dir, keyPrefix string, include func(name string) bool) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return fmt.Errorf("s3 upload: %w", err)
	}
	c, closeIdle, err := newClient(t)
	if err != nil {
		return err
	}
	defer closeIdle()
	for _, e := range entries {
		if !e.Type().IsRegular() || (include != nil && !include(e.Name())) {
			continue
		}
		if err := put(ctx, c, t.Bucket, filepath.Join(dir, e.Name()), keyPrefix+e.Name()); err != nil {
			return err
		}
	}
	return nil
}

// UploadFile uploads one file to s3://<bucket>/<key>, with a content type from its extension.
func UploadFile(ctx context.Context, t Target, path, key string) error {
	c, closeIdle, err := newClient(t)
	if err != nil {
		return err
	}
	defer closeIdle()
	return put(ctx, c, t.Bucket, path, key)
}

// ContentType returns the content type an upload of the named file gets: .m3u8 →
// application/vnd.apple.mpegurl, .mp4 and .m4s → video/mp4, .webm → video/webm, anything else
// application/octet-stream.
func ContentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".m3u8":
		return "application/vnd.apple.mpegurl"
	case ".mp4", ".m4s":
		return "video/mp4"
	case ".webm":
		return "video/webm"
	}
	return "application/octet-stream"
}

func put(ctx context.Context, c *minio.Client, bucket, path, key string) error {
	_, err := c.FPutObject(ctx, bucket, key, path, minio.PutObjectOptions{ContentType: ContentType(path)})
	if err != nil {
		return fmt.Errorf("s3 upload %s to %s/%s: %w", filepath.Base(path), bucket, key, err)
	}
	return nil
}

// newClient returns a client with its own transport, and the function that closes the
// transport's idle connections (their goroutines would otherwise outlive the upload).
func newClient(t Target) (*minio.Client, func(), error) {
	endpoint, lookup := t.Endpoint, minio.BucketLookupPath
	if endpoint == "" {
		endpoint, lookup = awsEndpoint(t.Region), minio.BucketLookupAuto
	}
	secure := t.Endpoint == "" || !t.Insecure
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, nil, fmt.Errorf("s3 upload: %w", err)
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(t.AccessKeyID, t.SecretAccessKey, ""),
		Secure:       secure,
		Transport:    tr,
		Region:       t.Region,
		BucketLookup: lookup,
		MaxRetries:   3,
	})
	if err != nil {
		tr.CloseIdleConnections()
		return nil, nil, fmt.Errorf("s3 upload: %w", err)
	}
	return c, tr.CloseIdleConnections, nil
}

// awsEndpoint is the regional S3 endpoint (the global one when no region is given).
func awsEndpoint(region string) string {
	if region == "" {
		return "s3.amazonaws.com"
	}
	return "s3." + region + ".amazonaws.com"
}
