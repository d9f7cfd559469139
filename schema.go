package weft

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
)

// Answer schemas are inferred from the Go type T of Interrupt[T]:
//
//   - bool, integers, floats and strings map to their JSON types (unsigned
//     integers get "minimum": 0); time.Time is a "date-time" string.
//   - Slices and arrays are arrays ([]byte is a base64 string), maps with
//     string keys are objects, pointers also accept null, interfaces and
//     json.RawMessage accept anything.
//   - Structs are objects with their JSON field names, listed in the
//     order of the fields (the review page's form follows it; a schema
//     recorded by an earlier version with its properties sorted is the
//     same question); fields without omitempty or omitzero are required
//     and unknown fields are refused.
//   - A `jsonschema` field tag adds constraints, comma-separated:
//     enum=a (repeatable), minimum=, maximum=, minLength=, maxLength=,
//     pattern=, format=, description=; a part without "=" is a description.
//
// schemaFor caches the schema of each type.
var schemas sync.Map // reflect.Type -> schemaEntry

type schemaEntry struct {
	raw json.RawMessage
	err error
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

func schemaFor(t reflect.Type) (json.RawMessage, error) {
	if e, ok := schemas.Load(t); ok {
		return e.(schemaEntry).raw, e.(schemaEntry).err
	}
	var e schemaEntry
	s, err := inferSchema(t, map[reflect.Type]bool{})
	if err == nil {
		e.raw, err = json.Marshal(s)
	}
	e.err = err
	schemas.Store(t, e)
	return e.raw, e.err
}

func inferSchema(t reflect.Type, seen map[reflect.Type]bool) (map[string]any, error) {
	if t == nil || t == rawType || t.Kind() == reflect.Interface {
		return map[string]any{}, nil
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Pointer:
		s, err := inferSchema(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		if typ, ok := s["type"].(string); ok {
			s["type"] = []string{typ, "null"}
		}
		return s, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string"}, nil
		}
		items, err := inferSchema(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		s := map[string]any{"type": "array", "items": items}
		if t.Kind() == reflect.Array {
			s["minItems"], s["maxItems"] = t.Len(), t.Len()
		} else {
			s["type"] = []string{"array", "null"}
		}
		return s, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("weft: no JSON schema for %s: map keys must be strings", t)
		}
		vs, err := inferSchema(t.Elem(), seen)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": []string{"object", "null"}, "additionalProperties": vs}, nil
	case reflect.Struct:
		if seen[t] {
			return map[string]any{}, nil // recursive type: accept anything below
		}
		seen[t] = true
		defer delete(seen, t)
		props := &objectProps{schemas: map[string]map[string]any{}}
		required := []string{}
		if err := structProps(t, seen, props, &required); err != nil {
			return nil, err
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s, nil
	}
	return nil, fmt.Errorf("weft: no JSON schema for %s", t)
}

// objectProps are the properties of a struct's schema in the order of its
// fields, which is the order a form shows them in (a map would marshal
// sorted by name). A name given twice (an embedded struct's field and the
// outer one) keeps its first place and its last schema, as before.
type objectProps struct {
	names   []string
	schemas map[string]map[string]any
}

func (p *objectProps) set(name string, s map[string]any) {
	if _, ok := p.schemas[name]; !ok {
		p.names = append(p.names, name)
	}
	p.schemas[name] = s
}

// MarshalJSON writes the properties in field order.
func (p *objectProps) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, name := range p.names {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(p.schemas[name])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// sameSchema reports whether two JSON schemas a question was asked with
// are the same: the same bytes, or the same JSON value (a question
// recorded before the properties of a struct's schema came in field order
// had them sorted by name).
func sameSchema(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func structProps(t reflect.Type, seen map[reflect.Type]bool, props *objectProps, required *[]string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if err := structProps(ft, seen, props, required); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs, err := inferSchema(f.Type, seen)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if err := applyTag(fs, f.Type, f.Tag.Get("jsonschema")); err != nil {
			return fmt.Errorf("weft: field %s.%s: %w", t, f.Name, err)
		}
		props.set(name, fs)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			*required = append(*required, name)
		}
	}
	return nil
}

func applyTag(s map[string]any, t reflect.Type, tag string) error {
	if tag == "" {
		return nil
	}
	var enum []any
	for _, part := range strings.Split(tag, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			s["description"] = part
			continue
		}
		switch k {
		case "enum":
			val, err := enumValue(t, v)
			if err != nil {
				return err
			}
			enum = append(enum, val)
		case "minimum", "maximum":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("jsonschema tag %s=%q: %w", k, v, err)
			}
			s[k] = n
		case "minLength", "maxLength", "minItems", "maxItems":
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("jsonschema tag %s=%q: %w", k, v, err)
			}
			s[k] = n
		case "pattern", "format", "description", "title":
			s[k] = v
		default:
			return fmt.Errorf("unknown jsonschema tag key %q", k)
		}
	}
	if enum != nil {
		s["enum"] = enum
	}
	return nil
}

func enumValue(t reflect.Type, v string) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("enum value %q is not a number", v)
		}
		return n, nil
	case reflect.Bool:
		return strconv.ParseBool(v)
	}
	return v, nil
}

var resolved sync.Map // string(schema) -> *jsonschema.Resolved or error

// ValidateAnswer checks a JSON answer against a question's JSON schema
// (Question.Schema) as Resume does before it records an answer; the error
// says what does not fit. An empty schema accepts any JSON value.
func ValidateAnswer(schema, answer json.RawMessage) error { return validate(schema, answer) }

// validate checks the JSON answer against the JSON schema.
func validate(schema, answer json.RawMessage) error {
	if len(schema) == 0 {
		if !json.Valid(answer) {
			return errors.New("answer is not JSON")
		}
		return nil
	}
	// The schemas of a bare string or bool (what Interrupt[string] and
	// Interrupt[bool] ask with) check only the answer's JSON type.
	switch string(schema) {
	case `{"type":"string"}`:
		if _, ok := unquotePlain(answer); ok {
			return nil
		}
	case `{"type":"boolean"}`:
		if a := string(answer); a == "true" || a == "false" {
			return nil
		}
	}
	var rs *jsonschema.Resolved
	if v, ok := resolved.Load(string(schema)); ok {
		if err, isErr := v.(error); isErr {
			return err
		}
		rs = v.(*jsonschema.Resolved)
	} else {
		var s jsonschema.Schema
		err := json.Unmarshal(schema, &s)
		if err == nil {
			rs, err = s.Resolve(nil)
		}
		if err != nil {
			err = fmt.Errorf("weft: unusable answer schema: %w", err)
			resolved.Store(string(schema), err)
			return err
		}
		resolved.Store(string(schema), rs)
	}
	var instance any
	if err := json.Unmarshal(answer, &instance); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	return rs.Validate(instance)
}
