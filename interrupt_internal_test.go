package weft

import "testing"

// TestCountDigest checks that countDigest numbers the unkeyed questions of
// one digest 0, 1, 2, ... in call order, before and after it moves from
// its slice to its map.
func TestCountDigest(t *testing.T) {
	var x taskRare
	want := map[digestSum]int{}
	seq := []string{"a", "b", "a", "c", "a", "d", "e", "f", "g", "b", "h", "i", "a", "b", "j", "a"}
	for range 3 {
		for _, n := range seq {
			d := digestSum{n[0]}
			if got := x.countDigest(d); got != want[d] {
				t.Fatalf("digest %s: counted %d before it, want %d", d, got, want[d])
			}
			want[d]++
		}
	}
}
