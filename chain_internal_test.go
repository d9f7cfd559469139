package weft

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// upper decodes itself in upper case: an element with its own UnmarshalJSON.
type upper string

func (u *upper) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*u = upper(strings.ToUpper(s))
	return nil
}

// counted is a list type with its own UnmarshalJSON that is not linear:
// it records how many times it was decoded, so a spliced decode would
// differ from link-by-link decodes. It must take the link-by-link way.
type counted []int

func (c *counted) UnmarshalJSON(b []byte) error {
	var v []int
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = append(v, -1)
	return nil
}

type chainState struct {
	Strings []string
	Structs []struct {
		A int
		B *string `json:",omitempty"`
	}
	Any     []any
	Bytes   [][]byte
	Raw     []json.RawMessage
	Upper   []upper
	Counted counted
	Nested  [][]int
}

// chainOf makes the blobs of field: a full blob holding root, then one
// Append blob per link, each on the one before.
func chainOf(field, root string, links ...string) ([]checkpoint.Blob, int64) {
	bs := []checkpoint.Blob{{Field: field, Version: 1, Data: []byte(root)}}
	for i, l := range links {
		bs = append(bs, checkpoint.Blob{Field: field, Version: int64(i + 2), Base: int64(i + 1), Data: []byte(l)})
	}
	return bs, int64(len(bs))
}

// chainIndexes returns the indexes of bs decodeChain may be given: of the
// slice in bs's order (root first), of a copy in the order the SQL stores
// return (head first), and a map.
func chainIndexes(t *testing.T, bs []checkpoint.Blob) map[string]blobIndex {
	t.Helper()
	rev := slices.Clone(bs)
	slices.Reverse(rev)
	ixs := map[string]blobIndex{
		"ascending":  newBlobIndex(bs),
		"descending": newBlobIndex(rev),
		"map":        mapIndex(bs),
	}
	if ixs["ascending"].m != nil || ixs["descending"].m != nil {
		t.Fatal("a chain in version order is indexed with a map")
	}
	return ixs
}

// linkByLink is the decode without the splice: the reference.
func linkByLink(t *testing.T, f *fieldInfo, bs []checkpoint.Blob, head int64) (reflect.Value, error) {
	t.Helper()
	var out reflect.Value
	for i, b := range bs {
		p := reflect.New(f.typ)
		if err := json.Unmarshal(b.Data, p.Interface()); err != nil {
			return reflect.Value{}, err
		}
		if i == 0 {
			out = p.Elem()
		} else {
			out = reflect.AppendSlice(out, p.Elem())
		}
		if b.Version == head {
			break
		}
	}
	return out, nil
}

func TestDecodeChainSplicesAsLinkByLink(t *testing.T) {
	si := newStateInfo(reflect.TypeFor[chainState]())
	tests := []struct {
		field string
		root  string
		links []string
	}{
		{"Strings", `["a"]`, []string{`["b"]`, `[]`, `["c","d"]`, `[ ]`, `[ "e" ]`}},
		{"Strings", `null`, []string{`["b"]`, `["c"]`}},
		{"Strings", `[]`, []string{`[]`, `[]`}},
		{"Strings", `["a,b"]`, []string{`["]"]`, `["[,"]`}},
		{"Structs", `[{"A":1}]`, []string{`[{"A":2,"B":"x"}]`, `[{"A":3},{"A":4}]`}},
		{"Any", `[1,"two",null]`, []string{`[{"k":[1,2]}]`, `[true]`}},
		{"Bytes", `["aGk="]`, []string{`["dGhlcmU=",null]`}},
		{"Raw", `[{"a":1}]`, []string{`[ [1, 2] ]`, `["s"]`}},
		{"Upper", `["a"]`, []string{`["b"]`, `["c"]`}},
		{"Counted", `[1]`, []string{`[2]`, `[3]`}},
		{"Nested", `[[1],[]]`, []string{`[[2,3]]`, `[null]`}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s", tt.field, tt.root), func(t *testing.T) {
			f := &si.fields[si.byName[tt.field]]
			bs, head := chainOf(tt.field, tt.root, tt.links...)
			for v := int64(1); v <= head; v++ {
				want, err := linkByLink(t, f, bs, v)
				if err != nil {
					t.Fatal(err)
				}
				for name, idx := range chainIndexes(t, bs) {
					got, err := decodeChain(JSON, f, &idx, v)
					if err != nil {
						t.Fatalf("version %d, %s: %v", v, name, err)
					}
					if !reflect.DeepEqual(got.Interface(), want.Interface()) {
						t.Errorf("version %d, %s: got %#v, want %#v", v, name, got.Interface(), want.Interface())
					}
				}
			}
		})
	}
}

// Links that are not arrays of their own must not decode, even when they
// would splice into valid JSON.
func TestDecodeChainRefusesBrokenLinks(t *testing.T) {
	si := newStateInfo(reflect.TypeFor[chainState]())
	f := &si.fields[si.byName["Strings"]]
	tests := map[string][]string{
		"halves of a string": {`["a]`, `[b"]`},
		"trailing comma":     {`["a",]`, `["b"]`},
		"not an array":       {`["a"]`, `"b"`},
		"two arrays":         {`["a"]`, `["b"] ["c"]`},
	}
	for name, links := range tests {
		t.Run(name, func(t *testing.T) {
			bs, head := chainOf("Strings", links[0], links[1:]...)
			for name, idx := range chainIndexes(t, bs) {
				if v, err := decodeChain(JSON, f, &idx, head); err == nil {
					t.Fatalf("%s: decoded %#v", name, v.Interface())
				}
			}
		})
	}
	t.Run("missing link", func(t *testing.T) {
		bs, head := chainOf("Strings", `["a"]`, `["b"]`, `["c"]`)
		for name, idx := range chainIndexes(t, []checkpoint.Blob{bs[0], bs[2]}) {
			_, err := decodeChain(JSON, f, &idx, head)
			if err == nil || !strings.Contains(err.Error(), "version 2 is missing") {
				t.Fatalf("%s: err = %v", name, err)
			}
		}
	})
	t.Run("loop", func(t *testing.T) {
		b := checkpoint.Blob{Field: "Strings", Version: 2, Base: 2, Data: []byte(`["a"]`)}
		for name, idx := range chainIndexes(t, []checkpoint.Blob{b}) {
			if _, err := decodeChain(JSON, f, &idx, 2); err == nil {
				t.Fatalf("%s: err = %v", name, err)
			}
		}
	})
}

// BenchmarkDecodeLongChain is the decode of a list that grew by one
// element per superstep for n supersteps, from the blobs a store returns.
//
//	go test -run '^$' -bench DecodeLongChain -benchmem .
func BenchmarkDecodeLongChain(b *testing.B) {
	si := newStateInfo(reflect.TypeFor[chainState]())
	for _, n := range []int{10, 5000} {
		links := make([]string, n-1)
		for i := range links {
			links[i] = fmt.Sprintf(`["message number %d"]`, i)
		}
		bs, head := chainOf("Strings", `["first"]`, links...)
		cp := &checkpoint.Checkpoint{Versions: map[string]int64{"Strings": head}, Blobs: bs}
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := si.decode(JSON, cp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
