package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftgraph/weft/checkpoint"
)

// pruneBatch is how many threads a Prune of every thread handles in one
// write transaction: big enough to share the cost of a commit, small
// enough not to keep other writers waiting long.
const pruneBatch = 100

// Prune removes old checkpoints and returns how many it removed; see
// checkpoint.Store. A checkpoint's blobs stay while a remaining checkpoint
// needs them; steps and interrupts stay. A Prune of one thread is one
// transaction; a Prune of every thread (p.ThreadID "") works through the
// threads in ID order, 100 threads per transaction, so it does not hold the
// write lock for long, and a thread created meanwhile may or may not be
// pruned.
func (s *Store) Prune(ctx context.Context, p *checkpoint.Prune) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, errors.New("sqlitestore: Prune without arguments")
	}
	if p.ThreadID != "" {
		removed := 0
		err := s.writeTx(ctx, func(tx txn) error {
			n, err := pruneThread(ctx, tx, p.ThreadID, p)
			if errors.Is(err, sql.ErrNoRows) {
				return notFoundThread(p.ThreadID)
			}
			removed = n
			return err
		})
		return removed, err
	}
	if p.KeepLast <= 0 && p.Before.IsZero() {
		return 0, nil
	}
	removed := 0
	after := ""
	for {
		ids, err := s.threadIDs(ctx, after, pruneBatch)
		if err != nil || len(ids) == 0 {
			return removed, err
		}
		err = s.writeTx(ctx, func(tx txn) error {
			for _, id := range ids {
				n, err := pruneThread(ctx, tx, id, p)
				if errors.Is(err, sql.ErrNoRows) {
					continue // deleted meanwhile
				}
				if err != nil {
					return err
				}
				removed += n
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		after = ids[len(ids)-1]
	}
}

// threadIDs returns up to n thread IDs after after, in order.
func (s *Store) threadIDs(ctx context.Context, after string, n int) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM threads WHERE id > ? ORDER BY id LIMIT ?`, after, n)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: prune: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlitestore: prune: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: prune: %w", err)
	}
	return ids, nil
}

// pruneThread prunes one thread inside tx; sql.ErrNoRows if it does not
// exist. Per namespace it keeps the newest checkpoint and, in the root
// namespace, the head; of the others it removes those that are not among
// the newest p.KeepLast or were created before p.Before.
func pruneThread(ctx context.Context, tx txn, id string, p *checkpoint.Prune) (int, error) {
	var head string
	if err := tx.QueryRowContext(ctx, qHead, id).Scan(&head); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		return 0, fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
	}
	if p.KeepLast <= 0 && p.Before.IsZero() {
		return 0, nil
	}
	type entry struct {
		version int64
		created int64
	}
	var spaces []string
	entries := make(map[string][]entry)
	rows, err := tx.QueryContext(ctx, `SELECT namespace, version, created_at FROM checkpoints WHERE thread_id = ? ORDER BY namespace, version`, id)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
	}
	for rows.Next() {
		var ns string
		var e entry
		if err := rows.Scan(&ns, &e.version, &e.created); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
		}
		if _, ok := entries[ns]; !ok {
			spaces = append(spaces, ns)
		}
		entries[ns] = append(entries[ns], e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
	}

	before := int64(0)
	if !p.Before.IsZero() {
		before = encodeTime(p.Before)
	}
	removed := 0
	for _, ns := range spaces {
		es := entries[ns]
		var gone []int64
		for i, e := range es {
			if i == len(es)-1 || (ns == "" && checkpoint.FormatID(e.version) == head) {
				continue
			}
			if (p.KeepLast > 0 && i+1 <= len(es)-p.KeepLast) || (!p.Before.IsZero() && e.created < before) {
				gone = append(gone, e.version)
			}
		}
		if len(gone) == 0 {
			continue
		}
		for _, v := range gone {
			if _, err := tx.exec(ctx, `DELETE FROM checkpoints WHERE thread_id = ? AND namespace = ? AND version = ?`, id, ns, v); err != nil {
				return 0, fmt.Errorf("sqlitestore: thread %q: prune checkpoint %s: %w", id, checkpoint.FormatID(v), err)
			}
			if _, err := tx.exec(ctx, `DELETE FROM pending_writes WHERE thread_id = ? AND namespace = ? AND checkpoint_id = ?`,
				id, ns, checkpoint.FormatID(v)); err != nil {
				return 0, fmt.Errorf("sqlitestore: thread %q: prune checkpoint %s: %w", id, checkpoint.FormatID(v), err)
			}
		}
		removed += len(gone)
		if err := collectBlobs(ctx, tx, id, ns); err != nil {
			return 0, err
		}
	}
	return removed, nil
}

// collectBlobsQuery deletes the blobs of namespace ?2 of thread ?1 that no
// remaining checkpoint needs, directly or down an Append chain, and whose
// own checkpoint is gone. It reads bases from rows, so it serves only a
// namespace without packs.
const collectBlobsQuery = `WITH RECURSIVE need (field, version) AS (
	SELECT j.key, j.value FROM checkpoints c, json_each(c.versions) j
	WHERE c.thread_id = ?1 AND c.namespace = ?2
	UNION
	SELECT b.field, b.base FROM need n CROSS JOIN blobs b
		ON b.thread_id = ?1 AND b.namespace = ?2 AND b.field = n.field AND b.version = n.version
	WHERE b.base <> 0 AND b.base < b.version
)
DELETE FROM blobs WHERE thread_id = ?1 AND namespace = ?2
	AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.thread_id = ?1 AND c.namespace = ?2 AND c.version = blobs.version)
	AND (field, version) NOT IN (SELECT field, version FROM need)`

// collectBlobs removes the blobs of a namespace that nothing needs any
// more. It refuses to when a remaining checkpoint's versions cannot be
// read, since it could not tell which blobs that checkpoint needs, and
// when a pack cannot be read (collectPacked).
func collectBlobs(ctx context.Context, tx txn, id, ns string) error {
	var bad int64
	err := tx.QueryRowContext(ctx, `SELECT version FROM checkpoints WHERE thread_id = ? AND namespace = ?
		AND versions IS NOT NULL AND (NOT json_valid(versions) OR json_type(versions) <> 'object') LIMIT 1`, id, ns).Scan(&bad)
	if err == nil {
		return corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s", id, ns, checkpoint.FormatID(bad)),
			errors.New("column versions: not a JSON object: cannot tell which blobs it needs, so none are removed"))
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
	}
	// A namespace with packs is collected in Go, which follows the bases
	// of the blobs inside them; one without, by collectBlobsQuery.
	var one int
	err = tx.QueryRowContext(ctx, qHasPack, id, ns).Scan(&one)
	switch {
	case err == nil:
		return collectPacked(ctx, tx, id, ns)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlitestore: thread %q: prune: %w", id, err)
	}
	if _, err := tx.exec(ctx, collectBlobsQuery, id, ns); err != nil {
		return fmt.Errorf("sqlitestore: thread %q: prune blobs of namespace %q: %w", id, ns, err)
	}
	return nil
}
