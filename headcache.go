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
// the state. When full, the entry used least recently goes.
type headCache[S any] struct {
	si    *stateInfo
	mu    sync.Mutex
	clock uint64 // counts uses
	items map[headID]cachedHead[S]
}

// headID names a checkpoint of one incarnation of a thread.
type headID struct {
	thread  string
	created int64 // the thread's CreatedAt, in µs
	cp      string
}

type cachedHead[S any] struct {
	snap snap[S]
	used uint64
}

func newHeadCache[S any](si *stateInfo) *headCache[S] {
	return &headCache[S]{si: si, items: make(map[headID]cachedHead[S], 64)}
}

func headKey(thread string, created time.Time, cpID string) headID {
	return headID{thread, created.UnixMicro(), cpID}
}

// get returns a copy of the cached snapshot, if any.
func (c *headCache[S]) get(key headID) (*snap[S], bool) {
	c.mu.Lock()
	e, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	c.clock++
	e.used = c.clock
	c.items[key] = e
	c.mu.Unlock()
	s := e.snap
	s.state = copyState(c.si, s.state)
	return &s, true
}

// put keeps a copy of s under key.
func (c *headCache[S]) put(key headID, s *snap[S]) {
	e := cachedHead[S]{snap: *s}
	e.snap.cp.Blobs = nil
	e.snap.state = storedState(c.si, s.state)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock++
	e.used = c.clock
	c.items[key] = e
	if len(c.items) <= headCacheSize {
		return
	}
	var oldest headID
	least := c.clock
	for k, v := range c.items {
		if v.used < least {
			oldest, least = k, v.used
		}
	}
	delete(c.items, oldest)
}
