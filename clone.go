package weft

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"sync"
	"unsafe"
)

// A node receives its own copy of the state: maps, slices and pointers are
// copied as deep as they go, so a node may change them in place. What it
// returns is then compared with the state it was given (which nothing else
// changed) to find the fields it changed. Strings and scalars are shared:
// they cannot be changed in place.
//
// A type is copied by its shape:
//
//   - flat: no map, slice, pointer or interface inside (scalars, strings,
//     arrays and structs of them, time.Time): copied by assignment.
//   - deep: maps, slices, pointers, interfaces and structs that hold them,
//     all reachable through exported fields: copied part by part.
//   - opaque: a type whose value the codec reads through its own methods
//     (json.Marshaler, encoding.TextMarshaler) or that hides maps, slices or
//     pointers in unexported fields (big.Int): copied through a round trip
//     through JSON, so that changing the copy with its methods cannot
//     change the original.

type shape uint8

const (
	shapeFlat shape = iota
	shapeDeep
	shapeOpaque
)

var shapes sync.Map // reflect.Type -> shape

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	jsonMarshaler  = reflect.TypeFor[json.Marshaler]()
	textMarshaler  = reflect.TypeFor[encoding.TextMarshaler]()
)

// shapeOf returns how values of t are copied.
func shapeOf(t reflect.Type) shape {
	if s, ok := shapes.Load(t); ok {
		return s.(shape)
	}
	s := computeShape(t, map[reflect.Type]bool{})
	shapes.Store(t, s)
	return s
}

func computeShape(t reflect.Type, seen map[reflect.Type]bool) shape {
	switch {
	case t == timeType:
		return shapeFlat // immutable: its pointer is a *Location
	case t == rawMessageType:
		return shapeDeep
	case seen[t]:
		return shapeDeep // a recursive type: its pointers make it deep
	}
	seen[t] = true
	defer delete(seen, t)
	if t.Kind() != reflect.Interface && (t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)) {
		if computeStructure(t, seen) == shapeFlat {
			return shapeFlat
		}
		return shapeOpaque
	}
	return computeStructure(t, seen)
}

// computeStructure is the shape of t by its structure alone.
func computeStructure(t reflect.Type, seen map[reflect.Type]bool) shape {
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return shapeDeep
	case reflect.Array:
		return computeShape(t.Elem(), seen)
	case reflect.Struct:
		s := shapeFlat
		for i := range t.NumField() {
			f := t.Field(i)
			fs := computeShape(f.Type, seen)
			if fs != shapeFlat && !f.IsExported() {
				return shapeOpaque // hidden memory the copy would share
			}
			s = max(s, fs)
		}
		return s
	}
	return shapeFlat // scalars, strings; chans, funcs and unsafe pointers are shared
}

// cloner copies values; it tracks pointers already copied (so shared and
// cyclic pointers stay shared and cyclic in the copy) once they nest
// deeper than a few levels.
type cloner struct {
	depth int
	seen  map[unsafe.Pointer]reflect.Value
}

// cloneValue returns a copy of v for a node to own.
func cloneValue(v reflect.Value) reflect.Value {
	if shapeOf(v.Type()) == shapeFlat {
		return v
	}
	var cl cloner
	out := reflect.New(v.Type()).Elem()
	cl.copy(out, v)
	return out
}

// copy sets dst, settable and of src's type, to a copy of src.
func (cl *cloner) copy(dst, src reflect.Value) {
	t := src.Type()
	switch shapeOf(t) {
	case shapeFlat:
		dst.Set(src)
		return
	case shapeOpaque:
		cl.opaque(dst, src)
		return
	}
	switch t.Kind() {
	case reflect.Slice:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		n := src.Len()
		s := reflect.MakeSlice(t, n, n)
		if shapeOf(t.Elem()) == shapeFlat {
			reflect.Copy(s, src)
		} else {
			for i := range n {
				cl.copy(s.Index(i), src.Index(i))
			}
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		flat := shapeOf(t.Elem()) == shapeFlat
		it := src.MapRange()
		for it.Next() {
			if flat {
				m.SetMapIndex(it.Key(), it.Value())
				continue
			}
			e := reflect.New(t.Elem()).Elem()
			cl.copy(e, it.Value())
			m.SetMapIndex(it.Key(), e)
		}
		dst.Set(m)
	case reflect.Pointer:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		cl.depth++
		defer func() { cl.depth-- }()
		if cl.depth > 32 {
			if cl.seen == nil {
				cl.seen = map[unsafe.Pointer]reflect.Value{}
			}
			if p, ok := cl.seen[src.UnsafePointer()]; ok {
				dst.Set(p)
				return
			}
		}
		p := reflect.New(t.Elem())
		if cl.seen != nil {
			cl.seen[src.UnsafePointer()] = p
		}
		cl.copy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			dst.Set(src)
			return
		}
		e := src.Elem()
		c := reflect.New(e.Type()).Elem()
		cl.copy(c, e)
		dst.Set(c)
	case reflect.Array:
		for i := range src.Len() {
			cl.copy(dst.Index(i), src.Index(i))
		}
	case reflect.Struct:
		dst.Set(src) // unexported fields are flat (else the type is opaque)
		for i := range t.NumField() {
			if f := dst.Field(i); f.CanSet() && shapeOf(t.Field(i).Type) != shapeFlat {
				cl.copy(f, src.Field(i))
			}
		}
	default:
		dst.Set(src)
	}
}

// opaque copies src through a JSON round trip (a type with its own
// encoding: what it encodes is what it is). If the round trip fails, the
// copy shares src's memory.
func (cl *cloner) opaque(dst, src reflect.Value) {
	b, err := json.Marshal(src.Interface())
	if err == nil {
		p := reflect.New(src.Type())
		if err = json.Unmarshal(b, p.Interface()); err == nil {
			dst.Set(p.Elem())
			return
		}
	}
	dst.Set(src)
}

// equal reports whether two values of one field are the same. A node works
// on its own copy of the state, so a slice or map of the node's result that
// shares memory with the state it started from was not changed in place by
// it; everything else is compared element by element.
func equal(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Slice:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			return false
		}
		if a.Len() == 0 || a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
		if flatBits(a.Type().Elem()) {
			return bytes.Equal(sliceBytes(a), sliceBytes(b))
		}
	case reflect.Map, reflect.Pointer:
		if a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// flatBits reports whether values of t are equal when their memory is:
// flat types made of scalars and strings (equal string headers point at
// the same bytes; different ones compare unequal, which costs a write, not
// a lost change).
func flatBits(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Array:
		return flatBits(t.Elem())
	case reflect.Struct:
		if t == timeType {
			return false
		}
		for i := range t.NumField() {
			if !flatBits(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// sliceBytes is the memory of the elements of slice v.
func sliceBytes(v reflect.Value) []byte {
	return unsafe.Slice((*byte)(v.UnsafePointer()), v.Len()*int(v.Type().Elem().Size()))
}
