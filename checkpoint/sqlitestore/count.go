package sqlitestore

import (
	"context"
	"fmt"
)

// qCountPending counts the pending questions per workflow from the index
// interrupts_inbox_workflow alone (its entries of status 'pending').
const qCountPending = `SELECT workflow, count(*) FROM interrupts INDEXED BY interrupts_inbox_workflow
	WHERE status = 'pending' GROUP BY workflow`

// CountPending returns the number of pending questions per workflow
// (checkpoint.PendingCounter).
func (s *Store) CountPending(ctx context.Context) (map[string]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, qCountPending)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: count pending questions: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var workflow string
		var n int64
		if err := rows.Scan(&workflow, &n); err != nil {
			return nil, fmt.Errorf("sqlitestore: count pending questions: %w", err)
		}
		out[workflow] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: count pending questions: %w", err)
	}
	return out, nil
}
