// Package turn runs the integrated TURN server whose credentials go to the client in
// offerData.integratedTurnServers.
//
// The official browser client is relay-only (iceTransportPolicy "relay"), so every browser
// reaches the SFU through this server: the browser's relay candidate talks to the host
// candidates of the SFU's own pion PeerConnections. The server therefore relays only to
// addresses Config.AllowPeer accepts (the SFU's own media sockets) and never to its own
// TURN sockets: it is not an open relay.
//
// It is built on pion/turn. pion/turn starts its goroutines itself (one read loop per
// listener, one per accepted TCP connection, one per allocation); Server counts them
// through wrapped sockets so that Close can close every socket and wait for those loops.
package turn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// AnyPort as Config.UDPPort or Config.TCPPort asks for a free port picked by the system.
const AnyPort = -1

// Defaults used for zero Config fields.
const (
	DefaultRealm         = "jellyfish"
	DefaultCredentialTTL = 24 * time.Hour
	DefaultRelayPortMin  = 50000
	DefaultRelayPortMax  = 59999
)

// Config configures a Server. Its zero value is a loopback-only server on a free UDP port
// without TCP, relaying only to addresses at 127.0.0.1.
type Config struct {
	// ListenIP is where the TURN listeners and the relay sockets bind
	// (JF_WEBRTC_TURN_LISTEN_IP). Default 127.0.0.1. It must be IPv4 (pion/turn relays are
	// udp4 and the browser client cannot use an IPv6 literal); it may be 0.0.0.0 if
	// PublicIP is set.
	ListenIP netip.Addr
	// PublicIP is advertised in Servers and as the relay address of allocations
	// (JF_WEBRTC_TURN_IP). Default ListenIP. It must be a specified IPv4 address.
	PublicIP netip.Addr
	// UDPPort is the TURN-over-UDP port; 0 or AnyPort picks a free port.
	UDPPort int
	// TCPPort is the TURN-over-TCP port (JF_WEBRTC_TURN_TCP_PORT); 0 disables TURN over
	// TCP, AnyPort picks a free port. Allocations made over TCP still relay UDP.
	TCPPort int
	// RelayPortMin and RelayPortMax bound the relay sockets' ports, inclusive
	// (JF_WEBRTC_TURN_PORT_RANGE). Default 50000-59999.
	RelayPortMin, RelayPortMax int
	// Realm is the long-term credential realm. Default "jellyfish".
	Realm string
	// CredentialTTL is how long credentials from Servers stay valid. The client refreshes
	// its allocations with the credentials of its first offerData for the whole session,
	// so this bounds the session length. Default 24h.
	CredentialTTL time.Duration
	// AllowPeer reports whether an allocation may exchange datagrams with a peer address.
	// It is checked with the exact address on every relayed datagram, in both directions,
	// so it must be cheap, non-blocking and safe for concurrent use. Default (nil): any
	// port at PublicIP or (when specified) ListenIP. The SFU should pass a func accepting
	// only its own media sockets, e.g. its ICE UDP mux address.
	// Whatever it returns, this server's own TURN listeners and relay sockets are refused.
	AllowPeer func(netip.AddrPort) bool
	// AllowPeerIP decides TURN CreatePermission and ChannelBind requests. TURN permissions
	// are per IP (pion/turn's PermissionHandler is not given the port), so this is the
	// coarse check answered to the client; AllowPeer still filters every datagram.
	// Default (nil): the IP is PublicIP or (when specified) ListenIP.
	AllowPeerIP func(netip.Addr) bool
	// Logger receives allocation events (Debug), refused permissions and datagrams (Info,
	// rate-limited) and pion/turn's own logs. Default slog.Default().
	Logger *slog.Logger
}

// Entry is one element of offerData.integratedTurnServers.
type Entry struct {
	ServerAddr string `json:"serverAddr"`
	ServerPort int    `json:"serverPort"`
	Transport  string `json:"transport"`
	Username   string `json:"username"`
	Password   string `json:"password"`
}

// Server is a running TURN server. Its methods are safe for concurrent use.
//
// Goroutines: pion/turn runs one read loop per listener, per accepted TCP connection and
// per allocation, plus timer callbacks for lifetimes; Server starts none of its own.
// Close closes every socket those loops read and waits until each loop has seen its error.
type Server struct {
	cfg      Config // resolved by resolve; AllowPeer and AllowPeerIP live in policy
	log      *slog.Logger
	creds    *credentials
	tracker  *tracker
	policy   *policy
	turn     *pionturn.Server
	udp      *listenerConn
	tcp      *tcpListener // nil when TCP is disabled
	udpAddr  netip.AddrPort
	tcpAddr  netip.AddrPort // zero when TCP is disabled
	closed   atomic.Bool
	drops    atomic.Uint64
	permLogs limiter
}

