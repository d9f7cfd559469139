package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft"
)

// Defaults of a Feed.
const (
	// DefaultFeedPerThread is how many events a Feed keeps for each thread.
	DefaultFeedPerThread = 256
	// DefaultFeedThreads is how many threads a Feed keeps events for.
	DefaultFeedThreads = 4096
	// DefaultFeedGlobal is how many events a Feed keeps across all threads.
	DefaultFeedGlobal = 2048
)

// Feed is the buffer behind the server's Server-Sent Events streams. It is a
// weft.Observer: attach it to every run whose events should be streamed
// (the server attaches it to the runs it makes itself; see the package
// documentation for the inbox). Observe never blocks on a client: an event
// is encoded once and appended to bounded ring buffers, and each stream
// reads from them at its own pace.
//
// Every event gets an ID "<epoch>-<n>": n grows by one with every event the
// feed receives, and epoch is chosen at random when the feed is made, so IDs
// from before a restart are recognised as such. A Feed is safe for
// concurrent use.
type Feed struct {
	epoch     string
	perThread int
	maxThread int
	global    ring

	mu      sync.Mutex
	seq     int64
	threads map[string]*threadRing
	clock   int64 // orders threadRing.used for eviction
	// forgot is the newest event ID of the threads forgotten so far: a
	// stream that stands before it may have lost events of its thread.
	forgot int64
	wake   chan struct{}
}

// FeedOption configures a Feed.
type FeedOption func(*Feed)

// FeedBuffer sets how many events the feed keeps per thread (default
// DefaultFeedPerThread) and across all threads (default DefaultFeedGlobal).
// A client that reconnects after more events than that were produced
// receives a "reset" event instead of the ones it missed.
func FeedBuffer(perThread, global int) FeedOption {
	return func(f *Feed) {
		if perThread > 0 {
			f.perThread = perThread
		}
		if global > 0 {
			f.global.max = global
		}
	}
}

// FeedThreads sets how many threads the feed keeps events for (default
// DefaultFeedThreads); past it, the thread whose last event is the oldest
// is forgotten.
func FeedThreads(n int) FeedOption {
	return func(f *Feed) {
		if n > 0 {
			f.maxThread = n
		}
	}
}

