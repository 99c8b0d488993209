package file

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
)

// Ogg framing (RFC 3533): pages of a 27-byte header, a segment table, then the segments. A
// packet is a run of 255-byte segments ended by a shorter one; it may continue on the next page.
const (
	oggHeaderLen    = 27
	oggContinued    = 0x01 // header_type: the page starts with the rest of a packet
	oggBOS          = 0x02 // header_type: first page of a logical stream
	maxOpusPacket   = 1 << 20
	defaultOpusSize = 960 // 20 ms at 48 kHz, for a packet whose TOC byte says nothing
)

var (
	errNotOgg  = errors.New("ogg: not an Ogg stream")
	errNotOpus = errors.New("ogg: first logical stream is not Opus")
)

// oggReader returns the packets of the first logical stream of an Ogg file.
type oggReader struct {
	r        *bufio.Reader
	serial   uint32
	started  bool     // serial is known
	queue    [][]byte // complete packets of the current page not yet returned
	partial  []byte   // a packet that continues on the next page
	skipping bool     // the packet that continues was not seen from its start: dropped
	hdr      [oggHeaderLen]byte
	lacing   [255]byte
}

// next returns the next packet, or io.EOF at the end of the file (a truncated last page ends it).
func (o *oggReader) next() ([]byte, error) {
	for len(o.queue) == 0 {
		if err := o.readPage(); err != nil {
			return nil, err
		}
	}
	p := o.queue[0]
	o.queue = o.queue[1:]
	return p, nil
}

// readPage reads one page and queues the packets it completes.
func (o *oggReader) readPage() error {
	if _, err := io.ReadFull(o.r, o.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return io.EOF
		}
		return err
	}
	h := o.hdr[:]
	if !bytes.Equal(h[:4], []byte("OggS")) || h[4] != 0 {
		return errNotOgg
	}
	typ, serial, nseg := h[5], binary.LittleEndian.Uint32(h[14:18]), int(h[26])
	lacing := o.lacing[:nseg]
	if _, err := io.ReadFull(o.r, lacing); err != nil {
		return eofOf(err)
	}
	size := 0
	for _, l := range lacing {
		size += int(l)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(o.r, body); err != nil {
		return eofOf(err)
	}
	if !o.started {
		if typ&oggBOS == 0 {
			return errNotOgg
		}
		o.serial, o.started = serial, true
	}
	if serial != o.serial {
		return nil // another logical stream (a multiplexed file): skipped
	}
	cur := o.partial
	switch {
	case typ&oggContinued == 0:
		cur, o.skipping = nil, false // a packet cut short is dropped
	case cur == nil && !o.skipping:
		o.skipping = true // the rest of a packet whose start we never saw
	}
	pos := 0
	for _, l := range lacing {
		if !o.skipping {
			cur = append(cur, body[pos:pos+int(l)]...)
		}
		pos += int(l)
		if len(cur) > maxOpusPacket {
			return fmt.Errorf("ogg: packet larger than %d bytes", maxOpusPacket)
		}
		if l < 255 {
			if len(cur) > 0 {
				o.queue = append(o.queue, cur)
			}
			cur, o.skipping = nil, false
		}
	}
	o.partial = cur
	return nil
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, readChunk) }

func eofOf(err error) error {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return io.EOF
	}
	return err
}

// opusReader returns the audio packets of an Ogg Opus file (RFC 7845): it checks and skips the
// OpusHead and OpusTags header packets.
type opusReader struct{ ogg *oggReader }

func newOpusReader(r io.Reader) (*opusReader, error) {
	o := &oggReader{r: bufioReader(r)}
	head, err := o.next()
	if err == io.EOF {
		return nil, errNotOgg
	}
	if err != nil {
		return nil, err
	}
	if len(head) < 19 || !bytes.HasPrefix(head, []byte("OpusHead")) {
		return nil, errNotOpus
	}
	tags, err := o.next()
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == nil && !bytes.HasPrefix(tags, []byte("OpusTags")) {
		return nil, errNotOpus
	}
	return &opusReader{ogg: o}, nil
}

// next returns the next Opus packet, or io.EOF.
func (r *opusReader) next() ([]byte, error) { return r.ogg.next() }

// opusDuration is the length of an Opus packet in 48 kHz samples (RFC 6716 3.1).
func opusDuration(pkt []byte) int64 {
	if d := opus.PacketDuration2(pkt); d > 0 {
		return d
	}
	return defaultOpusSize
}
