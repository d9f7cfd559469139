package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

// DeleteThread removes the thread and everything stored for it: one
// DELETE per table, in one batch and one implicit transaction.
func (s *Store) DeleteThread(ctx context.Context, threadID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, sql := range s.sql.deleteThread {
		b.Queue(sql, threadID)
	}
	br := s.pool.SendBatch(ctx, b)
	tag, err := br.Exec() // the threads row
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgstore: thread %q: delete: %w", threadID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFoundThread(threadID)
	}
	return nil
}

// Prune removes old checkpoints and returns how many it removed; see
// checkpoint.Store. It is one transaction of two statements: the first
// locks (FOR SHARE) the threads that have checkpoints to remove, so that
// their commits wait or finish first; the second ranks the checkpoints of
// each namespace of those threads, removes those the rules pick (never a
// namespace's newest nor the head), their pending writes, and the blobs no
// remaining checkpoint needs, following Append chains. Steps and
// interrupts stay. A commit with VerifyBlobs that names a blob the prune
// removed fails with ErrNotFound.
func (s *Store) Prune(ctx context.Context, p *checkpoint.Prune) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, errors.New("pgstore: Prune without arguments")
	}
	if p.KeepLast <= 0 && p.Before.IsZero() {
		if p.ThreadID != "" {
			if _, err := s.Thread(ctx, p.ThreadID); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	n, err := s.prune(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune: %w", err)
	}
	if n == 0 && p.ThreadID != "" {
		if _, err := s.Thread(ctx, p.ThreadID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// prune runs the prune in a transaction of two statements: lock the
// threads with checkpoints to remove, then remove them.
func (s *Store) prune(ctx context.Context, p *checkpoint.Prune) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	rows, err := tx.Query(ctx, s.sql.pruneLock, p.ThreadID, max(p.KeepLast, 0), nullTime(p.Before))
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var n int
	if err := tx.QueryRow(ctx, s.sql.prune, p.ThreadID, max(p.KeepLast, 0), nullTime(p.Before), ids).Scan(&n); err != nil {
		return 0, err
	}
	return n, tx.Commit(ctx)
}
