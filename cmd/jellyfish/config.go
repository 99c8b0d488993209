package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

// envVar documents one environment variable: the -h output is printed from envVars, and
// loadConfig reads no variable that is not listed there (a test checks it).
type envVar struct {
	Name    string
	Default string // empty: unset by default
	Meaning string
}

// envVars lists every variable loadConfig reads, in the order of usage's output.
func envVars() []envVar {
	return []envVar{
		{"JF_IP", "127.0.0.1", "IP address the HTTP server binds to"},
		{"JF_PORT", "8080", "port of the HTTP server"},
		{"JF_HOST", "<JF_IP>:<JF_PORT>", "public host[:port] of this server, used in peer_websocket_url and by the origin check"},
		{"JF_SERVER_API_TOKEN", "random, printed on start", "bearer token of the REST API and the server WebSocket"},
		{"JF_SECRET_KEY_BASE", "random per start", "key that signs peer tokens; set it to keep tokens valid across restarts"},
		{"JF_CHECK_ORIGIN", "origin host = JF_HOST host", "WebSocket Origin check: true, false, :conn (origin host = request Host), or a space-separated list of origins such as //*.example.com https://app.example.com"},
		{"JF_SSL_KEY_PATH", "", "TLS private key (PEM); set together with JF_SSL_CERT_PATH to serve HTTPS"},
		{"JF_SSL_CERT_PATH", "", "TLS certificate chain (PEM); set together with JF_SSL_KEY_PATH"},
		{"JF_RESOURCES_BASE_PATH", "jellyfish_resources", "directory of file component sources, HLS output and recordings"},
		{"JF_METRICS_IP", "127.0.0.1", "IP address the Prometheus /metrics listener binds to"},
		{"JF_METRICS_PORT", "9568", "port of the Prometheus /metrics listener"},
		{"JF_STRUCTURED_LOGGING", "false", "log JSON instead of text"},
		{"JF_LOG_LEVEL", "info", "log level: debug, info, warn or error"},
		{"JF_GIT_COMMIT", "dev", "commit reported by GET /health"},
		{"JF_WEBRTC_USED", "true", "allow WebRTC peers"},
		{"JF_WEBRTC_TURN_IP", "127.0.0.1", "public IPv4 address of the integrated TURN server (sent to clients in offerData) and of the ICE host candidates"},
		{"JF_WEBRTC_TURN_LISTEN_IP", "127.0.0.1", "IPv4 address the TURN listeners, the TURN relays and the ICE socket bind to (0.0.0.0: every interface)"},
		{"JF_WEBRTC_TURN_PORT_RANGE", "50000-59999", "UDP port range of TURN relay allocations, from-to"},
		{"JF_WEBRTC_TURN_TCP_PORT", "", "TCP port of TURN over TCP; unset: TURN over UDP only"},
		{"JF_WEBRTC_TURN_UDP_PORT", "3478", "UDP port of the integrated TURN server (our addition: Jellyfish ran one TURN port per peer)"},
		{"JF_WEBRTC_ICE_UDP_PORT", "0 (any free port)", "UDP port of the one ICE socket all PeerConnections share (our addition); clients that do not use TURN connect to it directly"},
		{"JF_WEBRTC_ICE_TCP_PORT", "", "TCP port for ICE over TCP (our addition); unset: none"},
		{"JF_SIP_USED", "false", "allow SIP components"},
		{"JF_SIP_IP", "", "external IP address of SIP components; required when JF_SIP_USED=true"},
		{"JF_RECORDING_USED", "true", "allow Recording components"},
		{"JF_S3_BUCKET", "", "default S3 bucket of Recording components (the four JF_S3_* credentials: all or none)"},
		{"JF_S3_REGION", "", "default S3 region of Recording components"},
		{"JF_S3_ACCESS_KEY_ID", "", "default S3 access key id of Recording components"},
		{"JF_S3_SECRET_ACCESS_KEY", "", "default S3 secret access key of Recording components"},
		{"JF_S3_PATH_PREFIX", "", "default S3 path prefix of Recording components"},
		{"JF_S3_ENDPOINT", "", "host:port of an S3-compatible store (MinIO, SeaweedFS...) for every upload (our addition); unset: AWS S3"},
		{"JF_S3_INSECURE", "false", "talk plain HTTP to JF_S3_ENDPOINT (our addition)"},
		{"JF_FFMPEG_PATH", "ffmpeg", "ffmpeg binary of the HLS composite mode (our addition); without one, only \"transcode\": false HLS works"},
		{"JF_DIST_ENABLED", "false", "clustering; not supported, true is a startup error"},
	}
}

