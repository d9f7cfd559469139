package weft

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type cfLeaf struct {
	Name  string
	Count int      `json:"count"`
	Ratio float64  `json:"ratio,omitempty"`
	Flag  *bool    `json:"flag"`
	Tags  []string `json:"tags" jsonschema:"the tags"`
	Small uint8
	Bytes [2]byte
	Any   any
	Skip  string `json:"-"`
	priv  int
}

type cfTree struct {
	Label    string
	Children []cfTree
	Next     *cfTree
	ByName   map[string]cfLeaf
	Fixed    [2]int
}

type cfNamed string

type cfWithEnum struct {
	Pick string `jsonschema:"enum=a,enum=b"`
}
type cfWithMin struct {
	N int `jsonschema:"minimum=3"`
}
type cfAsString struct {
	N int `json:",string"`
}
type cfMarshals struct{ V int }

func (cfMarshals) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }

type cfText struct{ V int }

func (*cfText) MarshalText() ([]byte, error) { return []byte("x"), nil }

type cfEmbeds struct {
	cfLeaf
	Other string
}
type cfOddName struct {
	A string `json:"a b"`
}

// conformingCases are values of types that conform: their encoding
// must satisfy their inferred schema.
func conformingCases() []any {
	yes := true
	return []any{
		true, 0, int8(-3), uint64(1 << 60), 2.5, "text", cfNamed("n"),
		[]string(nil), []string{"a"}, [2]bool{}, map[string]int(nil), map[string]int{"a": 1},
		cfLeaf{}, cfLeaf{Name: "n", Count: -1, Ratio: 0.5, Flag: &yes, Tags: []string{"t"}, Small: 255, Bytes: [2]byte{0, 1}, Any: map[string]any{"k": []any{1.5, nil}}},
		cfTree{}, cfTree{Label: "root", Children: []cfTree{{Label: "c"}}, Next: &cfTree{Label: "n"}, ByName: map[string]cfLeaf{"x": {}}},
		&cfLeaf{}, (*cfLeaf)(nil), []cfLeaf{{}},
	}
}

func TestConformingTypesSatisfyTheirSchemas(t *testing.T) {
	for _, v := range conformingCases() {
		typ := reflect.TypeOf(v)
		if !conforms(typ) {
			t.Errorf("%s does not conform, want it to", typ)
			continue
		}
		schema, err := schemaFor(typ)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(schema, raw); err != nil {
			t.Errorf("%s: %s does not satisfy %s: %v", typ, raw, schema, err)
		}
		if !typeAnswers(schema, v) {
			t.Errorf("%s: typeAnswers(own schema) = false", typ)
		}
	}
}

func TestTypesThatDoNotConform(t *testing.T) {
	for _, v := range []any{
		cfWithEnum{}, cfWithMin{}, cfAsString{}, cfMarshals{}, cfText{}, cfEmbeds{}, cfOddName{},
		time.Time{}, json.RawMessage(`1`), []byte{}, struct{ B []byte }{}, []cfWithEnum{}, map[string]cfMarshals{}, struct{ T time.Time }{},
	} {
		if conforms(reflect.TypeOf(v)) {
			t.Errorf("%T conforms, want it checked against its schema", v)
		}
	}
	// A name given twice (which go vet refuses in a declared type).
	twice := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x"`},
	})
	if conforms(twice) {
		t.Errorf("%s conforms, want it checked against its schema", twice)
	}
	// A conforming value is still checked against a schema that is not
	// its type's own.
	other, err := schemaFor(reflect.TypeFor[cfWithEnum]())
	if err != nil {
		t.Fatal(err)
	}
	if typeAnswers(other, struct{ Pick string }{"c"}) {
		t.Error("typeAnswers took another type's schema")
	}
	if typeAnswers(nil, "x") || typeAnswers(json.RawMessage(`{"type":"string"}`), nil) {
		t.Error("typeAnswers without a schema or a value")
	}
	// The enum is what makes the check needed.
	if err := validate(other, json.RawMessage(`{"Pick":"c"}`)); err == nil {
		t.Fatal("enum not checked")
	}
}

// FuzzConformingAnswers decodes fuzzed JSON into conforming types and
// checks that the value's encoding satisfies the type's schema: what
// typeAnswers lets through unchecked.
func FuzzConformingAnswers(f *testing.F) {
	for _, v := range conformingCases() {
		raw, _ := json.Marshal(v)
		f.Add(raw)
	}
	f.Add([]byte(`{"Label":"x","Children":[{"Next":{"Fixed":[1,2]}}],"ByName":{"a":{"flag":false,"Any":"s"}}}`))
	f.Add([]byte(`{"Name":"\u00e9","count":-9007199254740993,"Small":255,"Bytes":[0,1]}`))
	types := []reflect.Type{
		reflect.TypeFor[cfLeaf](), reflect.TypeFor[cfTree](), reflect.TypeFor[[]cfLeaf](),
		reflect.TypeFor[map[string][]int](), reflect.TypeFor[*cfTree](), reflect.TypeFor[[2]uint16](),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range types {
			p := reflect.New(typ)
			if json.Unmarshal(data, p.Interface()) != nil {
				continue
			}
			raw, err := json.Marshal(p.Elem().Interface())
			if err != nil {
				continue // NaN and the like: Resume refuses them before any check
			}
			schema, err := schemaFor(typ)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(schema, raw); err != nil {
				t.Fatalf("%s: %s does not satisfy %s: %v", typ, raw, schema, err)
			}
		}
	})
}
