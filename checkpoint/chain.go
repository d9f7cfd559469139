package checkpoint

import (
	"cmp"
	"slices"
	"strings"
)

// ChainBlobs is for stores that read a checkpoint's Append chains as
// ranges (every blob of a field from its chain's root up) rather than link
// by link. It returns, of the blobs read, in (field, version) order, those
// down the Base chain of each field's blob at the version of versions: that
// blob, the one at its Base, and so on until a full blob, a Base that is
// not older than its blob (as a loop would), or a blob that is not there.
// The rest (the blobs of forks that share a root with a chain) are
// dropped; nil for none. It may sort read.
func ChainBlobs(read []Blob, versions map[string]int64) []Blob {
	if len(read) == 0 {
		return nil
	}
	byKey := func(b Blob, field string, version int64) int {
		if c := strings.Compare(b.Field, field); c != 0 {
			return c
		}
		return cmp.Compare(b.Version, version)
	}
	if !sortedBlobs(read) {
		slices.SortFunc(read, func(a, b Blob) int { return byKey(a, b.Field, b.Version) })
	}
	out := make([]Blob, 0, len(read))
	for start := 0; start < len(read); {
		field := read[start].Field
		end := start + 1
		for end < len(read) && read[end].Field == field {
			end++
		}
		bs := read[start:end]
		v, ok := versions[field]
		for ok {
			i, found := chainLink(bs, v)
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

// chainLink returns the index of the first blob of bs (of one field,
// sorted by version) at version v, as slices.BinarySearchFunc would, and
// whether there is one. The link a chain needs next is usually the last
// of bs (a pack unpacks a chain's links in order, and ChainBlobs cuts bs
// at each link it takes), so that is looked at first: O(1) per link rather
// than a search.
func chainLink(bs []Blob, v int64) (int, bool) {
	i := len(bs) - 1
	if i < 0 || bs[i].Version != v {
		return slices.BinarySearchFunc(bs, v, func(b Blob, v int64) int { return cmp.Compare(b.Version, v) })
	}
	for i > 0 && bs[i-1].Version == v {
		i--
	}
	return i, true
}

// sortedBlobs reports whether bs is in (field, version) order, as
// slices.IsSortedFunc with ChainBlobs's order would, in a plain loop: the
// fields of neighbours are usually the same string, which == sees at once.
func sortedBlobs(bs []Blob) bool {
	for i := 1; i < len(bs); i++ {
		a, b := &bs[i-1], &bs[i]
		if a.Field == b.Field {
			if b.Version < a.Version {
				return false
			}
		} else if b.Field < a.Field {
			return false
		}
	}
	return true
}
