// Package integration holds the end-to-end tests of the SFU: a real engine and server
// (jellyfish.New, server.New) listening on 127.0.0.1, and real pion peers (clientsdk clients,
// or raw peer WebSockets for malformed input) exchanging media through it. It checks what
// unit tests cannot: codecs negotiated and forwarded byte for byte, keyframe requests on
// subscribe, NACK retransmissions from the packet cache, renegotiation, peers vanishing
// mid-negotiation, churn, server notifications and robustness against malformed media events.
//
// The package has no non-test code. It needs only loopback networking; CI runs it inside a
// loopback-only network namespace:
//
//	unshare -n -- bash -c 'ip link set lo up && go test -race -count=1 ./internal/integration'
//
// Set JF_INTEGRATION_DEBUG=1 to get debug logs (server, clients and pion) in the test output.
package integration
