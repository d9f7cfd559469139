package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

var _ checkpoint.Records = (*Store)(nil)

// recordSQL returns a statement on the store's schema.
func (s *Store) recordSQL(q string) string { return strings.ReplaceAll(q, "{{schema}}", s.ident) }

const recordColumns = `kind, id, thread_id, data::text, created_at, updated_at`

// PutRecord writes r; see checkpoint.Records.
func (s *Store) PutRecord(ctx context.Context, r *checkpoint.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkpoint.CheckRecord(r); err != nil {
		return err
	}
	data := string(r.Data)
	if data == "" {
		data = "null"
	}
	_, err := s.pool.Exec(ctx, s.recordSQL(`INSERT INTO {{schema}}.records (kind, id, thread_id, data, created_at, updated_at)
VALUES ($1, $2, $3, $4::jsonb, coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now()))
ON CONFLICT (kind, id) DO UPDATE SET thread_id = excluded.thread_id, data = excluded.data, updated_at = excluded.updated_at`),
		r.Kind, r.ID, r.ThreadID, data, s.now())
	if err != nil {
		return fmt.Errorf("pgstore: record %s/%s: put: %w", r.Kind, r.ID, err)
	}
	return nil
}

func scanRecord(row pgx.Row) (checkpoint.Record, error) {
	var rec checkpoint.Record
	var data string
	if err := row.Scan(&rec.Kind, &rec.ID, &rec.ThreadID, &data, &rec.CreatedAt, &rec.UpdatedAt); err != nil {
		return rec, err
	}
	rec.Data = []byte(data)
	rec.CreatedAt, rec.UpdatedAt = rec.CreatedAt.UTC(), rec.UpdatedAt.UTC()
	return rec, nil
}

// Record returns the record of kind and id; see checkpoint.Records.
func (s *Store) Record(ctx context.Context, kind, id string) (*checkpoint.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := scanRecord(s.pool.QueryRow(ctx, s.recordSQL(`SELECT `+recordColumns+` FROM {{schema}}.records WHERE kind = $1 AND id = $2`), kind, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("pgstore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("pgstore: record %s/%s: %w", kind, id, err)
	}
	return &rec, nil
}

// Records lists records in ID (byte) order; see checkpoint.Records.
func (s *Store) Records(ctx context.Context, q *checkpoint.RecordQuery) (*checkpoint.RecordPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Kind == "" {
		return nil, errors.New("pgstore: Records needs a kind")
	}
	limit := checkpoint.RecordLimit(q)
	rows, err := s.pool.Query(ctx, s.recordSQL(`SELECT `+recordColumns+` FROM {{schema}}.records
WHERE kind = $1 AND id > $2 AND ($3 = '' OR thread_id = $3) ORDER BY id LIMIT $4`), q.Kind, q.After, q.ThreadID, limit+1)
	if err != nil {
		return nil, fmt.Errorf("pgstore: records %s: %w", q.Kind, err)
	}
	defer rows.Close()
	p := &checkpoint.RecordPage{Records: []checkpoint.Record{}}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: records %s: %w", q.Kind, err)
		}
		p.Records = append(p.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: records %s: %w", q.Kind, err)
	}
	if len(p.Records) > limit {
		p.Records = p.Records[:limit]
		p.Next = p.Records[limit-1].ID
	}
	return p, nil
}

// DeleteRecord removes the record of kind and id; see checkpoint.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.recordSQL(`DELETE FROM {{schema}}.records WHERE kind = $1 AND id = $2`), kind, id)
	if err != nil {
		return fmt.Errorf("pgstore: record %s/%s: delete: %w", kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
	}
	return nil
}

// DeleteRecords removes the records of a thread; see checkpoint.Records.
func (s *Store) DeleteRecords(ctx context.Context, threadID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, s.recordSQL(`DELETE FROM {{schema}}.records WHERE thread_id = $1`), threadID)
	if err != nil {
		return 0, fmt.Errorf("pgstore: thread %q: delete records: %w", threadID, err)
	}
	return int(tag.RowsAffected()), nil
}
