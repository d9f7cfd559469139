package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Interrupts lists interrupts matching q, ordered by CreatedAt, then ID,
// then ThreadID.
func (s *Store) Interrupts(ctx context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.InterruptQuery{}
	}
	var after *cursor
	if q.After != "" {
		c, err := parseCursor(q.After)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	limit := pageLimit(q.Limit)

	s.mu.RLock()
	defer s.mu.RUnlock()
	// match keeps the first limit+1 matches in order (one more than the
	// page tells whether there is a next page), so a page costs one pass
	// over the interrupts and no sort of all the matches.
	var match []*checkpoint.InterruptRecord
	scan := func(t *thread) {
		for i := range t.interrupts {
			r := &t.interrupts[i]
			if !matches(q, r) || (after != nil && after.compare(r) >= 0) {
				continue
			}
			if len(match) > limit && compareInterrupts(r, match[limit]) >= 0 {
				continue
			}
			j, _ := slices.BinarySearchFunc(match, r, compareInterrupts)
			if len(match) > limit {
				match = match[:limit]
			}
			match = slices.Insert(match, j, r)
		}
	}
	if q.ThreadID != "" {
		if t := s.threads[q.ThreadID]; t != nil {
			scan(t)
		}
	} else {
		for _, t := range s.threads {
			scan(t)
		}
	}
	page := &checkpoint.InterruptPage{}
	if len(match) > limit {
		match = match[:limit]
		page.Next = formatCursor(match[limit-1])
	}
	if len(match) > 0 {
		page.Interrupts = make([]checkpoint.InterruptRecord, len(match))
		for i, r := range match {
			page.Interrupts[i] = cloneInterrupt(r)
		}
	}
	return page, nil
}

func matches(q *checkpoint.InterruptQuery, r *checkpoint.InterruptRecord) bool {
	if (q.ID != "" && r.ID != q.ID) ||
		(q.ThreadID != "" && r.ThreadID != q.ThreadID) ||
		(q.CheckpointID != "" && r.CheckpointID != q.CheckpointID) ||
		(q.Workflow != "" && r.Workflow != q.Workflow) ||
		(q.Node != "" && r.Node != q.Node) ||
		(q.Status != "" && r.Status != q.Status) ||
		(!q.CreatedBefore.IsZero() && !r.CreatedAt.Before(q.CreatedBefore)) ||
		(!q.DueBefore.IsZero() && (r.Deadline.IsZero() || r.Deadline.After(q.DueBefore))) {
		return false
	}
	if len(q.Assignees) > 0 {
		for _, a := range q.Assignees {
			if slices.Contains(r.Assignees, a) {
				return true
			}
		}
		return false
	}
	return true
}

func compareInterrupts(a, b *checkpoint.InterruptRecord) int {
	return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID), cmp.Compare(a.ThreadID, b.ThreadID))
}

// cursor is the position of the last interrupt of a page.
type cursor struct {
	createdAt    time.Time
	id, threadID string
}

func (c *cursor) compare(r *checkpoint.InterruptRecord) int {
	return cmp.Or(c.createdAt.Compare(r.CreatedAt), cmp.Compare(c.id, r.ID), cmp.Compare(c.threadID, r.ThreadID))
}

func formatCursor(r *checkpoint.InterruptRecord) string { return checkpoint.CursorAfter(r).String() }

func parseCursor(s string) (cursor, error) {
	c, err := checkpoint.ParseInterruptCursor(s)
	if err != nil {
		return cursor{}, fmt.Errorf("memstore: %w", err)
	}
	return cursor{createdAt: c.CreatedAt, id: c.ID, threadID: c.ThreadID}, nil
}

