package langgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// The kinds of the records that keep stream events: those of a run, and
// those of a thread's stream (GET /threads/{id}/stream), which has ids of
// its own.
const (
	kindRunEvents    = "langgraph.run_events"
	kindThreadEvents = "langgraph.thread_events"
)

const (
	// flushEvery is how often, at most, a log writes its new events to
	// the store while it is open: the events of 100 ms go in one record
	// (one transaction), however many they are. A run writes the rest
	// when it ends, before it is reported ended.
	flushEvery = 100 * time.Millisecond
	// chunkEvents and chunkBytes cap what one record holds.
	chunkEvents = 1000
	chunkBytes  = 1 << 20
	// pollEvery is how often a stream of a run of another process reads
	// the store for new events.
	pollEvery = 250 * time.Millisecond
)

// chunkID is the ID of the record whose last event is seq: the key of the
// log, a slash and seq in 12 digits, so that ID order is event order and
// the records after event n are those with IDs after chunkID(key, n).
func chunkID(key string, seq int) string { return fmt.Sprintf("%s/%012d", key, seq) }

// storedChunk is a record of events: those from First on, in order. The
// record <key>/end (after every chunk in ID order) has none and End set:
// the run ended, its events are all written.
type storedChunk struct {
	First  int           `json:"first"`
	Events []storedEvent `json:"events"`
	End    bool          `json:"end,omitempty"`
}

// endID is the ID of the record that ends a run's events.
func endID(key string) string { return key + "/end" }

type storedEvent struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// numbered is an event with its id.
type numbered struct {
	id int
	sseEvent
}

// eventStore is where the events of one log are kept: records of kind
// whose IDs start with key and a slash, of thread.
type eventStore struct {
	records   checkpoint.Records
	kind, key string
	thread    string
}

// scan calls f with each record of the log after event n (all for n < 0),
// in order, until f returns false.
func (s *eventStore) scan(ctx context.Context, n int, f func(rec *checkpoint.Record) bool) error {
	prefix := s.key + "/"
	q := checkpoint.RecordQuery{Kind: s.kind, ThreadID: s.thread, After: prefix, Limit: 100}
	if n >= 0 {
		q.After = chunkID(s.key, n)
	}
	for rec, err := range recordsOf(ctx, s.records, q) {
		if err != nil {
			return fmt.Errorf("reading the events of %s: %w", s.key, err)
		}
		if !strings.HasPrefix(rec.ID, prefix) || !f(rec) {
			return nil
		}
	}
	return nil
}

// load returns the stored events with ids from from up to before to (to
// all when to < 0), and whether the end record follows them.
func (s *eventStore) load(ctx context.Context, from, to int) ([]numbered, bool, error) {
	var out []numbered
	var bad error
	end := false
	err := s.scan(ctx, from-1, func(rec *checkpoint.Record) bool {
		var c storedChunk
		if err := json.Unmarshal(rec.Data, &c); err != nil {
			bad = fmt.Errorf("decoding the events of %s: %w", rec.ID, err)
			return false
		}
		if c.End {
			end = true
			return false
		}
		for i, e := range c.Events {
			id := c.First + i
			if to >= 0 && id >= to {
				return false
			}
			if id >= from {
				out = append(out, numbered{id, sseEvent{e.Event, e.Data}})
			}
		}
		return true
	})
	return out, end, errors.Join(err, bad)
}

// putEnd writes the end record of a run's events.
func (s *eventStore) putEnd(ctx context.Context) error {
	return s.records.PutRecord(ctx, &checkpoint.Record{Kind: s.kind, ID: endID(s.key), ThreadID: s.thread, Data: json.RawMessage(`{"first":0,"events":[],"end":true}`)})
}

// next is the id after the last event stored after event n (n+1 if there
// is none), read from the IDs of the records alone.
func (s *eventStore) next(ctx context.Context, n int) (int, error) {
	next := n + 1
	err := s.scan(ctx, n, func(rec *checkpoint.Record) bool {
		if seq, err := strconv.Atoi(rec.ID[len(s.key)+1:]); err == nil { // not the end record
			next = max(next, seq+1)
		}
		return true
	})
	return next, err
}

// put writes events from id first on as one record.
func (s *eventStore) put(ctx context.Context, first int, evs []sseEvent) error {
	c := storedChunk{First: first, Events: make([]storedEvent, len(evs))}
	for i, e := range evs {
		c.Events[i] = storedEvent{e.name, e.data}
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.records.PutRecord(ctx, &checkpoint.Record{
		Kind: s.kind, ID: chunkID(s.key, first+len(evs)-1), ThreadID: s.thread, Data: data,
	})
}

// deleteAll removes the records of the log.
func (s *eventStore) deleteAll(ctx context.Context) error {
	var ids []string
	if err := s.scan(ctx, -1, func(rec *checkpoint.Record) bool { ids = append(ids, rec.ID); return true }); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.records.DeleteRecord(ctx, s.kind, id); err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
			return fmt.Errorf("deleting the events of %s: %w", s.key, err)
		}
	}
	return nil
}

// persister writes the events of a log to its store in batches: an event
// added schedules a write flushEvery after the last one (at once if that
// is past), which writes every event added until then; flush writes them
// now. Writes go in order, one at a time; a failed write is tried again
// at the next.
type persister struct {
	store *eventStore

	wmu sync.Mutex // held during a write

	mu      sync.Mutex
	pending []sseEvent
	first   int // the id of pending[0]
	timer   *time.Timer
	last    time.Time
	stopped bool
}

func newPersister(s *eventStore) *persister { return &persister{store: s} }

// add queues event e, whose id is id. The log's lock is held: it does no
// I/O.
func (p *persister) add(id int, e sseEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	if len(p.pending) == 0 {
		p.first = id
	}
	p.pending = append(p.pending, e)
	p.schedule()
}

