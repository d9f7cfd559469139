package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

const (
	threadCols = `id, workflow, graph_hash, status, version, head, error, owner, lease_until, epoch, stop_requested,
	created_at, updated_at`
	checkpointCols = `namespace, version, parent, step, source, next, versions, meta, created_at`
)

// The statements of the reads.
const (
	qThread     = `SELECT ` + threadCols + ` FROM threads WHERE id = ?`
	qHead       = `SELECT head FROM threads WHERE id = ?`
	qCheckpoint = `SELECT ` + checkpointCols + ` FROM checkpoints WHERE thread_id = ? AND namespace = ? AND version = ?`
	qNewest     = `SELECT ` + checkpointCols + ` FROM checkpoints WHERE thread_id = ? AND namespace = ?
		ORDER BY version DESC LIMIT 1`
	qHistory = `SELECT ` + checkpointCols + ` FROM checkpoints WHERE thread_id = ? AND namespace = ? AND version < ?
		ORDER BY version DESC LIMIT ?`
	qPendingWrites = `SELECT task, kind, key, data FROM pending_writes
		WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ? ORDER BY task, kind, key`
	qSteps = `SELECT version, namespace, superstep, checkpoint_id, node, task, status, started_at, duration, error
		FROM steps WHERE thread_id = ? AND version > ? ORDER BY version, seq`

	// qBlobs gathers the blobs a checkpoint needs, in one range read per
	// field. For each (field, version) of ?1 (a JSON object, the
	// checkpoint's versions) the head row is the first row of the field at
	// or above the version, found by its rowid from the primary key, if it
	// is the version's own row or a pack that spans it (see
	// 0007_blob_packs.sql). Then every row of the field with the head's
	// root and a version from the root to the head's: the head's Append
	// chain, which may start with the pack the chain was folded into, and
	// the blobs of forks that share its root, which checkpoint.ChainBlobs
	// drops once the packs are unpacked. The range is of the primary key
	// (thread_id, namespace, field, version); CROSS JOIN keeps the planner
	// from reordering the lookups. A root above its head (a database
	// written by hand) still reads the head row.
	qBlobs = `WITH want (field, version) AS (SELECT key, value FROM json_each(?1)),
head (field, version, root) AS (
	SELECT b.field, b.version, b.root FROM want w CROSS JOIN blobs b
		ON b.rowid = (SELECT p.rowid FROM blobs p
			WHERE p.thread_id = ?2 AND p.namespace = ?3 AND p.field = w.field AND p.version >= w.version
			ORDER BY p.version LIMIT 1)
	WHERE b.version = w.version OR b.pack_from <= w.version
)
SELECT b.field, b.version, b.base, b.data, b.pack_from FROM head h CROSS JOIN blobs b
	ON b.thread_id = ?2 AND b.namespace = ?3 AND b.field = h.field
		AND b.version BETWEEN min(h.root, h.version) AND h.version
WHERE b.root = h.root OR b.version = h.version`
)

// readQueries lists the statements prepared on the read connections.
var readQueries = []string{qThread, qHead, qCheckpoint, qNewest, qHistory, qPendingWrites, qSteps, qBlobs, qThreadExists}

func scanThread(sc scanner) (checkpoint.Thread, error) {
	var t checkpoint.Thread
	var status string
	var version, lease, epoch, stop, created, updated intCol
	if err := sc.Scan(&t.ID, &t.Workflow, &t.GraphHash, &status, &version, &t.Head, &t.Error, &t.Owner,
		&lease, &epoch, &stop, &created, &updated); err != nil {
		return t, err
	}
	var d decoder
	t.Status = checkpoint.Status(status)
	t.Version = d.int("version", version)
	t.LeaseUntil = d.time("lease_until", lease)
	t.Epoch = d.int("epoch", epoch)
	t.StopRequested = d.time("stop_requested", stop)
	t.CreatedAt = d.time("created_at", created)
	t.UpdatedAt = d.time("updated_at", updated)
	if d.err != nil {
		return t, corrupt(fmt.Sprintf("thread %q", t.ID), d.err)
	}
	return t, nil
}

// Thread returns the thread's row.
func (s *Store) Thread(ctx context.Context, threadID string) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := scanThread(s.queryRow(ctx, qThread, threadID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFoundThread(threadID)
	case errors.Is(err, checkpoint.ErrCorrupt):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: thread %q: %w", threadID, err)
	}
	return &t, nil
}

