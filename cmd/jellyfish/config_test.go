package main

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// env is a hermetic environment for loadConfig.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

func mustLoad(t *testing.T, e env) config {
	t.Helper()
	c, err := loadConfig(e.lookup)
	if err != nil {
		t.Fatalf("loadConfig(%v): %v", e, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustLoad(t, env{})
	checks := []struct {
		name      string
		got, want any
	}{
		{"IP", c.IP, netip.MustParseAddr("127.0.0.1")},
		{"Port", c.Port, 8080},
		{"Addr", c.Addr(), "127.0.0.1:8080"},
		{"Host", c.Host, "127.0.0.1:8080"},
		{"ServerAPITokenGenerated", c.ServerAPITokenGenerated, true},
		{"SecretKeyBase", c.SecretKeyBase, []byte(nil)},
		{"SSLKeyPath", c.SSLKeyPath, ""},
		{"SSLCertPath", c.SSLCertPath, ""},
		{"TLS", c.TLS(), false},
		{"ResourcesBasePath", c.ResourcesBasePath, "jellyfish_resources"},
		{"MetricsAddr", c.MetricsAddr(), "127.0.0.1:9568"},
		{"StructuredLogging", c.StructuredLogging, false},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"GitCommit", c.GitCommit, "dev"},
		{"WebRTC", c.WebRTC, webRTCConfig{
			Used:         true,
			TURNIP:       netip.MustParseAddr("127.0.0.1"),
			TURNListenIP: netip.MustParseAddr("127.0.0.1"),
			PortMin:      50000,
			PortMax:      59999,
			TURNUDPPort:  3478,
		}},
		{"SIP", c.SIP, sipConfig{}},
		{"RecordingUsed", c.RecordingUsed, true},
		{"S3", c.S3, (*s3Credentials)(nil)},
		{"S3PathPrefix", c.S3PathPrefix, ""},
		{"S3Endpoint", c.S3Endpoint, ""},
		{"S3Insecure", c.S3Insecure, false},
		{"FFmpegPath", c.FFmpegPath, "ffmpeg"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if len(c.ServerAPIToken) < 16 {
		t.Errorf("generated ServerAPIToken = %q, want at least 16 characters", c.ServerAPIToken)
	}
	if other := mustLoad(t, env{}); other.ServerAPIToken == c.ServerAPIToken {
		t.Errorf("two generated tokens are both %q", c.ServerAPIToken)
	}
	if c.CheckOrigin == nil {
		t.Fatal("CheckOrigin is nil")
	}
}

func TestEverythingSet(t *testing.T) {
	e := fullEnv()
	c := mustLoad(t, e)
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr(), "[::1]:4000"},
		{"Host", c.Host, "jf.example.com"},
		{"ServerAPIToken", c.ServerAPIToken, "secret-token"},
		{"ServerAPITokenGenerated", c.ServerAPITokenGenerated, false},
		{"SecretKeyBase", c.SecretKeyBase, []byte("key base")},
		{"TLS", c.TLS(), true},
		{"SSLKeyPath", c.SSLKeyPath, "/k.pem"},
		{"SSLCertPath", c.SSLCertPath, "/c.pem"},
		{"ResourcesBasePath", c.ResourcesBasePath, "/var/jf"},
		{"MetricsAddr", c.MetricsAddr(), "0.0.0.0:9000"},
		{"StructuredLogging", c.StructuredLogging, true},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"GitCommit", c.GitCommit, "abc123"},
		{"WebRTC", c.WebRTC, webRTCConfig{
			Used:         true,
			TURNIP:       netip.MustParseAddr("203.0.113.7"),
			TURNListenIP: netip.MustParseAddr("0.0.0.0"),
			PortMin:      40000,
			PortMax:      40010,
			TCPPort:      3478,
			TURNUDPPort:  3479,
			ICEUDPPort:   40100,
			ICETCPPort:   40101,
		}},
		{"SIP", c.SIP, sipConfig{Used: true, IP: netip.MustParseAddr("198.51.100.1")}},
		{"RecordingUsed", c.RecordingUsed, false},
		{"S3", c.S3, &s3Credentials{Bucket: "b", Region: "r", AccessKeyID: "id", SecretAccessKey: "sk"}},
		{"S3PathPrefix", c.S3PathPrefix, "pre/"},
		{"S3Endpoint", c.S3Endpoint, "127.0.0.1:9000"},
		{"S3Insecure", c.S3Insecure, true},
		{"FFmpegPath", c.FFmpegPath, "/usr/bin/ffmpeg"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if c.CheckOrigin("https://b.example.org", "") || !c.CheckOrigin("https://a.example.org", "") {
		t.Error("JF_CHECK_ORIGIN list not applied")
	}
}

func fullEnv() env {
	return env{
		"JF_IP":                     "::1",
		"JF_PORT":                   "4000",
		"JF_HOST":                   "jf.example.com",
		"JF_SERVER_API_TOKEN":       "secret-token",
		"JF_SECRET_KEY_BASE":        "key base",
		"JF_CHECK_ORIGIN":           "https://a.example.org",
		"JF_SSL_KEY_PATH":           "/k.pem",
		"JF_SSL_CERT_PATH":          "/c.pem",
		"JF_RESOURCES_BASE_PATH":    "/var/jf",
		"JF_METRICS_IP":             "0.0.0.0",
		"JF_METRICS_PORT":           "9000",
		"JF_STRUCTURED_LOGGING":     "TRUE",
		"JF_LOG_LEVEL":              "Debug",
		"JF_GIT_COMMIT":             "abc123",
		"JF_WEBRTC_USED":            "True",
		"JF_WEBRTC_TURN_IP":         "203.0.113.7",
		"JF_WEBRTC_TURN_LISTEN_IP":  "0.0.0.0",
		"JF_WEBRTC_TURN_PORT_RANGE": "40000-40010",
		"JF_WEBRTC_TURN_TCP_PORT":   "3478",
		"JF_WEBRTC_TURN_UDP_PORT":   "3479",
		"JF_WEBRTC_ICE_UDP_PORT":    "40100",
		"JF_WEBRTC_ICE_TCP_PORT":    "40101",
		"JF_SIP_USED":               "true",
		"JF_SIP_IP":                 "198.51.100.1",
		"JF_RECORDING_USED":         "false",
		"JF_S3_BUCKET":              "b",
		"JF_S3_REGION":              "r",
		"JF_S3_ACCESS_KEY_ID":       "id",
		"JF_S3_SECRET_ACCESS_KEY":   "sk",
		"JF_S3_PATH_PREFIX":         "pre/",
		"JF_S3_ENDPOINT":            "127.0.0.1:9000",
		"JF_S3_INSECURE":            "true",
		"JF_FFMPEG_PATH":            "/usr/bin/ffmpeg",
		"JF_DIST_ENABLED":           "false",
	}
}

// TestTableMatchesReads keeps envVars (and so -h) in sync with loadConfig: with every feature
// on, loadConfig reads exactly the variables of the table.
func TestTableMatchesReads(t *testing.T) {
	e := fullEnv()
	var read []string
	if _, err := loadConfig(func(name string) (string, bool) {
		read = append(read, name)
		return e.lookup(name)
	}); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, v := range envVars() {
		table = append(table, v.Name)
		if _, ok := e[v.Name]; !ok {
			t.Errorf("fullEnv lacks %s", v.Name)
		}
	}
	slices.Sort(read)
	read = slices.Compact(read)
	slices.Sort(table)
	if !slices.Equal(read, table) {
		t.Errorf("variables read = %v\nenvVars = %v", read, table)
	}
}

func TestUsage(t *testing.T) {
	var b strings.Builder
	usage(&b)
	for _, v := range envVars() {
		if !strings.Contains(b.String(), v.Name) {
			t.Errorf("usage lacks %s", v.Name)
		}
	}
}

func TestValidValues(t *testing.T) {
	tests := []struct {
		name  string
		env   env
		check func(config) bool
	}{
		{"default host follows IP and port", env{"JF_IP": "0.0.0.0", "JF_PORT": "5002"},
			func(c config) bool { return c.Host == "0.0.0.0:5002" }},
		{"IPv6 default host", env{"JF_IP": "::"},
			func(c config) bool { return c.Host == "[::]:8080" }},
		{"port with spaces", env{"JF_PORT": " 443 "}, func(c config) bool { return c.Port == 443 }},
		{"max port", env{"JF_METRICS_PORT": "65535"}, func(c config) bool { return c.MetricsPort == 65535 }},
		{"booleans ignore case", env{"JF_STRUCTURED_LOGGING": "tRuE"}, func(c config) bool { return c.StructuredLogging }},
		{"empty means unset", env{"JF_PORT": "", "JF_WEBRTC_USED": "", "JF_SERVER_API_TOKEN": ""},
			func(c config) bool { return c.Port == 8080 && c.WebRTC.Used && c.ServerAPITokenGenerated }},
		{"webrtc off skips TURN variables", env{"JF_WEBRTC_USED": "false", "JF_WEBRTC_TURN_IP": "junk", "JF_WEBRTC_TURN_PORT_RANGE": "junk"},
			func(c config) bool { return c.WebRTC == webRTCConfig{} }},
		{"sip off ignores JF_SIP_IP", env{"JF_SIP_USED": "false", "JF_SIP_IP": "junk"},
			func(c config) bool { return !c.SIP.Used }},
		{"single-port range", env{"JF_WEBRTC_TURN_PORT_RANGE": "5000-5000"},
			func(c config) bool { return c.WebRTC.PortMin == 5000 && c.WebRTC.PortMax == 5000 }},
		{"S3 prefix alone", env{"JF_S3_PATH_PREFIX": "x"}, func(c config) bool { return c.S3 == nil && c.S3PathPrefix == "x" }},
		{"log level warn", env{"JF_LOG_LEVEL": "WARN"}, func(c config) bool { return c.LogLevel == slog.LevelWarn }},
		{"log level error", env{"JF_LOG_LEVEL": "error"}, func(c config) bool { return c.LogLevel == slog.LevelError }},
		{"secret key base kept verbatim", env{"JF_SECRET_KEY_BASE": " k "}, func(c config) bool { return string(c.SecretKeyBase) == " k " }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c := mustLoad(t, tc.env); !tc.check(c) {
				t.Errorf("loadConfig(%v) = %+v: check failed", tc.env, c)
			}
		})
	}
}

// TestErrors checks that every invalid value is refused with an error naming the variable and,
// unless secret, the value.
func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     env
		wantVar string
		wantVal string // "" when the error need not show a value
	}{
		{"bad IP", env{"JF_IP": "localhost"}, "JF_IP", "localhost"},
		{"bad port", env{"JF_PORT": "http"}, "JF_PORT", "http"},
		{"port 0", env{"JF_PORT": "0"}, "JF_PORT", "0"},
		{"port too big", env{"JF_PORT": "65536"}, "JF_PORT", "65536"},
		{"port with garbage", env{"JF_PORT": "80a"}, "JF_PORT", "80a"},
		{"host with scheme", env{"JF_HOST": "https://jf.example.com"}, "JF_HOST", "https://jf.example.com"},
		{"bad check origin", env{"JF_CHECK_ORIGIN": "example.com"}, "JF_CHECK_ORIGIN", "example.com"},
		{"only key", env{"JF_SSL_KEY_PATH": "/k"}, "JF_SSL_CERT_PATH", ""},
		{"only cert", env{"JF_SSL_CERT_PATH": "/c"}, "JF_SSL_KEY_PATH", ""},
		{"bad metrics IP", env{"JF_METRICS_IP": "1.2.3"}, "JF_METRICS_IP", "1.2.3"},
		{"bad metrics port", env{"JF_METRICS_PORT": "-1"}, "JF_METRICS_PORT", "-1"},
		{"bad structured logging", env{"JF_STRUCTURED_LOGGING": "yes"}, "JF_STRUCTURED_LOGGING", "yes"},
		{"bad log level", env{"JF_LOG_LEVEL": "verbose"}, "JF_LOG_LEVEL", "verbose"},
		{"bad webrtc used", env{"JF_WEBRTC_USED": "1"}, "JF_WEBRTC_USED", "1"},
		{"bad TURN IP", env{"JF_WEBRTC_TURN_IP": "turn.example.com"}, "JF_WEBRTC_TURN_IP", "turn.example.com"},
		{"bad TURN listen IP", env{"JF_WEBRTC_TURN_LISTEN_IP": "x"}, "JF_WEBRTC_TURN_LISTEN_IP", "x"},
		{"range without dash", env{"JF_WEBRTC_TURN_PORT_RANGE": "50000"}, "JF_WEBRTC_TURN_PORT_RANGE", "50000"},
		{"range reversed", env{"JF_WEBRTC_TURN_PORT_RANGE": "6000-5000"}, "JF_WEBRTC_TURN_PORT_RANGE", "6000-5000"},
		{"range out of bounds", env{"JF_WEBRTC_TURN_PORT_RANGE": "0-100"}, "JF_WEBRTC_TURN_PORT_RANGE", "0-100"},
		{"range three parts", env{"JF_WEBRTC_TURN_PORT_RANGE": "1-2-3"}, "JF_WEBRTC_TURN_PORT_RANGE", "1-2-3"},
		{"bad TCP port", env{"JF_WEBRTC_TURN_TCP_PORT": "99999"}, "JF_WEBRTC_TURN_TCP_PORT", "99999"},
		{"bad sip used", env{"JF_SIP_USED": "on"}, "JF_SIP_USED", "on"},
		{"sip without IP", env{"JF_SIP_USED": "true"}, "JF_SIP_IP", ""},
		{"sip with hostname", env{"JF_SIP_USED": "TRUE", "JF_SIP_IP": "sip.example.com"}, "JF_SIP_IP", "sip.example.com"},
		{"bad recording used", env{"JF_RECORDING_USED": "no"}, "JF_RECORDING_USED", "no"},
		{"partial S3", env{"JF_S3_BUCKET": "b", "JF_S3_REGION": "r", "JF_S3_ACCESS_KEY_ID": "id"}, "JF_S3_SECRET_ACCESS_KEY", ""},
		{"S3 bucket missing", env{"JF_S3_REGION": "r", "JF_S3_ACCESS_KEY_ID": "id", "JF_S3_SECRET_ACCESS_KEY": "sk"}, "JF_S3_BUCKET", ""},
		{"dist enabled", env{"JF_DIST_ENABLED": "true"}, "JF_DIST_ENABLED", "true"},
		{"bad dist enabled", env{"JF_DIST_ENABLED": "maybe"}, "JF_DIST_ENABLED", "maybe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(tc.env.lookup)
			if err == nil {
				t.Fatalf("loadConfig(%v): got nil error", tc.env)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantVar) {
				t.Errorf("error %q does not name %s", msg, tc.wantVar)
			}
			if tc.wantVal != "" && !strings.Contains(msg, `"`+tc.wantVal+`"`) {
				t.Errorf("error %q does not show the value %q", msg, tc.wantVal)
			}
			if strings.Count(msg, "\n") != 0 {
				t.Errorf("error %q reports more than one problem", msg)
			}
		})
	}
}

