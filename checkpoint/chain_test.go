package checkpoint_test

import (
	"fmt"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// TestChainBlobs: of the blobs a store read as ranges, only each field's
// chain from the checkpoint's version down survives.
func TestChainBlobs(t *testing.T) {
	b := func(field string, v, base int64) checkpoint.Blob {
		return checkpoint.Blob{Field: field, Version: v, Base: base}
	}
	for _, tt := range []struct {
		name     string
		read     []checkpoint.Blob
		versions map[string]int64
		want     string
	}{
		{"none", nil, map[string]int64{"x": 1}, "[]"},
		{"full", []checkpoint.Blob{b("x", 1, 0)}, map[string]int64{"x": 1}, "[x@1]"},
		{"chain, out of order", []checkpoint.Blob{b("x", 3, 2), b("x", 1, 0), b("x", 2, 1)}, map[string]int64{"x": 3}, "[x@3 x@2 x@1]"},
		{"a fork's blobs in the range are dropped", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 1), b("x", 4, 3)},
			map[string]int64{"x": 4}, "[x@4 x@3 x@1]"},
		{"a base not older ends the chain", []checkpoint.Blob{b("x", 2, 2), b("x", 1, 0)}, map[string]int64{"x": 2}, "[x@2]"},
		{"a missing link ends the chain", []checkpoint.Blob{b("x", 3, 2), b("x", 1, 0)}, map[string]int64{"x": 3}, "[x@3]"},
		{"fields apart; unnamed ones dropped", []checkpoint.Blob{b("y", 5, 0), b("x", 2, 1), b("z", 1, 0), b("x", 1, 0)},
			map[string]int64{"x": 2, "y": 5}, "[x@2 x@1 y@5]"},
		{"a gap below the head is searched for", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 5, 2), b("x", 9, 5)},
			map[string]int64{"x": 9}, "[x@9 x@5 x@2 x@1]"},
		{"a gap: the base far below", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 2), b("x", 4, 3), b("x", 8, 1)},
			map[string]int64{"x": 8}, "[x@8 x@1]"},
		{"the head below the newest blob read", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 2), b("x", 4, 3)},
			map[string]int64{"x": 2}, "[x@2 x@1]"},
		{"a head that is not there", []checkpoint.Blob{b("x", 1, 0), b("x", 3, 1)}, map[string]int64{"x": 2}, "[]"},
		{"forks sharing a root, each its own way", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 1), b("x", 4, 2), b("x", 5, 3), b("x", 6, 4)},
			map[string]int64{"x": 5}, "[x@5 x@3 x@1]"},
		{"forks sharing a root, the other way", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 1), b("x", 4, 2), b("x", 5, 3), b("x", 6, 4)},
			map[string]int64{"x": 6}, "[x@6 x@4 x@2 x@1]"},
		{"a base above its blob ends the chain", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 1), b("x", 3, 5), b("x", 5, 2)},
			map[string]int64{"x": 3}, "[x@3]"},
		{"a negative base ends the chain", []checkpoint.Blob{b("x", 1, 0), b("x", 2, -1)}, map[string]int64{"x": 2}, "[x@2]"},
		{"a loop in the middle ends the chain", []checkpoint.Blob{b("x", 1, 0), b("x", 2, 2), b("x", 3, 2)},
			map[string]int64{"x": 3}, "[x@3 x@2]"},
		{"unsorted fields and versions", []checkpoint.Blob{b("y", 2, 1), b("x", 1, 0), b("z", 3, 2), b("y", 1, 0), b("x", 3, 2), b("z", 2, 0), b("x", 2, 1)},
			map[string]int64{"x": 3, "y": 2, "z": 3}, "[x@3 x@2 x@1 y@2 y@1 z@3 z@2]"},
		{"descending, as a store might return them", []checkpoint.Blob{b("x", 4, 3), b("x", 3, 2), b("x", 2, 1), b("x", 1, 0)},
			map[string]int64{"x": 4}, "[x@4 x@3 x@2 x@1]"},
		{"no versions", []checkpoint.Blob{b("x", 1, 0)}, nil, "[]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, bl := range checkpoint.ChainBlobs(tt.read, tt.versions) {
				got = append(got, fmt.Sprintf("%s@%d", bl.Field, bl.Version))
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("ChainBlobs = %s, want %s", s, tt.want)
			}
		})
	}
}
