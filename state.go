package weft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/weftgraph/weft/checkpoint"
)

// stateInfo describes how a state type splits into fields. A struct splits
// into its exported fields (a field tagged `weft:"-"` is not stored); any
// other type is one field named ".".
type stateInfo struct {
	typ    reflect.Type
	name   string // the type's name, the root of error paths
	fields []fieldInfo
	byName map[string]int
	// flat: every field is flat, so a copy of the value shares nothing a
	// node could change in place. plain: flat, and every field of the type
	// is stored, so a copy is also what a store gives back.
	flat, plain bool
}

type fieldInfo struct {
	name    string
	path    string // for error messages: "Review.Draft"
	index   int    // struct field index; -1 for the whole value
	typ     reflect.Type
	slice   bool
	flat    bool         // shapeOf(typ) == shapeFlat: copies share nothing to change
	plain   reflect.Kind // plainJSONKind(typ): the JSON codec's shortcut
	reducer Reducer
}

func newStateInfo(t reflect.Type) *stateInfo {
	si := &stateInfo{typ: t, name: t.Name(), byName: map[string]int{}}
	if si.name == "" {
		si.name = "State"
	}
	if t.Kind() != reflect.Struct {
		si.add(fieldInfo{name: ".", index: -1, typ: t, slice: t.Kind() == reflect.Slice})
		si.flat = si.fields[0].flat
		si.plain = si.flat
		return si
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("weft") == "-" {
			continue
		}
		si.add(fieldInfo{name: f.Name, index: i, typ: f.Type, slice: f.Type.Kind() == reflect.Slice})
	}
	si.flat = true
	for i := range si.fields {
		si.flat = si.flat && si.fields[i].flat
	}
	si.plain = si.flat && len(si.fields) == t.NumField()
	return si
}

// copyState returns a copy of s for a node to own (see clone.go); a flat
// state is copied by assignment.
func copyState[S any](si *stateInfo, s S) S {
	if si.flat {
		return s
	}
	out := s
	v := reflectOf(&out)
	for i := range si.fields {
		f := &si.fields[i]
		if f.flat {
			continue
		}
		fv := f.field(v)
		fv.Set(cloneValue(fv))
	}
	return out
}

// storedState returns a copy of s holding only what a store keeps of it.
func storedState[S any](si *stateInfo, s S) S {
	if si.plain {
		return s
	}
	return storedSlow(si, s)
}

// storedSlow is storedState's reflective path, apart so that s escapes
// only here.
func storedSlow[S any](si *stateInfo, s S) S {
	return si.storedCopy(reflectOf(&s)).Interface().(S)
}

func (si *stateInfo) add(f fieldInfo) {
	f.path = si.name
	if f.index >= 0 {
		f.path += "." + f.name
	}
	f.flat = shapeOf(f.typ) == shapeFlat
	f.plain = plainJSONKind(f.typ)
	si.byName[f.name] = len(si.fields)
	si.fields = append(si.fields, f)
}

// field returns the field f of the state v (addressable when v is).
func (f *fieldInfo) field(v reflect.Value) reflect.Value {
	if f.index < 0 {
		return v
	}
	return v.Field(f.index)
}

// storedCopy returns a copy of the state v holding only what a store
// keeps of it: its stored fields, copied; the others are zero, as they are
// in a state decoded from a checkpoint.
func (si *stateInfo) storedCopy(v reflect.Value) reflect.Value {
	out := reflect.New(si.typ).Elem()
	for i := range si.fields {
		f := &si.fields[i]
		fv := f.field(v)
		if !f.flat {
			fv = cloneValue(fv)
		}
		f.field(out).Set(fv)
	}
	return out
}

// equalStates reports whether two states have equal fields.
func (si *stateInfo) equalStates(a, b reflect.Value) bool {
	for i := range si.fields {
		f := &si.fields[i]
		if !equal(f.field(a), f.field(b)) {
			return false
		}
	}
	return true
}

// grew reports whether the slice b is the slice a with elements appended.
func grew(a, b reflect.Value) bool {
	n := a.Len()
	if n == 0 || b.Len() <= n {
		return false
	}
	return equal(a, b.Slice(0, n))
}