// Threads lists threads ordered by ID, from the primary key or, with a
// workflow or a status, from the index on it. The cursor is the ID of the
// last thread of the previous page.
func (s *Store) Threads(ctx context.Context, q *checkpoint.ThreadQuery) (*checkpoint.ThreadPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.ThreadQuery{}
	}
	limit := checkpoint.PageLimit(q.Limit)
	query := `SELECT ` + threadCols + ` FROM threads WHERE id > ?`
	args := []any{q.After}
	if q.Workflow != "" {
		query += ` AND workflow = ?`
		args = append(args, q.Workflow)
	}
	if q.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(q.Status))
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: threads: %w", err)
	}
	defer rows.Close()
	page := &checkpoint.ThreadPage{Threads: []checkpoint.Thread{}}
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			if errors.Is(err, checkpoint.ErrCorrupt) {
				return nil, err
			}
			return nil, fmt.Errorf("sqlitestore: threads: %w", err)
		}
		page.Threads = append(page.Threads, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: threads: %w", err)
	}
	if len(page.Threads) > limit {
		page.Threads = page.Threads[:limit]
		page.Next = page.Threads[limit-1].ID
	}
	return page, nil
}

func scanCheckpoint(sc scanner, threadID string) (checkpoint.Checkpoint, error) {
	cp := checkpoint.Checkpoint{ThreadID: threadID}
	var version, step, created intCol
	var next, versions, meta []byte
	if err := sc.Scan(&cp.Namespace, &version, &cp.ParentID, &step, &cp.Source, &next, &versions, &meta, &created); err != nil {
		return cp, err
	}
	var d decoder
	cp.ID = checkpoint.FormatID(d.int("version", version))
	cp.Step = int(d.int("step", step))
	cp.Next = d.strings("next", next)
	cp.Versions = d.versions("versions", versions)
	cp.Meta = d.meta("meta", meta)
	cp.CreatedAt = d.time("created_at", created)
	if d.err != nil {
		return cp, corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s", threadID, cp.Namespace, cp.ID), d.err)
	}
	return cp, nil
}

// Checkpoint returns one checkpoint with every blob needed to rebuild its
// state; an empty id asks for the head. It reads one snapshot of the
// database, so a concurrent Prune cannot take blobs away halfway.
func (s *Store) Checkpoint(ctx context.Context, threadID, namespace, id string) (*checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *checkpoint.Checkpoint
	err := s.readTx(ctx, func(tx txn) error {
		if id == "" && namespace == "" {
			err := tx.QueryRowContext(ctx, qHead, threadID).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				return notFoundThread(threadID)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: thread %q: %w", threadID, err)
			}
			if id == "" {
				return fmt.Errorf("sqlitestore: thread %q has no head checkpoint: %w", threadID, checkpoint.ErrNotFound)
			}
		}
		var row *sql.Row
		if id == "" {
			row = tx.QueryRowContext(ctx, qNewest, threadID, namespace)
		} else {
			v, err := checkpoint.ParseID(id)
			if err != nil {
				v = 0 // no checkpoint has it
			}
			row = tx.QueryRowContext(ctx, qCheckpoint, threadID, namespace, v)
		}
		cp, err := scanCheckpoint(row, threadID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := mustExist(ctx, tx, threadID); err != nil {
				return err
			}
			if id == "" {
				return fmt.Errorf("sqlitestore: thread %q: namespace %q has no checkpoint: %w", threadID, namespace, checkpoint.ErrNotFound)
			}
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %q in namespace %q: %w", threadID, id, namespace, checkpoint.ErrNotFound)
		case errors.Is(err, checkpoint.ErrCorrupt):
			return err
		case err != nil:
			return fmt.Errorf("sqlitestore: thread %q: checkpoint %q: %w", threadID, id, err)
		}
		if len(cp.Versions) > 0 {
			if cp.Blobs, err = readBlobs(ctx, tx, &cp); err != nil {
				return err
			}
		}
		out = &cp
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readBlobs returns the blobs cp needs: one statement, whatever the length
// of the chains. The blobs of a pack row are unpacked where the row was
// read (they are older than the rows above it), sharing its memory; a pack
// that cannot be read is an error wrapping checkpoint.ErrCorrupt and
// checkpoint.ErrPack.
func readBlobs(ctx context.Context, tx txn, cp *checkpoint.Checkpoint) ([]checkpoint.Blob, error) {
	// The versions were decoded from JSON, so they encode; the query gets
	// Go's encoding of them, not the stored text, which SQLite's JSON
	// parser might read differently.
	want, err := encodeVersions(cp.Versions)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: %w", cp.ThreadID, cp.ID, err)
	}
	rows, err := tx.QueryContext(ctx, qBlobs, want, cp.ThreadID, cp.Namespace)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: blobs: %w", cp.ThreadID, cp.ID, err)
	}
	defer rows.Close()
	var read []checkpoint.Blob
	n := int64(0)
	// The columns are scanned into the same variables row after row, so
	// that they are allocated once (Scan copies the values out).
	var b checkpoint.Blob
	var version, base, from intCol
	for rows.Next() {
		b = checkpoint.Blob{}
		if err := rows.Scan(&b.Field, &version, &base, &b.Data, &from); err != nil {
			return nil, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: blobs: %w", cp.ThreadID, cp.ID, err)
		}
		n++
		var d decoder
		b.Version = d.int("version", version)
		b.Base = d.int("base", base)
		if !from.null {
			d.int("pack_from", from)
		}
		if d.err != nil {
			return nil, corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s: blob %q", cp.ThreadID, cp.Namespace, cp.ID, b.Field), d.err)
		}
		if from.null {
			read = append(read, b)
			continue
		}
		if read, err = checkpoint.UnpackBlobs(read, b.Field, b.Data); err != nil {
			return nil, corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s: blob %q: pack at version %d",
				cp.ThreadID, cp.Namespace, cp.ID, b.Field, b.Version), err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: thread %q: checkpoint %s: blobs: %w", cp.ThreadID, cp.ID, err)
	}
	tx.counts.blobRows.Add(n)
	return checkpoint.ChainBlobs(read, cp.Versions), nil
}

