package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

var _ checkpoint.Outbox = (*Store)(nil)

// The columns of the outbox (see 0004_outbox.sql).
const (
	eventInsertColumns = `id, type, thread_id, workflow, interrupt_id, node, key, reason, assignees, deadline, author, channel,
	error, dedup, created_at, status, attempts, next_attempt, last_error, claimed_by`
	eventColumns = `seq, id, type, thread_id, workflow, interrupt_id, node, key, reason, assignees, deadline, author, channel,
	error, dedup, created_at, status, attempts, next_attempt, last_error, done, delivered_at`
)

// outboxStatements sets the statements of the outbox.
func outboxStatements(q func(string) string, st *statements) {
	// Commit with the outbox on inserts each question and, if it was
	// inserted (not there already) and is pending, its question.asked
	// event: $26 is the event's ID, $27 the store's clock.
	st.insertInterruptEvent = q(`WITH i AS (
	INSERT INTO {{schema}}.interrupts (` + interruptColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
	ON CONFLICT (thread_id, id) DO NOTHING
	RETURNING thread_id, id, workflow, node, call_key, reason, assignees, deadline, status
)
INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
SELECT $26, '` + checkpoint.EventQuestionAsked + `', thread_id, workflow, id, node, call_key, reason, assignees, deadline, '', '',
	'', NULL, ` + nowSQL(27) + `, 'pending', 0, ` + nowSQL(27) + `, '', '' FROM i WHERE i.status = 'pending'`)
	// The question.answered events of the answers to the questions $2 of
	// thread $1 (after answerSet), with the IDs $3.
	st.answerEvents = q(`INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
SELECT a.eid, '` + checkpoint.EventQuestionAnswered + `', i.thread_id, i.workflow, i.id, i.node, i.call_key, i.reason, i.assignees,
	i.deadline, i.author, i.channel, '', NULL, ` + nowSQL(4) + `, 'pending', 0, ` + nowSQL(4) + `, '', ''
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS a (id, eid, ord)
JOIN {{schema}}.interrupts i ON i.thread_id = $1 AND i.id = a.id
ORDER BY a.ord`)
	// Reassign with its question.escalated event ($9, at $10): the
	// command tag counts the rows reassigned.
	st.reassignEvent = q(`WITH u AS (
	UPDATE {{schema}}.interrupts SET assignees = $3, deadline = $4, fallback = $5, escalate_to = $6, fallback_at = $7
	WHERE thread_id = $1 AND id = $2 AND status = 'pending' AND deadline IS NOT DISTINCT FROM $8::timestamptz
	RETURNING thread_id, id, workflow, node, call_key, reason, assignees, deadline
)
INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
SELECT $9, '` + checkpoint.EventQuestionEscalated + `', thread_id, workflow, id, node, call_key, reason, assignees, deadline, '', '',
	'', NULL, ` + nowSQL(10) + `, 'pending', 0, ` + nowSQL(10) + `, '', '' FROM u`)
	st.addEvent = q(`INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, coalesce($15, ` + nowSQL(16) + `), 'pending', 0, ` + nowSQL(16) + `, '', '')
ON CONFLICT (dedup) DO NOTHING`)
	// Claim for $1, for $2 microseconds, up to $4 due events at $3.
	st.claimEvents = q(`WITH c AS (
	SELECT seq FROM {{schema}}.outbox
	WHERE status = 'pending' AND next_attempt <= ` + nowSQL(3) + ` AND (claim_until IS NULL OR claim_until <= ` + nowSQL(3) + `)
	ORDER BY next_attempt, seq
	LIMIT $4
	FOR UPDATE SKIP LOCKED
)
UPDATE {{schema}}.outbox o SET claimed_by = $1, claim_until = ` + nowSQL(3) + ` + ` + durationSQL(2) + `
FROM c WHERE o.seq = c.seq
RETURNING ` + qualify("o.", eventColumns))
	st.deliveredEvent = q(`UPDATE {{schema}}.outbox SET status = 'delivered', delivered_at = $2, claimed_by = '', claim_until = NULL
