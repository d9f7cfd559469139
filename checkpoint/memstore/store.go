package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Store is an in-memory checkpoint.Store. The zero value is not usable; call
// New.
type Store struct {
	mu      sync.RWMutex
	threads map[string]*thread
	leases  map[string]lease
	now     func() time.Time
	inbox   pendingIndex // the pending interrupts, in page order
	// outbox holds the events; on is set by WithOutbox.
	outbox outbox
	// records are the checkpoint.Records documents, by kind and ID.
	records map[recordKey]checkpoint.Record
	// chunks makes the copies that commits keep.
	chunks chunks
}

type lease struct {
	owner string
	until time.Time
}

var (
	_ checkpoint.Store   = (*Store)(nil)
	_ checkpoint.Records = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now: the
// clock of leases and claims (Claim, Heartbeat, Lease, and the lease of a
// commit that leaves a thread running). Tests of takeovers give it a fake
// clock, or run under testing/synctest.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{threads: make(map[string]*thread), leases: map[string]lease{}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// thread is everything stored for one thread.
type thread struct {
	row checkpoint.Thread
	// spaces holds the checkpoints of each namespace; a thread rarely has
	// more than a few, so a slice searched in order beats a map.
	spaces []*space
	// writes are the pending writes of every namespace, in no order.
	writes []checkpoint.PendingWrite
	// interrupts are in insertion order; byID finds one by its ID once
	// there are indexFrom of them (a scan finds it before).
	interrupts []checkpoint.InterruptRecord
	byID       map[string]int
	// steps is the step log.
	steps stepLog
	// first is the thread's first space and spaceRoom spaces' first
	// array, made with the thread.
	first     space
	spaceRoom [1]*space
}

// space is one namespace of a thread.
type space struct {
	name string
	// entries are ordered by version. Blobs live in the entry of the
	// checkpoint that wrote them (a blob's version is its checkpoint's).
	entries []entry
}

// entry is a stored checkpoint with the blobs it wrote.
type entry struct {
	version int64
	// cp is the checkpoint without its Versions, which versions holds:
	// a slice costs one allocation where a map costs two, and less to
	// scan while the store holds it.
	cp       checkpoint.Checkpoint
	versions []fieldVersion
	// pruned marks a checkpoint that Prune removed but whose blobs (those
	// left in cp.Blobs) remaining checkpoints still need. It is invisible
	// to Checkpoint and History.
	pruned bool
}

// fieldVersion is an entry of a checkpoint's Versions.
type fieldVersion struct {
	field   string
	version int64
}

// checkpoint returns a copy of the stored checkpoint, without blobs.
func (e *entry) checkpoint() checkpoint.Checkpoint {
	out := cloneCheckpoint(&e.cp)
	if len(e.versions) > 0 {
		out.Versions = make(map[string]int64, len(e.versions))
		for _, fv := range e.versions {
			out.Versions[fv.field] = fv.version
		}
	}
	return out
}

func (t *thread) space(ns string) *space {
	for _, sp := range t.spaces {
		if sp.name == ns {
			return sp
		}
	}
	return nil
}

// find returns the entry of version v, pruned or not, or nil.
func (sp *space) find(v int64) *entry {
	i, ok := slices.BinarySearchFunc(sp.entries, v, func(e entry, v int64) int { return cmp.Compare(e.version, v) })
	if !ok {
		return nil
	}
	return &sp.entries[i]
}

// blob returns the blob of field written at version v, or nil.
func (sp *space) blob(field string, v int64) *checkpoint.Blob {
	e := sp.find(v)
	if e == nil {
		return nil
	}
	for i := range e.cp.Blobs {
		if e.cp.Blobs[i].Field == field {
			return &e.cp.Blobs[i]
		}
	}
	return nil
}

// base returns the blob that b appends to, or nil for a full value (or a
// base that was never written).
func (sp *space) base(b *checkpoint.Blob) *checkpoint.Blob {
	if b.Base == 0 || b.Base >= b.Version {
		return nil
	}
	return sp.blob(b.Field, b.Base)
}

// newest returns the newest checkpoint of sp that Prune left, or nil.
func (sp *space) newest() *entry {
	for i := len(sp.entries) - 1; i >= 0; i-- {
		if !sp.entries[i].pruned {
			return &sp.entries[i]
		}
	}
	return nil
}

// threadNotFound is the error for a missing thread, formatted only when
// read: a new thread is a missing one first, on every Run.
type threadNotFound string

func (e threadNotFound) Error() string {
	return fmt.Sprintf("memstore: thread %q: %v", string(e), checkpoint.ErrNotFound)
}

func (e threadNotFound) Unwrap() error { return checkpoint.ErrNotFound }

// Thread returns the thread's row.
func (s *Store) Thread(ctx context.Context, threadID string) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.threads[threadID]
	if t == nil {
		return nil, threadNotFound(threadID)
	}
	row := t.row
	return &row, nil
}

