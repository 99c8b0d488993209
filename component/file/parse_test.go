package file_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/jellyfish-go/jellyfish/component/file"
)

// nalus splits an access unit (4-byte start codes) into hex NAL units.
func nalus(au []byte) []string {
	var out []string
	for _, n := range bytes.Split(au, []byte{0, 0, 0, 1}) {
		if len(n) > 0 {
			out = append(out, hex.EncodeToString(n))
		}
	}
	return out
}

func naluTypes(au []byte) []byte {
	var out []byte
	for _, n := range bytes.Split(au, []byte{0, 0, 0, 1}) {
		if len(n) > 0 {
			out = append(out, n[0]&0x1f)
		}
	}
	return out
}

func TestAccessUnitsSynthetic(t *testing.T) {
	sc3, sc4 := "000001", "00000001"
	cases := []struct {
		name   string
		stream string // hex
		want   [][]string
	}{
		{"empty", "", nil},
		{"no start code", "68656c6c6f", nil},
		{"3-byte start codes", sc3 + "6742" + sc3 + "68ce" + sc3 + "6588aa" + sc3 + "419a01",
			[][]string{{"6742", "68ce", "6588aa"}, {"419a01"}}},
		{"garbage first, trailing zeros dropped", "ffff" + sc4 + "6588" + "0000" + sc4 + "419a" + "00",
			[][]string{{"6588"}, {"419a"}}},
		{"slices of one frame", sc4 + "6588" + sc4 + "6540" + sc4 + "4180" + sc4 + "4101",
			[][]string{{"6588", "6540"}, {"4180", "4101"}}},
		{"AUD starts an access unit", sc4 + "09f0" + sc4 + "6588" + sc4 + "09f0" + sc4 + "419a",
			[][]string{{"09f0", "6588"}, {"09f0", "419a"}}},
		{"SEI and parameter sets after a slice start one", sc4 + "6588" + sc4 + "0605" + sc4 + "419a" + sc4 + "6742" + sc4 + "68ce" + sc4 + "6588",
			[][]string{{"6588"}, {"0605", "419a"}, {"6742", "68ce", "6588"}}},
		{"parameter sets are repeated before a later IDR", sc4 + "6742" + sc4 + "68ce" + sc4 + "6588" + sc4 + "419a" + sc4 + "0605" + sc4 + "6588" + sc4 + "6540",
			[][]string{{"6742", "68ce", "6588"}, {"419a"}, {"0605", "6742", "68ce", "6588", "6540"}}},
		{"the latest parameter sets are repeated", sc4 + "6742" + sc4 + "68ce" + sc4 + "6588" + sc4 + "6743" + sc4 + "68cf" + sc4 + "419a" + sc4 + "6588",
			[][]string{{"6742", "68ce", "6588"}, {"6743", "68cf", "419a"}, {"6743", "68cf", "6588"}}},
		{"end of sequence stays", sc4 + "6588" + sc4 + "0a" + sc4 + "6588",
			[][]string{{"6588", "0a"}, {"6588"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := hex.DecodeString(tc.stream)
			if err != nil {
				t.Fatal(err)
			}
			for _, oneByte := range []bool{false, true} {
				r := bytes.NewReader(raw)
				aus, err := file.ReadAccessUnits(r)
				if oneByte {
					aus, err = file.ReadAccessUnits(iotest.OneByteReader(bytes.NewReader(raw)))
				}
				if err != nil {
					t.Fatal(err)
				}
				var got [][]string
				for _, au := range aus {
					got = append(got, nalus(au))
				}
				if !slices.EqualFunc(got, tc.want, slices.Equal) {
					t.Errorf("oneByte=%v: access units = %v, want %v", oneByte, got, tc.want)
				}
			}
		})
	}
}

// TestAccessUnitsFFmpeg splits ffmpeg's files: as many access units as ffprobe counts frames,
// IDRs (with SPS and PPS before them) exactly at the GOP starts, whatever the read sizes.
func TestAccessUnitsFFmpeg(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.h264")
	makeH264(t, plain, 2, 30, 30)
	sliced := filepath.Join(dir, "sliced.h264")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1", "-c:v", "libx264",
		"-pix_fmt", "yuv420p", "-x264-params", "slices=4:keyint=10:min-keyint=10:scenecut=0",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264", sliced)

	for _, tc := range []struct {
		path      string
		gop       int
		sliceEach int
	}{{plain, 30, 1}, {sliced, 10, 4}} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			frames := probeFrames(t, tc.path)
			data, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			aus, err := file.ReadAccessUnits(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(aus) != frames {
				t.Fatalf("%d access units, ffprobe counts %d frames", len(aus), frames)
			}
			slow, err := file.ReadAccessUnits(iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(data))))
			if err != nil || !slices.EqualFunc(slow, aus, bytes.Equal) {
				t.Fatalf("one-byte reads: %d access units (err %v), differ from whole reads", len(slow), err)
			}
			for i, au := range aus {
				types := naluTypes(au)
				idr, slices5, slices1 := false, 0, 0
				for _, ty := range types {
					switch ty {
					case 5:
						idr = true
						slices5++
					case 1:
						slices1++
					}
				}
				if idr != (i%tc.gop == 0) {
					t.Errorf("access unit %d: NAL types %v; IDR %v, want %v", i, types, idr, i%tc.gop == 0)
				}
				if idr {
					sps, pps := slices.Index(types, 7), slices.Index(types, 8)
					if sps < 0 || pps < 0 || sps > slices.Index(types, 5) || pps > slices.Index(types, 5) {
						t.Errorf("access unit %d: NAL types %v, want SPS and PPS before the IDR", i, types)
					}
				}
				if n := slices5 + slices1; n != tc.sliceEach {
					t.Errorf("access unit %d: %d slices (types %v), want %d", i, n, types, tc.sliceEach)
				}
			}
		})
	}
}