WHERE id = $1 AND status <> 'delivered'`)
	st.retryEvent = q(`UPDATE {{schema}}.outbox SET attempts = attempts + 1, last_error = $3, done = $4, claimed_by = '', claim_until = NULL,
	next_attempt = CASE WHEN $6::boolean THEN next_attempt ELSE $5 END,
	status = CASE WHEN $6::boolean THEN 'dead' ELSE 'pending' END
WHERE id = $1 AND status = 'pending' AND claimed_by = $2`)
	st.eventExists = q(`SELECT EXISTS (SELECT FROM {{schema}}.outbox WHERE id = $1)`)
	st.events = q(`SELECT ` + eventColumns + ` FROM {{schema}}.outbox
WHERE ($1 = '' OR thread_id = $1) AND ($2 = '' OR type = $2) AND ($3 = '' OR status = $3)
ORDER BY seq LIMIT $4`)
	st.pruneEvents = q(`DELETE FROM {{schema}}.outbox
WHERE status <> 'pending' AND created_at < $1 AND seq < (SELECT max(seq) FROM {{schema}}.outbox)`)
	st.failedEvent = q(`INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
VALUES ($1, '` + checkpoint.EventThreadFailed + `', $2, $3, '', '', '', '', NULL, NULL, '', '', $4, NULL, ` + nowSQL(5) + `, 'pending', 0, ` + nowSQL(5) + `, '', '')`)
}

// markedSQL is true when the schema is marked as using its outbox (see
// checkpoint.OutboxMark).
const markedSQL = `EXISTS (SELECT FROM {{schema}}.leases WHERE name = '` + checkpoint.OutboxMark + `')`

// watchStatements sets the statements of a store opened with its outbox
// off on a schema not marked as using it: the event statements, each
// recording its events only if the schema is marked by then (read in the
// statement's snapshot, so a write that starts after the mark committed
// records its events). PostgreSQL evaluates the uncorrelated EXISTS once,
// first (a one-time filter), so on a schema never marked the statement
// costs one index probe of the leases table.
func watchStatements(q func(string) string, st *statements) {
	edit := func(stmt, old, new string) string {
		if !strings.Contains(stmt, old) {
			panic("pgstore: watchStatements: " + old + " not in " + stmt)
		}
		return strings.Replace(stmt, old, new, 1)
	}
	marked := q(markedSQL)
	st.insertInterruptWatch = edit(st.insertInterruptEvent, "FROM i WHERE i.status = 'pending'", "FROM i WHERE i.status = 'pending' AND "+marked)
	st.answerEventsWatch = edit(st.answerEvents, "\nORDER BY a.ord", "\nWHERE "+marked+"\nORDER BY a.ord")
	// Reassign reads the rows reassigned and the events recorded from this
	// statement's one row (the count of the INSERT alone is 0 on a schema
	// not marked).
	st.reassignEventWatch = edit(edit(st.reassignEvent, ")\nINSERT INTO", "), e AS (\nINSERT INTO"), "FROM u", "FROM u WHERE "+marked) +
		"\nRETURNING 1)\nSELECT (SELECT count(*) FROM u), (SELECT count(*) FROM e)"

	st.failedEventWatch = q(`INSERT INTO {{schema}}.outbox (` + eventInsertColumns + `)
SELECT $1::text, '` + checkpoint.EventThreadFailed + `', $2::text, $3::text, '', '', '', '', NULL, NULL, '', '', $4::text, NULL, ` + nowSQL(5) + `, 'pending', 0, ` + nowSQL(5) + `, '', ''
WHERE ` + markedSQL)
	st.outboxMarks = q(`SELECT ` + markedSQL + `, EXISTS (SELECT FROM {{schema}}.outbox)`)
	st.markOutbox = q(`INSERT INTO {{schema}}.leases (name, owner, until) VALUES ('` + checkpoint.OutboxMark + `', 'weft', 'infinity')