// Threads lists threads ordered by ID. The cursor is the ID of the last
// thread of the previous page.
func (s *Store) Threads(ctx context.Context, q *checkpoint.ThreadQuery) (*checkpoint.ThreadPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.ThreadQuery{}
	}
	limit := checkpoint.PageLimit(q.Limit)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var match []*checkpoint.Thread
	for id, t := range s.threads {
		if (q.After != "" && id <= q.After) ||
			(q.Workflow != "" && t.row.Workflow != q.Workflow) ||
			(q.Status != "" && t.row.Status != q.Status) {
			continue
		}
		match = append(match, &t.row)
	}
	slices.SortFunc(match, func(a, b *checkpoint.Thread) int { return cmp.Compare(a.ID, b.ID) })
	page := &checkpoint.ThreadPage{}
	if len(match) > limit {
		match = match[:limit]
		page.Next = match[limit-1].ID
	}
	page.Threads = make([]checkpoint.Thread, len(match))
	for i, r := range match {
		page.Threads[i] = *r
	}
	return page, nil
}

// Commit applies c atomically and returns the thread's new version; see
// checkpoint.Store.
func (s *Store) Commit(ctx context.Context, c *checkpoint.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Check(); err != nil {
		return 0, fmt.Errorf("memstore: %w", err)
	}
	id := c.Thread.ID
	version := c.ExpectedVersion + 1

	// Copy everything before taking the lock: a loser of a race wastes
	// only its own time.
	var cp checkpoint.Checkpoint
	var versions []fieldVersion // the entry's
	if c.Checkpoint != nil {
		cp, versions = s.chunks.checkpoint(c.Checkpoint)
		cp.ThreadID, cp.ID = id, checkpoint.FormatID(version)
		if cp.CreatedAt.IsZero() {
			cp.CreatedAt = c.At
		}
		for i := range cp.Blobs {
			cp.Blobs[i].Version = version
		}
	}
	writes := cloneWrites(c.Writes)
	var recs []checkpoint.InterruptRecord
	if len(c.Interrupts) > 0 {
		recs = make([]checkpoint.InterruptRecord, len(c.Interrupts))
		for i := range c.Interrupts {
			recs[i] = s.chunks.interrupt(&c.Interrupts[i])
			recs[i].ThreadID = id
			if recs[i].Status == "" {
				recs[i].Status = checkpoint.InterruptPending
			}
			if recs[i].CreatedAt.IsZero() {
				recs[i].CreatedAt = c.At
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[id]
	var current int64
	if t != nil {
		current = t.row.Version
	}
	if current != c.ExpectedVersion {
		if t == nil {
			return 0, fmt.Errorf("memstore: thread %q does not exist, commit expected version %d: %w", id, c.ExpectedVersion, checkpoint.ErrConflict)
		}
		return 0, fmt.Errorf("memstore: thread %q is at version %d, commit expected %d: %w", id, current, c.ExpectedVersion, checkpoint.ErrConflict)
	}
	if c.VerifyBlobs && c.Checkpoint != nil {
		if err := t.verifyBlobs(&cp, c.Checkpoint.Versions, version); err != nil {
			return 0, err
		}
	}
	row := c.Thread
	row.Version = version
	row.UpdatedAt = c.At
	if t == nil {
		t = &thread{}
		s.threads[id] = t
		row.CreatedAt = c.At
	} else {
		row.CreatedAt = t.row.CreatedAt
	}
	row.StopRequested = time.Time{}
	if row.Status == checkpoint.StatusRunning {
		row.LeaseUntil = s.now().Add(c.Lease)
		if t.row.Status == checkpoint.StatusRunning {
			row.StopRequested = t.row.StopRequested
		}
	} else {
		row.Owner, row.LeaseUntil, row.StopRequested = "", time.Time{}, time.Time{}
	}
	t.row = row

	if x := c.Cancel; x != nil {
		n := 0
		for i := range t.interrupts {
			if r := &t.interrupts[i]; r.Status == checkpoint.InterruptPending && (len(x.IDs) == 0 || slices.Contains(x.IDs, r.ID)) {
				r.Status = checkpoint.InterruptCancelled
				r.Author, r.Channel, r.AnsweredAt, r.Note = x.Author, x.Channel, x.At, x.Note
				n++
			}
		}
		s.inbox.gone(n, s.threads)
	}
	if x := c.Carry; x != nil {
		var carried []checkpoint.PendingWrite
		for _, w := range t.writes {
			if w.Namespace == cp.Namespace && w.CheckpointID == x.From && slices.Contains(x.Kinds, w.Kind) {
				w.CheckpointID = cp.ID
				carried = append(carried, w)
			}
		}
		t.putWrites(carried)
	}
	if c.Checkpoint != nil {
		sp := t.space(cp.Namespace)
		if sp == nil {
			if t.spaces == nil {
				sp, t.spaces = &t.first, t.spaceRoom[:0]
			} else {
				sp = new(space)
			}
			// Room for a few checkpoints: a thread seldom has only one.
			*sp = space{name: cp.Namespace, entries: make([]entry, 0, 4)}
			t.spaces = append(t.spaces, sp)
		}
		// Versions only grow, so the new entry is the last.
		sp.entries = append(sp.entries, entry{version: version, cp: cp, versions: versions})
		t.writes = slices.DeleteFunc(t.writes, func(w checkpoint.PendingWrite) bool {
			return w.Namespace == cp.Namespace && w.CheckpointID == cp.ParentID
		})
	}
	t.putWrites(writes)
	if t.interrupts == nil {
		// The thread's first questions: kept in the array of their
		// copies (each is read before anything is written over it).
		t.interrupts = recs[:0]
	}
	for i := range recs {
		if t.interrupt(recs[i].ID) == nil {
			t.addInterrupt(recs[i])
			if r := &t.interrupts[len(t.interrupts)-1]; r.Status == checkpoint.InterruptPending {
				s.inbox.add(r)
				s.emit(checkpoint.QuestionEvent(checkpoint.EventQuestionAsked, r))
			}
		}
	}
	for _, st := range c.Steps {
		st.ThreadID, st.Version = id, version
		t.steps.append(st)
	}
	if row.Status == checkpoint.StatusFailed {
		s.emit(checkpoint.Event{Type: checkpoint.EventThreadFailed, ThreadID: id, Workflow: row.Workflow, Error: row.Error})
	}
	return version, nil
}

// putWrites stores ws (already copies), replacing writes with the same key.
func (t *thread) putWrites(ws []checkpoint.PendingWrite) {
next:
	for _, w := range ws {
		for i := range t.writes {
			o := &t.writes[i]
			if o.Namespace == w.Namespace && o.CheckpointID == w.CheckpointID && o.Task == w.Task && o.Kind == w.Kind && o.Key == w.Key {
				o.Data = w.Data
				continue next
			}
		}
		t.writes = append(t.writes, w)
	}
}

// verifyBlobs checks that the blobs cp names (versions) at versions before
// version exist.
func (t *thread) verifyBlobs(cp *checkpoint.Checkpoint, versions map[string]int64, version int64) error {
	var sp *space
	if t != nil {
		sp = t.space(cp.Namespace)
	}
	for field, v := range versions {
		if v >= version {
			continue
		}
		if sp == nil || sp.blob(field, v) == nil {
			return fmt.Errorf("memstore: thread %q: checkpoint %s names blob %q of version %d, which is gone: %w",
				cp.ThreadID, cp.ID, field, v, checkpoint.ErrNotFound)
		}
	}
	return nil
}

// indexFrom is how many interrupts a thread has when it starts to index
// them by ID: most threads ask a few questions, and a scan of a few costs
// less than a map.
const indexFrom = 8

// interrupt returns the thread's interrupt id, or nil.
func (t *thread) interrupt(id string) *checkpoint.InterruptRecord {
	if t.byID == nil {
		for i := range t.interrupts {
			if t.interrupts[i].ID == id {
				return &t.interrupts[i]
			}
		}
		return nil
	}
	if i, ok := t.byID[id]; ok {
		return &t.interrupts[i]
	}
	return nil
}

// addInterrupt appends rec, whose ID the thread does not have yet.
func (t *thread) addInterrupt(rec checkpoint.InterruptRecord) {
	t.interrupts = append(t.interrupts, rec)
	switch n := len(t.interrupts); {
	case t.byID != nil:
		t.byID[rec.ID] = n - 1
	case n >= indexFrom:
		t.byID = make(map[string]int, 2*n)
		for i := range t.interrupts {
			t.byID[t.interrupts[i].ID] = i
		}
	}
}

// PutWrites records pending writes if the thread is still claimed by
// p.Owner at p.Epoch.
func (s *Store) PutWrites(ctx context.Context, p *checkpoint.PutWrites) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("memstore: PutWrites without arguments")
	}
	writes := cloneWrites(p.Writes)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[p.ThreadID]
	if t == nil {
		return fmt.Errorf("memstore: thread %q does not exist, writes expected a claim: %w", p.ThreadID, checkpoint.ErrConflict)
	}
	if !t.claimedBy(p.Owner, p.Epoch) {
		return fmt.Errorf("memstore: thread %q is not claimed by %q at epoch %d (it is %s, by %q at epoch %d): %w",
			p.ThreadID, p.Owner, p.Epoch, t.row.Status, t.row.Owner, t.row.Epoch, checkpoint.ErrConflict)
	}
	t.putWrites(writes)
	return nil
}

// claimedBy reports whether owner holds the thread's claim of epoch.
func (t *thread) claimedBy(owner string, epoch int64) bool {
	return t.row.Status == checkpoint.StatusRunning && t.row.Owner == owner && t.row.Epoch == epoch
}

// Checkpoint returns one checkpoint with every blob needed to rebuild its
// state; an empty id asks for the head.
func (s *Store) Checkpoint(ctx context.Context, threadID, namespace, id string) (*checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.threads[threadID]
	if t == nil {
		return nil, threadNotFound(threadID)
	}
	if id == "" && namespace == "" {
		id = t.row.Head
		if id == "" {
			return nil, fmt.Errorf("memstore: thread %q has no head checkpoint: %w", threadID, checkpoint.ErrNotFound)
		}
	}
	sp := t.space(namespace)
	var e *entry
	if sp != nil {
		if id == "" {
			e = sp.newest()
		} else if v, err := checkpoint.ParseID(id); err == nil {
			if e = sp.find(v); e != nil && e.pruned {
				e = nil
			}
		}
	}
	if e == nil {
		if id == "" {
			return nil, fmt.Errorf("memstore: thread %q: namespace %q has no checkpoint: %w", threadID, namespace, checkpoint.ErrNotFound)
		}
		return nil, fmt.Errorf("memstore: thread %q: checkpoint %q in namespace %q: %w", threadID, id, namespace, checkpoint.ErrNotFound)
	}

	// Gather the blob at each field's version and down its Base chain.
	var stack [16]checkpoint.Blob
	need := stack[:0]
	for _, fv := range e.versions {
		for b := sp.blob(fv.field, fv.version); b != nil; b = sp.base(b) {
			need = append(need, *b)
		}
	}
	out := e.checkpoint()
	out.Blobs = cloneBlobs(need)
	return &out, nil
}

// History lists a namespace's checkpoints, newest first, without blobs.
func (s *Store) History(ctx context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("memstore: History without a query")
	}
	var before int64
	if q.Before != "" {
		v, err := checkpoint.ParseID(q.Before)
		if err != nil {
			return nil, fmt.Errorf("memstore: thread %q: history before: %w", q.ThreadID, err)
		}
		before = v
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.threads[q.ThreadID]
	if t == nil {
		return nil, threadNotFound(q.ThreadID)
	}
	sp := t.space(q.Namespace)
	if sp == nil {
		return nil, nil
	}
	n := 0
	for i := len(sp.entries) - 1; i >= 0; i-- {
		e := &sp.entries[i]
		if !e.pruned && (before == 0 || e.version < before) {
			n++
		}
	}
	if q.Limit > 0 && n > q.Limit {
		n = q.Limit
	}
	out := make([]checkpoint.Checkpoint, 0, n)
	for i := len(sp.entries) - 1; i >= 0 && len(out) < n; i-- {
		e := &sp.entries[i]
		if !e.pruned && (before == 0 || e.version < before) {
			out = append(out, e.checkpoint())
		}
	}
	return out, nil
}

// PendingWrites returns the pending writes of the superstep that starts
// from checkpointID in namespace, ordered by task, kind and key.
func (s *Store) PendingWrites(ctx context.Context, threadID, namespace, checkpointID string) ([]checkpoint.PendingWrite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.threads[threadID]
	if t == nil {
		return nil, threadNotFound(threadID)
	}
	var out []checkpoint.PendingWrite
	size := 0
	for i := range t.writes {
		w := &t.writes[i]
		if w.Namespace == namespace && w.CheckpointID == checkpointID {
			out = append(out, *w)
			size += len(w.Data)
		}
	}
	// One backing array for every copy of Data.
	buf := make([]byte, 0, size)
	for i := range out {
		out[i].Data, buf = carve(buf, out[i].Data)
	}
	slices.SortFunc(out, func(a, b checkpoint.PendingWrite) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// Steps returns the step log of commits after version afterVersion.
func (s *Store) Steps(ctx context.Context, threadID string, afterVersion int64) ([]checkpoint.Step, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.threads[threadID]
	if t == nil {
		return nil, threadNotFound(threadID)
	}
	return t.steps.after(afterVersion), nil
}

// stepLog holds a thread's steps in commit order (so their versions never
// decrease) in chunks of up to stepChunk: appending never copies the steps
// already logged, however long the log grows, so a commit on a thread with
// a long history does not hold the lock for a copy of it.
type stepLog struct {
	chunks [][]checkpoint.Step
	first  [1][]checkpoint.Step // room for chunks' first entry
	room   [4]checkpoint.Step   // the first chunk
	n      int
}

const stepChunk = 256

func (l *stepLog) append(st checkpoint.Step) {
	if k := len(l.chunks); k == 0 || len(l.chunks[k-1]) == cap(l.chunks[k-1]) {
		// Chunks double from 4 steps up to stepChunk: a short thread
		// does not pay for a long one's chunk.
		if l.chunks == nil {
			l.chunks = append(l.first[:0], l.room[:0])
		} else {
			l.chunks = append(l.chunks, make([]checkpoint.Step, 0, min(stepChunk, max(len(l.room), l.n))))
		}
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, st)
	l.n++
}

// after returns a copy of the steps with a version greater than v.
func (l *stepLog) after(v int64) []checkpoint.Step {
	// The first chunk whose last step is after v, then the first step
	// after v in it.
	c := sort.Search(len(l.chunks), func(i int) bool {
		ch := l.chunks[i]
		return ch[len(ch)-1].Version > v
	})
	if c == len(l.chunks) {
		return nil
	}
	i, _ := slices.BinarySearchFunc(l.chunks[c], v+1, func(st checkpoint.Step, v int64) int { return cmp.Compare(st.Version, v) })
	n := len(l.chunks[c]) - i
	for _, ch := range l.chunks[c+1:] {
		n += len(ch)
	}
	out := make([]checkpoint.Step, 0, n)
	out = append(out, l.chunks[c][i:]...)
	for _, ch := range l.chunks[c+1:] {
		out = append(out, ch...)
	}
	return out
}

// DeleteThread removes the thread and everything stored for it.
func (s *Store) DeleteThread(ctx context.Context, threadID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[threadID]
	if t == nil {
		return threadNotFound(threadID)
	}
	delete(s.threads, threadID)
	n := 0
	for i := range t.interrupts {
		if t.interrupts[i].Status == checkpoint.InterruptPending {
			n++
		}
	}
	s.inbox.gone(n, s.threads)
	return nil
}

// cloneCheckpoint copies cp without its blobs and versions (which an
// entry keeps apart; entry.checkpoint copies a stored checkpoint whole).
func cloneCheckpoint(cp *checkpoint.Checkpoint) checkpoint.Checkpoint {
	out := *cp
	out.Next = slices.Clone(cp.Next)
	out.Versions = nil
	out.Meta = maps.Clone(cp.Meta)
	out.Blobs = nil
	return out
}

// cloneBlobs copies bs, their Data in one array.
func cloneBlobs(bs []checkpoint.Blob) []checkpoint.Blob {
	if len(bs) == 0 {
		return nil
	}
	size := 0
	for i := range bs {
		size += len(bs[i].Data)
	}
	buf := make([]byte, 0, size)
	out := make([]checkpoint.Blob, len(bs))
	for i, b := range bs {
		b.Data, buf = carve(buf, b.Data)
		out[i] = b
	}
	return out
}

// cloneWrites copies ws, their Data in one array.
func cloneWrites(ws []checkpoint.PendingWrite) []checkpoint.PendingWrite {
	if len(ws) == 0 {
		return nil
	}
	size := 0
	for i := range ws {
		size += len(ws[i].Data)
	}
	buf := make([]byte, 0, size)
	out := make([]checkpoint.PendingWrite, len(ws))
	for i, w := range ws {
		w.Data, buf = carve(buf, w.Data)
		out[i] = w
	}
	return out
}

// carve appends s to buf, which must have room for it, and returns the copy
// (capped at its length, so appending to it reallocates) and the grown buf.
// A nil s stays nil and an empty one empty.
func carve[S ~[]E, E any](buf []E, s S) (S, []E) {
	if len(s) == 0 {
		return s[:0:0], buf
	}
	start := len(buf)
	buf = append(buf, s...)
	return S(buf[start:len(buf):len(buf)]), buf
}
