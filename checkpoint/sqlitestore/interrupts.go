package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

const interruptCols = `thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index,
	reason, value, answer_schema, assignees, deadline, fallback, escalate_to, status, answer, author, channel,
	answered_at, created_at, note, fallback_at`

// The statements of Answer and Reassign: compare-and-sets on the status
// (and, for Reassign, the deadline).
const (
	qAnswer = `UPDATE interrupts SET status = 'answered', answer = ?, author = ?, channel = ?, answered_at = ?
		WHERE thread_id = ? AND id = ? AND status = 'pending'`
	qReassign = `UPDATE interrupts SET assignees = ?, deadline = ?, fallback = ?, fallback_at = ?, escalate_to = ?
		WHERE thread_id = ? AND id = ? AND status = 'pending' AND deadline IS ?`
	qInterruptStatus = `SELECT status FROM interrupts WHERE thread_id = ? AND id = ?`
	qInterruptState  = `SELECT status, checkpoint_id, deadline FROM interrupts WHERE thread_id = ? AND id = ?`
)

// interruptColsOf is interruptCols qualified with the alias "i".
var interruptColsOf = func() string {
	cols := strings.Split(interruptCols, ",")
	for i, c := range cols {
		cols[i] = "i." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// interruptArgs encodes the interrupts a commit of thread id at time at
// inserts: the arguments of qInsertInterrupt for each.
func interruptArgs(id string, at time.Time, recs []checkpoint.InterruptRecord) ([][]any, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	out := make([][]any, len(recs))
	for i := range recs {
		r := &recs[i]
		status := r.Status
		if status == "" {
			status = checkpoint.InterruptPending
		}
		created := r.CreatedAt
		if created.IsZero() {
			created = at
		}
		assignees, err1 := encodeStrings(r.Assignees)
		escalate, err2 := encodeStrings(r.EscalateTo)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", id, r.ID, err)
		}
		out[i] = []any{id, r.ID, r.Workflow, r.CheckpointID, r.Namespace, r.Node, r.Task, r.Kind, r.Key, r.Index,
			r.Reason, bytesArg(r.Value), bytesArg(r.Schema), assignees, encodeOptionalTime(r.Deadline),
			bytesArg(r.Fallback), escalate, string(status), bytesArg(r.Answer), r.Author, r.Channel,
			encodeOptionalTime(r.AnsweredAt), encodeTime(created), r.Note, encodeOptionalTime(r.FallbackAt)}
	}
	return out, nil
}

func scanInterrupt(sc scanner) (checkpoint.InterruptRecord, error) {
	var r checkpoint.InterruptRecord
	var index, deadline, answeredAt, createdAt, fallbackAt intCol
	var assignees, escalate []byte
	var status string
	var value, schema, fallback, answer []byte
	if err := sc.Scan(&r.ThreadID, &r.ID, &r.Workflow, &r.CheckpointID, &r.Namespace, &r.Node, &r.Task, &r.Kind,
		&r.Key, &index, &r.Reason, &value, &schema, &assignees, &deadline, &fallback, &escalate, &status,
		&answer, &r.Author, &r.Channel, &answeredAt, &createdAt, &r.Note, &fallbackAt); err != nil {
		return r, err
	}
	var d decoder
	r.Index = int(d.int("call_index", index))
	r.Value, r.Schema, r.Fallback, r.Answer = value, schema, fallback, answer
	r.Assignees = d.strings("assignees", assignees)
	r.Deadline = d.time("deadline", deadline)
	r.EscalateTo = d.strings("escalate_to", escalate)
	r.Status = checkpoint.InterruptStatus(status)
	r.AnsweredAt = d.time("answered_at", answeredAt)
	r.CreatedAt = d.time("created_at", createdAt)
	r.FallbackAt = d.time("fallback_at", fallbackAt)
	if d.err != nil {
		return r, corrupt(fmt.Sprintf("thread %q: interrupt %q", r.ThreadID, r.ID), d.err)
	}
	return r, nil
}

// maxMergedAssignees bounds the assignees whose inboxes Interrupts merges
// (one SELECT each in a compound query); with more it filters and sorts.
const maxMergedAssignees = 50

// sqlBuilder collects the text and arguments of one query.
type sqlBuilder struct {
	strings.Builder
	args []any
}

func (b *sqlBuilder) add(text string, args ...any) {
	b.WriteString(text)
	b.args = append(b.args, args...)
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// interruptsQuery builds the query of Interrupts: the interrupts matching q
// after the cursor, ordered by (created_at, id, thread_id), at most limit.
// Every shape it builds is listed here with the index that serves it;
// TestInboxQueryPlans checks them with EXPLAIN QUERY PLAN.
//
// The inbox (a status; a workflow or a node, an age or a deadline, maybe)
// reads an index in order and stops after limit rows, however many
// interrupts are stored:
//
//	SELECT i.* FROM interrupts i
//	WHERE i.status = ? [AND i.workflow = ?] [AND i.node = ?] [AND i.created_at < ?]
//	  [AND (i.created_at, i.id, i.thread_id) > (?, ?, ?)]
//	ORDER BY i.created_at, i.id, i.thread_id LIMIT ?
//
// uses interrupts_inbox (status, created_at, id, thread_id), or with a
// workflow interrupts_inbox_workflow (status, workflow, created_at, id,
// thread_id); no sort. With a deadline (AND i.deadline <= ?) it reads
// interrupts_due instead and sorts the few due interrupts it finds.
//
// The inbox of assignees (one status) merges the ranges of
// interrupt_assignees (assignee, status, created_at, interrupt_id,
// thread_id), one per assignee, each already in inbox order; UNION drops an
// interrupt assigned to two of them the second time:
//
//	SELECT i.* FROM (
//	    SELECT a.created_at, a.interrupt_id, a.thread_id FROM interrupt_assignees a
//	    [CROSS JOIN interrupts i ON i.thread_id = a.thread_id AND i.id = a.interrupt_id]
//	    WHERE a.assignee = ? AND a.status = ? [AND a.created_at < ?]
//	      [AND (a.created_at, a.interrupt_id, a.thread_id) > (?, ?, ?)] [AND i.workflow = ? ...]
//	  UNION
//	    ... the same for the next assignee ...
//	  ORDER BY 1, 2, 3 LIMIT ?
//	) k CROSS JOIN interrupts i ON i.thread_id = k.thread_id AND i.id = k.interrupt_id
//	ORDER BY k.created_at, k.interrupt_id, k.thread_id
//
// The interrupts of one thread are read from the primary key (thread_id,
// id) and sorted. Queries without a status, and those with more than
// maxMergedAssignees assignees, filter and sort.
func interruptsQuery(q *checkpoint.InterruptQuery, after *checkpoint.InterruptCursor, limit int) (string, []any) {
	assignees := slices.Compact(slices.Sorted(slices.Values(q.Assignees)))
	b := &sqlBuilder{}
	if q.ThreadID == "" && q.Status != "" && len(assignees) > 0 && len(assignees) <= maxMergedAssignees {
		// join: filters that only the interrupts row can check.
		join := q.Workflow != "" || q.Node != "" || q.CheckpointID != "" || !q.DueBefore.IsZero()
		b.add(`SELECT ` + interruptColsOf + ` FROM (`)
		for n, a := range assignees {
			if n > 0 {
				b.add(` UNION `)
			}
			b.add(`SELECT a.created_at, a.interrupt_id, a.thread_id FROM interrupt_assignees a`)
			if join {
				b.add(` CROSS JOIN interrupts i ON i.thread_id = a.thread_id AND i.id = a.interrupt_id`)
			}
			b.add(` WHERE a.assignee = ? AND a.status = ?`, a, string(q.Status))
			if q.ID != "" {
				b.add(` AND a.interrupt_id = ?`, q.ID)
			}
			if !q.CreatedBefore.IsZero() {
				b.add(` AND a.created_at < ?`, encodeTime(q.CreatedBefore))
			}
			if after != nil {
				b.add(` AND (a.created_at, a.interrupt_id, a.thread_id) > (?, ?, ?)`, encodeTime(after.CreatedAt), after.ID, after.ThreadID)
			}
			if join {
				rowFilters(b, q, false)
			}
		}
		b.add(` ORDER BY 1, 2, 3 LIMIT ?) k CROSS JOIN interrupts i ON i.thread_id = k.thread_id AND i.id = k.interrupt_id
			ORDER BY k.created_at, k.interrupt_id, k.thread_id`, limit)
		return b.String(), b.args
	}

	b.add(`SELECT ` + interruptColsOf + ` FROM interrupts i`)
	switch {
	case q.ThreadID != "":
		// The thread's interrupts from the primary key; the unary + keeps
		// the planner off the inbox indexes, which would scan every
		// thread's interrupts to skip a sort of this thread's few.
		b.add(` WHERE i.thread_id = ?`, q.ThreadID)
		if q.Status != "" {
			b.add(` AND +i.status = ?`, string(q.Status))
		}
	case q.Status != "" && !q.DueBefore.IsZero():
		// The due interrupts are few; reading them all and sorting beats
		// scanning the whole inbox for them.
		b.add(` INDEXED BY interrupts_due WHERE i.status = ?`, string(q.Status))
	case q.Status != "":
		b.add(` WHERE i.status = ?`, string(q.Status))
	default:
		b.add(` WHERE 1`)
	}
	if q.ID != "" {
		b.add(` AND i.id = ?`, q.ID)
	}
	if !q.CreatedBefore.IsZero() {
		b.add(` AND i.created_at < ?`, encodeTime(q.CreatedBefore))
	}
	rowFilters(b, q, q.ThreadID != "")
	if len(assignees) > 0 {
		b.add(` AND EXISTS (SELECT 1 FROM interrupt_assignees a WHERE a.thread_id = i.thread_id
			AND a.interrupt_id = i.id AND a.assignee IN (`+placeholders(len(assignees))+`))`, toArgs(assignees)...)
	}
	if after != nil {
		b.add(` AND (i.created_at, i.id, i.thread_id) > (?, ?, ?)`, encodeTime(after.CreatedAt), after.ID, after.ThreadID)
	}
	b.add(` ORDER BY i.created_at, i.id, i.thread_id LIMIT ?`, limit)
	return b.String(), b.args
}

// rowFilters adds the filters on interrupts i that no index of the query
// serves (but the workflow, which interrupts_inbox_workflow serves unless
// noIndex).
func rowFilters(b *sqlBuilder, q *checkpoint.InterruptQuery, noIndex bool) {
	if q.Workflow != "" {
		if noIndex {
			b.add(` AND +i.workflow = ?`, q.Workflow)
		} else {
			b.add(` AND i.workflow = ?`, q.Workflow)
		}
	}
	if q.Node != "" {
		b.add(` AND i.node = ?`, q.Node)
	}
	if q.CheckpointID != "" {
		b.add(` AND i.checkpoint_id = ?`, q.CheckpointID)
	}
	if !q.DueBefore.IsZero() {
		b.add(` AND i.deadline <= ?`, encodeTime(q.DueBefore))
	}
}

func toArgs(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// Interrupts lists interrupts matching q, ordered by CreatedAt, then ID,
// then ThreadID. An inbox page (a status, with or without a workflow, node,
// age or assignees) is read from an index in that order; see "The inbox" in
// the package documentation.
func (s *Store) Interrupts(ctx context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.InterruptQuery{}
	}
	after, err := q.Cursor()
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	limit := checkpoint.PageLimit(q.Limit)
	query, args := interruptsQuery(q, after, limit+1)
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: interrupts: %w", err)
	}
	defer rows.Close()
	page := &checkpoint.InterruptPage{}
	for rows.Next() {
		r, err := scanInterrupt(rows)
		if err != nil {
			if errors.Is(err, checkpoint.ErrCorrupt) {
				return nil, err
			}
			return nil, fmt.Errorf("sqlitestore: interrupts: %w", err)
		}
		page.Interrupts = append(page.Interrupts, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: interrupts: %w", err)
	}
	if len(page.Interrupts) > limit {
		page.Interrupts = page.Interrupts[:limit]
		page.Next = checkpoint.CursorAfter(&page.Interrupts[limit-1]).String()
	}
	return page, nil
}

// Answer records answers to one thread's questions, all or none, with
// a.Writes, and makes the thread ready (or claims it for a.Claim), in one
// write transaction: it reads the thread and each interrupt, and fails
// before it writes anything if one of them is not as the contract wants.
// The transaction holds the file's write lock, so of two concurrent answers
// to one question the second sees it answered.
func (s *Store) Answer(ctx context.Context, a *checkpoint.AnswerRequest) (*checkpoint.AnswerResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errors.New("sqlitestore: Answer without arguments")
	}
	id := a.ThreadID
	res := &checkpoint.AnswerResult{}
	err := s.writeTx(ctx, func(tx txn) error {
		th, err := threadTx(ctx, tx, id)
		if err != nil {
			return err
		}
		for i := range a.Answers {
			ans := &a.Answers[i]
			if ans.ThreadID != "" && ans.ThreadID != id {
				return fmt.Errorf("sqlitestore: answer to interrupt %q of thread %q in a request for thread %q", ans.InterruptID, ans.ThreadID, id)
			}
			var status, cpID string
			var deadline intCol
			err := tx.QueryRowContext(ctx, qInterruptState, id, ans.InterruptID).Scan(&status, &cpID, &deadline)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", id, ans.InterruptID, checkpoint.ErrNotFound)
			case err != nil:
				return fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", id, ans.InterruptID, err)
			case status != string(checkpoint.InterruptPending):
				return fmt.Errorf("sqlitestore: thread %q: interrupt %q is %s: %w", id, ans.InterruptID, status, checkpoint.ErrAlreadyAnswered)
			case cpID != th.Head:
				return fmt.Errorf("sqlitestore: thread %q: interrupt %q belongs to checkpoint %s, the thread is at %s: %w",
					id, ans.InterruptID, cpID, th.Head, checkpoint.ErrAlreadyAnswered)
			}
			for _, b := range a.Answers[:i] {
				if b.InterruptID == ans.InterruptID {
					return fmt.Errorf("sqlitestore: thread %q: interrupt %q answered twice in one call: %w", id, ans.InterruptID, checkpoint.ErrAlreadyAnswered)
				}
			}
		}
		for i := range a.Answers {
			ans := &a.Answers[i]
			r, err := tx.exec(ctx, qAnswer, bytesArg(ans.Value), ans.Author, ans.Channel, encodeOptionalTime(ans.At), id, ans.InterruptID)
			if err != nil {
				return fmt.Errorf("sqlitestore: thread %q: answer interrupt %q: %w", id, ans.InterruptID, err)
			}
			if n, err := r.RowsAffected(); err != nil || n != 1 {
				// Cannot happen while this transaction holds the write
				// lock: the interrupt was pending above.
				return notPending(ctx, tx, id, ans.InterruptID)
			}
			if err := s.recordQuestion(ctx, tx, checkpoint.EventQuestionAnswered, id, ans.InterruptID, ans.Author, ans.Channel); err != nil {
				return err
			}
		}
		if err := putWrites(ctx, tx, id, a.Writes); err != nil {
			return err
		}
		now := s.now()
		switch {
		case a.Claim != nil && claimable(th, now):
			if th, err = claimThread(ctx, tx, id, a.Claim.Owner, a.Claim.Lease, now); err != nil {
				return err
			}
			res.Claimed = true
		case len(a.Answers) > 0 && th.Status == checkpoint.StatusInterrupted:
			if th, err = scanThreadRow(tx.QueryRowContext(ctx, qReadyThread, encodeTime(now), id), id); err != nil {
				return err
			}
		}
		res.Thread = *th
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// notPending says why a conditional update of a pending interrupt changed
// nothing: ErrNotFound or ErrAlreadyAnswered.
func notPending(ctx context.Context, tx txn, threadID, id string) error {
	var status string
	err := tx.QueryRowContext(ctx, qInterruptStatus, threadID, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		ok, err := threadExists(ctx, tx, threadID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("sqlitestore: interrupt %q: %w", id, notFoundThread(threadID))
		}
		return fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", threadID, id, checkpoint.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", threadID, id, err)
	}
	return fmt.Errorf("sqlitestore: thread %q: interrupt %q is %s: %w", threadID, id, status, checkpoint.ErrAlreadyAnswered)
}

// Reassign changes the assignees, deadline, fallback and escalation of a
// pending interrupt.
func (s *Store) Reassign(ctx context.Context, r *checkpoint.Reassign) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("sqlitestore: Reassign without arguments")
	}
	assignees, err1 := encodeStrings(r.Assignees)
	escalate, err2 := encodeStrings(r.EscalateTo)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: interrupt %q: %w", r.ThreadID, r.InterruptID, err)
	}
	return s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qReassign, assignees, encodeOptionalTime(r.Deadline), bytesArg(r.Fallback),
			encodeOptionalTime(r.FallbackAt), escalate, r.ThreadID, r.InterruptID, encodeOptionalTime(r.ExpectedDeadline))
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: reassign interrupt %q: %w", r.ThreadID, r.InterruptID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return s.recordQuestion(ctx, tx, checkpoint.EventQuestionEscalated, r.ThreadID, r.InterruptID, "", "")
		}
		var status string
		var deadline intCol
		err = tx.QueryRowContext(ctx, qInterruptState, r.ThreadID, r.InterruptID).Scan(&status, new(string), &deadline)
		if err != nil || status != string(checkpoint.InterruptPending) {
			return notPending(ctx, tx, r.ThreadID, r.InterruptID)
		}
		var d decoder
		have := d.time("deadline", deadline)
		if d.err != nil {
			return corrupt(fmt.Sprintf("thread %q: interrupt %q", r.ThreadID, r.InterruptID), d.err)
		}
		return fmt.Errorf("sqlitestore: thread %q: interrupt %q has deadline %v, not %v: %w",
			r.ThreadID, r.InterruptID, have, r.ExpectedDeadline, checkpoint.ErrConflict)
	})
}
