package memstore

import (
	"maps"
	"sync"

	"github.com/weftgraph/weft/checkpoint"
)

// Sizes, in elements, of the arrays chunks carves from. Smaller arrays
// keep less of deleted threads alive (each kept piece holds its array):
// with 20,000 small threads of which 95% were deleted, the heap kept 11%
// of its size at these sizes, 21% at four times them, 6% with a copy of
// its own per piece; PauseResume took 48, 47 and 109 allocations.
const (
	dataChunk     = 1024
	blobChunk     = 16
	versionChunk  = 32
	nextNodeChunk = 32
)

// chunks makes the copies of checkpoints that commits keep (their blobs,
// the blobs' bytes, the field versions and the next nodes) by carving them
// from arrays shared by several commits, of any threads: a commit of a few
// small blobs allocates nothing most of the time, where copies of their
// own cost four allocations or more. Every carved slice is capped at its
// length, so appending to it reallocates, and what is carved is never
// written again but by the commit that carved it. An array is freed once
// nothing carved from it is kept; a value of more than a quarter of an
// array gets one of its own, so a kept value holds at most about a
// kilobyte of dropped ones.
type chunks struct {
	mu       sync.Mutex
	data     []byte
	blobs    []checkpoint.Blob
	versions []fieldVersion
	next     []string
}

// take returns room for n elements (length 0, capacity n) carved from
// *pool, which it refills with a new array of size elements when it lacks
// room; nil for none.
func take[E any](pool *[]E, n, size int) []E {
	if n == 0 {
		return nil
	}
	if n > size/4 {
		return make([]E, 0, n)
	}
	if n > cap(*pool)-len(*pool) {
		*pool = make([]E, 0, size)
	}
	p := *pool
	*pool = p[:len(p)+n]
	return p[len(p) : len(p) : len(p)+n]
}

// checkpoint copies cp for an entry, as cloneCheckpoint does, with its
// blobs (as cloneBlobs does), and returns its versions apart, as the
// entry keeps them.
func (k *chunks) checkpoint(cp *checkpoint.Checkpoint) (checkpoint.Checkpoint, []fieldVersion) {
	out := *cp
	out.Versions = nil
	out.Meta = maps.Clone(cp.Meta)
	size := 0
	for i := range cp.Blobs {
		size += len(cp.Blobs[i].Data)
	}
	// Take the room under the lock, copy into it outside.
	k.mu.Lock()
	next := take(&k.next, len(cp.Next), nextNodeChunk)
	buf := take(&k.data, size, dataChunk)
	blobs := take(&k.blobs, len(cp.Blobs), blobChunk)
	versions := take(&k.versions, len(cp.Versions), versionChunk)
	k.mu.Unlock()
	if cp.Next != nil {
		out.Next = append(next, cp.Next...)
		if out.Next == nil {
			out.Next = cp.Next[:0:0]
		}
	}
	out.Blobs = blobs
	for _, b := range cp.Blobs {
		b.Data, buf = carve(buf, b.Data)
		out.Blobs = append(out.Blobs, b)
	}
	for f, v := range cp.Versions {
		versions = append(versions, fieldVersion{f, v})
	}
	return out, versions
}

// bytes returns room for n bytes (length 0, capacity n).
func (k *chunks) bytes(n int) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return take(&k.data, n, dataChunk)
}

// interrupt is cloneInterrupt with the JSON fields' bytes carved from the
// chunks.
func (k *chunks) interrupt(r *checkpoint.InterruptRecord) checkpoint.InterruptRecord {
	out := *r
	buf := k.bytes(len(r.Value) + len(r.Schema) + len(r.Fallback) + len(r.Answer))
	out.Value, buf = carve(buf, r.Value)
	out.Schema, buf = carve(buf, r.Schema)
	out.Fallback, buf = carve(buf, r.Fallback)
	out.Answer, _ = carve(buf, r.Answer)
	strs := make([]string, 0, len(r.Assignees)+len(r.EscalateTo))
	out.Assignees, strs = carve(strs, r.Assignees)
	out.EscalateTo, _ = carve(strs, r.EscalateTo)
	return out
}
