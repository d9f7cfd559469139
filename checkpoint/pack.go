package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A pack is many blobs of one field stored as one value: the SQL stores
// fold the links of a long Append chain into a pack, so that reading a
// checkpoint whose list has grown for thousands of supersteps reads a few
// rows rather than one per superstep, and the bytes of every element are
// still stored once. Packing changes nothing a Store returns: a checkpoint
// read from a pack has the same Blobs as one read from rows.
//
// The format is a version byte (packFormat), a uvarint count, then per
// blob, in ascending version order: the uvarint version, the varint base
// and the uvarint length of the data followed by the data.

const packFormat = 1

// ErrPack is wrapped by the errors of UnpackBlobs: the value is not a pack
// AppendPack wrote (stores report it as ErrCorrupt).
var ErrPack = errors.New("checkpoint: malformed blob pack")

// AppendPack appends the pack of blobs to dst and returns it. The blobs
// must be of one field and in ascending version order; their Field is not
// stored.
func AppendPack(dst []byte, blobs []Blob) []byte {
	size := 1 + binary.MaxVarintLen64
	for i := range blobs {
		size += 3*binary.MaxVarintLen64 + len(blobs[i].Data)
	}
	if cap(dst)-len(dst) < size {
		dst = append(make([]byte, 0, len(dst)+size), dst...)
	}
	dst = append(dst, packFormat)
	dst = binary.AppendUvarint(dst, uint64(len(blobs)))
	for i := range blobs {
		b := &blobs[i]
		dst = binary.AppendUvarint(dst, uint64(b.Version))
		dst = binary.AppendVarint(dst, b.Base)
		dst = binary.AppendUvarint(dst, uint64(len(b.Data)))
		dst = append(dst, b.Data...)
	}
	return dst
}

// UnpackBlobs appends the blobs of pack, a value AppendPack wrote, to dst
// with Field set to field, and returns it. Their Data share pack's
// memory: the caller must not change pack while they are in use. A pack
// that is cut short, has trailing bytes, an unknown format, a version that
// is not positive or versions out of ascending order gives an error
// wrapping ErrPack, and dst as it was.
func UnpackBlobs(dst []Blob, field string, pack []byte) ([]Blob, error) {
	if len(pack) == 0 || pack[0] != packFormat {
		return dst, fmt.Errorf("%w: unknown format", ErrPack)
	}
	p := pack[1:]
	n, k := binary.Uvarint(p)
	// Every blob takes at least 3 bytes, which bounds a count that could
	// make the allocation below huge.
	if k <= 0 || n > uint64(len(p)-k)/3 {
		return dst, fmt.Errorf("%w: bad count", ErrPack)
	}
	p = p[k:]
	orig := dst
	start := len(dst)
	dst = append(dst, make([]Blob, n)...)
	out := dst[start:]
	var last int64
	for i := range out {
		v, k1 := binary.Uvarint(p)
		if k1 <= 0 || v == 0 || v > 1<<62 || int64(v) <= last {
			return orig, fmt.Errorf("%w: blob %d: bad version", ErrPack, i)
		}
		p = p[k1:]
		base, k2 := binary.Varint(p)
		if k2 <= 0 {
			return orig, fmt.Errorf("%w: blob %d: bad base", ErrPack, i)
		}
		p = p[k2:]
		size, k3 := binary.Uvarint(p)
		if k3 <= 0 || size > uint64(len(p)-k3) {
			return orig, fmt.Errorf("%w: blob %d: bad length", ErrPack, i)
		}
		p = p[k3:]
		last = int64(v)
		out[i] = Blob{Field: field, Version: last, Base: base, Data: p[:size:size]}
		p = p[size:]
	}
	if len(p) != 0 {
		return orig, fmt.Errorf("%w: %d trailing bytes", ErrPack, len(p))
	}
	return dst, nil
}
