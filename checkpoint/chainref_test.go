package checkpoint_test

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// chainBlobsRef is checkpoint.ChainBlobs as it was before it looked at the
// neighbour of each link first: one binary search per link. It is the
// reference the tests below compare ChainBlobs with.
func chainBlobsRef(read []checkpoint.Blob, versions map[string]int64) []checkpoint.Blob {
	if len(read) == 0 {
		return nil
	}
	byKey := func(b checkpoint.Blob, field string, version int64) int {
		if c := strings.Compare(b.Field, field); c != 0 {
			return c
		}
		return cmp.Compare(b.Version, version)
	}
	if !slices.IsSortedFunc(read, func(a, b checkpoint.Blob) int { return byKey(a, b.Field, b.Version) }) {
		slices.SortFunc(read, func(a, b checkpoint.Blob) int { return byKey(a, b.Field, b.Version) })
	}
	out := make([]checkpoint.Blob, 0, len(read))
	for start := 0; start < len(read); {
		field := read[start].Field
		end := start + 1
		for end < len(read) && read[end].Field == field {
			end++
		}
		bs := read[start:end]
		v, ok := versions[field]
		for ok {
			i, found := slices.BinarySearchFunc(bs, v, func(b checkpoint.Blob, v int64) int { return cmp.Compare(b.Version, v) })
			if !found {
				break
			}
			b := bs[i]
			out = append(out, b)
			bs = bs[:i]
			ok = b.Base > 0 && b.Base < b.Version
			v = b.Base
		}
		start = end
	}
	return out
}

// sameAsRef fails t unless ChainBlobs and the reference give the same
// blobs, in the same order, for read and versions. Each gets its own copy
// of read (both may sort it); the blobs' Data tell blobs of the same field
// and version apart.
func sameAsRef(t *testing.T, read []checkpoint.Blob, versions map[string]int64) {
	t.Helper()
	want := chainBlobsRef(slices.Clone(read), versions)
	got := checkpoint.ChainBlobs(slices.Clone(read), versions)
	if len(got) == 0 && len(want) == 0 {
		if (got == nil) != (want == nil) {
			t.Fatalf("ChainBlobs(%v, %v) = %#v, want %#v", read, versions, got, want)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ChainBlobs(%v, %v)\n got %v\nwant %v", read, versions, got, want)
	}
}

// TestChainBlobsAsReference compares ChainBlobs with the reference on
// random inputs of the shapes that matter: chains read as one sorted
// range, forks sharing a root, gaps, bases not older than their blob,
// several blobs of one version, and input in any order.
func TestChainBlobsAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fields := []string{"a", "b", "c"}
	for range 20000 {
		var read []checkpoint.Blob
		versions := map[string]int64{}
		for _, f := range fields[:1+r.IntN(len(fields))] {
			n := r.IntN(12)
			top := int64(1)
			for i := range n {
				v := int64(1 + r.IntN(16))
				if r.IntN(2) == 0 {
					v = int64(i + 1) // mostly a run of consecutive versions
				}
				var base int64
				switch r.IntN(8) {
				case 0: // full
				case 1:
					base = v + int64(r.IntN(3)) // not older: a loop
				case 2:
					base = -int64(r.IntN(3))
				case 3, 4:
					base = int64(1 + r.IntN(16)) // anywhere: forks, gaps
				default:
					base = v - 1 // the link below
				}
				read = append(read, checkpoint.Blob{Field: f, Version: v, Base: base, Data: []byte(fmt.Sprint(len(read)))})
				top = max(top, v)
			}
			if r.IntN(5) != 0 {
				versions[f] = top - int64(r.IntN(3))
			}
		}
		switch r.IntN(3) {
		case 0:
			r.Shuffle(len(read), func(i, j int) { read[i], read[j] = read[j], read[i] })
		case 1:
			slices.SortStableFunc(read, func(a, b checkpoint.Blob) int {
				return cmp.Or(strings.Compare(a.Field, b.Field), cmp.Compare(a.Version, b.Version))
			})
		}
		sameAsRef(t, read, versions)
	}
}

// FuzzChainBlobs compares ChainBlobs with the reference on blobs read
// from the fuzzer's bytes, three bytes a blob (field, version, base).
func FuzzChainBlobs(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 2, 1, 0, 3, 2}, uint16(3), uint16(0))
	f.Add([]byte{0, 1, 0, 0, 2, 1, 0, 3, 1, 0, 4, 3, 1, 1, 0}, uint16(4), uint16(1))
	f.Add([]byte{0, 3, 2, 0, 1, 0, 0, 2, 1, 0, 2, 2, 0, 2, 1}, uint16(2), uint16(0))
	f.Add([]byte{0, 2, 2, 0, 1, 0, 0, 2, 0xff}, uint16(0x0202), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, v0, v1 uint16) {
		var read []checkpoint.Blob
		for len(data) >= 3 {
			read = append(read, checkpoint.Blob{
				Field:   string(rune('a' + data[0]%3)),
				Version: int64(data[1] % 32),
				Base:    int64(int8(data[2])),
				Data:    binary.AppendUvarint(nil, uint64(len(read))),
			})
			data = data[3:]
		}
		versions := map[string]int64{}
		if v0 != 0 {
			versions["a"] = int64(v0 % 32)
		}
		if v1 != 0 {
			versions["b"] = int64(v1 % 32)
		}
		sameAsRef(t, read, versions)
	})
}