// History lists a namespace's checkpoints, newest first, without blobs.
func (s *Store) History(ctx context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("sqlitestore: History without a query")
	}
	before := int64(math.MaxInt64)
	if q.Before != "" {
		v, err := checkpoint.ParseID(q.Before)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: thread %q: history before: %w", q.ThreadID, err)
		}
		before = v
	}
	limit := -1 // SQLite: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	return threadRows(ctx, s, q.ThreadID, "history", qHistory, []any{q.ThreadID, q.Namespace, before, limit},
		func(rows *sql.Rows) (checkpoint.Checkpoint, error) { return scanCheckpoint(rows, q.ThreadID) })
}

// PendingWrites returns the pending writes of the superstep that starts
// from checkpointID in namespace, ordered by task, kind and key.
func (s *Store) PendingWrites(ctx context.Context, threadID, namespace, checkpointID string) ([]checkpoint.PendingWrite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return threadRows(ctx, s, threadID, "pending writes", qPendingWrites, []any{threadID, namespace, checkpointID},
		func(rows *sql.Rows) (checkpoint.PendingWrite, error) {
			w := checkpoint.PendingWrite{Namespace: namespace, CheckpointID: checkpointID}
			err := rows.Scan(&w.Task, &w.Kind, &w.Key, &w.Data)
			return w, err
		})
}

// Steps returns the step log of commits after version afterVersion.
func (s *Store) Steps(ctx context.Context, threadID string, afterVersion int64) ([]checkpoint.Step, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return threadRows(ctx, s, threadID, "steps", qSteps, []any{threadID, afterVersion},
		func(rows *sql.Rows) (checkpoint.Step, error) {
			st := checkpoint.Step{ThreadID: threadID}
			var version, superstep, started, duration intCol
			var status string
			if err := rows.Scan(&version, &st.Namespace, &superstep, &st.CheckpointID, &st.Node, &st.Task, &status,
				&started, &duration, &st.Error); err != nil {
				return st, err
			}
			var d decoder
			st.Version = d.int("version", version)
			st.Superstep = int(d.int("superstep", superstep))
			st.Status = checkpoint.StepStatus(status)
			st.StartedAt = d.time("started_at", started)
			st.Duration = time.Duration(d.int("duration", duration))
			if d.err != nil {
				return st, corrupt(fmt.Sprintf("thread %q: step of version %d, node %q", threadID, st.Version, st.Node), d.err)
			}
			return st, nil
		})
}

// threadRows reads the rows of one thread that query returns, each turned
// into a T by scan, in a read transaction: the shared body of History,
// PendingWrites and Steps. No rows is an empty result if the thread exists
// and ErrNotFound if it does not (checked in the same snapshot). what names
// the read in errors; an error of scan that wraps ErrCorrupt names its row
// already and is returned as it is.
func threadRows[T any](ctx context.Context, s *Store, threadID, what, query string, args []any,
	scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err := s.readTx(ctx, func(tx txn) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: %s: %w", threadID, what, err)
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if errors.Is(err, checkpoint.ErrCorrupt) {
				return err
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: thread %q: %s: %w", threadID, what, err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: %s: %w", threadID, what, err)
		}
		if len(out) == 0 {
			return mustExist(ctx, tx, threadID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
