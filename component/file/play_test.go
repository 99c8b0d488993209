package file_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	jellyfish "github.com/jellyfish-go/jellyfish"
	"github.com/jellyfish-go/jellyfish/clientsdk"
	"github.com/jellyfish-go/jellyfish/component/file"
)

// readAUs splits a file of the sources directory into access units (TestAccessUnitsFFmpeg checks
// the splitter against ffprobe).
func readAUs(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	aus, err := file.ReadAccessUnits(f)
	if err != nil {
		t.Fatal(err)
	}
	return aus
}

// checkFrames checks that the received frames are the file's access units from a keyframe on:
// the first has SPS, PPS and an IDR, and a frame whose timestamp is j steps after the first's
// is access unit k+j of the file, NAL unit for NAL unit. It returns k.
func checkFrames(t *testing.T, frames []*frame, aus [][]byte, step uint32) int {
	t.Helper()
	if len(frames) == 0 {
		t.Fatal("no frame received")
	}
	first := frames[0]
	if types := first.types(); !slices.Contains(types, 7) || !slices.Contains(types, 8) || !slices.Contains(types, 5) ||
		slices.Index(types, 5) < slices.Index(types, 7) || slices.Index(types, 5) < slices.Index(types, 8) {
		t.Fatalf("first frame's NAL types %v, want SPS (7) and PPS (8) before an IDR (5)", types)
	}
	k := slices.IndexFunc(aus, func(au []byte) bool { return slices.EqualFunc(sent(au), first.nalus, bytes.Equal) })
	if k < 0 {
		t.Fatal("the first frame is none of the file's access units")
	}
	for i, f := range frames {
		d := f.ts - first.ts
		j := int(d / step)
		if d%step != 0 || k+j >= len(aus) {
			t.Fatalf("frame %d: timestamp %d after the first, not a multiple of %d within the file", i, d, step)
		}
		if !slices.EqualFunc(sent(aus[k+j]), f.nalus, bytes.Equal) {
			t.Fatalf("frame %d (access unit %d): NAL types %v differ from the file's", i, k+j, f.types())
		}
	}
	return k
}

// TestPlayVideo plays a 2 s, 30 fps file to a peer that joined first, at the file's framerate and
// at 60 fps: the peer gets the file's frames with the right timestamps, in real time, and when
// the file ends the component leaves quietly.
func TestPlayVideo(t *testing.T) {
	e := newEnv(t)
	makeH264(t, filepath.Join(e.dir, "video.h264"), 2, 30, 30)
	aus := readAUs(t, filepath.Join(e.dir, "video.h264"))
	if len(aus) != 60 {
		t.Fatalf("the fixture has %d frames, want 60", len(aus))
	}
	// The same file with SPS and PPS in its first frame only: the component repeats them.
	var stripped []byte
	for i, au := range aus {
		for _, n := range bytes.Split(au, []byte{0, 0, 0, 1}) {
			if len(n) > 0 && (i == 0 || (n[0]&0x1f != 7 && n[0]&0x1f != 8)) {
				stripped = append(append(stripped, 0, 0, 0, 1), n...)
			}
		}
	}
	writeFile(t, filepath.Join(e.dir, "once.h264"), stripped)
	if got := readAUs(t, filepath.Join(e.dir, "once.h264")); !slices.EqualFunc(got, aus, bytes.Equal) {
		t.Fatal("the parameter sets are not repeated before every IDR")
	}

	for _, tc := range []struct {
		name, options string
		step          uint32 // RTP timestamp step per frame
		duration      time.Duration
	}{
		{"default 30 fps", `{"filePath": "video.h264"}`, 3000, 2 * time.Second},
		{"framerate 60", `{"filePath": "video.h264", "framerate": 60}`, 1500, time.Second},
		{"parameter sets once", `{"filePath": "once.h264", "framerate": 60}`, 1500, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := e.room(jellyfish.VideoCodecH264)
			v := e.join(room)
			start := time.Now()
			c := e.add(room, tc.options)
			added := e.events.waitFor(t, "TrackAdded", func(ev jellyfish.Event) bool {
				a, ok := ev.(jellyfish.TrackAdded)
				return ok && a.ComponentID == c.ID()
			}).(jellyfish.TrackAdded)
			if added.Track.Type != jellyfish.TrackTypeVideo || added.Track.MetadataJSON() != "null" || added.RoomID != room.ID() {
				t.Errorf("TrackAdded %+v, want a video track with null metadata", added)
			}
			id := v.trackOf(t, c.ID())
			if id != added.Track.ID {
				t.Errorf("the peer got track %s, want %s", id, added.Track.ID)
			}

			removed := e.events.trackRemoved(t, c.ID())
			elapsed := time.Since(start)
			if removed.Track.ID != id {
				t.Errorf("TrackRemoved for %s, want %s", removed.Track.ID, id)
			}
			if elapsed < tc.duration*95/100 {
				t.Errorf("the file ended after %v, want real time (%v)", elapsed, tc.duration)
			}
			e.events.noCrash(t, c.ID())
			if n := len(room.Info().Components); n != 0 {
				t.Errorf("%d components left in the room after the end of the file", n)
			}

			r := v.removed(t, id)
			if r.mime != "video/H264" {
				t.Errorf("the peer received %s, want video/H264", r.mime)
			}
			frames := depacketize(t, r)
			k := checkFrames(t, frames, aus, tc.step)
			if k%30 != 0 {
				t.Errorf("the peer started at frame %d, want a keyframe (every 30)", k)
			}
			// The peer joined before: it misses at most what went by while it negotiated the
			// track, and then the frames since the keyframe are replayed.
			if len(frames) < 30 || len(frames) > 60 {
				t.Errorf("%d frames received from frame %d on, want 30..60", len(frames), k)
			}
			t.Logf("%d frames from frame %d in %v", len(frames), k, elapsed)
		})
	}
}