// output is one task's result within a superstep.
type output struct {
	task  string
	state reflect.Value // the node's returned state
}

// merge folds the outputs of one superstep's tasks into base, field by
// field, in task order. A field changed by one task takes its value; a
// field changed by several needs a reducer, or merge fails with a
// MergeError naming the field and the nodes.
func (si *stateInfo) merge(base reflect.Value, outs []output) (reflect.Value, error) {
	if len(outs) == 1 {
		return outs[0].state, nil
	}
	merged := reflect.New(si.typ).Elem()
	merged.Set(base)
	changedBy := make([]string, len(si.fields))
	for _, o := range outs {
		for i := range si.fields {
			f := &si.fields[i]
			bv, ov := f.field(base), f.field(o.state)
			if equal(bv, ov) {
				continue
			}
			mv := f.field(merged)
			if changedBy[i] == "" {
				mv.Set(ov)
				changedBy[i] = o.task
				continue
			}
			if f.reducer == nil {
				return reflect.Value{}, &MergeError{Field: f.name, Nodes: []string{changedBy[i], o.task}}
			}
			r, err := f.reducer.merge(bv, mv, ov)
			if err != nil {
				return reflect.Value{}, fmt.Errorf("weft: reducer of %s: %w", f.path, err)
			}
			mv.Set(r)
			changedBy[i] += " and " + o.task
		}
	}
	return merged, nil
}

// fold applies the input of a new turn to the current state: a zero field
// of in keeps the current value (unless it is named in zero); a field with
// a reducer is merged into it; any other field replaces it.
func (si *stateInfo) fold(cur, in reflect.Value, zero []string) (reflect.Value, error) {
	out := reflect.New(si.typ).Elem()
	out.Set(cur)
	for i := range si.fields {
		f := &si.fields[i]
		iv := f.field(in)
		if iv.IsZero() {
			if slices.Contains(zero, f.name) {
				f.field(out).Set(iv)
			}
			continue
		}
		ov := f.field(out)
		if f.reducer != nil {
			r, err := f.reducer.merge(reflect.Zero(f.typ), ov, iv)
			if err != nil {
				return reflect.Value{}, fmt.Errorf("weft: reducer of %s: %w", f.path, err)
			}
			ov.Set(r)
			continue
		}
		ov.Set(iv)
	}
	return out, nil
}

// withDefaults fills the zero fields of in from d.
func (si *stateInfo) withDefaults(in, d reflect.Value) reflect.Value {
	out := reflect.New(si.typ).Elem()
	out.Set(in)
	for i := range si.fields {
		f := &si.fields[i]
		if ov := f.field(out); ov.IsZero() {
			ov.Set(f.field(d))
		}
	}
	return out
}

// encode splits state v into blobs for a checkpoint written at version,
// relative to the previous state prev with field versions prevVersions (nil
// for none). Unchanged fields keep their version and write nothing; a slice
// that only grew writes its new tail. The blobs are appended to buf. The
// data of plain fields (see plainJSON) is appended to scratch, returned
// grown: those blobs are valid until scratch is used again.
func (si *stateInfo) encode(c Codec, v reflect.Value, prev reflect.Value, prevVersions map[string]int64, version int64, buf []checkpoint.Blob, scratch []byte) (map[string]int64, []checkpoint.Blob, []byte, error) {
	versions := make(map[string]int64, len(si.fields))
	blobs := slices.Grow(buf, len(si.fields))
	_, isJSON := c.(jsonCodec)
	for i := range si.fields {
		f := &si.fields[i]
		fv := f.field(v)
		pv, had := prevVersions[f.name]
		if had && prev.IsValid() {
			old := f.field(prev)
			if equal(old, fv) {
				versions[f.name] = pv
				continue
			}
			if f.slice && grew(old, fv) {
				data, err := encodeTail(c, fv, old.Len(), f.path)
				if err != nil {
					return nil, nil, scratch, err
				}
				versions[f.name] = version
				blobs = append(blobs, checkpoint.Blob{Field: f.name, Version: version, Base: pv, Data: data})
				continue
			}
		}
		var data []byte
		if isJSON && f.plain != reflect.Invalid {
			n := len(scratch)
			var ok bool
			if scratch, ok = appendPlainJSON(scratch, f.plain, fv); ok {
				data = scratch[n:len(scratch):len(scratch)]
			}
		}
		if data == nil {
			var err error
			if data, err = encodeField(c, f, fv); err != nil {
				return nil, nil, scratch, err
			}
		}
		versions[f.name] = version
		blobs = append(blobs, checkpoint.Blob{Field: f.name, Version: version, Data: data})
	}
	return versions, blobs, scratch, nil
}

