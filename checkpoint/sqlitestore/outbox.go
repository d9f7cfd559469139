package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

var _ checkpoint.Outbox = (*Store)(nil)

// The statements of the outbox (see 0004_outbox.sql).
const (
	eventInsertCols = `id, type, thread_id, workflow, interrupt_id, node, key, reason, assignees, deadline, author, channel,
		error, dedup, created_at, status, attempts, next_attempt, last_error, claimed_by`
	eventCols = `seq, id, type, thread_id, workflow, interrupt_id, node, key, reason, assignees, deadline, author, channel,
		error, dedup, created_at, status, attempts, next_attempt, last_error, done, delivered_at`
	// qEventOfInterrupt records event ?1 of type ?2 about interrupt ?7 of
	// thread ?6, as it is now, answered by ?3 through ?4, at ?5.
	qEventOfInterrupt = `INSERT INTO outbox (` + eventInsertCols + `)
		SELECT ?1, ?2, thread_id, workflow, id, node, call_key, reason, assignees, deadline, ?3, ?4,
			'', NULL, ?5, 'pending', 0, ?5, '', '' FROM interrupts WHERE thread_id = ?6 AND id = ?7`
	qAddEvent = `INSERT INTO outbox (` + eventInsertCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, '', '') ON CONFLICT (dedup) DO NOTHING`
	// qClaimEvents claims for ?1 until ?2 the ?4 events due at ?3.
	qClaimEvents = `UPDATE outbox SET claimed_by = ?1, claim_until = ?2 WHERE seq IN (
		SELECT seq FROM outbox WHERE status = 'pending' AND next_attempt <= ?3 AND (claim_until IS NULL OR claim_until <= ?3)
		ORDER BY next_attempt, seq LIMIT ?4) RETURNING ` + eventCols
	qDeliveredEvent = `UPDATE outbox SET status = 'delivered', delivered_at = ?, claimed_by = '', claim_until = NULL
		WHERE id = ? AND status <> 'delivered'`
	// qRetryEvent records a failed attempt: ?4 gives up.
	qRetryEvent = `UPDATE outbox SET attempts = attempts + 1, last_error = ?1, done = ?2, claimed_by = '', claim_until = NULL,
		next_attempt = CASE WHEN ?4 THEN next_attempt ELSE ?3 END, status = CASE WHEN ?4 THEN 'dead' ELSE 'pending' END
		WHERE id = ?5 AND status = 'pending' AND claimed_by = ?6`
	qEventExists = `SELECT 1 FROM outbox WHERE id = ?`
	qEvents      = `SELECT ` + eventCols + ` FROM outbox
		WHERE (?1 = '' OR thread_id = ?1) AND (?2 = '' OR type = ?2) AND (?3 = '' OR status = ?3) ORDER BY seq LIMIT ?4`
	qPruneEvents = `DELETE FROM outbox WHERE status <> 'pending' AND created_at < ? AND seq < (SELECT max(seq) FROM outbox)`
)

// The statements of the outbox's mark (see checkpoint.OutboxMark), a
// lease that never lapses.
const (
	qOutboxMarks = `SELECT EXISTS (SELECT 1 FROM leases WHERE name = ?1), EXISTS (SELECT 1 FROM outbox)`
	qMarkOutbox  = `INSERT INTO leases (name, owner, until) VALUES (?1, 'weft', 9223372036854775807) ON CONFLICT (name) DO NOTHING`
)

// markSuffix names the file beside the database that says, as the mark's
// row does, that the file's outbox is in use: a store opened before the
// mark looks for this file (one stat) instead of querying for the row in
// each write that would record an event.
const markSuffix = "-weft-outbox"

// openOutbox decides, when the store opens, whether it records events:
// with Options.Outbox, or on a file marked as using its outbox or whose
// outbox holds events (used before the mark existed), it does, and marks
// the file if it is not; otherwise it watches for the mark (recording).
//
// Marking creates the mark's file before it writes the mark's row, and a
// watching store looks for the file while it holds the write lock: a
// write that does not see the file ends before the row is written, so it
// is a write from before the mark.
func (s *Store) openOutbox(ctx context.Context, opt bool) error {
	var marked, used bool
	if err := s.write.QueryRowContext(ctx, qOutboxMarks, checkpoint.OutboxMark).Scan(&marked, &used); err != nil {
		return fmt.Errorf("sqlitestore: Open(%q): is the outbox in use: %w", s.path, err)
	}
	s.outbox = opt || marked || used
	s.watch = !s.outbox
	if !s.outbox {
		return nil
	}
	if err := os.WriteFile(s.path+markSuffix, []byte("weft: this database's outbox is in use; see package sqlitestore\n"), 0o644); err != nil {
		return fmt.Errorf("sqlitestore: Open(%q): mark the outbox in use: %w", s.path, err)
	}
	if !marked {
		if _, err := s.write.ExecContext(ctx, qMarkOutbox, checkpoint.OutboxMark); err != nil {
			return fmt.Errorf("sqlitestore: Open(%q): mark the outbox in use: %w", s.path, err)
		}
	}
	return nil
}

// recording reports whether a write records its events: with the outbox
// on, or, for a store opened before the file was marked, once the mark's
// file is there. It is called while the write holds the write lock.
func (s *Store) recording() (bool, error) {
	switch {
	case s.outbox:
		return true, nil
	case !s.watch:
		return false, nil
	case s.marked.Load():
		return true, nil
	}
	_, err := os.Stat(s.path + markSuffix)
	switch {
	case err == nil:
		s.marked.Store(true)
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("sqlitestore: is the outbox in use: %w", err)
	}
}

// OutboxEnabled reports whether the store records events with its writes:
// Options.Outbox, or the file was marked as using its outbox when the
// store opened, or one of its writes since found it marked.
func (s *Store) OutboxEnabled() bool { return s.outbox || s.marked.Load() }

// recordQuestion records an event of type typ about the interrupt, in tx,
// if the outbox is on.
func (s *Store) recordQuestion(ctx context.Context, tx txn, typ, threadID, interruptID, author, channel string) error {
	if on, err := s.recording(); err != nil || !on {
		return err
	}
	if _, err := tx.exec(ctx, qEventOfInterrupt, checkpoint.NewEventID(), typ, author, channel, encodeTime(s.now()), threadID, interruptID); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: interrupt %q: record %s: %w", threadID, interruptID, typ, err)
	}
	return nil
}

// recordFailed records EventThreadFailed for t, in tx, if the outbox is on.
func (s *Store) recordFailed(ctx context.Context, tx txn, t *checkpoint.Thread) error {
	if t.Status != checkpoint.StatusFailed {
		return nil
	}
	if on, err := s.recording(); err != nil || !on {
		return err
	}
	_, err := s.insertEvent(ctx, tx, &checkpoint.Event{Type: checkpoint.EventThreadFailed, ThreadID: t.ID, Workflow: t.Workflow, Error: t.Error})
	return err
}

// insertEvent inserts e, unless its dedup key is taken.
func (s *Store) insertEvent(ctx context.Context, tx txn, e *checkpoint.Event) (bool, error) {
	assignees, err := encodeStrings(e.Assignees)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: event of thread %q: %w", e.ThreadID, err)
	}
	var dedup any
	if e.Dedup != "" {
		dedup = e.Dedup
	}
	now := encodeTime(s.now())
	created := now
	if !e.CreatedAt.IsZero() {
		created = encodeTime(e.CreatedAt)
	}
	res, err := tx.exec(ctx, qAddEvent, checkpoint.NewEventID(), e.Type, e.ThreadID, e.Workflow, e.InterruptID, e.Node, e.Key, e.Reason,
		assignees, encodeOptionalTime(e.Deadline), e.Author, e.Channel, e.Error, dedup, created, now)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: thread %q: record %s: %w", e.ThreadID, e.Type, err)
	}
	n, err := res.RowsAffected()
	return err == nil && n == 1, err
}

// AddEvent records e unless its Dedup key is recorded already.
func (s *Store) AddEvent(ctx context.Context, e *checkpoint.Event) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := e.Check(); err != nil {
		return false, fmt.Errorf("sqlitestore: %w", err)
	}
	var added bool
	err := s.writeTx(ctx, func(tx txn) error {
		var err error
		added, err = s.insertEvent(ctx, tx, e)
		return err
	})
	return added, err
}

// ClaimEvents claims due pending events for q.Owner, in one UPDATE.
func (s *Store) ClaimEvents(ctx context.Context, q *checkpoint.EventClaim) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Owner == "" {
		return nil, errors.New("sqlitestore: ClaimEvents needs an owner")
	}
	var out []checkpoint.Event
	var seqs []int64
	err := s.writeTx(ctx, func(tx txn) error {
		now := s.now()
		rows, err := tx.tx.StmtContext(ctx, tx.stmts[qClaimEvents]).QueryContext(ctx, q.Owner, encodeTime(now.Add(q.Lease)), encodeTime(now), max(q.Limit, 1))
		if err != nil {
			return fmt.Errorf("sqlitestore: claim events: %w", err)
		}
		out, seqs, err = scanEvents(rows)
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives the rows in no particular order.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(out[a].NextAttempt.Compare(out[b].NextAttempt), cmp.Compare(seqs[a], seqs[b]))
	})
	sorted := make([]checkpoint.Event, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted, nil
}

// DeliveredEvent marks an event delivered.
func (s *Store) DeliveredEvent(ctx context.Context, d *checkpoint.EventDone) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d == nil {
		return errors.New("sqlitestore: DeliveredEvent without arguments")
	}
	return s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qDeliveredEvent, encodeTime(d.At), d.ID)
		if err != nil {
			return fmt.Errorf("sqlitestore: event %q: mark delivered: %w", d.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
		return eventExists(ctx, tx, d.ID)
	})
}

// eventExists returns nil if event id exists, ErrNotFound if not.
func eventExists(ctx context.Context, tx txn, id string) error {
	err := tx.tx.StmtContext(ctx, tx.stmts[qEventExists]).QueryRowContext(ctx, id).Scan(new(int))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: event %q: %w", id, checkpoint.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: event %q: %w", id, err)
	}
	return nil
}

// RetryEvent records a failed attempt of an event claimed by r.Owner.
func (s *Store) RetryEvent(ctx context.Context, r *checkpoint.EventRetry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return errors.New("sqlitestore: RetryEvent without arguments")
	}
	done, err := encodeStrings(r.Done)
	if err != nil {
		return fmt.Errorf("sqlitestore: event %q: %w", r.ID, err)
	}
	return s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qRetryEvent, r.Error, done, encodeTime(r.At), r.GiveUp, r.ID, r.Owner)
		if err != nil {
			return fmt.Errorf("sqlitestore: event %q: record a failed attempt: %w", r.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
		if err := eventExists(ctx, tx, r.ID); err != nil {
			return err
		}
		return fmt.Errorf("sqlitestore: event %q is not pending or not claimed by %q: %w", r.ID, r.Owner, checkpoint.ErrConflict)
	})
}

// Events lists events matching q in the order recorded.
func (s *Store) Events(ctx context.Context, q *checkpoint.EventQuery) ([]checkpoint.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.EventQuery{}
	}
	rows, err := s.read.QueryContext(ctx, qEvents, q.ThreadID, q.Type, string(q.Status), checkpoint.PageLimit(q.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: events: %w", err)
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
		return 0, errors.New("sqlitestore: PruneEvents without arguments")
	}
	var n int64
	err := s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qPruneEvents, encodeTime(p.Before))
		if err != nil {
			return fmt.Errorf("sqlitestore: prune events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// scanEvents reads rows of eventCols and closes them.
func scanEvents(rows *sql.Rows) ([]checkpoint.Event, []int64, error) {
	defer rows.Close()
	var out []checkpoint.Event
	var seqs []int64
	for rows.Next() {
		var e checkpoint.Event
		var seq int64
		var assignees, done []byte
		var dedup sql.NullString
		var status string
		var deadline, created, attempts, next, delivered intCol
		if err := rows.Scan(&seq, &e.ID, &e.Type, &e.ThreadID, &e.Workflow, &e.InterruptID, &e.Node, &e.Key, &e.Reason, &assignees,
			&deadline, &e.Author, &e.Channel, &e.Error, &dedup, &created, &status, &attempts, &next, &e.LastError, &done, &delivered); err != nil {
			return nil, nil, fmt.Errorf("sqlitestore: events: %w", err)
		}
		var d decoder
		e.Assignees = d.strings("assignees", assignees)
		e.Deadline = d.time("deadline", deadline)
		e.CreatedAt = d.time("created_at", created)
		e.Attempts = int(d.int("attempts", attempts))
		e.NextAttempt = d.time("next_attempt", next)
		e.Done = d.strings("done", done)
		e.DeliveredAt = d.time("delivered_at", delivered)
		if d.err != nil {
			return nil, nil, corrupt(fmt.Sprintf("event %q", e.ID), d.err)
		}
		e.Dedup, e.Status = dedup.String, checkpoint.EventStatus(status)
		out = append(out, e)
		seqs = append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlitestore: events: %w", err)
	}
	return out, seqs, nil
}
