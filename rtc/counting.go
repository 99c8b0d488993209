package rtc

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// countingConn is the shared ICE UDP socket with byte counters: what Jellyfish reports as
// jellyfish_traffic_{ingress,egress}_webrtc_total_bytes. It implements ice.AddrPortReaderWriter
// so pion keeps its allocation-free path.
type countingConn struct {
	*net.UDPConn
	in, out   atomic.Uint64
	batch     *batchWriter // nil: every write is its own sendto
	closeOnce sync.Once
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.UDPConn.ReadFrom(b)
	c.in.Add(uint64(n))
	return n, addr, err
}

func (c *countingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.UDPConn.WriteTo(b, addr)
	c.out.Add(uint64(n))
	return n, err
}

// ReadFromAddrPort reads one datagram (ice.AddrPortReaderWriter).
func (c *countingConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, addr, err := c.UDPConn.ReadFromUDPAddrPort(b)
	c.in.Add(uint64(n))
	return n, addr, err
}

// WriteToAddrPort writes one datagram (ice.AddrPortReaderWriter).
func (c *countingConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.batch != nil && addr.Addr().Unmap().Is4() && c.batch.write(b, addr) {
		c.out.Add(uint64(len(b)))
		return len(b), nil
	}
	n, err := c.UDPConn.WriteToUDPAddrPort(b, addr)
	c.out.Add(uint64(n))
	return n, err
}

// Close stops the batch writer, then closes the socket.
func (c *countingConn) Close() error {
	c.closeOnce.Do(func() {
		if c.batch != nil {
			c.batch.close()
		}
	})
	return c.UDPConn.Close()
}
