package weft

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// flatAll has a field of every kind the shortcuts take, tagged and not.
type flatAll struct {
	Action  string
	Note    string `json:"note,omitempty"`
	OK      bool   `json:"ok"`
	Urgent  bool   `json:",omitempty"`
	N       int    `json:"n"`
	Small   int8   `json:"small,omitempty"`
	Count   uint16 `json:"count"`
	Big     uint64
	Dash    string `json:"-,"` // named "-"
	Skipped string `json:"-"`
	hidden  string
	Named   plainName `json:"named,omitempty"`
}

type (
	embedsFlat struct{ flatAll }
	withTime   struct{ At time.Time }
	withString struct {
		N int `json:"n,string"`
	}
	withOmitZero struct {
		N int `json:"n,omitzero"`
	}
	withPointer struct{ P *string }
	withFloat   struct{ F float64 }
	withText    struct{ T textName }
	withFlag    struct{ F jsonFlag }
	foldedNames struct {
		Name string
		NAME string `json:"name"`
	}
	oddName struct {
		A string `json:"a b"`
	}
	unmarshals      struct{ S string }
	unmarshalsField struct {
		U unmarshalText
	}
	unmarshalText string

	// verdict is the usual answer: one plain field.
	verdict struct{ Action string }
)

func (u *unmarshals) UnmarshalJSON([]byte) error { return nil }

func (u *unmarshalText) UnmarshalText([]byte) error { return nil }

// TestWhichStructsAreFlat: the shortcuts take only structs whose encoding
// and decoding they are sure of.
func TestWhichStructsAreFlat(t *testing.T) {
	for _, tc := range []struct {
		v    any
		flat bool
	}{
		{flatAll{}, true},
		{struct{}{}, true},
		{verdict{}, true},
		{embedsFlat{}, false},
		{withTime{}, false},
		{withString{}, false},
		{withOmitZero{}, false},
		{withPointer{}, false},
		{withFloat{}, false},
		{withText{}, false},
		{withFlag{}, false},
		{foldedNames{}, false},
		{oddName{}, false},
		{unmarshals{}, false},
		{unmarshalsField{}, false},
		{time.Time{}, false},
		{"a string", false},
	} {
		if got := flatOf(reflect.TypeOf(tc.v)) != nil; got != tc.flat {
			t.Errorf("flatOf(%T) = %v, want %v", tc.v, got, tc.flat)
		}
	}
}

// TestFlatEncodingIsEncodingJSON: marshalPlain writes exactly what
// encoding/json writes, or declines.
func TestFlatEncodingIsEncodingJSON(t *testing.T) {
	s := "x"
	for _, tc := range []struct {
		v    any
		fast bool
	}{
		{flatAll{}, true},
		{flatAll{Action: "approve", Note: "n", OK: true, Urgent: true, N: -7, Small: -128, Count: 65535, Big: math.MaxUint64, Dash: "d", Skipped: "s", hidden: "h", Named: "x"}, true},
		{&flatAll{Action: "a"}, true},
		{(*flatAll)(nil), false},
		{flatAll{Action: "<b>"}, false},
		{flatAll{Note: "é"}, false},
		{verdict{Action: "approve"}, true},
		{struct{}{}, true},
		{map[string]any{"draft": "text", "n": 3, "ok": false, "none": nil, "u8": uint8(9), "i64": int64(-1)}, true},
		{map[string]any{}, true},
		{map[string]any(nil), false},
		{map[string]any{"f": 1.5}, false},
		{map[string]any{"nested": map[string]any{}}, false},
		{map[string]any{"named": plainName("x")}, false},
		{map[string]any{"a&b": "x"}, false},
		{map[string]any{"b": "1", "a": "2", "c": "3", "B": "4", "_": "5"}, true},
		{map[string]string{"z": "1", "a": "2"}, true},
		{map[string]string{"z": "\n"}, false},
		{withPointer{P: &s}, false},
		{"plain", true},
		{"\"quoted\"", false},
		{42, false},
		{nil, false},
	} {
		want, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := marshalPlain(tc.v)
		if ok != tc.fast {
			t.Errorf("marshalPlain(%#v): ok = %v, want %v", tc.v, ok, tc.fast)
		}
		if ok && !bytes.Equal(got, want) {
			t.Errorf("marshalPlain(%#v) = %s, encoding/json %s", tc.v, got, want)
		}
		if b, err := marshalPayload(tc.v); err != nil || !bytes.Equal(b, want) {
			t.Errorf("marshalPayload(%#v) = %s, %v; encoding/json %s", tc.v, b, err, want)
		}
	}
}