// schedule arms the timer of the next write unless it is armed. p.mu is
// held.
func (p *persister) schedule() {
	if p.timer == nil {
		p.timer = time.AfterFunc(max(0, flushEvery-time.Since(p.last)), func() { _ = p.flush() })
	}
}

// flush writes the events queued, in records of at most chunkEvents
// events and about chunkBytes.
func (p *persister) flush() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	evs, first := p.pending, p.first
	p.pending, p.first = nil, first+len(evs)
	p.last = time.Now()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(evs) > 0 {
		n, size := 0, 0
		for n < len(evs) && n < chunkEvents && (n == 0 || size+len(evs[n].data) <= chunkBytes) {
			size += len(evs[n].data) + len(evs[n].name)
			n++
		}
		if err := p.store.put(ctx, first, evs[:n]); err != nil {
			// Put the rest back, ahead of what came since, and try again
			// later.
			p.mu.Lock()
			if !p.stopped {
				p.pending, p.first = append(evs[:len(evs):len(evs)], p.pending...), first
				p.schedule()
			}
			p.mu.Unlock()
			return err
		}
		evs, first = evs[n:], first+n
	}
	return nil
}

// stop ends the persister: the events queued are dropped (the log is
// deleted), and a write under way is waited for.
func (p *persister) stop() {
	p.mu.Lock()
	p.stopped = true
	p.pending = nil
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	p.wmu.Lock()
	defer p.wmu.Unlock() // a write under way is done
}

// runEvents is the event store of run rr (nil for a store without
// records, or a stateless run).
func (h *handler) runEvents(rr *runRecord) *eventStore {
	if h.records == nil || rr.ephemeral {
		return nil
	}
	return &eventStore{records: h.records, kind: kindRunEvents, key: rr.ID, thread: rr.ThreadID}
}

// threadEvents is the event store of thread id's stream (nil for a store
// without records).
func (h *handler) threadEvents(id string) *eventStore {
	if h.records == nil {
		return nil
	}
	return &eventStore{records: h.records, kind: kindThreadEvents, key: id, thread: id}
}

// persist makes l keep its events in s too (nothing if s is nil).
func (l *eventLog) persist(s *eventStore) {
	if s == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.store = s
	l.keep = newPersister(s)
}

// flush writes the events of l, and of the log it tees to, to the store
// now.
func (l *eventLog) flush() error {
	l.mu.Lock()
	keep, tee := l.keep, l.tee
	l.mu.Unlock()
	var err error
	if keep != nil {
		err = keep.flush()
	}
	if tee != nil {
		err = errors.Join(err, tee.flush())
	}
	return err
}

// end writes every event of l (and of the log it tees to), then, for a
// run's log, the record that says they are all written: the run ended.
func (l *eventLog) end() error {
	err := l.flush()
	l.mu.Lock()
	keep := l.keep
	l.mu.Unlock()
	if err == nil && keep != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = keep.store.putEnd(ctx)
	}
	return err
}

// stopPersisting stops the writes of l's events (the log is deleted).
func (l *eventLog) stopPersisting() {
	l.mu.Lock()
	keep := l.keep
	l.mu.Unlock()
	if keep != nil {
		keep.stop()
	}
}

// skipTo moves a log with nothing queued on to id n, when another
// process wrote the events before it (a thread's stream): the events it
// keeps are dropped, its readers read those from the store.
func (l *eventLog) skipTo(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= l.first+len(l.events) || l.closed {
		return
	}
	l.first, l.events, l.last = n, nil, nil
	close(l.changed)
	l.changed = make(chan struct{})
}

// forgetRunEvents deletes the stored events of run rr.
func (h *handler) forgetRunEvents(ctx context.Context, rr *runRecord) error {
	if s := h.runEvents(rr); s != nil {
		return s.deleteAll(ctx)
	}
	return nil
}

// endGrace is how long a stream of a run of no process waits for more
// events once the run looks ended without its end record: the record of
// a run whose process died, or of one about to be written.
const endGrace = 2 * time.Second

// writeStoredRun streams the stored events of run rr, a run of no process
// here (of an earlier process, or of another one on the same database),
// from id from on: those stored, then those its process writes (read
// every pollEvery), until the end record its process writes after all its
// events. A run without one (its process died, or was of an earlier
// version) ends when its record, or its thread (see settle), says it
// ended and no event came for endGrace.
func (h *handler) writeStoredRun(w http.ResponseWriter, r *http.Request, rr *runRecord, from int, keep func(string) bool) {
	ctx := r.Context()
	st := h.runEvents(rr)
	rc := startEvents(w)
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	next := from
	var quiet time.Time // since when the run looks ended, with no new events
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			fmt.Fprint(w, ": heartbeat\n")
			_ = rc.Flush()
			continue
		case <-poll.C:
		}
		evs, end, err := st.load(ctx, next, -1)
		for _, e := range evs {
			if keep(e.name) {
				fmt.Fprintf(w, "event: %s\ndata: %s\nid: %d\n\n", e.name, e.data, e.id)
			}
			next = e.id + 1
		}
		if len(evs) > 0 {
			_ = rc.Flush()
			quiet = time.Time{}
		}
		if end || err != nil {
			return
		}
		raw, err := h.rawRun(ctx, rr.ID)
		if err != nil || raw == nil {
			return // deleted
		}
		_, dead := h.settled(ctx, raw)
		if raw.status != "pending" && raw.status != "running" || dead {
			if quiet.IsZero() {
				quiet = time.Now()
			} else if time.Since(quiet) >= endGrace {
				return
			}
		} else {
			quiet = time.Time{}
		}
		poll.Reset(pollEvery)
	}
}
