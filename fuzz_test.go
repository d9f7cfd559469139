package weft

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

type fuzzItem struct {
	Name string
	Due  time.Time
	Tags map[string]int
}

type fuzzState struct {
	Title string
	Count int
	Items []fuzzItem
	Flags []bool
	Ptr   *fuzzItem
}

// FuzzDecodeCheckpoint feeds arbitrary blobs and version chains to the
// checkpoint decoder: it must return a state or an error naming the thread
// and checkpoint, and never panic.
func FuzzDecodeCheckpoint(f *testing.F) {
	si := newStateInfo(reflect.TypeFor[fuzzState]())
	f.Add([]byte(`"hello"`), []byte(`[{"Name":"a"}]`), []byte(`[{"Name":"b"}]`), int64(1), int64(2), int64(1))
	f.Add([]byte(`42`), []byte(`null`), []byte(`[]`), int64(3), int64(3), int64(0))
	f.Add([]byte(`{`), []byte(`[1,2]`), []byte(`"x"`), int64(5), int64(4), int64(5))
	f.Add([]byte(``), []byte(`[{"Due":"nope"}]`), []byte(`[{"Tags":{"a":"b"}}]`), int64(-1), int64(9), int64(8))
	f.Fuzz(func(t *testing.T, title, items, tail []byte, v1, v2, base int64) {
		cp := &checkpoint.Checkpoint{
			ThreadID: "t", ID: "000000000002",
			Versions: map[string]int64{"Title": v1, "Items": v2, "Count": v1},
			Blobs: []checkpoint.Blob{
				{Field: "Title", Version: v1, Data: title},
				{Field: "Count", Version: v1, Data: title},
				{Field: "Items", Version: v1, Data: items},
				{Field: "Items", Version: v2, Base: base, Data: tail},
			},
		}
		v, err := si.decode(JSON, cp)
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) {
				t.Fatalf("decode error %v does not wrap ErrCorruptCheckpoint", err)
			}
			return
		}
		if v.Type() != si.typ {
			t.Fatalf("decoded a %s", v.Type())
		}
	})
}

// FuzzAnswer feeds arbitrary answers to the schema check and the decoding
// into the question's Go type: an answer that passes the schema must decode.
func FuzzAnswer(f *testing.F) {
	type decision struct {
		Action string   `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
		Text   string   `json:"text,omitempty" jsonschema:"maxLength=50"`
		Score  *float64 `json:"score,omitempty" jsonschema:"minimum=0,maximum=10"`
		Tags   []string `json:"tags,omitempty"`
	}
	schema, err := schemaFor(reflect.TypeFor[decision]())
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"action":"approve"}`))
	f.Add([]byte(`{"action":"edit","text":"more","score":3.5,"tags":["a"]}`))
	f.Add([]byte(`{"action":"nope"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"action":"approve","score":11}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		if err := validate(schema, answer); err != nil {
			return
		}
		var d decision
		if err := json.Unmarshal(answer, &d); err != nil {
			t.Fatalf("answer %s passed the schema but does not decode: %v", answer, err)
		}
	})
}

// FuzzDecodeDelta feeds arbitrary bytes to the decoder of stored task
// outputs: it must return a state or an error, never panic, and must give
// back exactly what encodeDelta encoded.
func FuzzDecodeDelta(f *testing.F) {
	si := newStateInfo(reflect.TypeFor[fuzzState]())
	base := fuzzState{Title: "t", Items: []fuzzItem{{Name: "a"}}, Flags: []bool{true}}
	changed := base
	changed.Count = 3
	changed.Items = append(changed.Items[:1:1], fuzzItem{Name: "b", Tags: map[string]int{"x": 1}})
	changed.Ptr = &fuzzItem{Name: "p"}
	good, err := si.encodeDelta(JSON, reflect.ValueOf(base), reflect.ValueOf(changed))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("T\x05Items\x02[]"))
	f.Add([]byte("T\x05Title\x03\"x\""))
	f.Add([]byte("F\x05Count\xff\xff\xff\xff\x0f1"))
	f.Add([]byte("Z"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := si.decodeDelta(JSON, reflect.ValueOf(base), data)
		if err != nil {
			return
		}
		if v.Type() != si.typ {
			t.Fatalf("decoded a %s", v.Type())
		}
		if string(data) == string(good) && !reflect.DeepEqual(v.Interface(), changed) {
			t.Fatalf("round trip: got %+v, want %+v", v.Interface(), changed)
		}
	})
}