// TestFlatDecodingIsEncodingJSON: decodeTo gives what encoding/json gives,
// through the shortcut when it can, and encoding/json's error when the
// input is wrong.
func TestFlatDecodingIsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fast bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"Action":"approve"}`, true},
		{"{\n \"Action\" : \"approve\" ,\t\"ok\":true,\"n\":-12,\"count\":7,\"Big\":18446744073709551615,\"-\":\"dash\",\"named\":\"x\"}\r\n", true},
		{`{"ok":false,"small":-128}`, true},
		{`{"n":0}`, true},
		{`{"n":-0}`, true},
		{`{"action":"approve"}`, false},        // a case-insensitive match
		{`{"Action":"a","Action":"b"}`, false}, // a repeat: the last wins
		{`{"Skipped":"s"}`, false},             // ignored by encoding/json
		{`{"hidden":"h"}`, false},
		{`{"other":1}`, false},
		{`{"Action":"\u0061"}`, false},
		{`{"Action":"é"}`, false},
		{`{"Action":null}`, false},
		{`{"n":1.0}`, false},
		{`{"n":1e3}`, false},
		{`{"n":01}`, false},
		{`{"n":-}`, false},
		{`{"small":128}`, false}, // out of range: an error
		{`{"count":-1}`, false},
		{`{"n":"1"}`, false},
		{`{"ok":1}`, false},
		{`{"ok":truex}`, false},
		{`{"Action":"a",}`, false},
		{`{"Action":"a"} x`, false},
		{`{"Action":"a"`, false},
		{`{"Action"`, false},
		{`{`, false},
		{``, false},
		{`null`, false},
		{`[]`, false},
		{`"x"`, false},
	} {
		var want flatAll
		werr := json.Unmarshal([]byte(tc.in), &want)
		var fast flatAll
		ok := flatOf(reflect.TypeFor[flatAll]()).decodeFlat([]byte(tc.in), reflect.ValueOf(&fast).Elem())
		if ok != tc.fast {
			t.Errorf("decodeFlat(%s): ok = %v, want %v", tc.in, ok, tc.fast)
		}
		if ok && (werr != nil || fast != want) {
			t.Errorf("decodeFlat(%s) = %+v, encoding/json %+v, %v", tc.in, fast, want, werr)
		}
		got, err := decodeTo[flatAll](json.RawMessage(tc.in))
		if (err != nil) != (werr != nil) || err == nil && got != want {
			t.Errorf("decodeTo(%s) = %+v, %v; encoding/json %+v, %v", tc.in, got, err, want, werr)
		}
	}
}

// TestFlatDecodeAllocations: a flat answer is decoded with one allocation
// (the value, which reflect makes escape).
func TestFlatDecodeAllocations(t *testing.T) {
	raw := json.RawMessage(`{"Action":"approve"}`)
	if n := testing.AllocsPerRun(100, func() {
		if d, err := decodeTo[verdict](raw); err != nil || d.Action != "approve" {
			t.Fatal(d, err)
		}
	}); n > 2 {
		t.Errorf("decodeTo[verdict]: %v allocations, want at most 2", n)
	}
}

func FuzzFlatJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"Action":"approve"}`, `{"n":-12,"ok":true}`, `{"count":65536}`, `{"Big":18446744073709551616}`, `{"small":-129}`, ` {"named" : "x" } `, `{"n":1}x`} {
		f.Add([]byte(s), "text", int64(3), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, s string, n int64, b bool) {
		// Decoding: whatever the shortcut accepts, encoding/json reads the
		// same way.
		var fast, want flatAll
		if flatOf(reflect.TypeFor[flatAll]()).decodeFlat(data, reflect.ValueOf(&fast).Elem()) {
			if err := json.Unmarshal(data, &want); err != nil || fast != want {
				t.Fatalf("decodeFlat(%q) = %+v, encoding/json %+v, %v", data, fast, want, err)
			}
		}
		// Encoding: of a struct and of a map made of the inputs.
		v := flatAll{Action: s, Note: s, OK: b, Urgent: !b, N: int(n), Small: int8(n), Count: uint16(n), Big: uint64(n), Dash: s, Named: plainName(s)}
		m := map[string]any{s: s, "n": n, "b": b, string(data): nil}
		for _, x := range []any{v, &v, m, map[string]string{s: s, string(data): s}, s} {
			want, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := marshalPlain(x); ok && !bytes.Equal(got, want) {
				t.Fatalf("marshalPlain(%#v) = %s, encoding/json %s", x, got, want)
			}
		}
		// What the shortcut writes, it reads back.
		if enc, ok := marshalPlain(v); ok {
			var back flatAll
			if !flatOf(reflect.TypeFor[flatAll]()).decodeFlat(enc, reflect.ValueOf(&back).Elem()) {
				t.Fatalf("decodeFlat declines its own %s", enc)
			}
			v.Skipped, v.hidden = "", ""
			if back != v {
				t.Fatalf("round trip of %+v gave %+v", v, back)
			}
		}
	})
}
