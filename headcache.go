package weft

import (
	"sync"
	"time"
)

// headCacheSize is how many threads' heads a workflow keeps decoded.
const headCacheSize = 512

// headCache keeps the decoded head checkpoints of the threads a workflow
// left last (paused, failed, done), so that reading a thread's state
// (State, Resume) costs a lookup of its row rather than a decode of its
// whole history of Append blobs. Checkpoints never change once written, so
// an entry is valid for as long as the thread's incarnation (its creation
// time) and checkpoint ID match, in any process; it holds its own copy of
// the state. When full, an entry not used since the clock hand last passed
// it goes (the CLOCK approximation of least recently used: O(1) per put).
type headCache[S any] struct {
	si    *stateInfo
	mu    sync.Mutex
	items map[headID]*cachedHead[S]
	ring  []headID // the entries, in the order the hand visits them
	hand  int
}

// headID names a checkpoint of one incarnation of a thread.
type headID struct {
	thread  string
	created int64 // the thread's CreatedAt, in µs
	cp      string
}

type cachedHead[S any] struct {
	snap snap[S]
	used bool // since the hand last passed
}

func newHeadCache[S any](si *stateInfo) *headCache[S] {
	return &headCache[S]{si: si, items: make(map[headID]*cachedHead[S], 64)}
}

func headKey(thread string, created time.Time, cpID string) headID {
	return headID{thread, created.UnixMicro(), cpID}
}

// get returns a copy of the cached snapshot, if any, in dst when dst is
// not nil.
func (c *headCache[S]) get(key headID, dst *snap[S]) (*snap[S], bool) {
	c.mu.Lock()
	e, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	e.used = true
	if dst == nil {
		dst = new(snap[S])
	}
	*dst = e.snap
	c.mu.Unlock()
	dst.state = copyState(c.si, dst.state)
	return dst, true
}

// put keeps a copy of s under key.
func (c *headCache[S]) put(key headID, s *snap[S]) {
	e := &cachedHead[S]{snap: *s}
	e.snap.cp.Blobs = nil
	e.snap.state = storedState(c.si, s.state)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		c.items[key] = e
		return
	}
	c.items[key] = e
	if len(c.ring) < headCacheSize {
		c.ring = append(c.ring, key)
		return
	}
	for {
		old := c.ring[c.hand]
		if o := c.items[old]; o != nil && o.used {
			o.used = false
			c.hand = (c.hand + 1) % len(c.ring)
			continue
		}
		delete(c.items, old)
		c.ring[c.hand] = key
		c.hand = (c.hand + 1) % len(c.ring)
		return
	}
}