// NewFeed returns an empty Feed.
func NewFeed(opts ...FeedOption) *Feed {
	var b [4]byte
	_, _ = rand.Read(b[:])
	f := &Feed{
		epoch:     hex.EncodeToString(b[:]),
		perThread: DefaultFeedPerThread,
		maxThread: DefaultFeedThreads,
		global:    ring{max: DefaultFeedGlobal},
		threads:   map[string]*threadRing{},
		wake:      make(chan struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// feedEvent is one encoded event.
type feedEvent struct {
	id       int64
	typ      weft.EventType
	workflow string
	thread   string
	data     []byte // JSON of eventJSON
}

// ring keeps the newest max events, in order. Every event with an ID
// greater than floor is in it.
type ring struct {
	max    int
	events []feedEvent
	floor  int64
}

// add appends e, dropping the oldest event when the ring is full. The
// events slide along their array, which append moves to a new one only
// once its spare capacity is used up: a full ring does not copy all its
// events for every event it receives.
func (r *ring) add(e feedEvent) {
	if len(r.events) >= r.max {
		n := len(r.events) - r.max + 1
		r.floor = r.events[n-1].id
		clear(r.events[:n]) // let the dropped events' data go
		r.events = r.events[n:]
	}
	r.events = append(r.events, e)
}

// after returns the events with an ID greater than id, and whether some
// events after id may have been dropped.
func (r *ring) after(id int64, into []feedEvent) ([]feedEvent, bool) {
	lost := id < r.floor
	i := len(r.events)
	for i > 0 && r.events[i-1].id > id {
		i--
	}
	return append(into, r.events[i:]...), lost
}

type threadRing struct {
	ring
	used int64
	// last identifies the last event received, to drop the copy of an event
	// that reaches the feed twice (attached at Compile and per run).
	last dedupKey
}

type dedupKey struct {
	seq  int64
	typ  weft.EventType
	task string
	at   time.Time
}

// is reports whether k and o identify the same event.
func (k dedupKey) is(o dedupKey) bool {
	return k.seq == o.seq && k.typ == o.typ && k.task == o.task && k.at.Equal(o.at)
}

// Observe records e. It implements weft.Observer.
func (f *Feed) Observe(_ context.Context, e weft.Event) {
	key := dedupKey{seq: e.Seq, typ: e.Type, task: e.Task, at: e.Time}
	data := encodeEvent(e)
	f.mu.Lock()
	defer f.mu.Unlock()
	tr := f.threads[e.Thread]
	if tr != nil && tr.last.is(key) {
		return
	}
	if tr == nil {
		if len(f.threads) >= f.maxThread {
			f.evict()
		}
		tr = &threadRing{ring: ring{max: f.perThread, floor: f.forgot}}
		f.threads[e.Thread] = tr
	}
	f.seq++
	f.clock++
	tr.used = f.clock
	tr.last = key
	fe := feedEvent{id: f.seq, typ: e.Type, workflow: e.Workflow, thread: e.Thread, data: data}
	tr.add(fe)
	f.global.add(fe)
	close(f.wake)
	f.wake = make(chan struct{})
}

// evict forgets the thread whose last event is the oldest. f.mu is held.
func (f *Feed) evict() {
	var oldest string
	var at int64 = -1
	for id, tr := range f.threads {
		if at < 0 || tr.used < at {
			oldest, at = id, tr.used
		}
	}
	if tr := f.threads[oldest]; tr != nil && len(tr.events) > 0 {
		f.forgot = max(f.forgot, tr.events[len(tr.events)-1].id)
	}
	delete(f.threads, oldest)
}

// has reports whether the feed holds events of the thread.
func (f *Feed) has(thread string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.threads[thread] != nil
}

// formatID formats an event ID.
func (f *Feed) formatID(n int64) string { return f.epoch + "-" + strconv.FormatInt(n, 10) }

// position is where a stream stands: the ID of the last event it sent.
type position struct {
	id int64
	// reset: the client's last ID is from another epoch or malformed, or
	// events after it were dropped; it must be told before anything else.
	reset bool
	// oldest: the client asked for the oldest buffered event ("0"), so
	// events dropped before it are no news.
	oldest bool
}

// parsePosition reads a Last-Event-ID. An empty one starts at the current
// end of the feed, "0" at its oldest buffered event.
func (f *Feed) parsePosition(last string) position {
	last = strings.TrimSpace(last)
	switch last {
	case "":
		f.mu.Lock()
		defer f.mu.Unlock()
		return position{id: f.seq}
	case "0":
		return position{oldest: true}
	}
	epoch, n, ok := strings.Cut(last, "-")
	id, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || id < 0 || epoch != f.epoch {
		return position{reset: true}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if id > f.seq {
		return position{reset: true}
	}
	return position{id: id}
}

// filter selects the events of a stream.
type filter struct {
	thread   string // one thread's ring; "" for the global ring
	workflow string
}

// next returns the events after pos that pass the filter, whether events
// after pos may have been dropped, the position the stream is at once it
// has sent them, and a channel closed when more events arrive.
func (f *Feed) next(pos int64, flt filter, into []feedEvent) ([]feedEvent, bool, int64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lost bool
	if flt.thread != "" {
		if tr := f.threads[flt.thread]; tr != nil {
			into, lost = tr.after(pos, into)
		} else {
			// The feed holds nothing of the thread: none since pos, or
			// some that were forgotten.
			lost = pos < f.forgot
		}
	} else {
		into, lost = f.global.after(pos, into)
	}
	if flt.workflow != "" {
		kept := into[:0]
		for _, e := range into {
			if e.workflow == flt.workflow {
				kept = append(kept, e)
			}
		}
		into = kept
	}
	// Every event of the stream up to f.seq is in into.
	return into, lost, f.seq, f.wake
}

// eventJSON is an event as the API streams it.
type eventJSON struct {
	Seq        int64            `json:"seq"`
	Type       weft.EventType   `json:"type"`
	Workflow   string           `json:"workflow"`
	Thread     string           `json:"thread"`
	Node       string           `json:"node,omitempty"`
	Task       string           `json:"task,omitempty"`
	Checkpoint string           `json:"checkpoint,omitempty"`
	Time       time.Time        `json:"time"`
	Update     any              `json:"update,omitempty"`
	Next       []string         `json:"next,omitempty"`
	Questions  []questionJSON   `json:"questions,omitempty"`
	Answer     *answerEventJSON `json:"answer,omitempty"`
	Data       any              `json:"data,omitempty"`
	Error      string           `json:"error,omitempty"`
}

type answerEventJSON struct {
	ID      string          `json:"id"`
	Node    string          `json:"node"`
	Value   json.RawMessage `json:"value"`
	Author  string          `json:"author"`
	Channel string          `json:"channel"`
}

func encodeEvent(e weft.Event) []byte {
	ej := eventJSON{
		Seq: e.Seq, Type: e.Type, Workflow: e.Workflow, Thread: e.Thread, Node: e.Node, Task: e.Task,
		Checkpoint: e.Checkpoint, Time: e.Time, Update: e.Update, Next: e.Next, Data: e.Data, Error: e.Err,
	}
	for _, q := range e.Questions {
		ej.Questions = append(ej.Questions, questionOf(q))
	}
	if a := e.Answer; a != nil {
		ej.Answer = &answerEventJSON{ID: a.ID, Node: a.Node, Value: rawOrNull(a.Value), Author: a.Author, Channel: a.Channel}
	}
	data, err := json.Marshal(ej)
	if err != nil {
		// A node's update or custom data that JSON cannot encode: stream
		// the event without it rather than lose the event.
		ej.Update, ej.Data = nil, nil
		if ej.Error == "" {
			ej.Error = "event data not encodable as JSON: " + err.Error()
		}
		data, _ = json.Marshal(ej)
	}
	return data
}
