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
