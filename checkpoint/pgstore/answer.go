package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

// answerStatements sets the statements of Answer and Reassign.
func answerStatements(q func(string) string, st *statements) {
	// Every write path that changes interrupts locks the thread row first,
	// in a statement of its own: the statements after it take their
	// snapshot once the lock is held, so they see what the transaction
	// that held it before wrote, and two paths cannot lock in opposite
	// orders.
	st.lockThread = q(`WITH t AS (SELECT FROM {{schema}}.threads WHERE id = $1 FOR UPDATE)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM t), '` + codeMissing + `', 'weft: the thread does not exist')`)
	// The first refused answer, in the caller's order, raises: a missing
	// interrupt, one that is not pending, one the thread moved past (its
	// checkpoint is not the head) or a second answer to one interrupt.
	st.answerCheck = q(`SELECT {{schema}}.raise_unless(false, x.code, x.msg) FROM (
	SELECT CASE WHEN i.id IS NULL THEN '` + codeMissing + `' ELSE '` + codeRefused + `' END AS code,
		CASE WHEN i.id IS NULL THEN format('weft: interrupt %s does not exist', to_json(a.id))
			WHEN i.status <> 'pending' THEN format('weft: interrupt %s is %s', to_json(a.id), i.status)
			WHEN i.checkpoint_id <> t.head THEN format('weft: interrupt %s belongs to checkpoint %s, the thread is at %s',
				to_json(a.id), to_json(i.checkpoint_id), to_json(t.head))
			ELSE format('weft: interrupt %s answered twice in one call', to_json(a.id)) END AS msg
	FROM unnest($2::text[]) WITH ORDINALITY AS a (id, ord)
	JOIN {{schema}}.threads t ON t.id = $1
	LEFT JOIN {{schema}}.interrupts i ON i.thread_id = $1 AND i.id = a.id
	WHERE i.id IS NULL OR i.status <> 'pending' OR i.checkpoint_id <> t.head
		OR EXISTS (SELECT FROM unnest($2::text[]) WITH ORDINALITY AS b (id, ord) WHERE b.id = a.id AND b.ord < a.ord)
	ORDER BY a.ord
	LIMIT 1
) x`)
	st.answerSet = q(`UPDATE {{schema}}.interrupts i
SET status = 'answered', answer = a.value, author = a.author, channel = a.channel, answered_at = a.at
FROM unnest($2::text[], $3::bytea[], $4::text[], $5::text[], $6::timestamptz[]) AS a (id, value, author, channel, at)
WHERE i.thread_id = $1 AND i.id = a.id AND i.status = 'pending'`)
	// The thread after the answers: claimed ($2: a claim is asked, for
	// owner $3 and lease $4) if it may be, else ready if it was
	// interrupted and answers were given ($6). The last column says
	// whether the thread changed; Answer notifies after the commit.
	now := nowSQL(5)
	claim := `($2::boolean AND (status <> 'running' OR lease_until IS NULL OR lease_until <= ` + now + `))`
	st.answerThread = q(`WITH u AS (
	UPDATE {{schema}}.threads SET
		status = CASE WHEN ` + claim + ` THEN 'running' ELSE 'ready' END,
		owner = CASE WHEN ` + claim + ` THEN $3 ELSE owner END,
		lease_until = CASE WHEN ` + claim + ` THEN ` + now + ` + ` + durationSQL(4) + ` ELSE lease_until END,
		epoch = CASE WHEN ` + claim + ` THEN epoch + 1 ELSE epoch END,
		version = version + 1,
		updated_at = ` + now + `
	WHERE id = $1 AND (` + claim + ` OR (status = 'interrupted' AND $6::boolean))
	RETURNING ` + threadColumns + `
)
SELECT ` + threadColumns + `, true FROM u
UNION ALL
SELECT ` + threadColumns + `, false FROM {{schema}}.threads WHERE id = $1 AND NOT EXISTS (SELECT FROM u)`)

	st.reassign = q(`UPDATE {{schema}}.interrupts SET assignees = $3, deadline = $4, fallback = $5, escalate_to = $6, fallback_at = $7
WHERE thread_id = $1 AND id = $2 AND status = 'pending' AND deadline IS NOT DISTINCT FROM $8::timestamptz`)
	st.reassignWhy = q(`SELECT status, deadline FROM {{schema}}.interrupts WHERE thread_id = $1 AND id = $2`)
}

