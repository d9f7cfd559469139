package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/weftgraph/weft/checkpoint"
)

type recordKey struct{ kind, id string }

// PutRecord writes r; see checkpoint.Records.
func (s *Store) PutRecord(ctx context.Context, r *checkpoint.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkpoint.CheckRecord(r); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[recordKey]checkpoint.Record{}
	}
	k := recordKey{r.Kind, r.ID}
	now := s.now().UTC()
	rec := checkpoint.Record{Kind: r.Kind, ID: r.ID, ThreadID: r.ThreadID, Data: slices.Clone(r.Data), CreatedAt: now, UpdatedAt: now}
	if len(rec.Data) == 0 {
		rec.Data = []byte("null")
	}
	if old, ok := s.records[k]; ok {
		rec.CreatedAt = old.CreatedAt
	}
	s.records[k] = rec
	return nil
}

// Record returns the record of kind and id; see checkpoint.Records.
func (s *Store) Record(ctx context.Context, kind, id string) (*checkpoint.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.records[recordKey{kind, id}]
	if !ok {
		return nil, fmt.Errorf("memstore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
	}
	rec.Data = slices.Clone(rec.Data)
	return &rec, nil
}

// Records lists records; see checkpoint.Records.
func (s *Store) Records(ctx context.Context, q *checkpoint.RecordQuery) (*checkpoint.RecordPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil || q.Kind == "" {
		return nil, fmt.Errorf("memstore: Records needs a kind")
	}
	limit := checkpoint.RecordLimit(q)
	s.mu.RLock()
	var out []checkpoint.Record
	for k, rec := range s.records {
		if k.kind == q.Kind && (q.ThreadID == "" || rec.ThreadID == q.ThreadID) && k.id > q.After {
			rec.Data = slices.Clone(rec.Data)
			out = append(out, rec)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b checkpoint.Record) int { return strings.Compare(a.ID, b.ID) })
	p := &checkpoint.RecordPage{Records: out}
	if len(out) > limit {
		p.Records = out[:limit]
		p.Next = out[limit-1].ID
	}
	return p, nil
}

// DeleteRecord removes the record of kind and id; see checkpoint.Records.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := recordKey{kind, id}
	if _, ok := s.records[k]; !ok {
		return fmt.Errorf("memstore: record %s/%s: %w", kind, id, checkpoint.ErrNotFound)
	}
	delete(s.records, k)
	return nil
}

// DeleteRecords removes the records of a thread; see checkpoint.Records.
func (s *Store) DeleteRecords(ctx context.Context, threadID string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, rec := range s.records {
		if rec.ThreadID == threadID {
			delete(s.records, k)
			n++
		}
	}
	return n, nil
}
