package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftgraph/weft/checkpoint"
)

// The statements of Commit, PutWrites and DeleteThread.
const (
	qThreadVersion = `SELECT version, workflow, status FROM threads WHERE id = ?`
	qInsertThread  = `INSERT INTO threads (` + threadCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`
	qCancelPending = `UPDATE interrupts SET status = 'cancelled' WHERE thread_id = ? AND status = 'pending'`
	qInsertCP      = `INSERT INTO checkpoints (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertBlob   = `INSERT INTO blobs (thread_id, namespace, version, field, base, data) VALUES (?, ?, ?, ?, ?, ?)`
	qDeleteWrites = `DELETE FROM pending_writes WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`
	qPutWrite     = `INSERT INTO pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = excluded.data`
	qInsertInterrupt = `INSERT INTO interrupts (` + interruptCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, id) DO NOTHING`
	qInsertStep = `INSERT INTO steps (thread_id, version, seq, namespace, superstep, checkpoint_id, node, task, status,
		started_at, duration, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qDeleteThread = `DELETE FROM threads WHERE id = ?`
)

// qUpdateThread returns the UPDATE of a thread's row, guarded by its
// version. It sets workflow and status only when they change: setting an
// indexed column rewrites its index entry even to the same value, two more
// pages per commit.
func qUpdateThread(workflow, status bool) string {
	q := `UPDATE threads SET graph_hash = ?, version = ?, head = ?, error = ?, owner = ?, lease_until = ?, updated_at = ?`
	if workflow {
		q += `, workflow = ?`
	}
	if status {
		q += `, status = ?`
	}
	return q + ` WHERE id = ? AND version = ?`
}

// writeQueries lists the statements prepared on the write connection.
// qUpdateThread(false, false) is left out: a commit that changes neither
// workflow nor status is done by qAdvanceThread, so writeThread does not
// run it (and exec would run it unprepared if it did).
var writeQueries = []string{
	qThreadVersion, qInsertThread, qAdvanceThread, qCancelPending, qInsertCP, qInsertBlob, qDeleteWrites, qPutWrite,
	qInsertInterrupt, qInsertStep, qDeleteThread,
	qUpdateThread(true, false), qUpdateThread(false, true), qUpdateThread(true, true),
	qAnswer, qReassign, qInterruptStatus, qThreadExists,
}

// encodedCheckpoint is a checkpoint's columns, encoded before the write
// transaction starts so that the write lock is held only for writing.
type encodedCheckpoint struct {
	next, versions, meta any
}

// Commit applies c atomically and returns the thread's new version; see
// checkpoint.Store.
//
// Everything happens in one transaction, which holds the write lock from
// its start (BEGIN IMMEDIATE). It first moves the thread's row to the new
// version with an UPDATE ... WHERE version = c.ExpectedVersion (an INSERT
// for ExpectedVersion 0). If that changes no row, and the thread is not at
// the expected version (or is missing, or exists when ExpectedVersion is
// 0), Commit rolls back and returns ErrConflict: nothing of it is kept.
func (s *Store) Commit(ctx context.Context, c *checkpoint.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Check(); err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	id := c.Thread.ID
	version := c.ExpectedVersion + 1

	var cp checkpoint.Checkpoint
	var enc encodedCheckpoint
	if c.Checkpoint != nil {
		want := checkpoint.FormatID(version)
		cp = *c.Checkpoint
		if cp.CreatedAt.IsZero() {
			cp.CreatedAt = c.At
		}
		var err1, err2, err3 error
		enc.next, err1 = encodeStrings(cp.Next)
		enc.versions, err2 = encodeVersions(cp.Versions)
		enc.meta, err3 = encodeMeta(cp.Meta)
		if err := errors.Join(err1, err2, err3); err != nil {
			return 0, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: %w", id, want, err)
		}
	}
	ints, err := interruptArgs(id, c.At, c.Interrupts)
	if err != nil {
		return 0, err
	}

	err = s.writeTx(ctx, func(tx txn) error {
		if err := writeThread(ctx, tx, c, version); err != nil {
			return err
		}
		if c.CancelPending {
			if _, err := tx.exec(ctx, qCancelPending, id); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: cancel interrupts: %w", id, err)
			}
		}
		if c.Checkpoint != nil {
			if err := insertCheckpoint(ctx, tx, id, version, &cp, &enc); err != nil {
				return err
			}
		}
		if err := putWrites(ctx, tx, id, c.Writes); err != nil {
			return err
		}
		for _, args := range ints {
			if _, err := tx.exec(ctx, qInsertInterrupt, args...); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: insert interrupt %q: %w", id, args[1], err)
			}
		}
		for i := range c.Steps {
			st := &c.Steps[i]
			if _, err := tx.exec(ctx, qInsertStep, id, version, i, st.Namespace, st.Superstep, st.CheckpointID, st.Node,
				st.Task, string(st.Status), encodeTime(st.StartedAt), int64(st.Duration), st.Error); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: insert step: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// qAdvanceThread is the UPDATE of a superstep that keeps the thread's
// workflow and status, the common case: one statement that checks the
// version and changes no index.
const qAdvanceThread = `UPDATE threads SET graph_hash = ?, version = ?, head = ?, error = ?, owner = ?, lease_until = ?,
	updated_at = ? WHERE id = ? AND version = ? AND workflow = ? AND status = ?`

// writeThread moves the thread's row from c.ExpectedVersion to version, or
// returns ErrConflict.
func writeThread(ctx context.Context, tx txn, c *checkpoint.Commit, version int64) error {
	t := &c.Thread
	lease, at := encodeOptionalTime(t.LeaseUntil), encodeTime(c.At)
	if c.ExpectedVersion == 0 {
		res, err := tx.exec(ctx, qInsertThread, t.ID, t.Workflow, t.GraphHash, string(t.Status), version, t.Head, t.Error,
			t.Owner, lease, at, at)
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: commit: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
	} else {
		res, err := tx.exec(ctx, qAdvanceThread, t.GraphHash, version, t.Head, t.Error, t.Owner, lease, at,
			t.ID, c.ExpectedVersion, t.Workflow, string(t.Status))
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: commit: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
	}
	// A conflict, or a change of workflow or status: read the row (this
	// transaction holds the write lock, so it cannot change meanwhile).
	var current int64
	var workflow, status string
	err := tx.QueryRowContext(ctx, qThreadVersion, t.ID).Scan(&current, &workflow, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlitestore: thread %q does not exist, commit expected version %d: %w", t.ID, c.ExpectedVersion, checkpoint.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlitestore: thread %q: commit: %w", t.ID, err)
	case current != c.ExpectedVersion:
		return fmt.Errorf("sqlitestore: thread %q is at version %d, commit expected %d: %w", t.ID, current, c.ExpectedVersion, checkpoint.ErrConflict)
	}
	setWorkflow, setStatus := workflow != t.Workflow, status != string(t.Status)
	args := make([]any, 0, 11)
	args = append(args, t.GraphHash, version, t.Head, t.Error, t.Owner, lease, at)
	if setWorkflow {
		args = append(args, t.Workflow)
	}
	if setStatus {
		args = append(args, string(t.Status))
	}
	args = append(args, t.ID, c.ExpectedVersion)
	res, err := tx.exec(ctx, qUpdateThread(setWorkflow, setStatus), args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: thread %q: commit: %w", t.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Cannot happen while this transaction holds the write lock.
		return fmt.Errorf("sqlitestore: thread %q: version moved from %d during the commit: %w", t.ID, c.ExpectedVersion, checkpoint.ErrConflict)
	}
	return nil
}

// insertCheckpoint writes cp, its blobs, and removes the pending writes of
// the superstep it ends.
func insertCheckpoint(ctx context.Context, tx txn, id string, version int64, cp *checkpoint.Checkpoint, enc *encodedCheckpoint) error {
	if _, err := tx.exec(ctx, qInsertCP, id, cp.Namespace, version, cp.ParentID, cp.Step, cp.Source,
		enc.next, enc.versions, enc.meta, encodeTime(cp.CreatedAt)); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: insert checkpoint %s: %w", id, checkpoint.FormatID(version), err)
	}
	for i := range cp.Blobs {
		b := &cp.Blobs[i]
		if _, err := tx.exec(ctx, qInsertBlob, id, cp.Namespace, version, b.Field, b.Base, bytesArg(b.Data)); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: insert blob %q: %w", id, checkpoint.FormatID(version), b.Field, err)
		}
	}
	if _, err := tx.exec(ctx, qDeleteWrites, id, cp.Namespace, cp.ParentID); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: remove pending writes of %q: %w", id, cp.ParentID, err)
	}
	return nil
}

