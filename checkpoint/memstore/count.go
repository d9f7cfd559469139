package memstore

import (
	"context"

	"github.com/weftgraph/weft/checkpoint"
)

// CountPending returns the number of pending questions per workflow
// (checkpoint.PendingCounter), from a scan of every thread's questions.
func (s *Store) CountPending(ctx context.Context) (map[string]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, t := range s.threads {
		for i := range t.interrupts {
			if r := &t.interrupts[i]; r.Status == checkpoint.InterruptPending {
				out[r.Workflow]++
			}
		}
	}
	return out, nil
}
