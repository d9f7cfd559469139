package weft

import (
	"container/list"
	"strconv"
	"sync"

	"github.com/weftgraph/weft/checkpoint"
)

// headCacheSize is how many threads' heads a workflow keeps decoded.
const headCacheSize = 512

// headCache keeps the decoded head checkpoints of the threads a workflow
// used last, so that reading a thread's state (State, Resume) costs a
// lookup of its row rather than a decode of its whole history of Append
// blobs. Checkpoints never change once written, so an entry is valid for
// as long as the thread's incarnation (its creation time) and checkpoint
// ID match, in any process; it holds its own copy of the state.
type headCache[S any] struct {
	si    *stateInfo
	mu    sync.Mutex
	ll    *list.List // of *headEntry[S], most recent first
	items map[string]*list.Element
}

type headEntry[S any] struct {
	key  string
	snap snap[S]
}

func newHeadCache[S any](si *stateInfo) *headCache[S] {
	return &headCache[S]{si: si, ll: list.New(), items: map[string]*list.Element{}}
}

func headKey(thread string, row *checkpoint.Thread, cpID string) string {
	return thread + "\x00" + strconv.FormatInt(row.CreatedAt.UnixMicro(), 36) + "\x00" + cpID
}

// get returns a copy of the cached snapshot, if any.
func (c *headCache[S]) get(key string) (*snap[S], bool) {
	c.mu.Lock()
	e, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	c.ll.MoveToFront(e)
	s := e.Value.(*headEntry[S]).snap
	c.mu.Unlock()
	s.state = c.si.clone(reflectOf(&s.state)).Interface().(S)
	return &s, true
}

// put keeps a copy of s under key.
func (c *headCache[S]) put(key string, s *snap[S]) {
	cp := *s
	cp.cp.Blobs = nil
	cp.state = c.si.storedCopy(reflectOf(&s.state)).Interface().(S)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*headEntry[S]).snap = cp
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&headEntry[S]{key: key, snap: cp})
	for c.ll.Len() > headCacheSize {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*headEntry[S]).key)
	}
}