// TestLateJoiner: a peer that joins 0.5 s after the component started gets the file from its
// only keyframe on (the group of pictures is replayed), not nothing.
func TestLateJoiner(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "one-gop.h264")
	makeH264(t, path, 4, 30, 120)
	aus := readAUs(t, path)
	room := e.room(jellyfish.VideoCodecH264)
	c := e.add(room, `{"filePath": "one-gop.h264"}`)
	e.events.waitFor(t, "TrackAdded", func(ev jellyfish.Event) bool {
		a, ok := ev.(jellyfish.TrackAdded)
		return ok && a.ComponentID == c.ID()
	})
	select {
	case <-time.After(500 * time.Millisecond):
	case <-t.Context().Done():
	}
	v := e.join(room)
	id := v.trackOf(t, c.ID())
	e.events.trackRemoved(t, c.ID())
	e.events.noCrash(t, c.ID())
	frames := depacketize(t, v.removed(t, id))
	if k := checkFrames(t, frames, aus, 3000); k != 0 {
		t.Errorf("the late joiner started at frame %d, want the keyframe, frame 0", k)
	}
	if len(frames) < 110 {
		t.Errorf("the late joiner got %d of 120 frames", len(frames))
	}
}

// TestPlayAudio plays a 2 s Ogg Opus file: the peer gets the file's packets, 20 ms of audio
// each, at about 50 a second.
func TestPlayAudio(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(e.dir, "audio.ogg")
	makeOgg(t, path, 2)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := file.ReadOpusPackets(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	room := e.room(jellyfish.VideoCodecVP8)
	v := e.join(room)
	start := time.Now()
	c := e.add(room, `{"filePath": "audio.ogg"}`)
	id := v.trackOf(t, c.ID())
	removed := e.events.trackRemoved(t, c.ID())
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Errorf("the file ended after %v, want real time (2 s)", elapsed)
	}
	if removed.Track.Type != jellyfish.TrackTypeAudio || removed.Track.MetadataJSON() != "null" {
		t.Errorf("TrackRemoved %+v, want an audio track with null metadata", removed)
	}
	e.events.noCrash(t, c.ID())

	r := v.removed(t, id)
	if r.mime != "audio/opus" {
		t.Errorf("the peer received %s, want audio/opus", r.mime)
	}
	if len(r.pkts) < 50 {
		t.Fatalf("%d packets received, want at least 1 s of the 2 s", len(r.pkts))
	}
	first := r.pkts[0]
	k := slices.IndexFunc(pkts, func(p []byte) bool { return bytes.Equal(p, first.Payload) })
	if k < 0 {
		t.Fatal("the first packet is none of the file's")
	}
	for i, p := range r.pkts {
		d := p.Timestamp - first.Timestamp
		if j := int(d / 960); d%960 != 0 || k+j >= len(pkts) || !bytes.Equal(pkts[k+j], p.Payload) {
			t.Fatalf("packet %d (timestamp +%d) is not the file's packet %d", i, d, k+int(d/960))
		}
	}
	span := r.arrivals[len(r.arrivals)-1].Sub(r.arrivals[0])
	rate := float64(len(r.pkts)-1) / span.Seconds()
	if rate < 35 || rate > 70 {
		t.Errorf("%d packets in %v: %.1f a second, want about 50", len(r.pkts), span, rate)
	}
}