// Answer records answers, all or none.
func (s *Store) Answer(ctx context.Context, answers []checkpoint.Answer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(answers) == 0 {
		return nil
	}
	// Copy the values before taking the lock, in one array.
	size := 0
	for i := range answers {
		size += len(answers[i].Value)
	}
	buf := make([]byte, 0, size)
	values := make([]json.RawMessage, len(answers))
	for i := range answers {
		values[i], buf = carve(buf, answers[i].Value)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var stack [8]*checkpoint.InterruptRecord
	recs := stack[:0]
	for _, a := range answers {
		r, err := s.pending(a.ThreadID, a.InterruptID)
		if err != nil {
			return err
		}
		if slices.Contains(recs, r) {
			return fmt.Errorf("memstore: thread %q: interrupt %q answered twice in one call: %w", a.ThreadID, a.InterruptID, checkpoint.ErrAlreadyAnswered)
		}
		recs = append(recs, r)
	}
	for i, r := range recs {
		a := &answers[i]
		r.Status = checkpoint.InterruptAnswered
		r.Answer = values[i]
		r.Author, r.Channel, r.AnsweredAt = a.Author, a.Channel, a.At
	}
	return nil
}

// pending returns the stored interrupt, which must exist and be pending.
// The caller holds the write lock.
func (s *Store) pending(threadID, id string) (*checkpoint.InterruptRecord, error) {
	t := s.threads[threadID]
	if t == nil {
		return nil, fmt.Errorf("memstore: interrupt %q: %w", id, notFoundThread(threadID))
	}
	r := t.interrupt(id)
	if r == nil {
		return nil, fmt.Errorf("memstore: thread %q: interrupt %q: %w", threadID, id, checkpoint.ErrNotFound)
	}
	if r.Status != checkpoint.InterruptPending {
		return nil, fmt.Errorf("memstore: thread %q: interrupt %q is %s: %w", threadID, id, r.Status, checkpoint.ErrAlreadyAnswered)
	}
	return r, nil
}

// Reassign changes the assignees, deadline, fallback and escalation of a
// pending interrupt.
func (s *Store) Reassign(ctx context.Context, r *checkpoint.Reassign) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("memstore: Reassign without arguments")
	}
	// Build the new values in a scratch record so they are copied once.
	scratch := cloneInterrupt(&checkpoint.InterruptRecord{Assignees: r.Assignees, Fallback: r.Fallback, EscalateTo: r.EscalateTo})
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.pending(r.ThreadID, r.InterruptID)
	if err != nil {
		return err
	}
	rec.Assignees, rec.Deadline, rec.Fallback, rec.EscalateTo = scratch.Assignees, r.Deadline, scratch.Fallback, scratch.EscalateTo
	return nil
}

// cloneInterrupt deep-copies r: its JSON fields share one new byte array
// and its string lists one new string array.
func cloneInterrupt(r *checkpoint.InterruptRecord) checkpoint.InterruptRecord {
	out := *r
	if n := len(r.Value) + len(r.Schema) + len(r.Fallback) + len(r.Answer); n > 0 {
		buf := make([]byte, 0, n)
		out.Value, buf = carve(buf, r.Value)
		out.Schema, buf = carve(buf, r.Schema)
		out.Fallback, buf = carve(buf, r.Fallback)
		out.Answer, _ = carve(buf, r.Answer)
	} else {
		out.Value, out.Schema, out.Fallback, out.Answer = r.Value[:0:0], r.Schema[:0:0], r.Fallback[:0:0], r.Answer[:0:0]
	}
	if n := len(r.Assignees) + len(r.EscalateTo); n > 0 {
		buf := make([]string, 0, n)
		out.Assignees, buf = carveStrings(buf, r.Assignees)
		out.EscalateTo, _ = carveStrings(buf, r.EscalateTo)
	} else {
		out.Assignees, out.EscalateTo = r.Assignees[:0:0], r.EscalateTo[:0:0]
	}
	return out
}

// carveStrings is carve for string slices.
func carveStrings(buf, s []string) ([]string, []string) {
	if len(s) == 0 {
		return s[:0:0], buf
	}
	start := len(buf)
	buf = append(buf, s...)
	return buf[start:len(buf):len(buf)], buf
}
