package weft

import (
	"cmp"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Most questions carry a small payload (a map of a few strings, a struct of
// a few fields) and most answers are a struct of a few plain fields
// (Decision{Action: "approve"}). encoding/json spends several allocations
// and more time than the rest of asking on each. The shortcuts here encode
// and decode such values directly, byte for byte and field for field as
// encoding/json does, and leave everything else to it: a value or an input
// they are not sure of goes the ordinary way, which also gives the
// ordinary errors.

// flatStruct is what the shortcuts know of a flat struct type: one whose
// encoding/json form is an object of plain values (plainJSONKind) under
// plain names.
type flatStruct struct {
	fields []flatField
}

// flatField is a field of a flat struct.
type flatField struct {
	index     int
	name      string // its JSON name
	kind      reflect.Kind
	bits      int // of an integer kind
	omitEmpty bool
}

var flatStructs sync.Map // reflect.Type -> *flatStruct, nil when t is not flat

// flatOf returns what the shortcuts know of struct type t, or nil when t is
// not flat. A flat struct has no embedded fields, no marshalling methods
// (its own or its fields', either way), fields of plain kinds only, tag
// options other than omitempty on none, and names (plainFieldName) that
// differ from each other in more than letter case, so that encoding/json
// finds a field by a key exactly as the shortcut does.
func flatOf(t reflect.Type) *flatStruct {
	if v, ok := flatStructs.Load(t); ok {
		return v.(*flatStruct)
	}
	fs := inspectFlat(t)
	flatStructs.Store(t, fs)
	return fs
}

func inspectFlat(t reflect.Type) *flatStruct {
	if t.Kind() != reflect.Struct || hasCodecMethods(t) {
		return nil
	}
	fs := &flatStruct{}
	folded := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return nil // promoted fields follow rules of their own
		}
		tag, tagged := f.Tag.Lookup("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if tagged && opts != "" && opts != "omitempty" {
			return nil // ",string", omitzero (which calls IsZero), or unknown
		}
		kind := plainJSONKind(f.Type)
		if kind == reflect.Invalid || hasCodecMethods(f.Type) || !plainFieldName(name) || folded[strings.ToLower(name)] {
			return nil
		}
		folded[strings.ToLower(name)] = true
		bits := 0
		if kind != reflect.String && kind != reflect.Bool {
			bits = f.Type.Bits()
		}
		fs.fields = append(fs.fields, flatField{index: i, name: name, kind: kind, bits: bits, omitEmpty: opts == "omitempty"})
	}
	return fs
}

// hasCodecMethods reports whether t or *t implements any of encoding/json's
// marshalling or unmarshalling interfaces.
func hasCodecMethods(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, i := range [...]reflect.Type{jsonMarshalerType, textMarshalerType, jsonUnmarshalerType, textUnmarshalerType} {
		if t.Implements(i) || pt.Implements(i) {
			return true
		}
	}
	return false
}

// appendFlat appends encoding/json's encoding of v, a value of a flat
// struct, to dst; false (and dst as it was) when a string needs escapes.
func (fs *flatStruct) appendFlat(dst []byte, v reflect.Value) ([]byte, bool) {
	n := len(dst)
	dst = append(dst, '{')
	first := true
	for i := range fs.fields {
		f := &fs.fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendQuoted(dst, f.name)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendPlainJSON(dst, f.kind, fv); !ok {
			return dst[:n], false
		}
	}
	return append(dst, '}'), true
}

// decodeFlat sets the fields of v, a zero value of a flat struct, from
// data, and reports whether it could: data must be an object whose keys
// are exactly field names, each given once, with values of the fields'
// kinds written plainly (strings of plain text, integers without fraction
// or exponent, in range). Anything else is left to encoding/json; v may
// then be partly set.
func (fs *flatStruct) decodeFlat(data []byte, v reflect.Value) bool {
	p := flatParser{data: data}
	if !p.consume('{') {
		return false
	}
	var seen uint64
	if p.consume('}') {
		return p.end()
	}
	for {
		key, ok := p.plainString()
		if !ok || !p.consume(':') {
			return false
		}
		i := fs.find(key)
		if i < 0 || i >= 64 || seen&(1<<i) != 0 {
			return false // unknown (perhaps a case-insensitive match), or a repeat
		}
		seen |= 1 << i
		f := &fs.fields[i]
		if !p.value(f, v.Field(f.index)) {
			return false
		}
		if p.consume('}') {
			return p.end()
		}
		if !p.consume(',') {
			return false
		}
	}
}

// find returns the index of the field named key, or -1.
func (fs *flatStruct) find(key string) int {
	for i := range fs.fields {
		if fs.fields[i].name == key {
			return i
		}
	}
	return -1
}