// usage prints the command line and the environment variables.
func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: jellyfish [-h]

Jellyfish media server. It is configured by these environment variables
(booleans are true or false; an empty value counts as unset):

`)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, v := range envVars() {
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Meaning)
	}
	tw.Flush()
}

// config is the server's configuration, read from the environment by loadConfig.
type config struct {
	IP   netip.Addr // JF_IP
	Port int        // JF_PORT
	// Host is the public host[:port] (JF_HOST).
	Host string
	// ServerAPIToken is JF_SERVER_API_TOKEN, or a random token when that is unset; then
	// ServerAPITokenGenerated is true and main should print it.
	ServerAPIToken          string
	ServerAPITokenGenerated bool
	// SecretKeyBase signs peer tokens (JF_SECRET_KEY_BASE). Nil: the engine picks a random key.
	SecretKeyBase []byte
	// CheckOrigin tells whether a WebSocket upgrade with this Origin may proceed; host is the
	// request's Host. It accepts a request without Origin (origin == "").
	CheckOrigin func(origin, host string) bool
	// SSLKeyPath and SSLCertPath are both set (serve HTTPS) or both empty.
	SSLKeyPath, SSLCertPath string
	ResourcesBasePath       string     // JF_RESOURCES_BASE_PATH
	MetricsIP               netip.Addr // JF_METRICS_IP
	MetricsPort             int        // JF_METRICS_PORT
	StructuredLogging       bool       // JF_STRUCTURED_LOGGING
	LogLevel                slog.Level // JF_LOG_LEVEL
	GitCommit               string     // JF_GIT_COMMIT
	WebRTC                  webRTCConfig
	SIP                     sipConfig
	RecordingUsed           bool // JF_RECORDING_USED
	// S3 holds the default S3 credentials of Recording components; nil when none are set.
	S3           *s3Credentials
	S3PathPrefix string // JF_S3_PATH_PREFIX
	S3Endpoint   string // JF_S3_ENDPOINT
	S3Insecure   bool   // JF_S3_INSECURE
	FFmpegPath   string // JF_FFMPEG_PATH
}

// webRTCConfig is the JF_WEBRTC_* group. When Used is false the other fields are zero (the
// variables are not read).
type webRTCConfig struct {
	Used         bool
	TURNIP       netip.Addr // advertised in ICE candidates
	TURNListenIP netip.Addr
	PortMin      int // JF_WEBRTC_TURN_PORT_RANGE
	PortMax      int
	TCPPort      int // JF_WEBRTC_TURN_TCP_PORT; 0: no TURN over TCP
	TURNUDPPort  int // JF_WEBRTC_TURN_UDP_PORT
	ICEUDPPort   int // JF_WEBRTC_ICE_UDP_PORT; 0: any free port
	ICETCPPort   int // JF_WEBRTC_ICE_TCP_PORT; 0: no ICE-TCP
}

// sipConfig is the JF_SIP_* group; IP is valid exactly when Used.
type sipConfig struct {
	Used bool
	IP   netip.Addr
}

// s3Credentials are the JF_S3_* credentials, all four set.
type s3Credentials struct {
	Bucket, Region, AccessKeyID, SecretAccessKey string
}

// Addr is the listen address of the HTTP server.
func (c config) Addr() string { return net.JoinHostPort(c.IP.String(), strconv.Itoa(c.Port)) }

// MetricsAddr is the listen address of the metrics server.
func (c config) MetricsAddr() string {
	return net.JoinHostPort(c.MetricsIP.String(), strconv.Itoa(c.MetricsPort))
}

// TLS tells whether to serve HTTPS.
func (c config) TLS() bool { return c.SSLCertPath != "" }

// LogValue logs the configuration without its secrets.
func (c config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr()),
		slog.String("host", c.Host),
		slog.Bool("tls", c.TLS()),
		slog.String("metricsAddr", c.MetricsAddr()),
		slog.String("resources", c.ResourcesBasePath),
		slog.Bool("webrtc", c.WebRTC.Used),
		slog.Bool("sip", c.SIP.Used),
		slog.Bool("recording", c.RecordingUsed),
		slog.Bool("s3", c.S3 != nil),
		slog.String("gitCommit", c.GitCommit),
	)
}

// envError is an invalid environment variable.
type envError struct {
	Name  string
	Value string // empty when the value is secret or the variable is missing
	Msg   string
}

func (e *envError) Error() string {
	if e.Value == "" {
		return e.Name + ": " + e.Msg
	}
	return fmt.Sprintf("%s=%q: %s", e.Name, e.Value, e.Msg)
}

// errClusteringUnsupported is reported for JF_DIST_ENABLED=true.
var errClusteringUnsupported = errors.New("clustering is not supported")

// envReader reads variables and collects every error, so that one start reports them all.
type envReader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// get returns a variable's value; an empty value counts as unset.
func (r *envReader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	return v, ok && v != ""
}

func (r *envReader) fail(name, value, format string, args ...any) {
	r.errs = append(r.errs, &envError{Name: name, Value: value, Msg: fmt.Sprintf(format, args...)})
}

func (r *envReader) str(name, def string) string {
	if v, ok := r.get(name); ok {
		return v
	}
	return def
}

// boolean reads true or false, in any case.
func (r *envReader) boolean(name string, def bool) bool {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(name, v, "expected true or false")
	return def
}

// port reads a port number; it returns 0 for an unset variable without a default.
func (r *envReader) port(name string, def int) int {
	v, ok := r.get(name)
	if !ok {
		return def
	}
	p, ok := parsePort(v)
	if !ok {
		r.fail(name, v, "expected a port number between 1 and 65535")
		return def
	}
	return p
}

// portOrZero is port with 0 allowed (and the default): "any free port".
func (r *envReader) portOrZero(name string) int {
	v, ok := r.get(name)
	if !ok || strings.TrimSpace(v) == "0" {
		return 0
	}
	p, ok := parsePort(v)
	if !ok {
		r.fail(name, v, "expected 0 (any free port) or a port number between 1 and 65535")
		return 0
	}
	return p
}

func parsePort(s string) (int, bool) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	return p, err == nil && p >= 1 && p <= 65535
}

// ip reads a literal IPv4 or IPv6 address.
func (r *envReader) ip(name, def string) netip.Addr {
	v, ok := r.get(name)
	if !ok {
		v = def
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		r.fail(name, v, "expected an IPv4 or IPv6 address")
	}
	return a
}

func (r *envReader) portRange(name, def string) (from, to int) {
	v, ok := r.get(name)
	if !ok {
		v = def
	}
	a, b, found := strings.Cut(v, "-")
	from, okFrom := parsePort(a)
	to, okTo := parsePort(b)
	if !found || !okFrom || !okTo || from > to {
		r.fail(name, v, `expected "from-to" with 1 <= from <= to <= 65535`)
		return 0, 0
	}
	return from, to
}

// loadConfig reads the JF_* environment through lookup (os.LookupEnv in main). Its error joins
// one *envError (or errClusteringUnsupported) per problem, each naming its variable.
func loadConfig(lookup func(string) (string, bool)) (config, error) {
	r := &envReader{lookup: lookup}
	c := config{
		IP:   r.ip("JF_IP", "127.0.0.1"),
		Port: r.port("JF_PORT", 8080),
	}
	if host, ok := r.get("JF_HOST"); ok {
		if strings.ContainsAny(host, "/ \t") {
			r.fail("JF_HOST", host, "expected host[:port], without scheme or path")
		}
		c.Host = host
	} else {
		c.Host = c.Addr()
	}

	if tok, ok := r.get("JF_SERVER_API_TOKEN"); ok {
		c.ServerAPIToken = tok
	} else {
		c.ServerAPIToken, c.ServerAPITokenGenerated = rand.Text(), true
	}
	if key, ok := r.get("JF_SECRET_KEY_BASE"); ok {
		c.SecretKeyBase = []byte(key)
	}
	origin, originSet := r.get("JF_CHECK_ORIGIN")
	check, err := newOriginCheck(origin, originSet, c.Host)
	if err != nil {
		r.fail("JF_CHECK_ORIGIN", origin, "%v", err)
	}
	c.CheckOrigin = check

	c.SSLKeyPath = r.str("JF_SSL_KEY_PATH", "")
	c.SSLCertPath = r.str("JF_SSL_CERT_PATH", "")
	switch {
	case c.SSLKeyPath != "" && c.SSLCertPath == "":
		r.fail("JF_SSL_CERT_PATH", "", "unset while JF_SSL_KEY_PATH is set; set both or neither")
	case c.SSLKeyPath == "" && c.SSLCertPath != "":
		r.fail("JF_SSL_KEY_PATH", "", "unset while JF_SSL_CERT_PATH is set; set both or neither")
	}

	c.ResourcesBasePath = r.str("JF_RESOURCES_BASE_PATH", "jellyfish_resources")
	c.MetricsIP = r.ip("JF_METRICS_IP", "127.0.0.1")
	c.MetricsPort = r.port("JF_METRICS_PORT", 9568)
	c.StructuredLogging = r.boolean("JF_STRUCTURED_LOGGING", false)
	c.LogLevel = r.logLevel("JF_LOG_LEVEL")
	c.GitCommit = r.str("JF_GIT_COMMIT", "dev")

	if c.WebRTC.Used = r.boolean("JF_WEBRTC_USED", true); c.WebRTC.Used {
		c.WebRTC.TURNIP = r.ip("JF_WEBRTC_TURN_IP", "127.0.0.1")
		c.WebRTC.TURNListenIP = r.ip("JF_WEBRTC_TURN_LISTEN_IP", "127.0.0.1")
		c.WebRTC.PortMin, c.WebRTC.PortMax = r.portRange("JF_WEBRTC_TURN_PORT_RANGE", "50000-59999")
		c.WebRTC.TCPPort = r.port("JF_WEBRTC_TURN_TCP_PORT", 0)
		c.WebRTC.TURNUDPPort = r.port("JF_WEBRTC_TURN_UDP_PORT", 3478)
		c.WebRTC.ICEUDPPort = r.portOrZero("JF_WEBRTC_ICE_UDP_PORT")
		c.WebRTC.ICETCPPort = r.port("JF_WEBRTC_ICE_TCP_PORT", 0)
	}
	if c.SIP.Used = r.boolean("JF_SIP_USED", false); c.SIP.Used {
		v, _ := r.get("JF_SIP_IP")
		ip, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			r.fail("JF_SIP_IP", v, "expected an IPv4 or IPv6 address, required when JF_SIP_USED=true")
		}
		c.SIP.IP = ip
	}
	c.RecordingUsed = r.boolean("JF_RECORDING_USED", true)
	c.S3 = r.s3()
	c.S3PathPrefix = r.str("JF_S3_PATH_PREFIX", "")
	c.S3Endpoint = r.str("JF_S3_ENDPOINT", "")
	c.S3Insecure = r.boolean("JF_S3_INSECURE", false)
	c.FFmpegPath = r.str("JF_FFMPEG_PATH", "ffmpeg")

	if r.boolean("JF_DIST_ENABLED", false) {
		v, _ := r.get("JF_DIST_ENABLED")
		r.errs = append(r.errs, fmt.Errorf("JF_DIST_ENABLED=%q: %w", v, errClusteringUnsupported))
	}
	return c, errors.Join(r.errs...)
}

func (r *envReader) logLevel(name string) slog.Level {
	v, ok := r.get(name)
	if !ok {
		return slog.LevelInfo
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	r.fail(name, v, "expected debug, info, warn or error")
	return slog.LevelInfo
}

// s3 reads the S3 credentials: all four or none. Values are never echoed in errors.
func (r *envReader) s3() *s3Credentials {
	names := []string{"JF_S3_BUCKET", "JF_S3_REGION", "JF_S3_ACCESS_KEY_ID", "JF_S3_SECRET_ACCESS_KEY"}
	vals := make([]string, len(names))
	var missing []string
	for i, n := range names {
		v, ok := r.get(n)
		vals[i] = v
		if !ok {
			missing = append(missing, n)
		}
	}
	switch len(missing) {
	case len(names):
		return nil
	case 0:
		return &s3Credentials{Bucket: vals[0], Region: vals[1], AccessKeyID: vals[2], SecretAccessKey: vals[3]}
	}
	for _, n := range missing {
		r.fail(n, "", "unset while other S3 credentials are set; set all of %s or none", strings.Join(names, ", "))
	}
	return nil
}

// newOriginCheck builds the WebSocket Origin check of JF_CHECK_ORIGIN, following Phoenix's
// check_origin: unset or "true" compares the origin's host with publicHost's (JF_HOST), "false"
// allows any origin, ":conn" compares it with the request's Host, and anything else is a
// space-separated list of allowed origins. An entry's scheme and port, when given, must match;
// "https://x" implies port 443; a host "*.example.com" also matches example.com and every
// subdomain. A request without Origin always passes; an Origin without a host ("null") fails
// every check but "false".
func newOriginCheck(value string, set bool, publicHost string) (func(origin, host string) bool, error) {
	mode := strings.TrimSpace(value)
	if !set {
		mode = "true"
	}
	switch strings.ToLower(mode) {
	case "false":
		return func(string, string) bool { return true }, nil
	case "true":
		want := strings.ToLower(hostOnly(publicHost))
		return func(origin, _ string) bool {
			if origin == "" {
				return true
			}
			o, ok := parseOrigin(origin)
			return ok && o.host == want
		}, nil
	}
	if mode == ":conn" {
		return func(origin, host string) bool {
			if origin == "" {
				return true
			}
			o, ok := parseOrigin(origin)
			return ok && o.host == strings.ToLower(hostOnly(host))
		}, nil
	}
	var allowed []originPattern
	for _, entry := range strings.Fields(mode) {
		p, ok := parseOrigin(entry)
		if !ok {
			return nil, fmt.Errorf("bad origin %q: expected scheme://host[:port] or //host[:port]", entry)
		}
		allowed = append(allowed, p)
	}
	if len(allowed) == 0 {
		return nil, errors.New("expected true, false, :conn or a list of origins")
	}
	return func(origin, _ string) bool {
		if origin == "" {
			return true
		}
		o, ok := parseOrigin(origin)
		if !ok {
			return false
		}
		for _, p := range allowed {
			if p.match(o) {
				return true
			}
		}
		return false
	}, nil
}

// originPattern is an origin or an allowed-origin pattern; empty scheme or port match any.
type originPattern struct {
	scheme, host, port string
}

func parseOrigin(s string) (originPattern, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return originPattern{}, false
	}
	p := originPattern{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if p.port == "" {
		switch p.scheme {
		case "http", "ws":
			p.port = "80"
		case "https", "wss":
			p.port = "443"
		}
	}
	return p, true
}

func (p originPattern) match(o originPattern) bool {
	if p.scheme != "" && p.scheme != o.scheme {
		return false
	}
	if p.port != "" && p.port != o.port {
		return false
	}
	if base, ok := strings.CutPrefix(p.host, "*."); ok {
		return o.host == base || strings.HasSuffix(o.host, "."+base)
	}
	return p.host == o.host
}

// hostOnly strips the port, if any, from host[:port] (and the brackets of an IPv6 address).
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