// New starts a TURN server. On error nothing is left running.
func New(cfg Config) (*Server, error) {
	cfg, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	creds, err := newCredentials(cfg.Realm, cfg.CredentialTTL)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "turn"),
		creds:    creds,
		tracker:  newTracker(),
		permLogs: limiter{interval: 10 * time.Second},
	}
	if err := s.listen(); err != nil {
		s.tracker.shutdown()
		return nil, err
	}
	s.turn, err = pionturn.NewServer(s.serverConfig())
	if err != nil {
		s.tracker.shutdown() // closes our sockets and waits for any loop pion/turn started
		return nil, fmt.Errorf("turn server: %w", err)
	}
	s.log.Info("turn server listening", "udp", s.udpAddr, "tcp", s.tcpAddr, "public_ip", cfg.PublicIP,
		"relay_ports", fmt.Sprintf("%d-%d", cfg.RelayPortMin, cfg.RelayPortMax))
	return s, nil
}

func resolve(cfg Config) (Config, error) {
	if !cfg.ListenIP.IsValid() {
		cfg.ListenIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if !cfg.PublicIP.IsValid() {
		cfg.PublicIP = cfg.ListenIP
	}
	cfg.ListenIP, cfg.PublicIP = cfg.ListenIP.Unmap(), cfg.PublicIP.Unmap()
	switch {
	case !cfg.ListenIP.Is4():
		return cfg, fmt.Errorf("turn listen ip %v: not IPv4", cfg.ListenIP)
	case !cfg.PublicIP.Is4() || cfg.PublicIP.IsUnspecified():
		return cfg, fmt.Errorf("turn public ip %v: not a specified IPv4 address", cfg.PublicIP)
	}
	if cfg.UDPPort == AnyPort {
		cfg.UDPPort = 0
	}
	if cfg.RelayPortMin == 0 && cfg.RelayPortMax == 0 {
		cfg.RelayPortMin, cfg.RelayPortMax = DefaultRelayPortMin, DefaultRelayPortMax
	}
	switch {
	case cfg.UDPPort < 0 || cfg.UDPPort > 65535:
		return cfg, fmt.Errorf("turn udp port %d: out of range", cfg.UDPPort)
	case cfg.TCPPort < AnyPort || cfg.TCPPort > 65535:
		return cfg, fmt.Errorf("turn tcp port %d: out of range", cfg.TCPPort)
	case cfg.RelayPortMin < 1 || cfg.RelayPortMax > 65535 || cfg.RelayPortMin > cfg.RelayPortMax:
		return cfg, fmt.Errorf("turn relay port range %d-%d: invalid", cfg.RelayPortMin, cfg.RelayPortMax)
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.CredentialTTL <= 0 {
		cfg.CredentialTTL = DefaultCredentialTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// listen opens the TURN listeners and builds the policy (which needs their ports).
func (s *Server) listen() error {
	var lc net.ListenConfig
	ctx := context.Background()
	host := s.cfg.ListenIP.String()
	pc, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort(host, strconv.Itoa(s.cfg.UDPPort)))
	if err != nil {
		return fmt.Errorf("turn udp listener: %w", err)
	}
	s.udpAddr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	s.udp = newListenerConn(pc, s.tracker)
	if s.cfg.TCPPort != 0 {
		l, err := lc.Listen(ctx, "tcp4", net.JoinHostPort(host, strconv.Itoa(max(s.cfg.TCPPort, 0))))
		if err != nil {
			return fmt.Errorf("turn tcp listener: %w", err)
		}
		s.tcpAddr = l.Addr().(*net.TCPAddr).AddrPort()
		s.tcp = newTCPListener(l, s.tracker)
	}
	s.udpAddr = netip.AddrPortFrom(s.udpAddr.Addr().Unmap(), s.udpAddr.Port())
	s.tcpAddr = netip.AddrPortFrom(s.tcpAddr.Addr().Unmap(), s.tcpAddr.Port())

	p := &policy{
		anyIP:       s.cfg.ListenIP.IsUnspecified(),
		turnPorts:   [2]uint16{s.udpAddr.Port(), s.tcpAddr.Port()},
		allowPeer:   s.cfg.AllowPeer,
		allowPeerIP: s.cfg.AllowPeerIP,
	}
	p.ownIPs = []netip.Addr{s.cfg.PublicIP}
	if !p.anyIP && s.cfg.ListenIP != s.cfg.PublicIP {
		p.ownIPs = append(p.ownIPs, s.cfg.ListenIP)
	}
	if p.allowPeer == nil {
		p.allowPeer = func(ap netip.AddrPort) bool { return p.isOwnIP(ap.Addr()) }
	}
	if p.allowPeerIP == nil {
		p.allowPeerIP = p.isOwnIP
	}
	s.policy = p
	return nil
}

func (s *Server) serverConfig() pionturn.ServerConfig {
	gen := &relayGenerator{
		inner: pionturn.RelayAddressGeneratorPortRange{
			RelayAddress: net.IP(s.cfg.PublicIP.AsSlice()),
			Address:      s.cfg.ListenIP.String(),
			MinPort:      uint16(s.cfg.RelayPortMin),
			MaxPort:      uint16(s.cfg.RelayPortMax),
			MaxRetries:   64, // random probing; the default 10 fails early on a crowded range
		},
		t:        s.tracker,
		policy:   s.policy,
		log:      s.log,
		refusals: &limiter{interval: 10 * time.Second},
		drops:    &s.drops,
	}
	cfg := pionturn.ServerConfig{
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn:            s.udp,
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permission,
		}},
		LoggerFactory: pionLoggerFactory(s.log),
		Realm:         s.cfg.Realm,
		AuthHandler:   s.auth,
		EventHandler: pionturn.EventHandler{
			OnAllocationCreated: s.allocationCreated,
			OnAllocationDeleted: s.allocationDeleted,
		},
	}
	if s.tcp != nil {
		cfg.ListenerConfigs = []pionturn.ListenerConfig{{
			Listener:              s.tcp,
			RelayAddressGenerator: gen,
			PermissionHandler:     s.permission,
		}}
	}
	return cfg
}

// auth is pion/turn's AuthHandler; it runs for every authenticated request.
func (s *Server) auth(username, realm string, src net.Addr) ([]byte, bool) {
	key, reason := s.creds.authKey(username, realm, time.Now())
	if key == nil {
		s.log.Debug("turn auth refused", "client", src, "username", username, "reason", reason)
		return nil, false
	}
	return key, true
}

// permission is pion/turn's PermissionHandler (CreatePermission and ChannelBind).
func (s *Server) permission(client net.Addr, peerIP net.IP) bool {
	ip, ok := netip.AddrFromSlice(peerIP)
	if ok && s.policy.allowPeerIP(ip.Unmap()) {
		return true
	}
	if suppressed, ok := s.permLogs.allow(time.Now()); ok {
		s.log.Info("turn permission refused", "client", client, "peer_ip", peerIP, "suppressed", suppressed)
	}
	return false
}

func (s *Server) allocationCreated(src, dst net.Addr, protocol, username, _ string, relay net.Addr, _ int) {
	s.log.Debug("turn allocation created", "peer", peerOf(username), "client", src, "listener", dst,
		"protocol", protocol, "relay", relay)
}

func (s *Server) allocationDeleted(src, dst net.Addr, protocol, username, _ string) {
	s.log.Debug("turn allocation deleted", "peer", peerOf(username), "client", src, "listener", dst,
		"protocol", protocol)
}

// Servers returns the offerData.integratedTurnServers entries for peerID: UDP first, then
// TCP when enabled. The credentials expire Config.CredentialTTL from now; every call issues
// fresh ones (the client only uses those of its first offerData).
func (s *Server) Servers(peerID string) []Entry {
	user, pass := s.creds.issue(peerID, time.Now())
	addr := s.cfg.PublicIP.String()
	entries := []Entry{{ServerAddr: addr, ServerPort: int(s.udpAddr.Port()), Transport: "udp", Username: user, Password: pass}}
	if s.tcp != nil {
		entries = append(entries, Entry{ServerAddr: addr, ServerPort: int(s.tcpAddr.Port()), Transport: "tcp", Username: user, Password: pass})
	}
	return entries
}

// UDPAddr returns the address the TURN-over-UDP listener is bound to.
func (s *Server) UDPAddr() netip.AddrPort { return s.udpAddr }

// TCPAddr returns the address the TURN-over-TCP listener is bound to, or the zero
// AddrPort when TCP is disabled.
func (s *Server) TCPAddr() netip.AddrPort { return s.tcpAddr }

// Allocations returns the number of live allocations.
func (s *Server) Allocations() int { return s.turn.AllocationCount() }

// DroppedDatagrams returns how many datagrams relays dropped because AllowPeer (or the
// rule against relaying to our own TURN sockets) refused the peer address.
func (s *Server) DroppedDatagrams() uint64 { return s.drops.Load() }

// Close stops the listeners, closes every allocation and accepted TCP connection, and
// waits until pion/turn's read loops have ended. It is idempotent; only the first call
// reports an error. It must not be called from an AuthHandler or AllowPeer callback.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	err := s.turn.Close() // closes the listeners; their loops then close the allocations
	s.tracker.shutdown()  // closes whatever is left (TCP connections) and waits
	if err != nil {
		return fmt.Errorf("close turn server: %w", err)
	}
	return nil
}
