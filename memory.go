package weft

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/weftgraph/weft/checkpoint"
)

// memStore keeps threads as Go values for a Workflow without a store: no
// encoding, full history, gone when the process exits. It holds snapshots
// of any state type (a subgraph's state lives beside its parent's in the
// same thread); memPersister[S] is its typed view. Only the queries the
// engine makes are supported: the cross-thread inbox needs a Store.
type memStore struct {
	mu      sync.Mutex
	threads map[string]*memThread
}

// memSnap is a *snap[S] of some S.
type memSnap interface{ meta() *checkpoint.Checkpoint }

func (s *snap[S]) meta() *checkpoint.Checkpoint { return &s.cp }

type memWrite struct {
	ns, cpID, task, kind, key string
	w                         any // *write[S]
}

type memThread struct {
	row    checkpoint.Thread
	cps    []memSnap // in commit order, so sorted by ID; never changed
	writes []memWrite
	ints   []checkpoint.InterruptRecord
	steps  []checkpoint.Step
}

func newMemStore() *memStore { return &memStore{threads: map[string]*memThread{}} }

// memPersister is the typed view of a memStore for state type S.
type memPersister[S any] struct{ m *memStore }

func notFound(what string, args ...any) error {
	return fmt.Errorf("weft: %s: %w", fmt.Sprintf(what, args...), checkpoint.ErrNotFound)
}

func (p memPersister[S]) backing() backing { return backing{mem: p.m} }
func (p memPersister[S]) keeps() bool      { return true }

func (p memPersister[S]) thread(_ context.Context, id string) (*checkpoint.Thread, error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[id]
	if t == nil {
		return nil, notFound("thread %q", id)
	}
	row := t.row
	return &row, nil
}

func (p memPersister[S]) snapshot(_ context.Context, thread, ns, id string) (*snap[S], error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[thread]
	if t == nil {
		return nil, notFound("thread %q", thread)
	}
	if id == "" && ns == "" {
		id = t.row.Head
	}
	for i := len(t.cps) - 1; i >= 0; i-- {
		cp := t.cps[i].meta()
		if cp.Namespace == ns && (id == "" || cp.ID == id) {
			s, ok := t.cps[i].(*snap[S])
			if !ok {
				return nil, fmt.Errorf("weft: thread %q checkpoint %s holds another state type: %w", thread, cp.ID, ErrCorruptCheckpoint)
			}
			c := *s
			return &c, nil
		}
	}
	return nil, notFound("thread %q: checkpoint %q in namespace %q", thread, id, ns)
}

func (p memPersister[S]) commit(_ context.Context, c *commit[S]) (int64, error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := &c.c
	t := m.threads[sc.Thread.ID]
	switch {
	case t == nil && sc.ExpectedVersion == 0:
		t = &memThread{cps: make([]memSnap, 0, 8), steps: make([]checkpoint.Step, 0, 16)}
		t.row.CreatedAt = sc.At
	case t == nil || t.row.Version != sc.ExpectedVersion:
		return 0, fmt.Errorf("weft: thread %q: %w", sc.Thread.ID, checkpoint.ErrConflict)
	}
	created := t.row.CreatedAt
	t.row = sc.Thread
	t.row.Version = sc.ExpectedVersion + 1
	t.row.CreatedAt, t.row.UpdatedAt = created, sc.At
	m.threads[sc.Thread.ID] = t
	if sc.CancelPending {
		for i := range t.ints {
			if t.ints[i].Status == checkpoint.InterruptPending {
				t.ints[i].Status = checkpoint.InterruptCancelled
			}
		}
	}
	if cp := sc.Checkpoint; cp != nil {
		s := c.head
		if s == nil || &s.cp != cp {
			s = &snap[S]{cp: *cp, state: c.state}
		}
		t.cps = append(t.cps, s)
		t.writes = slices.DeleteFunc(t.writes, func(w memWrite) bool { return w.ns == cp.Namespace && w.cpID == cp.ParentID })
	}
	for i := range c.writes {
		w := c.writes[i]
		putWrite(t, &w)
	}
	for _, r := range sc.Interrupts {
		if !slices.ContainsFunc(t.ints, func(x checkpoint.InterruptRecord) bool { return x.ID == r.ID }) {
			t.ints = append(t.ints, r)
		}
	}
	for _, s := range sc.Steps {
		s.Version = t.row.Version
		t.steps = append(t.steps, s)
	}
	return t.row.Version, nil
}

func putWrite[S any](t *memThread, w *write[S]) {
	mw := memWrite{ns: w.ns, cpID: w.cpID, task: w.task, kind: w.kind, key: w.key, w: w}
	for i := range t.writes {
		x := &t.writes[i]
		if x.ns == w.ns && x.cpID == w.cpID && x.task == w.task && x.kind == w.kind && x.key == w.key {
			*x = mw
			return
		}
	}
	t.writes = append(t.writes, mw)
}