ON CONFLICT (name) DO NOTHING`)
}

// openOutbox decides, when the store opens, whether it records events:
// with Options.Outbox, or on a schema marked as using its outbox or whose
// outbox holds events (used before the mark existed), it does, and marks
// the schema if it is not; otherwise it watches for the mark (see
// watchStatements).
func (s *Store) openOutbox(ctx context.Context, opt bool) error {
	var marked, used bool
	if err := s.pool.QueryRow(ctx, s.sql.outboxMarks).Scan(&marked, &used); err != nil {
		return fmt.Errorf("pgstore: is the outbox in use: %w", err)
	}
	if (opt || used) && !marked {
		if _, err := s.pool.Exec(ctx, s.sql.markOutbox); err != nil {
			return fmt.Errorf("pgstore: mark the outbox in use: %w", err)
		}
	}
	s.outbox = opt || marked || used
	s.watch = !s.outbox
	return nil
}

// qualify prefixes every column of the list cols with p.
func qualify(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// OutboxEnabled reports whether the store records events with its writes:
// Options.Outbox, or the schema was marked as using its outbox when the
// store opened, or one of the store's writes since found it marked.
func (s *Store) OutboxEnabled() bool { return s.recordsKnown() }

// recordsKnown reports whether the store knows that its writes record
// events (and so notifies senders after them): its outbox is on, or, for a
// store that watches for the mark, one of its writes recorded an event.
func (s *Store) recordsKnown() bool { return s.outbox || s.marked.Load() }

// sawMark records that a write of a store that watches for the mark
// recorded an event (the schema is marked), and returns true.
func (s *Store) sawMark() bool {
	if !s.marked.Swap(true) {
		s.log.Info("pgstore: the schema's outbox is in use (marked by another process): recording events and notifying senders", "schema", s.schema)
	}
	return true
}

// AddEvent records e unless its Dedup key is recorded already.
func (s *Store) AddEvent(ctx context.Context, e *checkpoint.Event) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := e.Check(); err != nil {
		return false, fmt.Errorf("pgstore: %w", err)
	}
	var dedup *string
	if e.Dedup != "" {
		dedup = &e.Dedup
	}
	tag, err := s.pool.Exec(ctx, s.sql.addEvent, checkpoint.NewEventID(), e.Type, e.ThreadID, e.Workflow, e.InterruptID, e.Node, e.Key,
		e.Reason, e.Assignees, nullTime(e.Deadline), e.Author, e.Channel, e.Error, dedup, nullTime(e.CreatedAt), s.now())
	if err != nil {
		return false, fmt.Errorf("pgstore: thread %q: record %s: %w", e.ThreadID, e.Type, err)
	}
	if tag.RowsAffected() != 1 {
		return false, nil
	}
	s.hint(checkpoint.NoticeEvent, &checkpoint.Thread{ID: e.ThreadID, Workflow: e.Workflow})
	return true, nil
}

// ClaimEvents claims due pending events for q.Owner, in one statement
// (SELECT ... FOR UPDATE SKIP LOCKED, then UPDATE): concurrent senders
// never claim one event and never wait for each other.
func (s *Store) ClaimEvents(ctx context.Context, q *checkpoint.EventClaim) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Owner == "" {
		return nil, errors.New("pgstore: ClaimEvents needs an owner")
	}
	rows, err := s.pool.Query(ctx, s.sql.claimEvents, q.Owner, micros(q.Lease), s.now(), max(q.Limit, 1))
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim events: %w", err)
	}
	out, seqs, err := scanEvents(rows)
	if err != nil {
		return nil, err
	}
	// RETURNING gives the rows in no particular order.
	sortEvents(out, seqs)
	return out, nil
}

// sortEvents sorts es (with their seqs) by NextAttempt, then seq.
func sortEvents(es []checkpoint.Event, seqs []int64) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0; j-- {
			c := es[j].NextAttempt.Compare(es[j-1].NextAttempt)
			if c > 0 || (c == 0 && seqs[j] > seqs[j-1]) {
				break
			}
			es[j], es[j-1] = es[j-1], es[j]
			seqs[j], seqs[j-1] = seqs[j-1], seqs[j]
		}
	}
}

// DeliveredEvent marks an event delivered.
func (s *Store) DeliveredEvent(ctx context.Context, d *checkpoint.EventDone) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d == nil {
		return errors.New("pgstore: DeliveredEvent without arguments")
	}
	tag, err := s.pool.Exec(ctx, s.sql.deliveredEvent, d.ID, d.At)
	if err != nil {
		return fmt.Errorf("pgstore: event %q: mark delivered: %w", d.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.eventExists(ctx, d.ID)
}

// eventExists returns nil if event id exists, ErrNotFound if not.
func (s *Store) eventExists(ctx context.Context, id string) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, s.sql.eventExists, id).Scan(&ok); err != nil {
		return fmt.Errorf("pgstore: event %q: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("pgstore: event %q: %w", id, checkpoint.ErrNotFound)
	}
	return nil
}

// RetryEvent records a failed attempt of an event claimed by r.Owner.
func (s *Store) RetryEvent(ctx context.Context, r *checkpoint.EventRetry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("pgstore: RetryEvent without arguments")
	}
	tag, err := s.pool.Exec(ctx, s.sql.retryEvent, r.ID, r.Owner, r.Error, r.Done, r.At, r.GiveUp)
	if err != nil {
		return fmt.Errorf("pgstore: event %q: record a failed attempt: %w", r.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if err := s.eventExists(ctx, r.ID); err != nil {
		return err
	}
	return fmt.Errorf("pgstore: event %q is not pending or not claimed by %q: %w", r.ID, r.Owner, checkpoint.ErrConflict)
}

// Events lists events matching q in the order recorded.
func (s *Store) Events(ctx context.Context, q *checkpoint.EventQuery) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.EventQuery{}
	}
	rows, err := s.pool.Query(ctx, s.sql.events, q.ThreadID, q.Type, string(q.Status), checkpoint.PageLimit(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: events: %w", err)
	}
	out, _, err := scanEvents(rows)
	return out, err
}

// PruneEvents removes delivered and dead events created before p.Before,
// keeping the newest event.
func (s *Store) PruneEvents(ctx context.Context, p *checkpoint.EventPrune) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, errors.New("pgstore: PruneEvents without arguments")
	}
	tag, err := s.pool.Exec(ctx, s.sql.pruneEvents, p.Before)
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// scanEvents reads rows of eventColumns and closes them.
func scanEvents(rows pgx.Rows) ([]checkpoint.Event, []int64, error) {
	defer rows.Close()
	var out []checkpoint.Event
	var seqs []int64
	for rows.Next() {
		var e checkpoint.Event
		var seq int64
		var dedup pgtype.Text
		var status string
		var attempts int32
		var deadline, created, next, delivered pgtype.Timestamptz
		if err := rows.Scan(&seq, &e.ID, &e.Type, &e.ThreadID, &e.Workflow, &e.InterruptID, &e.Node, &e.Key, &e.Reason, &e.Assignees,
			&deadline, &e.Author, &e.Channel, &e.Error, &dedup, &created, &status, &attempts, &next, &e.LastError, &e.Done, &delivered); err != nil {
			return nil, nil, fmt.Errorf("pgstore: events: %w", err)
		}
		e.Deadline, e.CreatedAt, e.NextAttempt, e.DeliveredAt = timeOf(deadline), timeOf(created), timeOf(next), timeOf(delivered)
		e.Dedup, e.Status, e.Attempts = dedup.String, checkpoint.EventStatus(status), int(attempts)
		out = append(out, e)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("pgstore: events: %w", err)
	}
	return out, seqs, nil
}