// encodeTail encodes the elements of slice v from index from; an error
// names the element by its index in v.
func encodeTail(c Codec, v reflect.Value, from int, path string) ([]byte, error) {
	data, err := encodeValue(c, v.Slice(from, v.Len()), path)
	if err != nil {
		if _, ferr := encodeValue(c, v, path); ferr != nil {
			return nil, ferr
		}
	}
	return data, err
}

// decode rebuilds the state of checkpoint cp from its blobs. Fields the
// checkpoint does not have keep their zero value; blobs of fields the type
// no longer has are ignored.
func (si *stateInfo) decode(c Codec, cp *checkpoint.Checkpoint) (reflect.Value, error) {
	v := reflect.New(si.typ).Elem()
	idx := newBlobIndex(cp.Blobs)
	for i := range si.fields {
		f := &si.fields[i]
		ver, ok := cp.Versions[f.name]
		if !ok {
			continue
		}
		fv, err := decodeChain(c, f, &idx, ver)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("thread %q checkpoint %s: field %s: %w: %w", cp.ThreadID, cp.ID, f.name, ErrCorruptCheckpoint, err)
		}
		f.field(v).Set(fv)
	}
	return v, nil
}

// decodeChain decodes the value of field f at version ver: the blob at
// that version, and for an Append blob the blobs down its Base chain to a
// full one, decoded root first. With the JSON codec a chain of JSON arrays
// is decoded as one array (the elements of every link spliced together),
// so a list that grew over thousands of supersteps costs one decode, not
// one per superstep; anything else, and any error, takes the link-by-link
// way, which says which version is wrong.
func decodeChain(c Codec, f *fieldInfo, idx *blobIndex, ver int64) (reflect.Value, error) {
	b := idx.get(f.name, ver)
	if b == nil {
		return reflect.Value{}, fmt.Errorf("blob of version %d is missing", ver)
	}
	if !b.Appends() {
		p := reflect.New(f.typ)
		if err := c.Unmarshal(b.Data, p.Interface()); err != nil {
			return reflect.Value{}, fmt.Errorf("version %d: %w", ver, err)
		}
		return p.Elem(), nil
	}
	if !f.slice {
		return reflect.Value{}, fmt.Errorf("version %d appends to a field that is not a list", ver)
	}
	// The chain, head first. Bases strictly decrease, so it ends.
	chain := make([]*checkpoint.Blob, 1, max(1, idx.count(f.name)))
	chain[0] = b
	for b.Appends() {
		if b.Base >= b.Version {
			return reflect.Value{}, fmt.Errorf("version %d appends to version %d", b.Version, b.Base)
		}
		next := idx.get(f.name, b.Base)
		if next == nil {
			return reflect.Value{}, fmt.Errorf("blob of version %d is missing", b.Base)
		}
		b = next
		chain = append(chain, b)
	}
	if v, ok := spliceChain(c, f, chain); ok {
		return v, nil
	}
	var out reflect.Value
	for i := len(chain) - 1; i >= 0; i-- {
		b := chain[i]
		p := reflect.New(f.typ)
		if err := c.Unmarshal(b.Data, p.Interface()); err != nil {
			return reflect.Value{}, fmt.Errorf("version %d: %w", b.Version, err)
		}
		if i == len(chain)-1 {
			out = p.Elem()
			continue
		}
		out = reflect.AppendSlice(out, p.Elem())
	}
	return out, nil
}