// TestStopMidFile: removing the component or deleting its room while a (30 s) file plays stops
// it at once, quietly.
func TestStopMidFile(t *testing.T) {
	e := newEnv(t)
	makeH264(t, filepath.Join(e.dir, "video.h264"), 1, 30, 30) // 30 frames at 1 fps: 30 s
	makeOgg(t, filepath.Join(e.dir, "audio.ogg"), 30)
	for _, options := range []string{`{"filePath": "video.h264", "framerate": 1}`, `{"filePath": "audio.ogg"}`} {
		for _, how := range []string{"RemoveComponent", "DeleteRoom"} {
			t.Run(how+" "+options, func(t *testing.T) {
				room := e.room(jellyfish.VideoCodecH264)
				c := e.add(room, options)
				e.events.waitFor(t, "TrackAdded", func(ev jellyfish.Event) bool {
					a, ok := ev.(jellyfish.TrackAdded)
					return ok && a.ComponentID == c.ID()
				})
				start := time.Now()
				var err error
				if how == "RemoveComponent" {
					err = room.RemoveComponent(c.ID())
				} else {
					err = e.srv.Engine.DeleteRoom(room.ID())
				}
				if err != nil {
					t.Fatal(err)
				}
				// Both wait for Run to return.
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("%s took %v", how, d)
				}
				e.events.trackRemoved(t, c.ID())
				e.events.noCrash(t, c.ID())
				if how == "RemoveComponent" && len(room.Info().Components) != 0 {
					t.Error("the component is still in the room")
				}
			})
		}
	}
}

// TestEndings: files that cannot be played crash the component (ComponentCrashed, no track);
// files with nothing to play end it quietly.
func TestEndings(t *testing.T) {
	e := newEnv(t)
	writeFile(t, filepath.Join(e.dir, "text.ogg"), []byte("this is not an ogg file, it is text"))
	writeFile(t, filepath.Join(e.dir, "empty.ogg"), nil)
	writeFile(t, filepath.Join(e.dir, "empty.h264"), nil)
	writeFile(t, filepath.Join(e.dir, "nostartcode.h264"), bytes.Repeat([]byte{0xab}, 100000))
	if err := os.Mkdir(filepath.Join(e.dir, "folder.h264"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		crash bool
	}{
		{"text.ogg", true},
		{"empty.ogg", true},
		{"folder.h264", true},
		{"empty.h264", false},
		{"nostartcode.h264", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			room := e.room(jellyfish.VideoCodecH264)
			c := e.add(room, `{"filePath": "`+tc.path+`"}`)
			if tc.crash {
				e.events.waitFor(t, "ComponentCrashed", func(ev jellyfish.Event) bool {
					cc, ok := ev.(jellyfish.ComponentCrashed)
					return ok && cc.ComponentID == c.ID()
				})
			} else {
				waitGone(t, room)
				e.events.noCrash(t, c.ID())
			}
			waitGone(t, room)
			for _, ev := range e.events.seen {
				if a, ok := ev.(jellyfish.TrackAdded); ok && a.ComponentID == c.ID() {
					t.Errorf("a track was published: %+v", a)
				}
			}
		})
	}
}

// waitGone polls until the room has no component.
func waitGone(t *testing.T, room *jellyfish.Room) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for len(room.Info().Components) != 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the component is still in the room")
		}
	}
}

// TestH264InVP8Room: there is no room codec restriction. A VP8 peer cannot receive the H.264
// track, yet the file plays to its end quietly and the peer stays.
func TestH264InVP8Room(t *testing.T) {
	e := newEnv(t)
	makeH264(t, filepath.Join(e.dir, "video.h264"), 0.5, 30, 30)
	room := e.room(jellyfish.VideoCodecVP8)
	v := e.join(room)
	c := e.add(room, `{"filePath": "video.h264"}`)
	e.events.trackRemoved(t, c.ID())
	e.events.noCrash(t, c.ID())
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, ev := range v.events {
		if d, ok := ev.(clientsdk.Disconnected); ok {
			// Seen with the lead's negotiation at the time of writing: the answer attaches a
			// down-track that pion cannot bind (no H.264 negotiated), SetLocalDescription fails
			// and the session ends with "Internal server error".
			t.Errorf("the VP8 peer was disconnected: %+v; a track it cannot receive must be left out of its negotiation", d)
		}
	}
	for id, tr := range v.tracks {
		if len(tr.pkts) > 0 {
			t.Errorf("the VP8 peer received %d packets of %s (%s)", len(tr.pkts), id, tr.mime)
		}
	}
}
