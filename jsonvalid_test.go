package weft

import (
	"encoding/json"
	"strings"
	"testing"
)

// validArrayRef is what validArray must answer: the check spliceChain made
// of each link before validArray.
func validArrayRef(d []byte) bool {
	return len(d) >= 2 && d[0] == '[' && d[len(d)-1] == ']' && json.Valid(d)
}

// validArrayCases are inputs at the edges of the grammar, each with the
// verdict validArray must give; they also seed FuzzValidArray.
var validArrayCases = []struct {
	in   string
	want bool
}{
	// The array itself.
	{``, false},
	{`[`, false},
	{`]`, false},
	{`[]`, true},
	{`[ ]`, true},
	{"[ \t\r\n]", true},
	{"[\v]", false},
	{"[\f]", false},
	{"[\u00a0]", false},
	{` []`, false},
	{`[] `, false},
	{"[]\n", false},
	{`[][]`, false},
	{`[] []`, false},
	{`[]]`, false},
	{`[[]`, false},
	{`[1,]`, false},
	{`[,1]`, false},
	{`[,]`, false},
	{`[1,,2]`, false},
	{`[1 2]`, false},
	{`[1,2]`, true},
	{` [1] `, false},
	{`{}`, false},
	{`"[]"`, false},
	{`null`, false},
	{`[1]x]`, false},
	{`["a"] ["b"]`, false},
	{"[1]\x00]", false},
	// Strings.
	{`[""]`, true},
	{`["a"]`, true},
	{`["]`, false},
	{`["a]`, false},
	{`[b"]`, false},
	{`["a],[b"]`, true},
	{`["\""]`, true},
	{`["\\"]`, true},
	{`["\\\"]`, false},
	{`["\/\b\f\n\r\t"]`, true},
	{`["\a"]`, false},
	{`["\x41"]`, false},
	{`["\'"]`, false},
	{`["\0"]`, false},
	{`["\u0041"]`, true},
	{`["\uABCD\uabcd\u00fF"]`, true},
	{`["\u004"]`, false},
	{`["\u004g"]`, false},
	{`["\u"]`, false},
	{`["\uD800"]`, true}, // a lone surrogate: the scanner does not check
	{`["\uDC00\uD800"]`, true},
	{`["\U0041"]`, false},
	{`["\`, false},
	{`["\u00`, false},
	{"[\"\x00\"]", false},
	{"[\"\x1f\"]", false},
	{"[\"\t\"]", false},
	{"[\"\n\"]", false},
	{"[\"\x7f\"]", true},
	{"[\" \"]", true},
	{"[\"\xff\"]", true},         // not UTF-8: json.Valid allows it in strings
	{"[\"\xc3\"]", true},         // a cut sequence
	{"[\"\xed\xa0\x80\"]", true}, // an encoded surrogate
	{"[\"\xc0\xaf\"]", true},     // an overlong encoding
	{"[\"é日本\U0001F600\"]", true},
	{"[\xff]", false}, // outside a string it is not
	{"[\"a\"\xff]", false},
	// Numbers.
	{`[0]`, true},
	{`[-0]`, true},
	{`[1]`, true},
	{`[-1]`, true},
	{`[1234567890]`, true},
	{`[01]`, false},
	{`[00]`, false},
	{`[-01]`, false},
	{`[-]`, false},
	{`[--1]`, false},
	{`[+1]`, false},
	{`[1.]`, false},
	{`[.1]`, false},
	{`[1.5]`, true},
	{`[0.0]`, true},
	{`[1.5.5]`, false},
	{`[1e5]`, true},
	{`[1E5]`, true},
	{`[1e+5]`, true},
	{`[1e-5]`, true},
	{`[1e]`, false},
	{`[1e+]`, false},
	{`[1e5.5]`, false},
	{`[1.5e-10]`, true},
	{`[0e0]`, true},
	{`[-0.0e-0]`, true},
	{`[1ee5]`, false},
	{`[0x10]`, false},
	{`[NaN]`, false},
	{`[Infinity]`, false},
	{`[-Infinity]`, false},
	{`[1 ]`, true},
	{`[1,-]`, false},
	{`[1-]`, false},
	{`[1.5e]`, false},
	{`[١]`, false},
	// Literals.
	{`[true,false,null]`, true},
	{`[tru]`, false},
	{`[truee]`, false},
	{`[True]`, false},
	{`[nul]`, false},
	{`[nulll]`, false},
	{`[fals]`, false},
	{`[true false]`, false},
	{`[truefalse]`, false},
	{`[t`, false},
	{`[nullx]`, false},
	// Nesting.
	{`[[]]`, true},
	{`[[],[[]],{}]`, true},
	{`[[1,[2,[3]]]]`, true},
	{`[[1,[2,[3]]]`, false},
	{`[{]`, false},
	{`[{}]`, true},
	{`[{"a":1}]`, true},
	{`[{"a":1,"a":2}]`, true}, // a repeated key: json.Valid allows it
	{`[{"a":1,}]`, false},
	{`[{,"a":1}]`, false},
	{`[{"a"}]`, false},
	{`[{"a":}]`, false},
	{`[{"a" 1}]`, false},
	{`[{a:1}]`, false},
	{`[{1:1}]`, false},
	{`[{"a":1 "b":2}]`, false},
	{`[{"a":1]`, false},
	{`[{"a":[1}]]`, false},
	{`[{ "a" : [ { "b" : null } ] , "c" : "}" }]`, true},
	{`[{"a":1},]`, false},
	{`[{"a":{"b":{}}}]`, true},
	{`[{"\u0041":"\n"}]`, true},
	{"[{\"a\":1\t,\n\"b\"\r:2}]", true},
	{`[{"a"::1}]`, false},
	{`[{"a":1}}]`, false},
}

func TestValidArray(t *testing.T) {
	for _, tt := range validArrayCases {
		if got := validArray([]byte(tt.in)); got != tt.want {
			t.Errorf("validArray(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if n, ok := validArrayLen([]byte(tt.in)); ok && n != elemsOf(t, []byte(tt.in)) {
			t.Errorf("validArrayLen(%q) = %d elements, json.Unmarshal finds %d", tt.in, n, elemsOf(t, []byte(tt.in)))
		}
		if ref := validArrayRef([]byte(tt.in)); ref != tt.want {
			t.Errorf("the case %q is wrong: json.Valid says %v", tt.in, ref)
		}
	}
}

// TestValidArrayLen: the elements of an array are counted at its top
// level only.
func TestValidArrayLen(t *testing.T) {
	for in, want := range map[string]int{
		`[]`:                            0,
		`[ ]`:                           0,
		`[1]`:                           1,
		`[ "a" , "b" ]`:                 2,
		`["a,b","[c]"]`:                 2,
		`[[1,2],[3],{"a":1,"b":[4,5]}]`: 3,
		`[null,true,false,-1.5e3,{}]`:   5,
	} {
		if n, ok := validArrayLen([]byte(in)); !ok || n != want {
			t.Errorf("validArrayLen(%q) = %d, %v, want %d, true", in, n, ok, want)
		}
	}
}

// elemsOf returns how many elements encoding/json decodes from the array d.
func elemsOf(t *testing.T, d []byte) int {
	t.Helper()
	var elems []json.RawMessage
	if err := json.Unmarshal(d, &elems); err != nil {
		t.Fatalf("json.Unmarshal(%q): %v", d, err)
	}
	return len(elems)
}

// TestValidArrayDepth: arrays and objects nest as deep as encoding/json
// lets them, and no deeper.
func TestValidArrayDepth(t *testing.T) {
	for _, n := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1, 3 * maxJSONDepth} {
		arrays := strings.Repeat("[", n) + strings.Repeat("]", n)
		mixed := "[" + strings.Repeat(`{"k":[`, (n-1)/2) + strings.Repeat("]}", (n-1)/2) + "]"
		for _, d := range []string{arrays, mixed} {
			if got, want := validArray([]byte(d)), validArrayRef([]byte(d)); got != want {
				t.Errorf("nested %d deep (%.10s…): validArray = %v, json.Valid = %v", n, d, got, want)
			}
		}
	}
	if !validArray([]byte(strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth))) {
		t.Errorf("arrays nested %d deep are refused", maxJSONDepth)
	}
	if validArray([]byte(strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1))) {
		t.Errorf("arrays nested %d deep are accepted", maxJSONDepth+1)
	}
}

