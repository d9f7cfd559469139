package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

// Checkpoint returns one checkpoint with every blob needed to rebuild its
// state; an empty id asks for the head. It is one statement: the thread,
// the checkpoint and the blobs (down Append chains, packs among them
// unpacked here) are read in one snapshot.
func (s *Store) Checkpoint(ctx context.Context, threadID, namespace, id string) (*checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var sql string
	args := []any{threadID, namespace}
	switch {
	case id != "":
		v, err := checkpoint.ParseID(id)
		if err != nil {
			return nil, fmt.Errorf("pgstore: thread %q: namespace %q: %w", threadID, namespace, err)
		}
		sql = s.sql.checkpointByID
		args = append(args, v)
	case namespace == "":
		sql = s.sql.checkpointHead
	default:
		sql = s.sql.checkpointNewest
	}
	var (
		head     string
		row      checkpointRow
		fields   []string
		versions []int64
		bases    []int64
		data     [][]byte
		packs    []bool
	)
	dest := append([]any{&head}, row.scanDest()...)
	dest = append(dest, &fields, &versions, &bases, &data, &packs)
	err := s.pool.QueryRow(ctx, sql, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundThread(threadID)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: checkpoint %q in namespace %q: %w", threadID, id, namespace, err)
	}
	if !row.found() {
		switch {
		case id != "":
			return nil, fmt.Errorf("pgstore: thread %q: checkpoint %q in namespace %q: %w", threadID, id, namespace, checkpoint.ErrNotFound)
		case namespace == "" && head == "":
			return nil, fmt.Errorf("pgstore: thread %q has no head checkpoint: %w", threadID, checkpoint.ErrNotFound)
		case namespace == "":
			return nil, fmt.Errorf("pgstore: thread %q: head checkpoint %q: %w", threadID, head, checkpoint.ErrNotFound)
		}
		return nil, fmt.Errorf("pgstore: thread %q: namespace %q has no checkpoint: %w", threadID, namespace, checkpoint.ErrNotFound)
	}
	cp, err := row.decode(threadID)
	if err != nil {
		return nil, err
	}
	blobs, err := decodeBlobs(fields, versions, bases, data, packs)
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: checkpoint %s in namespace %q: %w", threadID, cp.ID, namespace, err)
	}
	s.blobRows.Add(int64(len(fields)))
	cp.Blobs = checkpoint.ChainBlobs(blobs, cp.Versions)
	return &cp, nil
}

// History lists a namespace's checkpoints, newest first, without blobs.
func (s *Store) History(ctx context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("pgstore: History without a query")
	}
	before := int64(math.MaxInt64)
	if q.Before != "" {
		v, err := checkpoint.ParseID(q.Before)
		if err != nil {
			return nil, fmt.Errorf("pgstore: thread %q: history before: %w", q.ThreadID, err)
		}
		before = v
	}
	var limit pgtype.Int8 // NULL: LIMIT ALL
	if q.Limit > 0 {
		limit = pgtype.Int8{Int64: int64(q.Limit), Valid: true}
	}
	rows, err := s.pool.Query(ctx, s.sql.history, q.ThreadID, q.Namespace, before, limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: history: %w", q.ThreadID, err)
	}
	defer rows.Close()
	thread := false
	var out []checkpoint.Checkpoint
	for rows.Next() {
		thread = true
		var row checkpointRow
		if err := rows.Scan(row.scanDest()...); err != nil {
			return nil, fmt.Errorf("pgstore: thread %q: history: %w", q.ThreadID, err)
		}
		if !row.found() {
			continue
		}
		cp, err := row.decode(q.ThreadID)
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: history: %w", q.ThreadID, err)
	}
	if !thread {
		return nil, notFoundThread(q.ThreadID)
	}
	return out, nil
}

// PendingWrites returns the pending writes of the superstep that starts
// from checkpointID in namespace, ordered by task, kind and key (bytewise).
func (s *Store) PendingWrites(ctx context.Context, threadID, namespace, checkpointID string) ([]checkpoint.PendingWrite, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql.pendingWrites, threadID, namespace, checkpointID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: pending writes: %w", threadID, err)
	}
	defer rows.Close()
	thread := false
	var out []checkpoint.PendingWrite
	for rows.Next() {
		thread = true
		var task, kind, key pgtype.Text
		var data []byte
		if err := rows.Scan(&task, &kind, &key, &data); err != nil {
			return nil, fmt.Errorf("pgstore: thread %q: pending writes: %w", threadID, err)
		}
		if !task.Valid {
			continue // the thread has none
		}
		out = append(out, checkpoint.PendingWrite{
			Namespace: namespace, CheckpointID: checkpointID,
			Task: task.String, Kind: kind.String, Key: key.String, Data: data,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: pending writes: %w", threadID, err)
	}
	if !thread {
		return nil, notFoundThread(threadID)
	}
	return out, nil
}

// Steps returns the step log of commits after version afterVersion, in the
// order written.
func (s *Store) Steps(ctx context.Context, threadID string, afterVersion int64) ([]checkpoint.Step, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql.steps, threadID, afterVersion)
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: steps: %w", threadID, err)
	}
	defer rows.Close()
	thread := false
	var out []checkpoint.Step
	for rows.Next() {
		thread = true
		var (
			version                             pgtype.Int8
			ns, cp, node, task, status, errText pgtype.Text
			superstep                           pgtype.Int4
			started                             pgtype.Timestamptz
			duration                            pgtype.Int8
		)
		if err := rows.Scan(&version, &ns, &superstep, &cp, &node, &task, &status, &started, &duration, &errText); err != nil {
			return nil, fmt.Errorf("pgstore: thread %q: steps: %w", threadID, err)
		}
		if !version.Valid {
			continue // the thread has none
		}
		out = append(out, checkpoint.Step{
			ThreadID: threadID, Namespace: ns.String, Version: version.Int64, Superstep: int(superstep.Int32),
			CheckpointID: cp.String, Node: node.String, Task: task.String, Status: checkpoint.StepStatus(status.String),
			StartedAt: timeOf(started), Duration: time.Duration(duration.Int64), Error: errText.String,
		})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: steps: %w", threadID, err)
	}
	if !thread {
		return nil, notFoundThread(threadID)
	}
	return out, nil
}
