package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var _ checkpoint.Outbox = (*Store)(nil)

// WithOutbox turns the store's outbox on: its commits, answers and
// reassignments record the events of checkpoint.Outbox, for a sender
// (package webhook) to deliver. Off by default.
func WithOutbox() Option {
	return func(s *Store) { s.outbox.on = true }
}

// outbox is the store's events, in the order recorded. The caller holds
// the store's lock.
type outbox struct {
	on     bool // the store records events with its writes
	events []event
	dedup  map[string]bool
}

type event struct {
	e          checkpoint.Event
	owner      string
	claimUntil time.Time
}

// OutboxEnabled reports whether the store records events (WithOutbox).
func (s *Store) OutboxEnabled() bool { return s.outbox.on }

// record records e, pending and due at, unless its Dedup key is taken.
// The caller holds the write lock.
func (s *Store) record(e checkpoint.Event, at time.Time) bool {
	if e.Dedup != "" {
		if s.outbox.dedup == nil {
			s.outbox.dedup = map[string]bool{}
		}
		if s.outbox.dedup[e.Dedup] {
			return false
		}
		s.outbox.dedup[e.Dedup] = true
	}
	e.ID = checkpoint.NewEventID()
	e.Status, e.Attempts, e.LastError, e.Done, e.DeliveredAt = checkpoint.EventPending, 0, "", nil, time.Time{}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = at
	}
	e.NextAttempt = at
	e.Assignees = slices.Clone(e.Assignees)
	s.outbox.events = append(s.outbox.events, event{e: e})
	return true
}

// emit records events about a change when the outbox is on. The caller
// holds the write lock.
func (s *Store) emit(es ...checkpoint.Event) {
	if !s.outbox.on {
		return
	}
	now := s.now()
	for _, e := range es {
		s.record(e, now)
	}
}

// AddEvent records e unless its Dedup key is recorded already.
func (s *Store) AddEvent(ctx context.Context, e *checkpoint.Event) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := e.Check(); err != nil {
		return false, fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.record(*e, s.now()), nil
}

// ClaimEvents claims due pending events for q.Owner.
func (s *Store) ClaimEvents(ctx context.Context, q *checkpoint.EventClaim) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Owner == "" {
		return nil, errors.New("memstore: ClaimEvents needs an owner")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var due []*event
	for i := range s.outbox.events {
		ev := &s.outbox.events[i]
		if ev.e.Status == checkpoint.EventPending && !ev.e.NextAttempt.After(now) && !ev.claimUntil.After(now) {
			due = append(due, ev)
		}
	}
	slices.SortStableFunc(due, func(a, b *event) int { return a.e.NextAttempt.Compare(b.e.NextAttempt) })
	if limit := max(q.Limit, 1); len(due) > limit {
		due = due[:limit]
	}
	out := make([]checkpoint.Event, len(due))
	for i, ev := range due {
		ev.owner, ev.claimUntil = q.Owner, now.Add(q.Lease)
		out[i] = cloneEvent(&ev.e)
	}
	return out, nil
}

// findEvent returns the event id, or nil. The caller holds the lock.
func (s *Store) findEvent(id string) *event {
	for i := range s.outbox.events {
		if s.outbox.events[i].e.ID == id {
			return &s.outbox.events[i]
		}
	}
	return nil
}

// DeliveredEvent marks an event delivered.
func (s *Store) DeliveredEvent(ctx context.Context, d *checkpoint.EventDone) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d == nil {
		return errors.New("memstore: DeliveredEvent without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.findEvent(d.ID)
	if ev == nil {
		return fmt.Errorf("memstore: event %q: %w", d.ID, checkpoint.ErrNotFound)
	}
	if ev.e.Status != checkpoint.EventDelivered {
		ev.e.Status, ev.e.DeliveredAt = checkpoint.EventDelivered, d.At
		ev.owner, ev.claimUntil = "", time.Time{}
	}
	return nil
}

// RetryEvent records a failed attempt of an event claimed by r.Owner.
func (s *Store) RetryEvent(ctx context.Context, r *checkpoint.EventRetry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("memstore: RetryEvent without arguments")
	}
	done := slices.Clone(r.Done)
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.findEvent(r.ID)
	switch {
	case ev == nil:
		return fmt.Errorf("memstore: event %q: %w", r.ID, checkpoint.ErrNotFound)
	case ev.e.Status != checkpoint.EventPending || ev.owner != r.Owner:
		return fmt.Errorf("memstore: event %q is %s, claimed by %q, not %q: %w", r.ID, ev.e.Status, ev.owner, r.Owner, checkpoint.ErrConflict)
	}
	ev.e.Attempts++
	ev.e.LastError, ev.e.Done = r.Error, done
	ev.owner, ev.claimUntil = "", time.Time{}
	if r.GiveUp {
		ev.e.Status = checkpoint.EventDead
	} else {
		ev.e.NextAttempt = r.At
	}
	return nil
}

// Events lists events matching q in the order recorded.
func (s *Store) Events(ctx context.Context, q *checkpoint.EventQuery) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.EventQuery{}
	}
	limit := checkpoint.PageLimit(q.Limit)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []checkpoint.Event
	for i := range s.outbox.events {
		e := &s.outbox.events[i].e
		if (q.ThreadID != "" && e.ThreadID != q.ThreadID) || (q.Type != "" && e.Type != q.Type) || (q.Status != "" && e.Status != q.Status) {
			continue
		}
		out = append(out, cloneEvent(e))
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// PruneEvents removes delivered and dead events created before p.Before,
// keeping the newest event.
func (s *Store) PruneEvents(ctx context.Context, p *checkpoint.EventPrune) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, errors.New("memstore: PruneEvents without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.outbox.events) == 0 {
		return 0, nil
	}
	last := len(s.outbox.events) - 1
	n := 0
	kept := s.outbox.events[:0]
	for i, ev := range s.outbox.events {
		if i != last && ev.e.Status != checkpoint.EventPending && ev.e.CreatedAt.Before(p.Before) {
			n++
			continue
		}
		kept = append(kept, ev)
	}
	clear(s.outbox.events[len(kept):])
	s.outbox.events = kept
	return n, nil
}

func cloneEvent(e *checkpoint.Event) checkpoint.Event {
	out := *e
	out.Assignees = slices.Clone(e.Assignees)
	out.Done = slices.Clone(e.Done)
	return out
}
