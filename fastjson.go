package weft

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
)

// The engine encodes and decodes many small JSON values on its hot paths:
// a state's string and bool fields, a question's payload, an answer. For
// those, encoding/json costs more in reflection and allocations than the
// value is worth. The functions here take a shortcut when the value is
// one whose encoding is obvious, and produce byte for byte what
// encoding/json produces; anything else (escapes, non-ASCII text, floats,
// types with their own marshalling) goes the ordinary way.

var (
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

	// The encodings of true and false, shared: their capacity is their
	// length, so an append to one copies it.
	jsonTrue  = []byte("true")[:4:4]
	jsonFalse = []byte("false")[:5:5]
)

// plainJSONKind returns the kind of t when appendPlainJSON can encode
// values of t: strings, bools and integers without marshalling methods
// (and not json.Number).
// It returns reflect.Invalid for every other type.
func plainJSONKind(t reflect.Type) reflect.Kind {
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return reflect.Invalid
	}
	if t == reflect.TypeFor[json.Number]() { // encoded as a number, unquoted
		return reflect.Invalid
	}
	pt := reflect.PointerTo(t)
	if t.Implements(jsonMarshalerType) || pt.Implements(jsonMarshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType) {
		return reflect.Invalid
	}
	return t.Kind()
}

// plainJSON returns encoding/json's encoding of v, whose type has the kind
// k from plainJSONKind, when it can make it without encoding/json; ok is
// false for a string that needs escapes.
func plainJSON(k reflect.Kind, v reflect.Value) (b []byte, ok bool) {
	switch k {
	case reflect.Bool: // shared, never written to
		if v.Bool() {
			return jsonTrue, true
		}
		return jsonFalse, true
	case reflect.String:
		return quotePlain(v.String())
	}
	b, ok = appendPlainJSON(make([]byte, 0, 8), k, v)
	if !ok {
		return nil, false
	}
	return b, true
}

// appendPlainJSON is plainJSON appending to dst: it returns dst grown by
// encoding/json's encoding of v, or dst as it is and false.
func appendPlainJSON(dst []byte, k reflect.Kind, v reflect.Value) ([]byte, bool) {
	switch k {
	case reflect.String:
		s := v.String()
		if !plainText(s) {
			return dst, false
		}
		return appendQuoted(dst, s), true
	case reflect.Bool:
		return strconv.AppendBool(dst, v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(dst, v.Uint(), 10), true
	}
	return dst, false
}

// quotePlain returns s as a JSON string when encoding/json would write
// it as it is between quotes: printable ASCII without '"', '\\' and the
// characters it escapes for HTML ('<', '>', '&').
func quotePlain(s string) ([]byte, bool) {
	if !plainText(s) {
		return nil, false
	}
	return appendQuoted(make([]byte, 0, len(s)+2), s), true
}

// appendQuoted appends s between double quotes, as it is.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainText reports whether every byte of s is printable ASCII that JSON
// and encoding/json's HTML escaping leave alone.
func plainText[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// unquotePlain returns the text of data when data is a JSON string of
// plain text (plainText) with no space around it.
func unquotePlain(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' || !plainText(data[1:len(data)-1]) {
		return "", false
	}
	return string(data[1 : len(data)-1]), true
}

// marshalPayload is json.Marshal(v) with the shortcuts of marshalPlain.
func marshalPayload(v any) ([]byte, error) {
	if b, ok := marshalPlain(v); ok {
		return b, nil
	}
	return json.Marshal(v)
}

// decodeAnswer is json.Unmarshal(data, v) with shortcuts for a plain
// string or a bool decoded into a *string or a *bool.
func decodeAnswer(data []byte, v any) error {
	switch p := v.(type) {
	case *string:
		if s, ok := unquotePlain(data); ok {
			*p = s
			return nil
		}
	case *bool:
		switch string(data) {
		case "true":
			*p = true
			return nil
		case "false":
			*p = false
			return nil
		}
	}
	return json.Unmarshal(data, v)
}
