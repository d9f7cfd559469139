package weft

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

type textName string

func (n textName) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(n))), nil }

type jsonFlag bool

func (f *jsonFlag) MarshalJSON() ([]byte, error) { return []byte(`"flag"`), nil }

type plainName string

// TestPlainJSONIsEncodingJSON: the shortcut writes exactly what
// encoding/json writes, or declines.
func TestPlainJSONIsEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		v     any
		plain bool // the type takes the shortcut
		fast  bool // this value takes it
	}{
		{"", true, true},
		{"a draft about go", true, true},
		{"say \"hi\"", true, false},
		{`back\slash`, true, false},
		{"<b>&</b>", true, false},
		{"tab\there", true, false},
		{"naïve", true, false},
		{"\u2028", true, false},
		{"\xff", true, false},
		{"~ !#$%'()*+,-./09:;=?@AZ[]^_`az{|}", true, true},
		{true, true, true},
		{false, true, true},
		{0, true, true},
		{-42, true, true},
		{int64(math.MinInt64), true, true},
		{uint64(math.MaxUint64), true, true},
		{int8(-8), true, true},
		{uint16(7), true, true},
		{plainName("x"), true, true},
		{textName("x"), false, false},
		{jsonFlag(true), false, false},
		{1.5, false, false},
		{json.Number("12"), false, false},
		{[]string{"a"}, false, false},
	} {
		v := reflect.ValueOf(tc.v)
		k := plainJSONKind(v.Type())
		if got := k != reflect.Invalid; got != tc.plain {
			t.Errorf("%#v: plainJSONKind = %v, want shortcut %v", tc.v, k, tc.plain)
			continue
		}
		if !tc.plain {
			continue
		}
		got, ok := plainJSON(k, v)
		if ok != tc.fast {
			t.Errorf("%#v: shortcut taken = %v, want %v", tc.v, ok, tc.fast)
		}
		want, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if ok && !bytes.Equal(got, want) {
			t.Errorf("%#v: shortcut wrote %s, encoding/json %s", tc.v, got, want)
		}
		prefix := []byte("x")
		app, aok := appendPlainJSON(prefix, k, v)
		if aok != ok || (aok && !bytes.Equal(app, append([]byte("x"), want...))) || (!aok && !bytes.Equal(app, prefix)) {
			t.Errorf("%#v: appendPlainJSON = %q, %v; want %q, %v", tc.v, app, aok, append([]byte("x"), want...), ok)
		}
	}
}

// TestDecodeAnswerIsEncodingJSON: the answer shortcut decodes what
// encoding/json decodes and fails where it fails.
func TestDecodeAnswerIsEncodingJSON(t *testing.T) {
	for _, in := range []string{`"approve"`, `""`, `"a\"b"`, `"\u00e9"`, `"naïve"`, ` "x"`, `true`, `false`, `null`, `1`, `"x`, `tru`, `"<>"`} {
		var s, ws string
		err, werr := decodeAnswer([]byte(in), &s), json.Unmarshal([]byte(in), &ws)
		if (err == nil) != (werr == nil) || s != ws {
			t.Errorf("string %s: got %q, %v; encoding/json %q, %v", in, s, err, ws, werr)
		}
		var b, wb bool
		err, werr = decodeAnswer([]byte(in), &b), json.Unmarshal([]byte(in), &wb)
		if (err == nil) != (werr == nil) || b != wb {
			t.Errorf("bool %s: got %v, %v; encoding/json %v, %v", in, b, err, wb, werr)
		}
	}
}

// TestValidateShortcutAgrees: the schemas of a bare string or bool accept
// and refuse what the full validator does.
func TestValidateShortcutAgrees(t *testing.T) {
	for _, schema := range []string{`{"type":"string"}`, `{"type":"boolean"}`} {
		for _, ans := range []string{`"approve"`, `""`, `"a\"b"`, `true`, `false`, `null`, `1`, `{}`, `"x`, `tru`} {
			got := validate(json.RawMessage(schema), json.RawMessage(ans))
			// The same schema with a no-op keyword takes the full path.
			full := validate(json.RawMessage(strings.TrimSuffix(schema, "}")+`,"title":"t"}`), json.RawMessage(ans))
			if (got == nil) != (full == nil) {
				t.Errorf("schema %s, answer %s: shortcut %v, full validator %v", schema, ans, got, full)
			}
		}
	}
}

// FuzzPlainJSON: for any string, the shortcuts agree with encoding/json.
func FuzzPlainJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `"q"`, "<", "é", "\x00", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got, ok := quotePlain(s); ok && !bytes.Equal(got, want) {
			t.Fatalf("quotePlain(%q) = %s, encoding/json %s", s, got, want)
		}
		var ws string
		werr := json.Unmarshal([]byte(s), &ws)
		if got, ok := unquotePlain([]byte(s)); ok && (werr != nil || got != ws) {
			t.Fatalf("unquotePlain(%q) = %q, encoding/json %q, %v", s, got, ws, werr)
		}
	})
}
