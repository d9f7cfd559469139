package memstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// claimable reports whether t may be claimed: it does not run, or runs on
// a lapsed lease. The caller holds the write lock.
func (s *Store) claimable(t *thread) bool {
	return t.row.Status != checkpoint.StatusRunning || !t.row.LeaseUntil.After(s.now())
}

// claim claims t for owner. The caller holds the write lock.
func (s *Store) claim(t *thread, owner string, d time.Duration) {
	now := s.now()
	t.row.Status = checkpoint.StatusRunning
	t.row.Owner, t.row.LeaseUntil = owner, now.Add(d)
	t.row.Epoch++
	t.row.Version++
	t.row.UpdatedAt = now
}

// Claim claims a thread for c.Owner if it is at c.ExpectedVersion and not
// running on a live lease.
func (s *Store) Claim(ctx context.Context, c *checkpoint.Claim) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("memstore: Claim without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[c.ThreadID]
	switch {
	case t == nil:
		return nil, threadNotFound(c.ThreadID)
	case t.row.Version != c.ExpectedVersion:
		return nil, fmt.Errorf("memstore: thread %q is at version %d, the claim expected %d: %w", c.ThreadID, t.row.Version, c.ExpectedVersion, checkpoint.ErrConflict)
	case !s.claimable(t):
		return nil, fmt.Errorf("memstore: thread %q runs in %q until %v: %w", c.ThreadID, t.row.Owner, t.row.LeaseUntil, checkpoint.ErrConflict)
	}
	s.claim(t, c.Owner, c.Lease)
	row := t.row
	return &row, nil
}

// ClaimReady claims threads that wait for someone to run them, oldest
// first.
func (s *Store) ClaimReady(ctx context.Context, q *checkpoint.ClaimReady) ([]checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("memstore: ClaimReady without arguments")
	}
	limit := max(q.Limit, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var ready []*thread
	for _, t := range s.threads {
		r := &t.row
		if !slices.Contains(q.Workflows, r.Workflow) {
			continue
		}
		if r.Status == checkpoint.StatusReady || (r.Status == checkpoint.StatusRunning && !r.LeaseUntil.After(now)) {
			ready = append(ready, t)
		}
	}
	slices.SortFunc(ready, func(a, b *thread) int {
		return cmp.Or(a.row.UpdatedAt.Compare(b.row.UpdatedAt), cmp.Compare(a.row.ID, b.row.ID))
	})
	if len(ready) > limit {
		ready = ready[:limit]
	}
	out := make([]checkpoint.Thread, len(ready))
	for i, t := range ready {
		takeover := t.row.Status == checkpoint.StatusRunning
		s.claim(t, q.Owner, q.Lease)
		out[i] = t.row
		out[i].TakenOver = takeover
	}
	return out, nil
}

// Heartbeat renews h.Owner's claims on h.Threads.
func (s *Store) Heartbeat(ctx context.Context, h *checkpoint.Heartbeat) (*checkpoint.Beat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("memstore: Heartbeat without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	until := s.now().Add(h.Lease)
	beat := &checkpoint.Beat{}
	for _, id := range h.Threads {
		t := s.threads[id]
		if t == nil || t.row.Status != checkpoint.StatusRunning || t.row.Owner != h.Owner || slices.Contains(beat.Held, id) {
			continue
		}
		t.row.LeaseUntil = until
		beat.Held = append(beat.Held, id)
		if !t.row.StopRequested.IsZero() {
			beat.Stop = append(beat.Stop, id)
		}
	}
	return beat, nil
}

// RequestStop asks a thread to stop.
func (s *Store) RequestStop(ctx context.Context, r *checkpoint.StopRequest) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("memstore: RequestStop without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[r.ThreadID]
	if t == nil {
		return nil, threadNotFound(r.ThreadID)
	}
	switch t.row.Status {
	case checkpoint.StatusRunning:
		if t.row.StopRequested.IsZero() {
			t.row.StopRequested = r.At
		}
	case checkpoint.StatusReady:
		t.row.Status = checkpoint.StatusStopped
		t.row.Version++
		t.row.UpdatedAt = r.At
	}
	row := t.row
	return &row, nil
}

// Lease takes, renews or gives up a named lease.
func (s *Store) Lease(ctx context.Context, l *checkpoint.Lease) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if l == nil || l.Name == "" || l.Owner == "" {
		return false, errors.New("memstore: Lease needs a name and an owner")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	cur, held := s.leases[l.Name]
	free := !held || !cur.until.After(now) || cur.owner == l.Owner
	switch {
	case l.Release:
		if held && cur.owner == l.Owner {
			delete(s.leases, l.Name)
		}
		return false, nil
	case !free:
		return false, nil
	}
	s.leases[l.Name] = lease{owner: l.Owner, until: now.Add(l.TTL)}
	return true, nil
}
