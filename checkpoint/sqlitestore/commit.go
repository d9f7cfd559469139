package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// The statements of Commit, PutWrites and DeleteThread.
const (
	qThreadVersion = `SELECT version, workflow, status FROM threads WHERE id = ?`
	qInsertThread  = `INSERT INTO threads (` + threadCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
		ON CONFLICT (id) DO NOTHING`
	// qCancel cancels the thread's pending interrupts, those of the JSON
	// array ?6 only if it is not NULL.
	qCancel = `UPDATE interrupts SET status = 'cancelled', author = ?1, channel = ?2, answered_at = ?3, note = ?4
		WHERE thread_id = ?5 AND status = 'pending' AND (?6 IS NULL OR id IN (SELECT value FROM json_each(?6)))`
	// qCarry copies the pending writes of checkpoint ?4 whose kind is in
	// the JSON array ?5 to checkpoint ?3.
	qCarry = `INSERT INTO pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data)
		SELECT thread_id, namespace, ?3, task, kind, key, data FROM pending_writes
		WHERE thread_id = ?1 AND namespace = ?2 AND checkpoint_id = ?4 AND kind IN (SELECT value FROM json_each(?5))
		ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = excluded.data`
	// qMissingBlob returns the (field, version) pairs of the JSON object ?1
	// with a version below ?4 that are not a plain row: for each, the first
	// row of the field at or above the version, if it is a pack (its
	// pack_from and data), which holds the blob if the version is one of
	// its blobs' (see 0007_blob_packs.sql). The first row is found by its
	// rowid, from the primary key.
	qMissingBlob = `SELECT j.key, j.value, b.pack_from, CASE WHEN b.pack_from <= j.value THEN b.data END
		FROM json_each(?1) j LEFT JOIN blobs b ON b.rowid = (SELECT p.rowid FROM blobs p
			WHERE p.thread_id = ?2 AND p.namespace = ?3 AND p.field = j.key AND p.version >= j.value ORDER BY p.version LIMIT 1)
		WHERE j.value < ?4 AND (b.version IS NULL OR b.version <> j.value OR b.pack_from IS NOT NULL)`
	qInsertCP = `INSERT INTO checkpoints (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// qInsertBlob inserts a full blob (base ?5 not older than its version
	// ?4, 0 included), whose root is its own version (see
	// 0003_blob_roots.sql).
	qInsertBlob = `INSERT INTO blobs (thread_id, namespace, field, version, base, root, data) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6)`
	// qInsertAppend inserts an Append blob (a base ?5 older than its
	// version ?4) with its root and returns the root: the root of the row
	// that holds its base (the first row of the field at or above ?5, if it
	// is ?5 itself or a pack that spans it: see 0007_blob_packs.sql), or ?5
	// itself when no row does. The CASE reads pack_from, the last column,
	// only when that row is not the base itself.
	qInsertAppend = `INSERT INTO blobs (thread_id, namespace, field, version, base, root, data)
		VALUES (?1, ?2, ?3, ?4, ?5, coalesce((SELECT
			CASE WHEN p.version = ?5 THEN p.root WHEN p.pack_from <= ?5 THEN p.root END FROM blobs p
			WHERE p.thread_id = ?1 AND p.namespace = ?2 AND p.field = ?3 AND p.version >= ?5 ORDER BY p.version LIMIT 1), ?5), ?6)
		RETURNING root`
	qDeleteWrites = `DELETE FROM pending_writes WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`
	qPutWrite     = `INSERT INTO pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = excluded.data`
	qInsertInterrupt = `INSERT INTO interrupts (` + interruptCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id, id) DO NOTHING`
	qInsertStep = `INSERT INTO steps (thread_id, version, seq, namespace, superstep, checkpoint_id, node, task, status,
		started_at, duration, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qClaimOf      = `SELECT status, owner, epoch FROM threads WHERE id = ?`
	qDeleteThread = `DELETE FROM threads WHERE id = ?`
)

// threadSet is the SET list of a commit's UPDATE of the thread. The
// argument of stop_requested is 1 if the thread is left running: it keeps
// the stored stop request if it was running already, and any other status
// clears it (the right-hand sides of an UPDATE read the old row).
const threadSet = `graph_hash = ?, version = ?, head = ?, error = ?, owner = ?, lease_until = ?, epoch = ?,
	stop_requested = CASE WHEN ? AND status = 'running' THEN stop_requested END, updated_at = ?`

