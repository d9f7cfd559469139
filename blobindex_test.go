package weft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// indexRef is what blobIndex.get must answer: a map from each blob's key
// to the last blob with it, as decode built before blobIndex.
func indexRef(bs []checkpoint.Blob) map[blobKey]*checkpoint.Blob {
	m := map[blobKey]*checkpoint.Blob{}
	for i := range bs {
		m[blobKey{bs[i].Field, bs[i].Version}] = &bs[i]
	}
	return m
}

// sameAsMap fails t unless the index of bs finds, for each key walk
// yields, in its order, the blob the map ref of bs finds.
func sameAsMap(t *testing.T, bs []checkpoint.Blob, ref map[blobKey]*checkpoint.Blob, walk func(yield func(string, int64))) {
	t.Helper()
	ix := newBlobIndex(bs)
	walk(func(f string, v int64) {
		if got, want := ix.get(f, v), ref[blobKey{f, v}]; got != want {
			t.Fatalf("blobs %v: get(%s, %d) = %v, want %v", bs, f, v, got, want)
		}
	})
}

// TestBlobIndexAsMap compares blobIndex with a map on random blobs: runs
// of a field's blobs in either version order, as the SQL stores and the
// memory store return them, fields in and out of order, a field in two
// runs, two blobs of one key, and blobs in no order at all; each looked up
// down chains, as decode does, and at every key.
func TestBlobIndexAsMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}
	for range 20000 {
		fields := names[:1+r.IntN(len(names))]
		var bs []checkpoint.Blob
		for _, f := range fields {
			n := r.IntN(8)
			for i := range n {
				v := int64(i + 1)
				if r.IntN(4) == 0 {
					v = int64(1 + r.IntN(10))
				}
				bs = append(bs, checkpoint.Blob{Field: f, Version: v, Base: int64(r.IntN(int(v) + 1)), Data: []byte(fmt.Sprint(len(bs)))})
			}
			if r.IntN(2) == 0 {
				slices.Reverse(bs[len(bs)-n:])
			}
		}
		switch r.IntN(6) {
		case 0:
			r.Shuffle(len(bs), func(i, j int) { bs[i], bs[j] = bs[j], bs[i] })
		case 1: // fields out of order, each field's run kept
			slices.SortStableFunc(bs, func(a, b checkpoint.Blob) int { return -strings.Compare(a.Field, b.Field) })
		case 2: // one blob moved: a field may have two runs
			if len(bs) > 1 {
				i, j := r.IntN(len(bs)), r.IntN(len(bs))
				bs[i], bs[j] = bs[j], bs[i]
			}
		}
		ref := indexRef(bs)
		sameAsMap(t, bs, ref, func(yield func(string, int64)) {
			// Down chains from each blob, as decodeChain walks them.
			for i := range bs {
				b := &bs[i]
				yield(b.Field, b.Version)
				for n := 0; b != nil && n < 20; n++ {
					yield(b.Field, b.Base)
					b = ref[blobKey{b.Field, b.Base}]
				}
			}
			// Every key, and some that are not there.
			for _, f := range append(fields, "z") {
				for v := range int64(12) {
					yield(f, v)
				}
			}
		})
	}
}

// TestBlobIndexKinds: the blobs the SQL stores and the memory store return
// are indexed by the slice; those it cannot be sure of, by a map.
func TestBlobIndexKinds(t *testing.T) {
	b := func(field string, v int64) checkpoint.Blob { return checkpoint.Blob{Field: field, Version: v} }
	many := func(sorted bool) []checkpoint.Blob {
		var bs []checkpoint.Blob
		for i := range maxUnsortedRuns + 1 {
			bs = append(bs, b(fmt.Sprintf("f%02d", i), 1))
		}
		if !sorted {
			slices.Reverse(bs)
		}
		return bs
	}
	for _, tt := range []struct {
		name  string
		bs    []checkpoint.Blob
		slice bool
	}{
		{"none", nil, true},
		{"fields in order, chains head first", []checkpoint.Blob{b("a", 3), b("a", 2), b("a", 1), b("b", 1), b("c", 9), b("c", 4)}, true},
		{"fields in order, chains root first", []checkpoint.Blob{b("a", 1), b("a", 2), b("b", 1), b("c", 4), b("c", 9)}, true},
		{"a few fields out of order", []checkpoint.Blob{b("c", 2), b("c", 1), b("a", 5), b("b", 1), b("b", 2)}, true},
		{"many fields in order", many(true), true},
		{"many fields out of order", many(false), false},
		{"a field in two runs", []checkpoint.Blob{b("a", 2), b("b", 1), b("a", 1)}, false},
		{"two blobs of one key", []checkpoint.Blob{b("a", 2), b("a", 2)}, false},
		{"versions not monotone", []checkpoint.Blob{b("a", 1), b("a", 3), b("a", 2)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ix := newBlobIndex(tt.bs)
			if got := ix.m == nil; got != tt.slice {
				t.Errorf("indexed by the slice: %v, want %v", got, tt.slice)
			}
			ref := indexRef(tt.bs)
			for k, want := range ref {
				if got := ix.get(k.field, k.version); got != want {
					t.Errorf("get(%s, %d) = %v, want %v", k.field, k.version, got, want)
				}
			}
		})
	}
}
