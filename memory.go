package weft

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/weftgraph/weft/checkpoint"
)

// memPersister keeps threads as Go values for a Workflow without a store:
// no encoding, full history, gone when the process exits. Only the queries
// the engine makes are supported (the cross-thread inbox needs a Store).
type memPersister[S any] struct {
	mu      sync.Mutex
	threads map[string]*memThread[S]
}

type memThread[S any] struct {
	row    checkpoint.Thread
	cps    []*snap[S] // in commit order, so sorted by ID; never changed
	writes []write[S]
	ints   []checkpoint.InterruptRecord
	steps  []checkpoint.Step
}

func newMemPersister[S any]() *memPersister[S] {
	return &memPersister[S]{threads: map[string]*memThread[S]{}}
}

func notFound(what string, args ...any) error {
	return fmt.Errorf("weft: %s: %w", fmt.Sprintf(what, args...), checkpoint.ErrNotFound)
}

func (p *memPersister[S]) thread(_ context.Context, id string) (*checkpoint.Thread, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[id]
	if t == nil {
		return nil, notFound("thread %q", id)
	}
	row := t.row
	return &row, nil
}

func (p *memPersister[S]) snapshot(_ context.Context, thread, ns, id string) (*snap[S], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[thread]
	if t == nil {
		return nil, notFound("thread %q", thread)
	}
	if id == "" && ns == "" {
		id = t.row.Head
	}
	for i := len(t.cps) - 1; i >= 0; i-- {
		s := t.cps[i]
		if s.cp.Namespace == ns && (id == "" || s.cp.ID == id) {
			c := *s
			return &c, nil
		}
	}
	return nil, notFound("thread %q: checkpoint %q in namespace %q", thread, id, ns)
}

func (p *memPersister[S]) commit(_ context.Context, c *commit[S]) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sc := &c.c
	t := p.threads[sc.Thread.ID]
	switch {
	case t == nil && sc.ExpectedVersion == 0:
		t = &memThread[S]{cps: make([]*snap[S], 0, 8), steps: make([]checkpoint.Step, 0, 16)}
		t.row.CreatedAt = sc.At
	case t == nil || t.row.Version != sc.ExpectedVersion:
		return 0, fmt.Errorf("weft: thread %q: %w", sc.Thread.ID, checkpoint.ErrConflict)
	}
	created := t.row.CreatedAt
	t.row = sc.Thread
	t.row.Version = sc.ExpectedVersion + 1
	t.row.CreatedAt, t.row.UpdatedAt = created, sc.At
	p.threads[sc.Thread.ID] = t
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
		t.writes = slices.DeleteFunc(t.writes, func(w write[S]) bool { return w.ns == cp.Namespace && w.cpID == cp.ParentID })
	}
	for _, w := range c.writes {
		t.putWrite(w)
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

func (t *memThread[S]) putWrite(w write[S]) {
	for i := range t.writes {
		x := &t.writes[i]
		if x.ns == w.ns && x.cpID == w.cpID && x.task == w.task && x.kind == w.kind && x.key == w.key {
			*x = w
			return
		}
	}
	t.writes = append(t.writes, w)
}

func (p *memPersister[S]) putWrites(_ context.Context, thread string, version int64, ws []write[S]) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[thread]
	if t == nil {
		return notFound("thread %q", thread)
	}
	if t.row.Version != version {
		return fmt.Errorf("weft: thread %q: %w", thread, checkpoint.ErrConflict)
	}
	for _, w := range ws {
		t.putWrite(w)
	}
	return nil
}

func (p *memPersister[S]) writes(_ context.Context, thread, ns, cpID string) ([]write[S], error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[thread]
	if t == nil {
		return nil, nil
	}
	var out []write[S]
	for _, w := range t.writes {
		if w.ns == ns && w.cpID == cpID {
			out = append(out, w)
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

func (p *memPersister[S]) history(_ context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[q.ThreadID]
	if t == nil {
		return nil, notFound("thread %q", q.ThreadID)
	}
	var out []checkpoint.Checkpoint
	for i := len(t.cps) - 1; i >= 0; i-- {
		cp := t.cps[i].cp
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

func (p *memPersister[S]) interrupts(_ context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	page := &checkpoint.InterruptPage{}
	for id, t := range p.threads {
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

func (p *memPersister[S]) answer(_ context.Context, as []checkpoint.Answer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var targets []*checkpoint.InterruptRecord
	for _, a := range as {
		var rec *checkpoint.InterruptRecord
		if t := p.threads[a.ThreadID]; t != nil {
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

func (p *memPersister[S]) steps(_ context.Context, thread string) ([]checkpoint.Step, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threads[thread]
	if t == nil {
		return nil, notFound("thread %q", thread)
	}
	return slices.Clone(t.steps), nil
}

func (p *memPersister[S]) deleteThread(_ context.Context, thread string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.threads[thread] == nil {
		return notFound("thread %q", thread)
	}
	delete(p.threads, thread)
	return nil
}