func TestErrorsAreCollected(t *testing.T) {
	_, err := loadConfig(env{"JF_PORT": "x", "JF_METRICS_PORT": "y", "JF_DIST_ENABLED": "true"}.lookup)
	if err == nil {
		t.Fatal("got nil error")
	}
	for _, want := range []string{"JF_PORT", "JF_METRICS_PORT", "JF_DIST_ENABLED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
	if !errors.Is(err, errClusteringUnsupported) {
		t.Errorf("errors.Is(%v, errClusteringUnsupported) = false", err)
	}
	if !strings.Contains(err.Error(), "clustering is not supported") {
		t.Errorf("error %q does not say that clustering is not supported", err)
	}
	var ee *envError
	if !errors.As(err, &ee) || ee.Name != "JF_PORT" || ee.Value != "x" {
		t.Errorf("errors.As(*envError) = %+v, want JF_PORT=x", ee)
	}
}

func TestSecretsNotEchoed(t *testing.T) {
	_, err := loadConfig(env{"JF_S3_SECRET_ACCESS_KEY": "hunter2", "JF_S3_ACCESS_KEY_ID": "AKIAX"}.lookup)
	if err == nil {
		t.Fatal("got nil error for partial S3 credentials")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "AKIAX") {
		t.Errorf("error %q shows a credential", msg)
	}
}

func TestCheckOrigin(t *testing.T) {
	type call struct {
		origin, host string
		want         bool
	}
	tests := []struct {
		name   string
		value  *string // nil: JF_CHECK_ORIGIN unset
		host   string  // JF_HOST
		checks []call
	}{
		{"unset: JF_HOST host", nil, "jf.example.com:8443", []call{
			{"", "anything", true},
			{"https://jf.example.com", "other", true},
			{"http://JF.example.com:3000", "", true}, // only the host is compared
			{"https://evil.com", "jf.example.com:8443", false},
			{"https://sub.jf.example.com", "", false},
			{"null", "", false},
		}},
		{"true: JF_HOST host", ptr("TRUE"), "jf.example.com", []call{
			{"https://jf.example.com", "", true},
			{"https://example.com", "", false},
		}},
		{"true with IPv6 JF_HOST", ptr("true"), "[::1]:8080", []call{
			{"http://[::1]:3000", "", true},
			{"http://127.0.0.1:8080", "", false},
		}},
		{"false: anything", ptr("false"), "jf.example.com", []call{
			{"https://evil.com", "", true},
			{"null", "", true},
			{"", "", true},
		}},
		{":conn: request Host", ptr(":conn"), "jf.example.com", []call{
			{"http://localhost:5002", "localhost:5002", true},
			{"http://localhost:3000", "LOCALHOST:5002", true},
			{"http://jf.example.com", "localhost:5002", false},
			{"http://[::1]:5002", "[::1]:5002", true},
			{"", "x", true},
			{"garbage", "garbage", false},
		}},
		{"list", ptr("//*.example.com https://app.example.org //other.net:8080"), "jf.test", []call{
			{"https://example.com", "", true},
			{"http://a.example.com", "", true},
			{"https://a.b.example.com:9999", "", true},
			{"https://badexample.com", "", false},
			{"https://app.example.org", "", true},
			{"https://app.example.org:443", "", true},
			{"http://app.example.org", "", false},       // scheme differs
			{"https://app.example.org:8443", "", false}, // port differs from the implied 443
			{"http://other.net:8080", "", true},
			{"http://other.net", "", false},
			{"https://jf.test", "jf.test", false}, // neither JF_HOST nor Host plays a part
			{"", "", true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := env{"JF_HOST": tc.host}
			if tc.value != nil {
				e["JF_CHECK_ORIGIN"] = *tc.value
			}
			c := mustLoad(t, e)
			for _, k := range tc.checks {
				if got := c.CheckOrigin(k.origin, k.host); got != k.want {
					t.Errorf("CheckOrigin(%q, %q) = %v, want %v", k.origin, k.host, got, k.want)
				}
			}
		})
	}
}

func TestCheckOriginDefaultHost(t *testing.T) {
	c := mustLoad(t, env{"JF_PORT": "5002"}) // JF_HOST defaults to 127.0.0.1:5002
	if !c.CheckOrigin("http://127.0.0.1:3000", "") || c.CheckOrigin("http://localhost:5002", "") {
		t.Error("default origin check does not compare with the host of the default JF_HOST")
	}
}

func TestLogValueHidesSecrets(t *testing.T) {
	c := mustLoad(t, fullEnv())
	s := c.LogValue().String()
	for _, secret := range []string{"secret-token", "key base", "sk"} {
		if strings.Contains(s, secret) {
			t.Errorf("LogValue %q shows %q", s, secret)
		}
	}
}

func ptr(s string) *string { return &s }