// putWrites stores ws, replacing writes with the same key.
func putWrites(ctx context.Context, tx txn, id string, ws []checkpoint.PendingWrite) error {
	for i := range ws {
		w := &ws[i]
		if _, err := tx.exec(ctx, qPutWrite, id, w.Namespace, w.CheckpointID, w.Task, w.Kind, w.Key, bytesArg(w.Data)); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: put pending write %s/%s/%s: %w", id, w.Task, w.Kind, w.Key, err)
		}
	}
	return nil
}

// PutWrites records pending writes if the thread is still at p.Version.
func (s *Store) PutWrites(ctx context.Context, p *checkpoint.PutWrites) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("sqlitestore: PutWrites without arguments")
	}
	return s.writeTx(ctx, func(tx txn) error {
		var current int64
		var workflow, status string
		err := tx.QueryRowContext(ctx, qThreadVersion, p.ThreadID).Scan(&current, &workflow, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlitestore: thread %q does not exist, writes expected version %d: %w", p.ThreadID, p.Version, checkpoint.ErrConflict)
		case err != nil:
			return fmt.Errorf("sqlitestore: thread %q: put pending writes: %w", p.ThreadID, err)
		case current != p.Version:
			return fmt.Errorf("sqlitestore: thread %q is at version %d, writes expected %d: %w", p.ThreadID, current, p.Version, checkpoint.ErrConflict)
		}
		return putWrites(ctx, tx, p.ThreadID, p.Writes)
	})
}

// DeleteThread removes the thread and everything stored for it (the
// foreign keys cascade).
func (s *Store) DeleteThread(ctx context.Context, threadID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qDeleteThread, threadID)
		if err != nil {
			return fmt.Errorf("sqlitestore: delete thread %q: %w", threadID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return notFoundThread(threadID)
		}
		return nil
	})
}
