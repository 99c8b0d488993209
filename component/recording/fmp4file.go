package recording

import (
	"fmt"
	"io"
	"os"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
)

// fragmentInterval is how much media (in seconds) a fragment holds: what a crash can lose.
const fragmentInterval = 1

// fragmentFile writes one track as fragmented MP4: the init segment (ftyp+moov) when created,
// then a moof+mdat fragment per second of media. Every fragment is complete when written, so a
// file cut by a crash plays up to its last fragment.
//
// A sample's duration is only known when the next one arrives: the file holds back the last
// sample, and close gives it the duration of the one before.
//
// Not safe for concurrent use: one track's packets arrive on one goroutine, and close comes
// after the last of them.
type fragmentFile struct {
	f         *os.File
	timeScale uint32
	seq       uint32

	held    *fmp4.Sample // the last sample, waiting for its duration
	heldDTS int64
	lastDur uint32

	pending    []*fmp4.Sample // samples of the next fragment
	pendingDTS int64          // decode time of pending[0]
	pendingDur uint64

	samples  int
	duration uint64 // of the samples written or pending, in timeScale units
	buf      seekablebuffer.Buffer
}

// createFragmentFile creates path and writes the init segment of a one-track file.
func createFragmentFile(path string, track *fmp4.InitTrack) (*fragmentFile, error) {
	track.ID = 1
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	w := &fragmentFile{f: f, timeScale: track.TimeScale}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{track}}
	if err := init.Marshal(&w.buf); err != nil {
		f.Close()
		return nil, fmt.Errorf("init segment: %w", err)
	}
	if err := w.writeBuf(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// push adds a sample decoded at dts (timeScale units from the track's start). A dts that does
// not increase is the caller's bug: push refuses it.
func (w *fragmentFile) push(dts int64, s *fmp4.Sample) error {
	if w.held != nil {
		if dts <= w.heldDTS {
			return fmt.Errorf("decode time %d after %d", dts, w.heldDTS)
		}
		d := dts - w.heldDTS
		if d > int64(^uint32(0)) {
			return fmt.Errorf("gap of %d ticks", d)
		}
		w.lastDur = uint32(d)
		if err := w.add(w.heldDTS, w.held, w.lastDur); err != nil {
			return err
		}
	}
	w.held, w.heldDTS = s, dts
	return nil
}

// add queues a sample whose duration is known and writes a fragment once a second is queued.
func (w *fragmentFile) add(dts int64, s *fmp4.Sample, dur uint32) error {
	s.Duration = dur
	if len(w.pending) == 0 {
		w.pendingDTS = dts
	}
	w.pending = append(w.pending, s)
	w.pendingDur += uint64(dur)
	w.samples++
	w.duration += uint64(dur)
	if w.pendingDur >= uint64(w.timeScale)*fragmentInterval {
		return w.flush()
	}
	return nil
}

// flush writes the queued samples as one fragment.
func (w *fragmentFile) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	w.seq++
	part := fmp4.Part{SequenceNumber: w.seq, Tracks: []*fmp4.PartTrack{{
		ID: 1, BaseTime: uint64(w.pendingDTS), Samples: w.pending,
	}}}
	w.pending, w.pendingDur = nil, 0
	if err := part.Marshal(&w.buf); err != nil {
		return fmt.Errorf("fragment: %w", err)
	}
	return w.writeBuf()
}

func (w *fragmentFile) writeBuf() error {
	_, err := w.f.Write(w.buf.Bytes())
	w.buf.Reset()
	if _, serr := w.buf.Seek(0, io.SeekStart); err == nil {
		err = serr
	}
	return err
}

// close writes the held sample (with lastDur, or fallbackDur when it is the only one) and what
// is queued, and closes the file.
func (w *fragmentFile) close(fallbackDur uint32) error {
	var err error
	if w.held != nil {
		d := w.lastDur
		if d == 0 {
			d = fallbackDur
		}
		err = w.add(w.heldDTS, w.held, d)
		w.held = nil
	}
	if ferr := w.flush(); err == nil {
		err = ferr
	}
	if serr := w.f.Sync(); err == nil {
		err = serr
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}
