package file

import (
	"bytes"
	"errors"
	"io"
)

// maxNALU bounds one NAL unit of an Annex-B file (a file without start codes would otherwise be
// read into memory whole).
const maxNALU = 16 << 20

// readChunk is how much the NAL reader reads at a time.
const readChunk = 64 << 10

var (
	errNALUTooLarge = errors.New("h264: NAL unit larger than 16 MiB")
	startCode       = []byte{0, 0, 1}
	annexBPrefix    = []byte{0, 0, 0, 1}
)

// naluReader splits an H.264 Annex-B byte stream into NAL units, reading it in chunks.
type naluReader struct {
	r       io.Reader
	buf     []byte // unread bytes; once synced, buf starts with a NAL unit's first byte
	scanned int    // bytes of buf already searched for the next start code
	synced  bool   // the first start code was found
	eof     bool
}

func newNALUReader(r io.Reader) *naluReader { return &naluReader{r: r} }

// next returns the next non-empty NAL unit, without its start code and trailing zero bytes. The
// slice is the caller's. At the end of the stream it returns io.EOF.
func (n *naluReader) next() ([]byte, error) {
	for {
		if !n.synced {
			if i := bytes.Index(n.buf, startCode); i >= 0 {
				n.buf, n.synced = n.buf[i+3:], true
				continue
			}
			if n.eof {
				return nil, io.EOF // no start code at all
			}
			if len(n.buf) > 2 {
				n.buf = n.buf[len(n.buf)-2:] // keep a start code split between two reads
			}
		} else {
			from := max(n.scanned-2, 0)
			if i := bytes.Index(n.buf[from:], startCode); i >= 0 {
				nalu := trimZeros(n.buf[:from+i])
				n.buf, n.scanned = n.buf[from+i+3:], 0
				if len(nalu) > 0 {
					return bytes.Clone(nalu), nil
				}
				continue
			}
			n.scanned = len(n.buf)
			if n.eof {
				nalu := trimZeros(n.buf)
				n.buf, n.scanned = nil, 0
				if len(nalu) == 0 {
					return nil, io.EOF
				}
				return bytes.Clone(nalu), nil
			}
			if len(n.buf) > maxNALU {
				return nil, errNALUTooLarge
			}
		}
		if err := n.fill(); err != nil {
			return nil, err
		}
	}
}

// fill appends the next chunk of the stream to buf.
func (n *naluReader) fill() error {
	if len(n.buf)+readChunk > cap(n.buf) {
		n.buf = append(make([]byte, 0, 2*len(n.buf)+readChunk), n.buf...)
	}
	k, err := n.r.Read(n.buf[len(n.buf) : len(n.buf)+readChunk])
	n.buf = n.buf[:len(n.buf)+k]
	if err == io.EOF {
		n.eof = true
		return nil
	}
	return err
}

// trimZeros drops trailing zero bytes: the first byte of a 4-byte start code, or trailing_zero_8bits.
func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// H.264 NAL unit types (ITU-T H.264 table 7-1) that delimit access units.
const (
	naluSlice    = 1
	naluIDR      = 5
	naluSEI      = 6
	naluSPS      = 7
	naluPPS      = 8
	naluAUD      = 9
	naluPrefix   = 14 // first of 14..18, which start an access unit too
	naluReserved = 18
)

// auReader groups NAL units into access units (frames), following ITU-T H.264 7.4.1.2.3: once an
// access unit has a slice, an AUD, SPS, PPS, SEI, a type 14..18 unit or a slice whose
// first_mb_in_slice is 0 starts the next one.
type auReader struct {
	nalus   *naluReader
	pending []byte // the first NAL unit of the next access unit
}

func newAUReader(r io.Reader) *auReader { return &auReader{nalus: newNALUReader(r)} }

// next returns the NAL units of the next access unit, or io.EOF.
func (a *auReader) next() ([][]byte, error) {
	var au [][]byte
	hasSlice := false
	for {
		nalu := a.pending
		a.pending = nil
		if nalu == nil {
			var err error
			if nalu, err = a.nalus.next(); err == io.EOF && au != nil {
				return au, nil
			} else if err != nil {
				return nil, err
			}
		}
		typ := nalu[0] & 0x1f
		if hasSlice && startsAU(typ, nalu) {
			a.pending = nalu
			return au, nil
		}
		hasSlice = hasSlice || (typ >= naluSlice && typ <= naluIDR)
		au = append(au, nalu)
	}
}

// paramSets remembers the last SPS and PPS, to send them with every IDR: a file may carry them
// only once, at its start, and a subscriber that starts at a later IDR needs them.
type paramSets struct{ sps, pps []byte }

// annexB returns an access unit in Annex-B form (4-byte start codes), with the last SPS and
// PPS put before its first slice if it is an IDR without them.
func (p *paramSets) annexB(au [][]byte) []byte {
	hasSPS, hasPPS, firstSlice, idr := false, false, -1, false
	for i, n := range au {
		switch typ := n[0] & 0x1f; {
		case typ == naluSPS:
			p.sps, hasSPS = n, true
		case typ == naluPPS:
			p.pps, hasPPS = n, true
		case typ >= naluSlice && typ <= naluIDR:
			if firstSlice < 0 {
				firstSlice = i
			}
			idr = idr || typ == naluIDR
		}
	}
	var out []byte
	for i, n := range au {
		if i == firstSlice && idr && !(hasSPS && hasPPS) && p.sps != nil && p.pps != nil {
			out = append(append(out, annexBPrefix...), p.sps...)
			out = append(append(out, annexBPrefix...), p.pps...)
		}
		out = append(append(out, annexBPrefix...), n...)
	}
	return out
}

// startsAU reports whether a NAL unit of type typ that follows a slice starts a new access unit.
func startsAU(typ byte, nalu []byte) bool {
	switch {
	case typ == naluAUD || typ == naluSPS || typ == naluPPS || typ == naluSEI:
		return true
	case typ >= naluPrefix && typ <= naluReserved:
		return true
	case typ >= naluSlice && typ <= naluIDR:
		// first_mb_in_slice is ue(v): 0 is coded as a single 1 bit.
		return len(nalu) > 1 && nalu[1]&0x80 != 0
	}
	return false
}
