package weft

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// An answer given as a Go value (Answer(id, Decision{...})) to a question
// asked with the schema inferred from that very type is valid by its type
// alone, for most types: what encoding/json makes of any value of the
// type satisfies the schema. Resume then skips the schema check, which
// otherwise costs more than the rest of recording the answer.

// typeAnswers reports whether value satisfies schema by its type alone:
// schema is the one inferred from value's type (schemaFor), and that type
// conforms.
func typeAnswers(schema json.RawMessage, value any) bool {
	t := reflect.TypeOf(value)
	if t == nil || len(schema) == 0 || !conforms(t) {
		return false
	}
	own, err := schemaFor(t)
	return err == nil && bytes.Equal(schema, own)
}

var conforming sync.Map // reflect.Type -> bool

// conforms reports whether the encoding/json encoding of every value of t
// satisfies t's inferred schema (schemaFor). It holds for booleans,
// numbers, strings, interfaces, and pointers, slices, arrays and maps with
// string keys of conforming types, and for structs of conforming fields.
// It does not hold, and the answer is checked against the schema, for
// []byte (a string in the schema, null when nil), a type with its own
// marshalling (json.Marshaler, encoding.TextMarshaler,
// time.Time among them), a field encoded as a string (",string"), a
// field whose `jsonschema` tag constrains its values (enum, minimum,
// pattern...), and structs whose field names encoding/json might resolve
// otherwise than the schema does (embedded fields, names given twice,
// tag names with other characters than letters, digits, '_' and '-').
func conforms(t reflect.Type) bool {
	if v, ok := conforming.Load(t); ok {
		return v.(bool)
	}
	ok := conformsIn(t, map[reflect.Type]bool{})
	conforming.Store(t, ok)
	return ok
}

// conformsIn is conforms below the struct types in seen, which are being
// checked (a recursive type's schema accepts anything where it recurs).
func conformsIn(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t.Kind() == reflect.Interface {
		return true
	}
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Slice:
		// A []byte's schema is a string, but a nil one encodes as null.
		return t.Elem().Kind() != reflect.Uint8 && conformsIn(t.Elem(), seen)
	case reflect.Pointer, reflect.Array:
		return conformsIn(t.Elem(), seen)
	case reflect.Map:
		return t.Key().Kind() == reflect.String && conformsIn(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return true
		}
		seen[t] = true
		defer delete(seen, t)
		names := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				return false
			}
			tag := f.Tag.Get("json")
			if !f.IsExported() || tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if name == "" {
				name = f.Name
			}
			if names[name] || !plainFieldName(name) || hasOption(opts, "string") ||
				constrains(f.Tag.Get("jsonschema")) || !conformsIn(f.Type, seen) {
				return false
			}
			names[name] = true
		}
		return true
	}
	return false
}

// plainFieldName reports whether a JSON field name has only letters, digits,
// '_' and '-' (names encoding/json takes from a tag as they are).
func plainFieldName(name string) bool {
	for _, c := range name {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return name != ""
}

// hasOption reports whether the options of a json tag include o.
func hasOption(opts, o string) bool {
	for opt := range strings.SplitSeq(opts, ",") {
		if opt == o {
			return true
		}
	}
	return false
}

// constrains reports whether a `jsonschema` tag constrains a field's
// values (applyTag): anything but descriptions and a title.
func constrains(tag string) bool {
	if tag == "" {
		return false
	}
	for part := range strings.SplitSeq(tag, ",") {
		k, _, ok := strings.Cut(part, "=")
		if ok && k != "description" && k != "title" {
			return true
		}
	}
	return false
}