// spliceChain decodes a chain (head first) of JSON arrays as one array,
// when the codec is the JSON codec and the list type decodes itself the
// way encoding/json does (no UnmarshalJSON of its own, which might not
// decode a concatenation as the concatenation of its decodings). The root
// may be null (a nil list). It reports false, having decoded nothing, for
// anything else or if the decode fails.
func spliceChain(c Codec, f *fieldInfo, chain []*checkpoint.Blob) (reflect.Value, bool) {
	if _, ok := c.(jsonCodec); !ok || len(chain) < 2 {
		return reflect.Value{}, false
	}
	if f.typ.Implements(jsonUnmarshaler) || reflect.PointerTo(f.typ).Implements(jsonUnmarshaler) {
		return reflect.Value{}, false
	}
	size := 2
	for _, b := range chain {
		size += len(b.Data)
	}
	buf := make([]byte, 1, size)
	buf[0] = '['
	elems := 0
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i].Data
		if i == len(chain)-1 && string(d) == "null" {
			continue
		}
		// Each link must be an array on its own: pieces that are not
		// might still splice into valid JSON, which a corrupt row must not.
		n, ok := validArrayLen(d)
		if !ok {
			return reflect.Value{}, false
		}
		elems += n
		inner := d[1 : len(d)-1]
		if len(bytes.TrimSpace(inner)) == 0 {
			continue
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, inner...)
	}
	buf = append(buf, ']')
	p := reflect.New(f.typ)
	if elems > 0 {
		// The room for every element, zero as a grown slice's is, rather
		// than encoding/json growing the list as it goes.
		p.Elem().Set(reflect.MakeSlice(f.typ, 0, elems))
	}
	if err := json.Unmarshal(buf, p.Interface()); err != nil {
		return reflect.Value{}, false
	}
	return p.Elem(), true
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// Reducer merges concurrent changes of one state field. Make one with
// Append, LastWrite or Merge and declare it with Graph.Reduce.
type Reducer interface {
	merge(base, ours, theirs reflect.Value) (reflect.Value, error)
	check(t reflect.Type) error
}

// Append is the reducer for list fields: every branch's new elements are
// appended, in the order of the nodes in the graph.
func Append() Reducer { return appendReducer{} }

type appendReducer struct{}

func (appendReducer) check(t reflect.Type) error {
	if t.Kind() != reflect.Slice {
		return fmt.Errorf("Append needs a slice field, not %s", t)
	}
	return nil
}

func (appendReducer) merge(base, ours, theirs reflect.Value) (reflect.Value, error) {
	n := base.Len()
	if theirs.Len() < n {
		// The branch dropped elements: its value is not an extension of
		// base, so append it whole.
		n = 0
	}
	out := reflect.MakeSlice(ours.Type(), 0, ours.Len()+theirs.Len()-n)
	out = reflect.AppendSlice(out, ours)
	return reflect.AppendSlice(out, theirs.Slice(n, theirs.Len())), nil
}

// LastWrite is the reducer that keeps the value of the last node, in the
// order of the nodes in the graph.
func LastWrite() Reducer { return lastWrite{} }

type lastWrite struct{}

func (lastWrite) check(reflect.Type) error { return nil }
func (lastWrite) merge(_, _, theirs reflect.Value) (reflect.Value, error) {
	return theirs, nil
}

// Merge makes a reducer from a three-way merge function of the field's type:
// base is the value before the superstep, ours the value merged so far,
// theirs the value of one more node. For example a counter that parallel
// nodes increment: Merge(func(base, ours, theirs int) int { return ours + theirs - base }).
func Merge[F any](fn func(base, ours, theirs F) F) Reducer { return mergeFunc[F](fn) }

type mergeFunc[F any] func(base, ours, theirs F) F

func (m mergeFunc[F]) check(t reflect.Type) error {
	if want := reflect.TypeFor[F](); want != t {
		return fmt.Errorf("reducer works on %s, the field is %s", want, t)
	}
	return nil
}

func (m mergeFunc[F]) merge(base, ours, theirs reflect.Value) (reflect.Value, error) {
	r := m(base.Interface().(F), ours.Interface().(F), theirs.Interface().(F))
	return reflect.ValueOf(&r).Elem(), nil
}

// fieldNames lists the state's field names, for messages.
func (si *stateInfo) fieldNames() string {
	names := make([]string, len(si.fields))
	for i, f := range si.fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// reflectOf returns the addressable value *p.
func reflectOf[S any](p *S) reflect.Value { return reflect.ValueOf(p).Elem() }
