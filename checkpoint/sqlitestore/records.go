package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftgraph/weft/checkpoint"
)

var _ checkpoint.Records = (*Store)(nil)

const (
	qPutRecord = `INSERT INTO records (kind, id, thread_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, id) DO UPDATE SET thread_id = excluded.thread_id, data = excluded.data, updated_at = excluded.updated_at`
	qRecord        = `SELECT kind, id, thread_id, data, created_at, updated_at FROM records WHERE kind = ? AND id = ?`
	qDeleteRecord  = `DELETE FROM records WHERE kind = ? AND id = ?`
	qDeleteRecords = `DELETE FROM records WHERE thread_id = ?`
)

// PutRecord writes r; see checkpoint.Records.
func (s *Store) PutRecord(ctx context.Context, r *checkpoint.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkpoint.CheckRecord(r); err != nil {
		return err
	}
	data := []byte(r.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	now := encodeTime(s.now())
	return s.writeTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, qPutRecord, r.Kind, r.ID, r.ThreadID, data, now, now); err != nil {
			return fmt.Errorf("sqlitestore: record %s/%s: put: %w", r.Kind, r.ID, err)
		}
		return nil
	})
}

func scanRecord(row scanner) (checkpoint.Record, error) {
	var rec checkpoint.Record
	var data []byte
	var created, updated int64
	if err := row.Scan(&rec.Kind, &rec.ID, &rec.ThreadID, &data, &created, &updated); err != nil {
		return rec, err
	}
	rec.Data, rec.CreatedAt, rec.UpdatedAt = data, decodeTime(created), decodeTime(updated)
	return rec, nil
}

// Record returns the record of kind and id; see checkpoint.Records.
func (s *Store) Record(ctx context.Context, kind, id string) (*checkpoint.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := scanRecord(s.queryRow(ctx, qRecord, kind, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlitestore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: record %s/%s: %w", kind, id, err)
	}
	return &rec, nil
}

// Records lists records in ID order; see checkpoint.Records.
func (s *Store) Records(ctx context.Context, q *checkpoint.RecordQuery) (*checkpoint.RecordPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Kind == "" {
		return nil, errors.New("sqlitestore: Records needs a kind")
	}
	limit := checkpoint.RecordLimit(q)
	query := `SELECT kind, id, thread_id, data, created_at, updated_at FROM records WHERE kind = ? AND id > ?`
	args := []any{q.Kind, q.After}
	if q.ThreadID != "" {
		query += ` AND thread_id = ?`
		args = append(args, q.ThreadID)
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: records %s: %w", q.Kind, err)
	}
	defer rows.Close()
	p := &checkpoint.RecordPage{Records: []checkpoint.Record{}}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: records %s: %w", q.Kind, err)
		}
		p.Records = append(p.Records, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: records %s: %w", q.Kind, err)
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
	return s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qDeleteRecord, kind, id)
		if err != nil {
			return fmt.Errorf("sqlitestore: record %s/%s: delete: %w", kind, id, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("sqlitestore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
		}
		return nil
	})
}

// DeleteRecords removes the records of a thread; see checkpoint.Records.
func (s *Store) DeleteRecords(ctx context.Context, threadID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := s.writeTx(ctx, func(tx txn) error {
		res, err := tx.exec(ctx, qDeleteRecords, threadID)
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: delete records: %w", threadID, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
