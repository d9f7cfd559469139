package weft

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// Codec encodes state fields for a store. The default is JSON
// (encoding/json). Interrupt payloads and answers are always JSON, whatever
// the codec, because humans and the HTTP API read them.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// encodeField encodes v, the value of the state field f, with c: as
// encodeValue, by the JSON codec's shortcut when v is plain.
func encodeField(c Codec, f *fieldInfo, v reflect.Value) ([]byte, error) {
	if f.plain != reflect.Invalid {
		if _, ok := c.(jsonCodec); ok {
			if b, ok := plainJSON(f.plain, v); ok {
				return b, nil
			}
		}
	}
	return encodeValue(c, v, f.path)
}

// encodeValue encodes v with c; on failure it looks for the innermost value
// that fails and reports its path, starting from root ("State.Items").
func encodeValue(c Codec, v reflect.Value, root string) ([]byte, error) {
	b, err := c.Marshal(v.Interface())
	if err == nil {
		return b, nil
	}
	path := locate(c, v, root, 0)
	var ee *EncodeError
	if errors.As(err, &ee) {
		return nil, err
	}
	return nil, &EncodeError{Path: path, Err: err}
}

// locate descends into v to find the deepest value that still fails to
// encode. It runs only after an encoding failed.
func locate(c Codec, v reflect.Value, path string, depth int) string {
	if depth > 32 || !v.IsValid() {
		return path
	}
	fails := func(x reflect.Value) bool {
		if !x.IsValid() || !x.CanInterface() {
			return false
		}
		_, err := c.Marshal(x.Interface())
		return err != nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return path
		}
		return locate(c, v.Elem(), path, depth+1)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if fv := v.Field(i); fails(fv) {
				return locate(c, fv, path+"."+f.Name, depth+1)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if ev := v.Index(i); fails(ev) {
				return locate(c, ev, path+"["+strconv.Itoa(i)+"]", depth+1)
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if ev := it.Value(); fails(ev) {
				return locate(c, ev, fmt.Sprintf("%s[%v]", path, it.Key()), depth+1)
			}
		}
	}
	return path
}