// FuzzValidArray: validArray gives json.Valid's verdict on any input.
func FuzzValidArray(f *testing.F) {
	for _, tt := range validArrayCases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		// The bytes, and the same bytes as a link (with the brackets the
		// fuzzer may not have found), so that most inputs reach the value
		// grammar.
		for _, in := range [][]byte{d, append(append([]byte{'['}, d...), ']')} {
			n, got := validArrayLen(in)
			if want := validArrayRef(in); got != want {
				t.Fatalf("validArray(%q) = %v, json.Valid says %v", in, got, want)
			}
			if got {
				if want := elemsOf(t, in); n != want {
					t.Fatalf("validArrayLen(%q) = %d elements, json.Unmarshal finds %d", in, n, want)
				}
			}
		}
	})
}

// BenchmarkValidArray compares validArray with json.Valid on a link of
// the kind a growing list writes.
//
//	go test -run '^$' -bench ValidArray -benchmem .
func BenchmarkValidArray(b *testing.B) {
	link := []byte(`["entry number 1234",{"role":"user","text":"a line with \"quotes\" and \u00e9","n":-12.5e3,"ok":true}]`)
	b.Run("validArray", func(b *testing.B) {
		b.SetBytes(int64(len(link)))
		for b.Loop() {
			if !validArray(link) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(link)))
		for b.Loop() {
			if !validArrayRef(link) {
				b.Fatal("invalid")
			}
		}
	})
}

// validArray is validArrayLen's verdict alone.
func validArray(d []byte) bool {
	_, ok := validArrayLen(d)
	return ok
}
