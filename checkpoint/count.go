package checkpoint

import "context"

// PendingCounter is an optional interface of a Store: how many questions
// wait for an answer (InterruptPending), per workflow. The OpenTelemetry
// package's weft.questions.pending gauge reads it. memstore, sqlitestore
// and pgstore implement it; find it with a type assertion:
//
//	if pc, ok := store.(checkpoint.PendingCounter); ok { ... }
//
// The SQL stores count the entries of their index of pending questions
// (no row is read), so the cost grows with the number pending: call it at
// a metrics interval, not per request.
type PendingCounter interface {
	// CountPending returns the number of pending questions of each
	// workflow that has any.
	CountPending(ctx context.Context) (map[string]int64, error)
}
