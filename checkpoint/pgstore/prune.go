package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
// remaining checkpoint needs, following Append chains. In the namespaces
// it touched that hold packs, it then drops from each pack the blobs no
// remaining checkpoint needs, rewriting the pack, or removing it when none
// is left; a pack it cannot read fails the prune with an error wrapping
// checkpoint.ErrCorrupt and checkpoint.ErrPack, and nothing is removed.
// Steps and interrupts stay. A commit with VerifyBlobs that names a blob
// the prune removed fails with ErrNotFound.
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

// prune runs the prune in a transaction: lock the threads with
// checkpoints to remove, remove them, then sort out the packs of the
// namespaces that hold some.
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
	var (
		n              int
		threads, names []string
	)
	if err := tx.QueryRow(ctx, s.sql.prune, p.ThreadID, max(p.KeepLast, 0), nullTime(p.Before), ids).Scan(&n, &threads, &names); err != nil {
		return 0, err
	}
	if len(threads) != len(names) {
		return 0, fmt.Errorf("%d threads and %d namespaces with packs", len(threads), len(names))
	}
	for i := range threads {
		if err := s.prunePacks(ctx, tx, threads[i], names[i]); err != nil {
			return 0, fmt.Errorf("thread %q: namespace %q: %w", threads[i], names[i], err)
		}
	}
	return n, tx.Commit(ctx)
}

// prunePacks drops, in the transaction of a prune that removed checkpoints
// of namespace ns of thread id, the blobs of its packs that no remaining
// checkpoint needs (as pruneSQL decides for rows: the blobs the remaining
// checkpoints name, those down their Base chains, and those written at
// their versions), rewriting each pack that has some to drop, or removing
// it when none is left.
func (s *Store) prunePacks(ctx context.Context, tx pgx.Tx, id, ns string) error {
	type pack struct {
		field   string
		version int64
		blobs   []checkpoint.Blob
	}
	rows, err := tx.Query(ctx, s.sql.packRows, id, ns)
	if err != nil {
		return err
	}
	var packs []pack
	var fields []string
	for rows.Next() {
		var p pack
		var data []byte
		if err := rows.Scan(&p.field, &p.version, &data); err != nil {
			rows.Close()
			return err
		}
		if p.blobs, err = unpackRow(nil, p.field, p.version, data); err != nil {
			rows.Close()
			return err
		}
		packs = append(packs, p)
		if len(fields) == 0 || fields[len(fields)-1] != p.field {
			fields = append(fields, p.field)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(packs) == 0 {
		return nil
	}
	// bases maps field@version to the base of every blob of the fields
	// with packs: those of the packs and those of the plain rows.
	type key struct {
		field   string
		version int64
	}
	bases := map[key]int64{}
	for _, p := range packs {
		for _, b := range p.blobs {
			bases[key{p.field, b.Version}] = b.Base
		}
	}
	rows, err = tx.Query(ctx, s.sql.packPlain, id, ns, fields)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k key
		var base int64
		if err := rows.Scan(&k.field, &k.version, &base); err != nil {
			rows.Close()
			return err
		}
		bases[k] = base
	}
	if err := rows.Err(); err != nil {
		return err
	}
	need := map[key]bool{}
	walk := func(k key) {
		for !need[k] {
			base, ok := bases[k]
			if !ok {
				return
			}
			need[k] = true
			if base <= 0 || base >= k.version {
				return
			}
			k.version = base
		}
	}
	rows, err = tx.Query(ctx, s.sql.packNeeds, id, ns)
	if err != nil {
		return err
	}
	for rows.Next() {
		var version int64
		var raw []byte
		if err := rows.Scan(&version, &raw); err != nil {
			rows.Close()
			return err
		}
		versions, err := decodeVersions(raw)
		if err != nil {
			rows.Close()
			return fmt.Errorf("checkpoint %d: %w", version, err)
		}
		for f, v := range versions {
			walk(key{f, v})
		}
		for _, f := range fields {
			walk(key{f, version})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for _, p := range packs {
		keep := slices.DeleteFunc(slices.Clone(p.blobs), func(bl checkpoint.Blob) bool { return !need[key{p.field, bl.Version}] })
		switch {
		case len(keep) == len(p.blobs):
		case len(keep) == 0:
			b.Queue(s.sql.packDelete, id, ns, p.field, p.version)
		default:
			b.Queue(s.sql.packRewrite, id, ns, p.field, p.version, checkpoint.AppendPack(nil, keep), keep[0].Version)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}
