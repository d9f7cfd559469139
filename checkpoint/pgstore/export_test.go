package pgstore

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

// InterruptsSQL returns the SQL and arguments that Interrupts sends for q.
func InterruptsSQL(s *Store, q *checkpoint.InterruptQuery) (string, []any, error) {
	sql, args, _, err := s.interruptsQuery(q)
	return sql, args, err
}

// CopyInterrupts loads rows of the interrupts table with COPY. Each row
// holds the columns of InterruptColumns.
func CopyInterrupts(ctx context.Context, s *Store, rows [][]any) (int64, error) {
	return s.pool.CopyFrom(ctx, pgx.Identifier{s.schema, "interrupts"}, InterruptColumns, pgx.CopyFromRows(rows))
}

// InterruptColumns are the columns of the interrupts table.
var InterruptColumns = strings.Split(strings.ReplaceAll(interruptColumns, " ", ""), ",")
