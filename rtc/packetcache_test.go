package rtc

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"
)

// cachePacket returns a packet of n bytes (n >= 2) whose first two bytes are seq and whose
// remaining bytes are derived from seq, so that any mix-up shows.
func cachePacket(seq uint16, n int) []byte {
	p := make([]byte, n)
	binary.BigEndian.PutUint16(p, seq)
	for i := 2; i < n; i++ {
		p[i] = byte(int(seq) + i)
	}
	return p
}

func TestNewPacketCacheSize(t *testing.T) {
	for _, tc := range []struct{ size, want int }{
		{-1, 1}, {0, 1}, {1, 1}, {2, 2}, {3, 4}, {500, 512}, {512, 512}, {513, 1024},
		{1 << 15, 1 << 15}, {1 << 20, 1 << 15},
	} {
		if got := NewPacketCache(tc.size).Cap(); got != tc.want {
			t.Errorf("NewPacketCache(%d).Cap() = %d, want %d", tc.size, got, tc.want)
		}
	}
}

func TestPacketCache(t *testing.T) {
	type get struct {
		seq  uint16
		want bool
	}
	tests := []struct {
		name string
		size int
		adds []uint16
		gets []get
	}{
		{"empty", 8, nil, []get{{0, false}, {1, false}}},
		{"present and absent", 8, []uint16{10, 11, 13},
			[]get{{10, true}, {11, true}, {12, false}, {13, true}, {14, false}, {9, false}}},
		{"wrap-around", 8, []uint16{65533, 65534, 65535, 0, 1},
			[]get{{65533, true}, {65535, true}, {0, true}, {1, true}, {2, false}, {65532, false}}},
		{"eviction by window", 8, []uint16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
			[]get{{12, false}, {13, true}, {20, true}, {5, false}, {0, false}}},
		{"lost packet's slot holds an older one", 8, []uint16{0, 1, 2, 3, 4, 5, 6, 7, 9},
			[]get{{8, false}, {9, true}, {2, true}, {1, false}}},
		{"jump evicts old packets", 8, []uint16{1, 2, 3, 12},
			[]get{{1, false}, {2, false}, {3, false}, {12, true}}},
		{"late packet stored", 8, []uint16{10, 12, 11},
			[]get{{10, true}, {11, true}, {12, true}}},
		{"late packet out of window is a restart", 8, []uint16{100, 101, 50},
			[]get{{50, true}, {100, false}, {101, false}}},
		{"restart far ahead", 8, []uint16{100, 101, 40000},
			[]get{{40000, true}, {100, false}, {101, false}}},
		{"slot reused across the sequence space", 8, []uint16{0, 40000, 65528, 0},
			// 65528 and both 0s share a slot; the newest wins.
			[]get{{0, true}, {65528, false}, {40000, false}}},
		{"duplicate overwrites", 8, []uint16{5, 5}, []get{{5, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewPacketCache(tc.size)
			for i, s := range tc.adds {
				c.Add(s, cachePacket(s, 20+i))
			}
			buf := make([]byte, 1500)
			for _, g := range tc.gets {
				n, ok := c.Get(g.seq, buf)
				if ok != g.want {
					t.Errorf("Get(%d) ok = %v, want %v", g.seq, ok, g.want)
					continue
				}
				if !ok {
					if n != 0 {
						t.Errorf("Get(%d) = %d, false, want 0, false", g.seq, n)
					}
					continue
				}
				if got := binary.BigEndian.Uint16(buf); got != g.seq || !bytes.Equal(buf[:n], cachePacket(g.seq, n)) {
					t.Errorf("Get(%d) returned the packet of seq %d (%d bytes)", g.seq, got, n)
				}
			}
		})
	}
}

func TestPacketCacheCopies(t *testing.T) {
	c := NewPacketCache(16)
	in := cachePacket(7, 100)
	c.Add(7, in)
	in[5] ^= 0xff // the caller reuses its read buffer
	buf := make([]byte, 100)
	n, ok := c.Get(7, buf)
	if !ok || n != 100 || !bytes.Equal(buf, cachePacket(7, 100)) {
		t.Fatalf("Get(7) = %d, %v, or wrong bytes after the input changed", n, ok)
	}
	buf[5] ^= 0xff
	if n, ok := c.Get(7, buf); !ok || !bytes.Equal(buf[:n], cachePacket(7, 100)) {
		t.Errorf("Get(7) returned changed bytes after the output was changed")
	}
}

func TestPacketCacheShortBuffer(t *testing.T) {
	c := NewPacketCache(16)
	c.Add(3, cachePacket(3, 1200))
	buf := make([]byte, 1199)
	if n, ok := c.Get(3, buf); ok || n != 1200 {
		t.Errorf("Get(3, short) = %d, %v, want 1200, false", n, ok)
	}
	if buf[0] != 0 {
		t.Errorf("Get(3, short) copied into buf")
	}
}

func TestPacketCacheLargeAndShrinking(t *testing.T) {
	c := NewPacketCache(4)
	c.Add(1, cachePacket(1, 4000)) // larger than a slot's default buffer
	c.Add(5, cachePacket(5, 30))   // same slot, shorter
	buf := make([]byte, 4000)
	if n, ok := c.Get(5, buf); !ok || n != 30 || !bytes.Equal(buf[:n], cachePacket(5, 30)) {
		t.Errorf("Get(5) = %d, %v, want 30, true", n, ok)
	}
	c.Add(9, cachePacket(9, 4000))
	if n, ok := c.Get(9, buf); !ok || n != 4000 || !bytes.Equal(buf, cachePacket(9, 4000)) {
		t.Errorf("Get(9) = %d, %v, want 4000, true", n, ok)
	}
}

func TestPacketCacheReset(t *testing.T) {
	c := NewPacketCache(8)
	c.Add(1, cachePacket(1, 10))
	c.Reset()
	if _, ok := c.Get(1, make([]byte, 10)); ok {
		t.Error("Get(1) ok after Reset")
	}
	c.Add(30000, cachePacket(30000, 10))
	if _, ok := c.Get(30000, make([]byte, 10)); !ok {
		t.Error("Get(30000) not ok after Reset and Add")
	}
}

func TestPacketCacheNoAllocAfterWarmup(t *testing.T) {
	c := NewPacketCache(64)
	pkt := cachePacket(0, 1200)
	for seq := range uint16(64) {
		c.Add(seq, pkt)
	}
	seq := uint16(64)
	buf := make([]byte, 1500)
	allocs := testing.AllocsPerRun(1000, func() {
		c.Add(seq, pkt)
		c.Get(seq-3, buf)
		seq++
	})
	if allocs != 0 {
		t.Errorf("Add+Get allocated %v times per run, want 0", allocs)
	}
}

// TestPacketCacheConcurrent runs one writer and several readers; under -race it checks the
// locking, and the content check catches torn copies.
func TestPacketCacheConcurrent(t *testing.T) {
	c := NewPacketCache(128)
	const packets = 20000
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		seq := uint16(65000)
		for range packets {
			c.Add(seq, cachePacket(seq, 200+int(seq%50)))
			seq++
		}
	})
	for r := range 4 {
		wg.Go(func() {
			buf := make([]byte, 1500)
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				seq := uint16(65000 + i*7 + r)
				if n, ok := c.Get(seq, buf); ok && !bytes.Equal(buf[:n], cachePacket(seq, n)) {
					t.Errorf("Get(%d) returned a torn or wrong packet", seq)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkPacketCache(b *testing.B) {
	const size = 1200
	pkt := cachePacket(0, size)
	warm := func() *PacketCache { // every slot allocated: the steady state
		c := NewPacketCache(512)
		for seq := range uint16(512) {
			c.Add(seq, pkt)
		}
		return c
	}
	b.Run("Add", func(b *testing.B) {
		c := warm()
		seq := uint16(512)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			c.Add(seq, pkt)
			seq++
		}
	})
	b.Run("Add+Get", func(b *testing.B) {
		c := warm()
		buf := make([]byte, 1500)
		seq := uint16(512)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			c.Add(seq, pkt)
			c.Get(seq-100, buf)
			seq++
		}
	})
	b.Run("Get-parallel-with-writer", func(b *testing.B) {
		c := warm()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			seq := uint16(512)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Add(seq, pkt)
				seq++
			}
		})
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 1500)
			seq := uint16(0)
			for pb.Next() {
				c.Get(seq, buf)
				seq++
			}
		})
		b.StopTimer()
		close(stop)
		wg.Wait()
	})
}
