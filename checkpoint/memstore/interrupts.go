package memstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

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
	// after is the position of the cursor, as the record it names.
	var after *checkpoint.InterruptRecord
	c, err := q.Cursor()
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	if c != nil {
		after = &checkpoint.InterruptRecord{CreatedAt: c.CreatedAt, ID: c.ID, ThreadID: c.ThreadID}
	}
	limit := checkpoint.PageLimit(q.Limit)

	s.mu.RLock()
	defer s.mu.RUnlock()
	// match keeps the first limit+1 matches in order (one more than the
	// page tells whether there is a next page), so a page costs one pass
	// over the interrupts and no sort of all the matches.
	var room [8]*checkpoint.InterruptRecord
	match := room[:0]
	scan := func(t *thread) {
		for i := range t.interrupts {
			r := &t.interrupts[i]
			if !matches(q, r) || (after != nil && compareInterrupts(r, after) <= 0) {
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
	switch {
	case q.ThreadID != "":
		if t := s.threads[q.ThreadID]; t != nil {
			scan(t)
		}
	case q.Status == checkpoint.InterruptPending:
		// The inbox's query: walk the index of pending questions, which is
		// in page order, and stop once the page (and one more) is full.
		s.inbox.walk(s.threads, after, func(r *checkpoint.InterruptRecord) bool {
			if matches(q, r) {
				match = append(match, r)
			}
			return len(match) <= limit
		})
	default:
		for _, t := range s.threads {
			scan(t)
		}
	}
	var next string
	if len(match) > limit {
		match = match[:limit]
		next = checkpoint.CursorAfter(match[limit-1]).String()
	}
	var page *checkpoint.InterruptPage
	switch len(match) {
	case 0:
		page = &checkpoint.InterruptPage{}
	case 1: // a thread's one question: the page and it in one allocation
		one := new(pageOfOne)
		one.page.Interrupts = one.rec[:]
		page = &one.page
	default:
		page = &checkpoint.InterruptPage{Interrupts: make([]checkpoint.InterruptRecord, len(match))}
	}
	page.Next = next
	for i, r := range match {
		page.Interrupts[i] = cloneInterrupt(r)
	}
	return page, nil
}

// pageOfOne is a page of one interrupt.
type pageOfOne struct {
	page checkpoint.InterruptPage
	rec  [1]checkpoint.InterruptRecord
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

// Answer records answers to one thread's questions, all or none, and
// makes the thread ready (or claims it).
func (s *Store) Answer(ctx context.Context, a *checkpoint.AnswerRequest) (*checkpoint.AnswerResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errors.New("memstore: Answer without arguments")
	}
	// Copy the values before taking the lock, in one array.
	size := 0
	for i := range a.Answers {
		size += len(a.Answers[i].Value)
	}
	buf := s.chunks.bytes(size)
	values := make([]json.RawMessage, len(a.Answers))
	for i := range a.Answers {
		values[i], buf = carve(buf, a.Answers[i].Value)
	}
	writes := cloneWrites(a.Writes)

	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.threads[a.ThreadID]
	if t == nil {
		return nil, threadNotFound(a.ThreadID)
	}
	var stack [8]*checkpoint.InterruptRecord
	recs := stack[:0]
	for _, ans := range a.Answers {
		if ans.ThreadID != "" && ans.ThreadID != a.ThreadID {
			return nil, fmt.Errorf("memstore: answer to interrupt %q of thread %q in a request for thread %q", ans.InterruptID, ans.ThreadID, a.ThreadID)
		}
		r, err := s.pending(a.ThreadID, ans.InterruptID)
		if err != nil {
			return nil, err
		}
		if r.CheckpointID != t.row.Head {
			return nil, fmt.Errorf("memstore: thread %q: interrupt %q belongs to checkpoint %s, the thread is at %s: %w",
				a.ThreadID, ans.InterruptID, r.CheckpointID, t.row.Head, checkpoint.ErrAlreadyAnswered)
		}
		if slices.Contains(recs, r) {
			return nil, fmt.Errorf("memstore: thread %q: interrupt %q answered twice in one call: %w", a.ThreadID, ans.InterruptID, checkpoint.ErrAlreadyAnswered)
		}
		recs = append(recs, r)
	}
	defer s.inbox.gone(len(recs), s.threads)
	for i, r := range recs {
		ans := &a.Answers[i]
		r.Status = checkpoint.InterruptAnswered
		r.Answer = values[i]
		r.Author, r.Channel, r.AnsweredAt = ans.Author, ans.Channel, ans.At
		if s.outbox.on {
			e := checkpoint.QuestionEvent(checkpoint.EventQuestionAnswered, r)
			e.Author, e.Channel = ans.Author, ans.Channel
			s.emit(e)
		}
	}
	t.putWrites(writes)
	res := &checkpoint.AnswerResult{}
	switch {
	case a.Claim != nil && s.claimable(t):
		s.claim(t, a.Claim.Owner, a.Claim.Lease)
		res.Claimed = true
	case len(recs) > 0 && t.row.Status == checkpoint.StatusInterrupted:
		t.row.Status = checkpoint.StatusReady
		t.row.Version++
		t.row.UpdatedAt = s.now()
	}
	res.Thread = t.row
	return res, nil
}

// pending returns the stored interrupt, which must exist and be pending.
// The caller holds the write lock.
func (s *Store) pending(threadID, id string) (*checkpoint.InterruptRecord, error) {
	t := s.threads[threadID]
	if t == nil {
		return nil, fmt.Errorf("memstore: interrupt %q: %w", id, threadNotFound(threadID))
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
	if !rec.Deadline.Equal(r.ExpectedDeadline) {
		return fmt.Errorf("memstore: thread %q: interrupt %q has deadline %v, not %v: %w",
			r.ThreadID, r.InterruptID, rec.Deadline, r.ExpectedDeadline, checkpoint.ErrConflict)
	}
	rec.Assignees, rec.Deadline, rec.Fallback, rec.FallbackAt, rec.EscalateTo = scratch.Assignees, r.Deadline, scratch.Fallback, r.FallbackAt, scratch.EscalateTo
	if s.outbox.on {
		s.emit(checkpoint.QuestionEvent(checkpoint.EventQuestionEscalated, rec))
	}
	return nil
}

// cloneInterrupt deep-copies r: its JSON fields share one new byte array
// and its string lists one new string array.
func cloneInterrupt(r *checkpoint.InterruptRecord) checkpoint.InterruptRecord {
	out := *r
	// make of no room allocates nothing.
	buf := make([]byte, 0, len(r.Value)+len(r.Schema)+len(r.Fallback)+len(r.Answer))
	out.Value, buf = carve(buf, r.Value)
	out.Schema, buf = carve(buf, r.Schema)
	out.Fallback, buf = carve(buf, r.Fallback)
	out.Answer, _ = carve(buf, r.Answer)
	strs := make([]string, 0, len(r.Assignees)+len(r.EscalateTo))
	out.Assignees, strs = carve(strs, r.Assignees)
	out.EscalateTo, _ = carve(strs, r.EscalateTo)
	return out
}
