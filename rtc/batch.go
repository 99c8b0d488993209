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
	pc     *ipv4.PacketConn
	shards []*batchShard
	wg     sync.WaitGroup
	bufs   sync.Pool // *[receiveMTU]byte
	states sync.Pool // *batchState, for writers that flush themselves
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
	batchQueue = 4096 // per shard; a full queue makes the writer send a batch itself
)

func newBatchWriter(conn *net.UDPConn, shards int) *batchWriter {
	w := &batchWriter{conn: conn, pc: ipv4.NewPacketConn(conn)}
	w.bufs.New = func() any { return new([receiveMTU]byte) }
	w.states.New = func() any { return newBatchState() }
	for range max(shards, 1) {
		s := &batchShard{queue: make(chan outDatagram, batchQueue), done: make(chan struct{})}
		w.shards = append(w.shards, s)
		w.wg.Go(func() { w.flush(s) })
	}
	return w
}

// write queues a copy of b for addr. It returns false (the caller sends b itself) when b is
// too big. When the shard's queue is full — the machine is saturated and the flusher does not
// get to run often enough — the writer sends a batch itself, its datagram included, so that
// batching holds exactly when it matters most (a little reordering between such batches is
// possible then).
func (w *batchWriter) write(b []byte, addr netip.AddrPort) bool {
	if len(b) > receiveMTU {
		return false
	}
	buf := w.bufs.Get().(*[receiveMTU]byte)
	n := copy(buf[:], b)
	d := outDatagram{buf: buf, n: n, addr: addr}
	s := w.shards[int(addr.Port())%len(w.shards)]
	select {
	case s.queue <- d:
	default:
		st := w.states.Get().(*batchState)
		st.pending = append(st.pending[:0], d)
		w.send(st, s)
		w.states.Put(st)
	}
	return true
}

// batchState is the reusable memory of one sendmmsg call.
type batchState struct {
	msgs    []ipv4.Message
	addrs   []net.UDPAddr
	ips     [][4]byte
	pending []outDatagram
}

func newBatchState() *batchState {
	st := &batchState{msgs: make([]ipv4.Message, batchSize), addrs: make([]net.UDPAddr, batchSize),
		ips: make([][4]byte, batchSize), pending: make([]outDatagram, 0, batchSize)}
	for i := range st.msgs {
		st.msgs[i].Buffers = make([][]byte, 1)
		st.addrs[i].IP = st.ips[i][:]
		st.msgs[i].Addr = &st.addrs[i]
	}
	return st
}

// send tops st.pending up from s's queue (without waiting) and sends it all.
func (w *batchWriter) send(st *batchState, s *batchShard) {
more:
	for len(st.pending) < batchSize {
		select {
		case d := <-s.queue:
			st.pending = append(st.pending, d)
		default:
			break more
		}
	}
	for i, d := range st.pending {
		st.msgs[i].Buffers[0] = d.buf[:d.n]
		st.ips[i] = d.addr.Addr().Unmap().As4()
		st.addrs[i].Port = int(d.addr.Port())
	}
	for sent := 0; sent < len(st.pending); {
		n, err := w.pc.WriteBatch(st.msgs[sent:len(st.pending)], 0)
		if err != nil || n <= 0 {
			break // UDP: a datagram that cannot be sent is lost, as with sendto
		}
		sent += n
	}
	for i, d := range st.pending {
		w.bufs.Put(d.buf)
		st.msgs[i].Buffers[0] = nil
	}
	st.pending = st.pending[:0]
}

// flush sends what s's queue holds, in batches, until close.
func (w *batchWriter) flush(s *batchShard) {
	st := newBatchState()
	for {
		select {
		case <-s.done:
			return
		case d := <-s.queue:
			st.pending = append(st.pending[:0], d)
		}
		w.send(st, s)
	}
}

// close stops the flushers; queued datagrams are dropped (the socket is closing).
func (w *batchWriter) close() {
	for _, s := range w.shards {
		close(s.done)
	}
	w.wg.Wait()
}