// qUpdateThread returns the UPDATE of a thread's row, guarded by its
// version. It sets workflow and status only when they change: setting an
// indexed column rewrites its index entry even to the same value, two more
// pages per commit.
func qUpdateThread(workflow, status bool) string {
	q := `UPDATE threads SET ` + threadSet
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
	qThreadVersion, qInsertThread, qAdvanceThread, qCancel, qCarry, qMissingBlob, qInsertCP, qInsertBlob, qInsertAppend,
	qDeleteWrites, qPutWrite, qInsertInterrupt, qInsertStep, qClaimOf, qDeleteThread,
	qUpdateThread(true, false), qUpdateThread(false, true), qUpdateThread(true, true),
	qAnswer, qReassign, qInterruptStatus, qInterruptState, qThreadExists, qThread,
	qClaimThread, qReadyThread, qClaimable, qHeartbeat, qStopRunning, qStopReady, qTakeLease, qReleaseLease,
	qEventOfInterrupt, qAddEvent, qClaimEvents, qDeliveredEvent, qRetryEvent, qEventExists, qPruneEvents,
	qFoldRows, qFoldDelete, qFoldWrite, qHasPack, qPruneVersions, qPruneBlobsRows, qPruneDelete, qPruneRepack,
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
// 0), Commit rolls back and returns ErrConflict: nothing of it is kept. So
// does a missing blob that c.VerifyBlobs asks about, with ErrNotFound.
func (s *Store) Commit(ctx context.Context, c *checkpoint.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Check(); err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	id := c.Thread.ID
	version := c.ExpectedVersion + 1
	cpID := checkpoint.FormatID(version)

	var cp checkpoint.Checkpoint
	var enc encodedCheckpoint
	if c.Checkpoint != nil {
		cp = *c.Checkpoint
		if cp.CreatedAt.IsZero() {
			cp.CreatedAt = c.At
		}
		var err1, err2, err3 error
		enc.next, err1 = encodeStrings(cp.Next)
		enc.versions, err2 = encodeVersions(cp.Versions)
		enc.meta, err3 = encodeMeta(cp.Meta)
		if err := errors.Join(err1, err2, err3); err != nil {
			return 0, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: %w", id, cpID, err)
		}
	}
	ints, err := interruptArgs(id, c.At, c.Interrupts)
	if err != nil {
		return 0, err
	}
	var cancelIDs, carryKinds any
	if c.Cancel != nil {
		if cancelIDs, err = encodeStrings(c.Cancel.IDs); err != nil {
			return 0, fmt.Errorf("sqlitestore: thread %q: cancel interrupts: %w", id, err)
		}
	}
	if c.Carry != nil {
		if carryKinds, err = encodeStrings(c.Carry.Kinds); err != nil {
			return 0, fmt.Errorf("sqlitestore: thread %q: carry writes: %w", id, err)
		}
	}

	err = s.writeTx(ctx, func(tx txn) error {
		if err := writeThread(ctx, tx, c, version, s.now()); err != nil {
			return err
		}
		if c.VerifyBlobs && c.Checkpoint != nil && enc.versions != nil {
			if err := verifyBlobs(ctx, tx, id, cpID, &cp, enc.versions, version); err != nil {
				return err
			}
		}
		if x := c.Cancel; x != nil {
			if _, err := tx.exec(ctx, qCancel, x.Author, x.Channel, encodeOptionalTime(x.At), x.Note, id, cancelIDs); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: cancel interrupts: %w", id, err)
			}
		}
		if x := c.Carry; x != nil && carryKinds != nil {
			if _, err := tx.exec(ctx, qCarry, id, cp.Namespace, cpID, x.From, carryKinds); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: carry writes of %q to %s: %w", id, x.From, cpID, err)
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
		for i, args := range ints {
			res, err := tx.exec(ctx, qInsertInterrupt, args...)
			if err != nil {
				return fmt.Errorf("sqlitestore: thread %q: insert interrupt %q: %w", id, args[1], err)
			}
			if st := c.Interrupts[i].Status; (s.outbox || s.watch) && (st == "" || st == checkpoint.InterruptPending) {
				if n, err := res.RowsAffected(); err == nil && n == 1 {
					if err := s.recordQuestion(ctx, tx, checkpoint.EventQuestionAsked, id, c.Interrupts[i].ID, "", ""); err != nil {
						return err
					}
				}
			}
		}
		if err := s.recordFailed(ctx, tx, &c.Thread); err != nil {
			return err
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

// verifyBlobs returns ErrNotFound if a blob that cp's versions (versions,
// encoded) name at a version before version is not stored: not a plain
// row, nor a blob of the pack that spans its version (unpacked here, in
// the rare case a fork names a blob that was folded). A pack that cannot
// be read is an error wrapping checkpoint.ErrCorrupt and
// checkpoint.ErrPack.
func verifyBlobs(ctx context.Context, tx txn, id, cpID string, cp *checkpoint.Checkpoint, versions any, version int64) error {
	rows, err := tx.QueryContext(ctx, qMissingBlob, versions, id, cp.Namespace, version)
	if err != nil {
		return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: verify blobs: %w", id, cpID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var field string
		var v int64
		var from intCol
		var pack []byte
		if err := rows.Scan(&field, &v, &from, &pack); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: verify blobs: %w", id, cpID, err)
		}
		found := false
		if pack != nil {
			if found, err = packHas(field, pack, v); err != nil {
				return corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s: verify blob %q of version %d", id, cp.Namespace, cpID, field, v), err)
			}
		}
		if !found {
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %s names blob %q of version %d, which is gone: %w",
				id, cpID, field, v, checkpoint.ErrNotFound)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: verify blobs: %w", id, cpID, err)
	}
	return nil
}

// qAdvanceThread is the UPDATE of a superstep that keeps the thread's
// workflow and status, the common case: one statement that checks the
// version and sets no indexed column but updated_at (which only the
// partial index threads_claimable holds, for a ready or running thread).
const qAdvanceThread = `UPDATE threads SET ` + threadSet + `
	WHERE id = ? AND version = ? AND workflow = ? AND status = ?`

// writeThread moves the thread's row from c.ExpectedVersion to version, or
// returns ErrConflict. now is the store's time, from which the lease of a
// thread left running runs.
func writeThread(ctx context.Context, tx txn, c *checkpoint.Commit, version int64, now time.Time) error {
	t := &c.Thread
	owner, lease, running := "", any(nil), 0
	if t.Status == checkpoint.StatusRunning {
		owner, lease, running = t.Owner, encodeTime(now.Add(c.Lease)), 1
	}
	at := encodeTime(c.At)
	if c.ExpectedVersion == 0 {
		res, err := tx.exec(ctx, qInsertThread, t.ID, t.Workflow, t.GraphHash, string(t.Status), version, t.Head, t.Error,
			owner, lease, t.Epoch, at, at)
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: commit: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			return nil
		}
	} else {
		res, err := tx.exec(ctx, qAdvanceThread, t.GraphHash, version, t.Head, t.Error, owner, lease, t.Epoch, running, at,
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
	args := make([]any, 0, 13)
	args = append(args, t.GraphHash, version, t.Head, t.Error, owner, lease, t.Epoch, running, at)
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
// the superstep it ends. An Append blob whose chain has grown foldAfter
// versions above its root folds the chain into a pack (foldChain); its
// insert returns the root, so a commit that does not fold runs one
// statement per blob, as before packs.
func insertCheckpoint(ctx context.Context, tx txn, id string, version int64, cp *checkpoint.Checkpoint, enc *encodedCheckpoint) error {
	if _, err := tx.exec(ctx, qInsertCP, id, cp.Namespace, version, cp.ParentID, cp.Step, cp.Source,
		enc.next, enc.versions, enc.meta, encodeTime(cp.CreatedAt)); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: insert checkpoint %s: %w", id, checkpoint.FormatID(version), err)
	}
	for i := range cp.Blobs {
		b := &cp.Blobs[i]
		if b.Base <= 0 || b.Base >= version {
			if _, err := tx.exec(ctx, qInsertBlob, id, cp.Namespace, b.Field, version, b.Base, bytesArg(b.Data)); err != nil {
				return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: insert blob %q: %w", id, checkpoint.FormatID(version), b.Field, err)
			}
			continue
		}
		var root int64
		if err := tx.QueryRowContext(ctx, qInsertAppend, id, cp.Namespace, b.Field, version, b.Base, bytesArg(b.Data)).Scan(&root); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %s: insert blob %q: %w", id, checkpoint.FormatID(version), b.Field, err)
		}
		if version-root >= foldAfter {
			if err := foldChain(ctx, tx, id, cp.Namespace, b.Field, version, root); err != nil {
				return err
			}
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

// PutWrites records pending writes if the thread is still claimed by
// p.Owner at p.Epoch: it reads the claim and writes in one transaction, so
// no claim can be taken over in between.
func (s *Store) PutWrites(ctx context.Context, p *checkpoint.PutWrites) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("sqlitestore: PutWrites without arguments")
	}
	return s.writeTx(ctx, func(tx txn) error {
		var status, owner string
		var epoch int64
		err := tx.QueryRowContext(ctx, qClaimOf, p.ThreadID).Scan(&status, &owner, &epoch)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlitestore: thread %q does not exist, writes expected a claim: %w", p.ThreadID, checkpoint.ErrConflict)
		case err != nil:
			return fmt.Errorf("sqlitestore: thread %q: put pending writes: %w", p.ThreadID, err)
		case status != string(checkpoint.StatusRunning) || owner != p.Owner || epoch != p.Epoch:
			return fmt.Errorf("sqlitestore: thread %q is not claimed by %q at epoch %d (it is %s, by %q at epoch %d): %w",
				p.ThreadID, p.Owner, p.Epoch, status, owner, epoch, checkpoint.ErrConflict)
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
