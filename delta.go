package weft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
)

// A task's pending output is stored as its difference from the state the
// superstep started from: one entry per field that changed, the whole
// value, or only the new elements of a slice that grew. A fan-out over a
// large state then stores a few bytes per finished branch rather than the
// state again. The format is a sequence of entries, each
//
//	kind byte ('F' whole value, 'T' appended tail)
//	uvarint length, field name
//	uvarint length, the value encoded by the Codec

const (
	deltaFull = 'F'
	deltaTail = 'T'
)

// encodeDelta encodes v as a change of base.
func (si *stateInfo) encodeDelta(c Codec, base, v reflect.Value) ([]byte, error) {
	var out []byte
	for i := range si.fields {
		f := &si.fields[i]
		fv, old := f.field(v), f.field(base)
		if equal(old, fv) {
			continue
		}
		kind := byte(deltaFull)
		var data []byte
		var err error
		if f.slice && grew(old, fv) {
			kind = deltaTail
			data, err = encodeTail(c, fv, old.Len(), f.path)
		} else {
			data, err = encodeField(c, f, fv)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, kind)
		out = binary.AppendUvarint(out, uint64(len(f.name)))
		out = append(out, f.name...)
		out = binary.AppendUvarint(out, uint64(len(data)))
		out = append(out, data...)
	}
	if out == nil {
		out = []byte{} // no change: an empty delta, not a missing one
	}
	return out, nil
}

var errDelta = errors.New("malformed output delta")

// decodeDelta applies a delta made by encodeDelta to a copy of base.
// Fields the type no longer has are ignored.
func (si *stateInfo) decodeDelta(c Codec, base reflect.Value, data []byte) (reflect.Value, error) {
	out := reflect.New(si.typ).Elem()
	out.Set(base)
	for len(data) > 0 {
		kind := data[0]
		if kind != deltaFull && kind != deltaTail {
			return reflect.Value{}, fmt.Errorf("%w: entry kind %q", errDelta, kind)
		}
		name, rest, err := chunk(data[1:])
		if err != nil {
			return reflect.Value{}, err
		}
		val, rest, err := chunk(rest)
		if err != nil {
			return reflect.Value{}, err
		}
		data = rest
		i, ok := si.byName[string(name)]
		if !ok {
			continue
		}
		f := &si.fields[i]
		p := reflect.New(f.typ)
		if err := c.Unmarshal(val, p.Interface()); err != nil {
			return reflect.Value{}, fmt.Errorf("field %s: %w", f.name, err)
		}
		fv := f.field(out)
		if kind == deltaFull {
			fv.Set(p.Elem())
			continue
		}
		if !f.slice {
			return reflect.Value{}, fmt.Errorf("%w: appended tail for field %s, which is not a slice", errDelta, f.name)
		}
		n := fv.Len()
		fv.Set(reflect.AppendSlice(fv.Slice3(0, n, n), p.Elem()))
	}
	return out, nil
}

// chunk reads one uvarint-prefixed chunk.
func chunk(b []byte) (data, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: bad length", errDelta)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}
