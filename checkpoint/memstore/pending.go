package memstore

import (
	"cmp"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// pendingIndex lists the pending interrupts of every thread in the order
// Interrupts returns them (CreatedAt, ID, ThreadID), as the SQL stores'
// partial index does: the inbox's query (pending questions, oldest first,
// a page at a time) walks it from the cursor instead of scanning every
// question of every thread.
//
// Entries are not removed when a question stops being pending (answered,
// cancelled, its thread deleted): a walk skips them, and the index is
// rebuilt from the threads once stale entries outnumber live ones, so
// answering costs no memmove of the whole index.
type pendingIndex struct {
	keys []pendingKey // sorted
	live int          // pending interrupts in the store
}

type pendingKey struct {
	created time.Time
	id      string
	thread  string
}

func comparePending(a, b pendingKey) int {
	return cmp.Or(a.created.Compare(b.created), cmp.Compare(a.id, b.id), cmp.Compare(a.thread, b.thread))
}

func keyOf(r *checkpoint.InterruptRecord) pendingKey {
	return pendingKey{r.CreatedAt, r.ID, r.ThreadID}
}

// add indexes a new pending interrupt. Questions are mostly asked in time
// order, so the common case is an append.
func (x *pendingIndex) add(r *checkpoint.InterruptRecord) {
	k := keyOf(r)
	x.live++
	if n := len(x.keys); n == 0 || comparePending(x.keys[n-1], k) < 0 {
		x.keys = append(x.keys, k)
		return
	}
	i, found := slices.BinarySearchFunc(x.keys, k, comparePending)
	if !found {
		x.keys = slices.Insert(x.keys, i, k)
	}
}

// gone records that n indexed interrupts stopped being pending, and
// rebuilds the index from threads if it is mostly stale.
func (x *pendingIndex) gone(n int, threads map[string]*thread) {
	x.live -= n
	if len(x.keys) < 64 || len(x.keys) <= 2*x.live {
		return
	}
	keys := x.keys[:0]
	for _, k := range x.keys {
		if lookupPending(threads, k) != nil {
			keys = append(keys, k)
		}
	}
	clear(x.keys[len(keys):])
	x.keys = keys
	x.live = len(keys)
}

// lookupPending returns the interrupt k names if it is still pending (and
// the same question: a thread deleted and created again may reuse an ID).
func lookupPending(threads map[string]*thread, k pendingKey) *checkpoint.InterruptRecord {
	t := threads[k.thread]
	if t == nil {
		return nil
	}
	r := t.interrupt(k.id)
	if r == nil || r.Status != checkpoint.InterruptPending || !r.CreatedAt.Equal(k.created) {
		return nil
	}
	return r
}

// walk calls fn with the pending interrupts after the cursor position
// after (nil: from the start), in order, until fn returns false.
func (x *pendingIndex) walk(threads map[string]*thread, after *checkpoint.InterruptRecord, fn func(*checkpoint.InterruptRecord) bool) {
	i := 0
	if after != nil {
		i, _ = slices.BinarySearchFunc(x.keys, keyOf(after), comparePending)
		for i < len(x.keys) && comparePending(x.keys[i], keyOf(after)) <= 0 {
			i++
		}
	}
	for ; i < len(x.keys); i++ {
		if r := lookupPending(threads, x.keys[i]); r != nil && !fn(r) {
			return
		}
	}
}
