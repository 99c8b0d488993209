package file

import "io"

// ReadAccessUnits exposes the H.264 access unit splitter to the external tests: the access
// units in Annex-B form, as they are sent (parameter sets added to IDRs without them).
func ReadAccessUnits(r io.Reader) ([][]byte, error) {
	aus := newAUReader(r)
	var ps paramSets
	var out [][]byte
	for {
		au, err := aus.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ps.annexB(au))
	}
}

// ReadOggPackets exposes the Ogg packet reader (every packet, headers included).
func ReadOggPackets(r io.Reader) ([][]byte, error) {
	o := &oggReader{r: bufioReader(r)}
	var out [][]byte
	for {
		p, err := o.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// ReadOpusPackets exposes the Ogg Opus reader (audio packets only).
func ReadOpusPackets(r io.Reader) ([][]byte, error) {
	o, err := newOpusReader(r)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		p, err := o.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, p)
	}
}

// OpusDuration exposes opusDuration.
var OpusDuration = opusDuration