// refusal maps the errors the store's checks raise to the sentinels.
func refusal(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return nil
	}
	switch pgErr.Code {
	case codeMissing:
		return fmt.Errorf("%s: %w", strings.TrimPrefix(pgErr.Message, "weft: "), checkpoint.ErrNotFound)
	case codeRefused:
		return fmt.Errorf("%s: %w", strings.TrimPrefix(pgErr.Message, "weft: "), checkpoint.ErrAlreadyAnswered)
	case codeConflict:
		return fmt.Errorf("%s: %w", strings.TrimPrefix(pgErr.Message, "weft: "), checkpoint.ErrConflict)
	}
	return nil
}

// Answer records answers to the questions of one thread, all or none, with
// a.Writes, and makes the thread ready or claims it; see checkpoint.Store.
//
// It is one pgx.Batch, one round trip and one implicit transaction: lock
// the thread row (FOR UPDATE), check every answer in one statement (which
// raises, aborting the batch, at the first refused one), record the
// answers and the writes, then move the thread (claimed, or ready) and
// read it back. When the thread became ready, the listeners are told
// after the commit (see Listen). The row lock
// makes answering a compare-and-set: of two concurrent calls, the second
// checks after the first committed.
func (s *Store) Answer(ctx context.Context, a *checkpoint.AnswerRequest) (*checkpoint.AnswerResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, errors.New("pgstore: Answer without arguments")
	}
	n := len(a.Answers)
	ids, values, authors, channels := make([]string, n), make([][]byte, n), make([]string, n), make([]string, n)
	ats := make([]pgtype.Timestamptz, n)
	for i := range a.Answers {
		ans := &a.Answers[i]
		if ans.ThreadID != "" && ans.ThreadID != a.ThreadID {
			return nil, s.foreignAnswer(ctx, a, ids[:i])
		}
		ids[i], values[i], authors[i], channels[i], ats[i] = ans.InterruptID, ans.Value, ans.Author, ans.Channel, nullTime(ans.At)
	}
	b := &pgx.Batch{}
	b.Queue(s.sql.lockThread, a.ThreadID)
	watched := -1 // the position in b of answerEventsWatch
	if n > 0 {
		b.Queue(s.sql.answerCheck, a.ThreadID, ids)
		b.Queue(s.sql.answerSet, a.ThreadID, ids, values, authors, channels, ats)
		if s.outbox || s.watch {
			eids := make([]string, n)
			for i := range eids {
				eids[i] = checkpoint.NewEventID()
			}
			stmt := s.sql.answerEvents
			if s.watch {
				stmt, watched = s.sql.answerEventsWatch, b.Len()
			}
			b.Queue(stmt, a.ThreadID, ids, eids, s.now())
		}
	}
	if len(a.Writes) > 0 {
		s.queueWrites(b, a.ThreadID, a.Writes)
	}
	var owner string
	var lease time.Duration
	if a.Claim != nil {
		owner, lease = a.Claim.Owner, a.Claim.Lease
	}
	b.Queue(s.sql.answerThread, a.ThreadID, a.Claim != nil, owner, micros(lease), s.now(), n > 0)

	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	events := n > 0 && s.recordsKnown()
	for i := range b.Len() - 1 {
		tag, err := br.Exec()
		if err != nil {
			return nil, s.answerError(a.ThreadID, err)
		}
		if i == watched && tag.RowsAffected() > 0 {
			events = s.sawMark()
		}
	}
	var x threadRow
	var changed bool
	if err := br.QueryRow().Scan(append(x.scanDest(), &changed)...); err != nil {
		return nil, s.answerError(a.ThreadID, err)
	}
	if err := br.Close(); err != nil {
		return nil, s.answerError(a.ThreadID, err)
	}
	res := &checkpoint.AnswerResult{Thread: x.decode()}
	res.Claimed = changed && a.Claim != nil && res.Thread.Status == checkpoint.StatusRunning
	if changed && res.Thread.Status == checkpoint.StatusReady {
		s.hint(checkpoint.NoticeReady, &res.Thread)
	}
	if events {
		s.hint(checkpoint.NoticeEvent, &res.Thread)
	}
	return res, nil
}