// oggPage builds one Ogg page; each piece is a packet or a part of one (ends: the packet ends
// on this page).
type piece struct {
	data []byte
	ends bool
}

func oggPage(typ byte, serial uint32, seq uint32, pieces ...piece) []byte {
	var lacing, body []byte
	for _, p := range pieces {
		n := len(p.data)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		if p.ends {
			lacing = append(lacing, byte(n))
		} else if n != 0 {
			panic("a continued piece must be a multiple of 255 bytes")
		}
		body = append(body, p.data...)
	}
	h := make([]byte, 27)
	copy(h, "OggS")
	h[5] = typ
	binary.LittleEndian.PutUint32(h[14:], serial)
	binary.LittleEndian.PutUint32(h[18:], seq)
	h[26] = byte(len(lacing))
	return slices.Concat(h, lacing, body)
}

func TestOggSynthetic(t *testing.T) {
	head := append([]byte("OpusHead"), 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0)
	tags := []byte("OpusTagsxxxx")
	big := bytes.Repeat([]byte{0xfc}, 300) // spans two pages
	a, b := []byte{0xfc, 1}, []byte{0xfc, 2}
	start := slices.Concat(oggPage(0x02, 7, 0, piece{head, true}), oggPage(0, 7, 1, piece{tags, true}))

	cases := []struct {
		name    string
		stream  []byte
		want    [][]byte // audio packets
		wantErr bool
	}{
		{"packets across pages and many per page", slices.Concat(start,
			oggPage(0, 7, 2, piece{a, true}, piece{big[:255], false}),
			oggPage(0x01, 7, 3, piece{big[255:], true}, piece{b, true})),
			[][]byte{a, big, b}, false},
		{"other logical streams are skipped", slices.Concat(start,
			oggPage(0x02, 9, 0, piece{[]byte("OpusHead-other-stream"), true}),
			oggPage(0, 7, 2, piece{a, true}),
			oggPage(0, 9, 1, piece{b, true})),
			[][]byte{a}, false},
		{"a packet without its start is dropped", slices.Concat(start,
			oggPage(0, 7, 2, piece{a, true}),
			oggPage(0x01, 7, 4, piece{big[255:], true}, piece{b, true})),
			[][]byte{a, b}, false},
		{"a packet cut short is dropped", slices.Concat(start,
			oggPage(0, 7, 2, piece{big[:255], false}),
			oggPage(0, 7, 3, piece{b, true})),
			[][]byte{b}, false},
		{"a truncated last page ends the stream", slices.Concat(start,
			oggPage(0, 7, 2, piece{a, true}),
			oggPage(0, 7, 3, piece{b, true})[:29]),
			[][]byte{a}, false},
		{"not Ogg", []byte(strings.Repeat("RIFF....WAVE", 10)), nil, true},
		{"empty", nil, nil, true},
		{"not Opus", oggPage(0x02, 7, 0, piece{append([]byte{1}, "vorbis0123456789abcdef"...), true}), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := file.ReadOpusPackets(bytes.NewReader(tc.stream))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !slices.EqualFunc(got, tc.want, bytes.Equal) {
				t.Errorf("packets = %x, want %x", got, tc.want)
			}
		})
	}
}

// TestOggFFmpeg reads ffmpeg's Ogg Opus (several packets per page): the same packets as ffprobe
// lists, 20 ms each.
func TestOggFFmpeg(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.ogg")
	makeOgg(t, path, 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := file.ReadOggPackets(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 2 || !bytes.HasPrefix(all[0], []byte("OpusHead")) || !bytes.HasPrefix(all[1], []byte("OpusTags")) {
		t.Fatalf("first packets %q, want OpusHead, OpusTags", all[:min(len(all), 2)])
	}
	audio, err := file.ReadOpusPackets(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		Packets []struct {
			Size string `json:"size"`
		} `json:"packets"`
	}
	out := runTool(t, "ffprobe", "-v", "error", "-show_entries", "packet=size", "-of", "json", path)
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatal(err)
	}
	if len(audio) != len(probe.Packets) {
		t.Fatalf("%d audio packets, ffprobe lists %d", len(audio), len(probe.Packets))
	}
	var total int64
	for i, p := range audio {
		if want := probe.Packets[i].Size; want != strconv.Itoa(len(p)) {
			t.Errorf("packet %d: %d bytes, ffprobe says %s", i, len(p), want)
		}
		if d := file.OpusDuration(p); d != 960 {
			t.Errorf("packet %d lasts %d samples, want 960", i, d)
		}
		total += file.OpusDuration(p)
	}
	if total < 48000 || total > 48000+2*960 {
		t.Errorf("packets last %d samples in all, want 1 s (48000) plus the encoder delay", total)
	}
}
