package weft

import (
	"cmp"
	"slices"
	"strings"

	"github.com/weftgraph/weft/checkpoint"
)

type blobKey struct {
	field   string
	version int64
}

// blobIndex finds the blobs of a checkpoint by field and version, for
// decode: get answers what a map from each blob's (field, version) to the
// last blob with that key would. The SQL stores return the blobs of each
// field together, in version order (head first, down its chain), so for
// them the index is the slice itself: a lookup looks at the neighbours of
// the blob found last (the next link of a chain is one of them) and
// otherwise searches the field's run. Blobs in any other order, or two
// with one key, take a map, built once.
type blobIndex struct {
	blobs []checkpoint.Blob
	// When the slice is the index (m is nil), each field's blobs are one
	// run, their versions strictly ascending or strictly descending.
	// starts[:nruns] are where the runs start when there are at most
	// maxUnsortedRuns of them; more must be in ascending field order
	// (sorted), and are searched for.
	starts [maxUnsortedRuns]int
	nruns  int
	sorted bool
	// last is the index of the blob get found last, -1 for none.
	last int
	m    map[blobKey]*checkpoint.Blob
}

// maxUnsortedRuns is how many fields' runs an index looks at one by one;
// more must be in field order, or take the map.
const maxUnsortedRuns = 8

// newBlobIndex indexes bs. It keeps bs, which must not change while the
// index is in use; get returns pointers into it.
func newBlobIndex(bs []checkpoint.Blob) blobIndex {
	ix := blobIndex{blobs: bs, last: -1, sorted: true}
	for start := 0; start < len(bs); {
		end := runEnd(bs, start)
		if !strictRun(bs[start:end]) || !ix.addRun(start) {
			return mapIndex(bs)
		}
		start = end
	}
	return ix
}

// mapIndex indexes bs with a map: the last blob of each key wins.
func mapIndex(bs []checkpoint.Blob) blobIndex {
	m := make(map[blobKey]*checkpoint.Blob, len(bs))
	for i := range bs {
		b := &bs[i]
		m[blobKey{b.Field, b.Version}] = b
	}
	return blobIndex{blobs: bs, last: -1, m: m}
}

// runEnd returns the end of the run of blobs of one field that starts at
// bs[start].
func runEnd(bs []checkpoint.Blob, start int) int {
	end := start + 1
	for end < len(bs) && bs[end].Field == bs[start].Field {
		end++
	}
	return end
}

// descRun reports whether the versions of run, one field's blobs, go down
// (as far as its first two show).
func descRun(run []checkpoint.Blob) bool {
	return len(run) > 1 && run[0].Version > run[1].Version
}

// strictRun reports whether the versions of run are strictly monotone: no
// two of its blobs have one key, and it can be searched.
func strictRun(run []checkpoint.Blob) bool {
	desc := descRun(run)
	for i := 1; i < len(run); i++ {
		if prev, v := run[i-1].Version, run[i].Version; desc && v >= prev || !desc && v <= prev {
			return false
		}
	}
	return true
}

// addRun adds the run that starts at bs[start], after the last one added,
// and reports whether the index can still be the slice: the run's field
// has no run yet, which runs in ascending field order show, or else a
// look at each of a few runs.
func (ix *blobIndex) addRun(start int) bool {
	field := ix.blobs[start].Field
	if start > 0 && ix.blobs[start-1].Field >= field {
		ix.sorted = false
	}
	if ix.nruns < maxUnsortedRuns {
		if !ix.sorted {
			for _, s := range ix.starts[:ix.nruns] {
				if ix.blobs[s].Field == field {
					return false
				}
			}
		}
		ix.starts[ix.nruns] = start
	} else if !ix.sorted {
		return false
	}
	ix.nruns++
	return true
}

// get returns the blob of field at version, nil for none.
func (ix *blobIndex) get(field string, version int64) *checkpoint.Blob {
	if ix.m != nil {
		return ix.m[blobKey{field, version}]
	}
	// No two blobs have one key, so a blob with the key is the one.
	if h := ix.last; h >= 0 {
		if i := h + 1; i < len(ix.blobs) && ix.blobs[i].Version == version && ix.blobs[i].Field == field {
			ix.last = i
			return &ix.blobs[i]
		}
		if i := h - 1; i >= 0 && ix.blobs[i].Version == version && ix.blobs[i].Field == field {
			ix.last = i
			return &ix.blobs[i]
		}
	}
	start, end := ix.run(field)
	run := ix.blobs[start:end]
	desc := descRun(run)
	i, found := slices.BinarySearchFunc(run, version, func(b checkpoint.Blob, v int64) int {
		if desc {
			return cmp.Compare(v, b.Version)
		}
		return cmp.Compare(b.Version, v)
	})
	if !found {
		return nil
	}
	ix.last = start + i
	return &ix.blobs[ix.last]
}

// count returns how many blobs of field there are when the slice is the
// index (no chain of the field is longer), 0 when a map is.
func (ix *blobIndex) count(field string) int {
	if ix.m != nil {
		return 0
	}
	start, end := ix.run(field)
	return end - start
}

// run returns the bounds of the run of field's blobs, empty for none.
func (ix *blobIndex) run(field string) (start, end int) {
	if ix.nruns <= maxUnsortedRuns {
		for _, s := range ix.starts[:ix.nruns] {
			if ix.blobs[s].Field == field {
				return s, runEnd(ix.blobs, s)
			}
		}
		return 0, 0
	}
	// Many runs, in ascending field order.
	start, found := slices.BinarySearchFunc(ix.blobs, field, func(b checkpoint.Blob, f string) int { return strings.Compare(b.Field, f) })
	if !found {
		return 0, 0
	}
	return start, runEnd(ix.blobs, start)
}