// foreignAnswer returns the error for a request whose answer len(ids) is
// to another thread: the error of an answer before it, checked as Answer
// would, if one is refused.
func (s *Store) foreignAnswer(ctx context.Context, a *checkpoint.AnswerRequest, ids []string) error {
	b := &pgx.Batch{}
	b.Queue(s.sql.lockThread, a.ThreadID)
	if len(ids) > 0 {
		b.Queue(s.sql.answerCheck, a.ThreadID, ids)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return s.answerError(a.ThreadID, err)
	}
	ans := &a.Answers[len(ids)]
	return fmt.Errorf("pgstore: answer to interrupt %q of thread %q in a request for thread %q", ans.InterruptID, ans.ThreadID, a.ThreadID)
}

func (s *Store) answerError(threadID string, err error) error {
	if r := refusal(err); r != nil {
		return fmt.Errorf("pgstore: thread %q: %w", threadID, r)
	}
	return fmt.Errorf("pgstore: thread %q: answer: %w", threadID, err)
}

// Reassign changes the assignees, deadline, fallback and escalation of a
// pending interrupt whose deadline is still r.ExpectedDeadline: the thread
// row is locked first (as every write of interrupts does), then one
// conditional UPDATE, in one batch. When it matches nothing, a second
// query finds out why.
func (s *Store) Reassign(ctx context.Context, r *checkpoint.Reassign) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("pgstore: Reassign without arguments")
	}
	b := &pgx.Batch{}
	b.Queue(s.sql.lockThread, r.ThreadID)
	args := []any{r.ThreadID, r.InterruptID, r.Assignees, nullTime(r.Deadline), []byte(r.Fallback), r.EscalateTo,
		nullTime(r.FallbackAt), nullTime(r.ExpectedDeadline)}
	switch {
	case s.outbox:
		b.Queue(s.sql.reassignEvent, append(args, checkpoint.NewEventID(), s.now())...)
	case s.watch:
		b.Queue(s.sql.reassignEventWatch, append(args, checkpoint.NewEventID(), s.now())...)
	default:
		b.Queue(s.sql.reassign, args...)
	}
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	var reassigned, recorded int64
	if err == nil && s.watch {
		err = br.QueryRow().Scan(&reassigned, &recorded)
	} else if err == nil {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		reassigned = tag.RowsAffected()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if rerr := refusal(err); rerr != nil {
		return fmt.Errorf("pgstore: thread %q: reassign interrupt %q: %w", r.ThreadID, r.InterruptID, rerr)
	}
	if err != nil {
		return fmt.Errorf("pgstore: thread %q: reassign interrupt %q: %w", r.ThreadID, r.InterruptID, err)
	}
	if reassigned == 1 {
		if recorded > 0 {
			s.sawMark()
		}
		if s.recordsKnown() {
			s.hint(checkpoint.NoticeEvent, &checkpoint.Thread{ID: r.ThreadID})
		}
		return nil
	}
	var status string
	var deadline pgtype.Timestamptz
	err = s.pool.QueryRow(ctx, s.sql.reassignWhy, r.ThreadID, r.InterruptID).Scan(&status, &deadline)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("pgstore: thread %q: interrupt %q: %w", r.ThreadID, r.InterruptID, checkpoint.ErrNotFound)
	case err != nil:
		return fmt.Errorf("pgstore: thread %q: reassign interrupt %q refused; reading why: %w", r.ThreadID, r.InterruptID, err)
	case status != string(checkpoint.InterruptPending):
		return fmt.Errorf("pgstore: thread %q: interrupt %q is %s: %w", r.ThreadID, r.InterruptID, status, checkpoint.ErrAlreadyAnswered)
	}
	return fmt.Errorf("pgstore: thread %q: interrupt %q has deadline %v, not %v: %w",
		r.ThreadID, r.InterruptID, timeOf(deadline), r.ExpectedDeadline, checkpoint.ErrConflict)
}
