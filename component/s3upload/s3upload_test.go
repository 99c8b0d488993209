package s3upload

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3 is an in-process S3 (gofakes3) on 127.0.0.1 with one bucket.
type fakeS3 struct {
	backend *s3mem.Backend
	target  Target
}

func newFakeS3(t *testing.T, bucket string) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return &fakeS3{backend: backend, target: Target{
		Credentials: Credentials{AccessKeyID: "key", SecretAccessKey: "secret", Region: "eu-central-1", Bucket: bucket},
		Endpoint:    strings.TrimPrefix(srv.URL, "http://"),
		Insecure:    true,
	}}
}

// object returns an object's bytes and content type, or ok=false when it does not exist.
func (f *fakeS3) object(t *testing.T, key string) (data []byte, contentType string, ok bool) {
	t.Helper()
	obj, err := f.backend.GetObject(f.target.Bucket, key, nil)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return nil, "", false
	}
	if err != nil {
		t.Fatalf("GetObject(%s): %v", key, err)
	}
	defer obj.Contents.Close()
	data, err = io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return data, obj.Metadata["Content-Type"], true
}

func (f *fakeS3) keys(t *testing.T) []string {
	t.Helper()
	list, err := f.backend.ListBucket(f.target.Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestUploadDir(t *testing.T) {
	s3 := newFakeS3(t, "bucket")
	dir := t.TempDir()
	files := map[string]string{
		"index.m3u8":     "application/vnd.apple.mpegurl",
		"segment_1.m4s":  "video/mp4",
		"header.mp4":     "video/mp4",
		"track.webm":     "video/webm",
		"notes.bin":      "application/octet-stream",
		"with space.MP4": "video/mp4",
	}
	for name := range files {
		writeFile(t, filepath.Join(dir, name), "content of "+name)
	}
	writeFile(t, filepath.Join(dir, "skipped.tmp"), "x")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub", "nested.mp4"), "x")

	include := func(name string) bool { return !strings.HasSuffix(name, ".tmp") }
	if err := UploadDir(t.Context(), s3.target, dir, "room/part_1/", include); err != nil {
		t.Fatal(err)
	}
	for name, wantType := range files {
		data, ct, ok := s3.object(t, "room/part_1/"+name)
		if !ok {
			t.Errorf("object room/part_1/%s missing; bucket has %v", name, s3.keys(t))
			continue
		}
		if string(data) != "content of "+name {
			t.Errorf("object %s = %q, want %q", name, data, "content of "+name)
		}
		if ct != wantType {
			t.Errorf("object %s content type = %q, want %q", name, ct, wantType)
		}
	}
	if got := len(s3.keys(t)); got != len(files) {
		t.Errorf("bucket has %d objects (%v), want %d: excluded and nested files must stay local", got, s3.keys(t), len(files))
	}
}

func TestUploadDirNilIncludeAndEmptyPrefix(t *testing.T) {
	s3 := newFakeS3(t, "second")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.tmp"), "a")
	if err := UploadDir(t.Context(), s3.target, dir, "", nil); err != nil {
		t.Fatal(err)
	}
	if data, ct, ok := s3.object(t, "a.tmp"); !ok || string(data) != "a" || ct != "application/octet-stream" {
		t.Errorf("a.tmp = %q %q %v, want \"a\" application/octet-stream true", data, ct, ok)
	}
}

func TestUploadFile(t *testing.T) {
	s3 := newFakeS3(t, "bucket")
	path := filepath.Join(t.TempDir(), "video.mp4")
	big := strings.Repeat("0123456789", 200_000) // 2 MB
	writeFile(t, path, big)
	if err := UploadFile(t.Context(), s3.target, path, "a/b/c.mp4"); err != nil {
		t.Fatal(err)
	}
	data, ct, ok := s3.object(t, "a/b/c.mp4")
	if !ok || string(data) != big || ct != "video/mp4" {
		t.Errorf("a/b/c.mp4: ok=%v len=%d type=%q, want true %d video/mp4", ok, len(data), ct, len(big))
	}
}

func TestUploadErrors(t *testing.T) {
	s3 := newFakeS3(t, "bucket")
	dir := t.TempDir()
	path := filepath.Join(dir, "x.mp4")
	writeFile(t, path, "x")

	t.Run("no such bucket", func(t *testing.T) {
		tg := s3.target
		tg.Bucket = "missing"
		if err := UploadFile(t.Context(), tg, path, "x.mp4"); err == nil {
			t.Fatal("upload to a missing bucket succeeded")
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if err := UploadDir(t.Context(), s3.target, filepath.Join(dir, "nope"), "", nil); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("UploadDir(missing dir) = %v, want os.ErrNotExist", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if err := UploadFile(t.Context(), s3.target, filepath.Join(dir, "nope.mp4"), "k"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("UploadFile(missing file) = %v, want os.ErrNotExist", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := UploadFile(ctx, s3.target, path, "canceled.mp4"); err == nil {
			t.Fatal("upload with a canceled context succeeded")
		}
		if _, _, ok := s3.object(t, "canceled.mp4"); ok {
			t.Fatal("canceled upload stored the object")
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tg := s3.target
		tg.Endpoint = l.Addr().String()
		l.Close() // nothing listens there now
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := UploadDir(ctx, tg, dir, "", nil); err == nil {
			t.Fatal("upload to a closed port succeeded")
		}
	})
}

func TestParseCredentials(t *testing.T) {
	valid := `{"accessKeyId":"id","secretAccessKey":"secret","region":"eu-west-1","bucket":"b","extra":1}`
	c, err := ParseCredentials(json.RawMessage(valid))
	if err != nil {
		t.Fatal(err)
	}
	want := Credentials{AccessKeyID: "id", SecretAccessKey: "secret", Region: "eu-west-1", Bucket: "b"}
	if c != want {
		t.Fatalf("ParseCredentials = %+v, want %+v", c, want)
	}
	for _, tc := range []struct{ name, raw string }{
		{"null", `null`},
		{"string", `"creds"`},
		{"array", `[]`},
		{"empty object", `{}`},
		{"missing bucket", `{"accessKeyId":"id","secretAccessKey":"s","region":"r"}`},
		{"missing accessKeyId", `{"secretAccessKey":"s","region":"r","bucket":"b"}`},
		{"number", `{"accessKeyId":1,"secretAccessKey":"s","region":"r","bucket":"b"}`},
		{"null field", `{"accessKeyId":"id","secretAccessKey":null,"region":"r","bucket":"b"}`},
		{"bool field", `{"accessKeyId":"id","secretAccessKey":"s","region":true,"bucket":"b"}`},
		{"garbage", `{`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := ParseCredentials(json.RawMessage(tc.raw)); err == nil {
				t.Fatalf("ParseCredentials(%s) = %+v, want an error", tc.raw, c)
			}
		})
	}
}

func TestAWSEndpoint(t *testing.T) {
	for region, want := range map[string]string{"": "s3.amazonaws.com", "eu-central-1": "s3.eu-central-1.amazonaws.com", "us-east-1": "s3.us-east-1.amazonaws.com"} {
		if got := awsEndpoint(region); got != want {
			t.Errorf("awsEndpoint(%q) = %q, want %q", region, got, want)
		}
	}
}
