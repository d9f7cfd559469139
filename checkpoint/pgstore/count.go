package pgstore

import (
	"context"
	"fmt"
)

// CountPending returns the number of pending questions per workflow
// (checkpoint.PendingCounter), counted from the partial index
// interrupts_inbox_workflow (an index-only scan once the table is
// vacuumed).
func (s *Store) CountPending(ctx context.Context) (map[string]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT workflow, count(*) FROM `+s.ident+`.interrupts
		WHERE status = 'pending' GROUP BY workflow`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: count pending questions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var workflow string
		var n int64
		if err := rows.Scan(&workflow, &n); err != nil {
			return nil, fmt.Errorf("pgstore: count pending questions: %w", err)
		}
		out[workflow] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: count pending questions: %w", err)
	}
	return out, nil
}
