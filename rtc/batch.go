package rtc

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
)

// batchWriter sends the shared UDP socket's datagrams in batches: one sendmmsg(2) for up to
// batchSize packets instead of one sendto(2) each, which was 44% of the server's CPU when
// forwarding (docs/benchmarks.md). Writers hand over a copy and return at once; a flusher per
// shard drains its queue whenever it has something, so an idle server adds no delay and a busy
// one batches by itself. Packets to one address always go through the same shard, in order.
//
// Goroutines: one flusher per shard, ended by close.
type batchWriter struct {
	conn   *net.UDPConn
	shards []*batchShard
	wg     sync.WaitGroup
	bufs   sync.Pool // *[receiveMTU]byte
}

type batchShard struct {
	queue chan outDatagram
	done  chan struct{}
}

type outDatagram struct {
	buf  *[receiveMTU]byte
	n    int
	addr netip.AddrPort
}

const (
	batchSize  = 64   // datagrams per sendmmsg
	batchQueue = 4096 // per shard; a full queue makes the writer send by itself
)

func newBatchWriter(conn *net.UDPConn, shards int) *batchWriter {
	w := &batchWriter{conn: conn}
	w.bufs.New = func() any { return new([receiveMTU]byte) }
	for range max(shards, 1) {
		s := &batchShard{queue: make(chan outDatagram, batchQueue), done: make(chan struct{})}
		w.shards = append(w.shards, s)
		w.wg.Go(func() { w.flush(s) })
	}
	return w
}

// write queues a copy of b for addr. It returns false (the caller sends b itself) when b is
// too big or the shard's queue is full.
func (w *batchWriter) write(b []byte, addr netip.AddrPort) bool {
	if len(b) > receiveMTU {
		return false
	}
	buf := w.bufs.Get().(*[receiveMTU]byte)
	n := copy(buf[:], b)
	s := w.shards[int(addr.Port())%len(w.shards)]
	select {
	case s.queue <- outDatagram{buf: buf, n: n, addr: addr}:
		return true
	default:
		w.bufs.Put(buf)
		return false
	}
}

// flush sends what s's queue holds, in batches, until close.
func (w *batchWriter) flush(s *batchShard) {
	pc := ipv4.NewPacketConn(w.conn)
	msgs := make([]ipv4.Message, batchSize)
	addrs := make([]net.UDPAddr, batchSize)
	ips := make([][4]byte, batchSize)
	pending := make([]outDatagram, 0, batchSize)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
		addrs[i].IP = ips[i][:]
		msgs[i].Addr = &addrs[i]
	}
	for {
		select {
		case <-s.done:
			return
		case d := <-s.queue:
			pending = append(pending[:0], d)
		}
	more:
		for len(pending) < batchSize {
			select {
			case d := <-s.queue:
				pending = append(pending, d)
			default:
				break more
			}
		}
		for i, d := range pending {
			msgs[i].Buffers[0] = d.buf[:d.n]
			ips[i] = d.addr.Addr().Unmap().As4()
			addrs[i].Port = int(d.addr.Port())
		}
		for sent := 0; sent < len(pending); {
			n, err := pc.WriteBatch(msgs[sent:len(pending)], 0)
			if err != nil || n <= 0 {
				break // UDP: a datagram that cannot be sent is lost, as with sendto
			}
			sent += n
		}
		for _, d := range pending {
			w.bufs.Put(d.buf)
		}
	}
}

// close stops the flushers; queued datagrams are dropped (the socket is closing).
func (w *batchWriter) close() {
	for _, s := range w.shards {
		close(s.done)
	}
	w.wg.Wait()
}
