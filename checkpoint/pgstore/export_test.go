package pgstore

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/internal/notifier"
)

// InterruptsSQL returns the SQL and arguments that Interrupts sends for q.
func InterruptsSQL(s *Store, q *checkpoint.InterruptQuery) (string, []any, error) {
	dueFew, err := s.dueFew(context.Background(), q)
	if err != nil {
		return "", nil, err
	}
	sql, args, _, err := s.interruptsQuery(q, dueFew)
	return sql, args, err
}

// CopyInterrupts loads rows of the interrupts table with COPY. Each row
// holds the columns of InterruptColumns.
func CopyInterrupts(ctx context.Context, s *Store, rows [][]any) (int64, error) {
	return s.pool.CopyFrom(ctx, pgx.Identifier{s.schema, "interrupts"}, InterruptColumns, pgx.CopyFromRows(rows))
}

// InterruptColumns are the columns of the interrupts table.
var InterruptColumns = strings.Split(strings.ReplaceAll(interruptColumns, " ", ""), ",")

// MigrateTo brings s's schema up to version target only.
func MigrateTo(ctx context.Context, s *Store, target int) error { return s.migrateTo(ctx, target) }

// NewUnchecked returns a store on pool without migrating or checking the
// schema's version.
func NewUnchecked(pool *pgxpool.Pool, schema string) *Store {
	s := &Store{pool: pool, schema: schema, ident: quote(schema), sql: newStatements(quote(schema)), channel: channelOf(schema)}
	s.notices = notifier.New(s.sendNotices, 0, nil)
	return s
}

// CheckpointSQL returns the statement of Checkpoint for an empty id (head
// true, in the root namespace) or an explicit one.
func CheckpointSQL(s *Store, head bool) string {
	if head {
		return s.sql.checkpointHead
	}
	return s.sql.checkpointByID
}

// VerifyBlobsSQL returns the statement of a commit with VerifyBlobs: $1
// thread, $2 namespace, $3 fields, $4 versions.
func VerifyBlobsSQL(s *Store) string { return s.sql.verifyBlobs }

// BlobRowsRead returns how many blob rows the store's Checkpoint calls
// have read, before it keeps the chains.
func BlobRowsRead(s *Store) int64 { return s.blobRows.Load() }

// ClaimReadySQL returns the statement of ClaimReady: $1 workflows, $2
// limit, $3 owner, $4 lease in microseconds, $5 now.
func ClaimReadySQL(s *Store) string { return s.sql.claimReady }