// flatParser reads the plain JSON that decodeFlat accepts.
type flatParser struct {
	data []byte
	i    int
}

func (p *flatParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// consume skips space and then c, reporting whether c was there.
func (p *flatParser) consume(c byte) bool {
	p.space()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only space is left.
func (p *flatParser) end() bool {
	p.space()
	return p.i == len(p.data)
}

// plainString reads a string of plain text (plainText), which has no
// escapes: it ends at the next quote.
func (p *flatParser) plainString() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.data) && p.data[p.i] != '"' {
		p.i++
	}
	if p.i == len(p.data) || !plainText(p.data[start:p.i]) {
		return "", false
	}
	p.i++
	return string(p.data[start : p.i-1]), true
}

// value reads the value of field f into fv.
func (p *flatParser) value(f *flatField, fv reflect.Value) bool {
	switch f.kind {
	case reflect.String:
		s, ok := p.plainString()
		if ok {
			fv.SetString(s)
		}
		return ok
	case reflect.Bool:
		p.space()
		switch {
		case p.literal("true"):
			fv.SetBool(true)
		case p.literal("false"):
			fv.SetBool(false)
		default:
			return false
		}
		return true
	}
	digits, ok := p.integer()
	if !ok {
		return false
	}
	switch f.kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(digits, 10, f.bits)
		if err != nil {
			return false
		}
		fv.SetInt(n)
	default:
		n, err := strconv.ParseUint(digits, 10, f.bits)
		if err != nil {
			return false
		}
		fv.SetUint(n)
	}
	return true
}

// literal reads word if it comes next, as a whole token.
func (p *flatParser) literal(word string) bool {
	if !strings.HasPrefix(string(p.data[p.i:]), word) {
		return false
	}
	p.i += len(word)
	return p.i == len(p.data) || !isJSONWordByte(p.data[p.i])
}

// integer reads a JSON number that is an integer: an optional minus, then
// 0 or digits not starting with 0, and no fraction or exponent.
func (p *flatParser) integer() (string, bool) {
	p.space()
	start := p.i
	if p.i < len(p.data) && p.data[p.i] == '-' {
		p.i++
	}
	d := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	switch {
	case p.i == d, p.data[d] == '0' && p.i > d+1:
		return "", false
	case p.i < len(p.data) && (isJSONWordByte(p.data[p.i]) || p.data[p.i] == '.'):
		return "", false // a fraction, an exponent, or garbage
	}
	return string(p.data[start:p.i]), true
}

// isJSONWordByte reports whether c may continue a number or a literal.
func isJSONWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '_'
}

// smallMap is the most keys appendPlainMap sorts.
const smallMap = 16

// appendPlainMap appends encoding/json's encoding of m to dst when m has at
// most smallMap keys of plain text and values that are plain strings,
// booleans, integers of Go's own types, or nil; false (and dst as it was)
// otherwise.
func appendPlainMap[V any](dst []byte, m map[string]V) ([]byte, bool) {
	if len(m) > smallMap {
		return dst, false
	}
	var room [smallMap]string
	keys := room[:0]
	for k := range m {
		if !plainText(k) {
			return dst, false
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare[string])
	n := len(dst)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendQuoted(dst, k)
		dst = append(dst, ':')
		var ok bool
		if dst, ok = appendPlainValue(dst, m[k]); !ok {
			return dst[:n], false
		}
	}
	return append(dst, '}'), true
}

// appendPlainValue appends the encoding of v when it is a plain string, a
// bool, an integer of one of Go's own integer types, or nil.
func appendPlainValue(dst []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		if !plainText(v) {
			return dst, false
		}
		return appendQuoted(dst, v), true
	case bool:
		return strconv.AppendBool(dst, v), true
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), true
	case int64:
		return strconv.AppendInt(dst, v, 10), true
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), true
	case uint64:
		return strconv.AppendUint(dst, v, 10), true
	}
	return dst, false
}

// marshalPlain returns encoding/json's encoding of v when a shortcut can
// make it: a plain string, a small map of plain values, or a flat struct
// (or a pointer to one).
func marshalPlain(v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return quotePlain(v)
	case map[string]any:
		if v == nil {
			return nil, false
		}
		b, ok := appendPlainMap(make([]byte, 0, 64), v)
		return b, ok
	case map[string]string:
		if v == nil {
			return nil, false
		}
		b, ok := appendPlainMap(make([]byte, 0, 64), v)
		return b, ok
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, false
		}
		rv = rv.Elem()
	}
	fs := flatOf(rv.Type())
	if fs == nil {
		return nil, false
	}
	b, ok := fs.appendFlat(make([]byte, 0, 64), rv)
	return b, ok
}
