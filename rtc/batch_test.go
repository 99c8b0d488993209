package rtc

import (
	"encoding/binary"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatchWriter: datagrams written through the batch writer all arrive, in order per
// destination, unchanged; oversized ones are refused (the caller sends them).
func TestBatchWriter(t *testing.T) {
	send, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	recv.SetReadBuffer(4 << 20)
	w := newBatchWriter(send, 2)
	defer w.close()
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()

	if w.write(make([]byte, receiveMTU+1), to) {
		t.Error("an oversized datagram was queued")
	}
	const count = 2000
	var received atomic.Int64
	go func() {
		b := make([]byte, 1000)
		for i := range count {
			for int64(i)-received.Load() > 100 { // stay within the receiver's socket buffer
				time.Sleep(100 * time.Microsecond)
			}
			binary.BigEndian.PutUint32(b, uint32(i))
			for !w.write(b, to) { // full queue: try again (a real caller sends it itself)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	buf := make([]byte, 2000)
	recv.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range count {
		n, from, err := recv.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if n != 1000 || binary.BigEndian.Uint32(buf) != uint32(i) {
			t.Fatalf("datagram %d: %d bytes carrying %d", i, n, binary.BigEndian.Uint32(buf))
		}
		if from != send.LocalAddr().(*net.UDPAddr).AddrPort() {
			t.Fatalf("from %v", from)
		}
		received.Add(1)
	}
}