func (p memPersister[S]) putWrites(_ context.Context, thread string, version int64, ws []write[S]) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[thread]
	if t == nil {
		return notFound("thread %q", thread)
	}
	if t.row.Version != version {
		return fmt.Errorf("weft: thread %q: %w", thread, checkpoint.ErrConflict)
	}
	for i := range ws {
		w := ws[i]
		putWrite(t, &w)
	}
	return nil
}

func (p memPersister[S]) writes(_ context.Context, thread, ns, cpID string, _ *S) ([]write[S], error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[thread]
	if t == nil {
		return nil, nil
	}
	var out []write[S]
	for _, mw := range t.writes {
		if mw.ns == ns && mw.cpID == cpID {
			w, ok := mw.w.(*write[S])
			if !ok {
				return nil, fmt.Errorf("weft: thread %q checkpoint %s: a pending write holds another state type: %w", thread, cpID, ErrCorruptCheckpoint)
			}
			out = append(out, *w)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.task != b.task {
			return a.task < b.task
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.key < b.key
	})
	return out, nil
}

func (p memPersister[S]) history(_ context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[q.ThreadID]
	if t == nil {
		return nil, notFound("thread %q", q.ThreadID)
	}
	var out []checkpoint.Checkpoint
	for i := len(t.cps) - 1; i >= 0; i-- {
		cp := *t.cps[i].meta()
		if cp.Namespace != q.Namespace || (q.Before != "" && cp.ID >= q.Before) {
			continue
		}
		out = append(out, cp)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (p memPersister[S]) interrupts(_ context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	page := &checkpoint.InterruptPage{}
	for id, t := range m.threads {
		if q.ThreadID != "" && id != q.ThreadID {
			continue
		}
		for _, r := range t.ints {
			if (q.ID == "" || r.ID == q.ID) && (q.CheckpointID == "" || r.CheckpointID == q.CheckpointID) &&
				(q.Status == "" || r.Status == q.Status) && (q.Node == "" || r.Node == q.Node) {
				page.Interrupts = append(page.Interrupts, r)
			}
		}
	}
	sort.Slice(page.Interrupts, func(i, j int) bool {
		a, b := page.Interrupts[i], page.Interrupts[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return page, nil
}

func (p memPersister[S]) answer(_ context.Context, as []checkpoint.Answer) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var targets []*checkpoint.InterruptRecord
	for _, a := range as {
		var rec *checkpoint.InterruptRecord
		if t := m.threads[a.ThreadID]; t != nil {
			for i := range t.ints {
				if t.ints[i].ID == a.InterruptID {
					rec = &t.ints[i]
				}
			}
		}
		switch {
		case rec == nil:
			return notFound("thread %q: interrupt %q", a.ThreadID, a.InterruptID)
		case rec.Status != checkpoint.InterruptPending || slices.Contains(targets, rec):
			return fmt.Errorf("weft: interrupt %q is %s: %w", a.InterruptID, rec.Status, checkpoint.ErrAlreadyAnswered)
		}
		targets = append(targets, rec)
	}
	for i, rec := range targets {
		a := as[i]
		rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, a.Value, a.Author, a.Channel, a.At
	}
	return nil
}

func (p memPersister[S]) steps(_ context.Context, thread string) ([]checkpoint.Step, error) {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.threads[thread]
	if t == nil {
		return nil, notFound("thread %q", thread)
	}
	return slices.Clone(t.steps), nil
}

func (p memPersister[S]) deleteThread(_ context.Context, thread string) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.threads[thread] == nil {
		return notFound("thread %q", thread)
	}
	delete(m.threads, thread)
	return nil
}

// nopPersister keeps nothing: the persister of ephemeral runs (thread ""),
// which are never resumed nor looked at after they return. Commits only
// count versions.
type nopPersister[S any] struct{}

func (nopPersister[S]) backing() backing { return backing{nop: true} }
func (nopPersister[S]) keeps() bool      { return false }

func (nopPersister[S]) thread(_ context.Context, id string) (*checkpoint.Thread, error) {
	return nil, notFound("thread %q", id)
}

func (nopPersister[S]) snapshot(_ context.Context, thread, ns, id string) (*snap[S], error) {
	return nil, notFound("thread %q: checkpoint %q in namespace %q", thread, id, ns)
}

func (nopPersister[S]) commit(_ context.Context, c *commit[S]) (int64, error) {
	return c.c.ExpectedVersion + 1, nil
}

func (nopPersister[S]) putWrites(context.Context, string, int64, []write[S]) error { return nil }

func (nopPersister[S]) writes(context.Context, string, string, string, *S) ([]write[S], error) {
	return nil, nil
}

func (nopPersister[S]) history(context.Context, *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	return nil, nil
}

func (nopPersister[S]) interrupts(context.Context, *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	return &checkpoint.InterruptPage{}, nil
}

func (nopPersister[S]) answer(context.Context, []checkpoint.Answer) error { return nil }

func (nopPersister[S]) steps(context.Context, string) ([]checkpoint.Step, error) { return nil, nil }

func (nopPersister[S]) deleteThread(context.Context, string) error { return nil }
