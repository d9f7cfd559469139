package pgstore_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// TestUpgradeToRecords writes a thread at schema version 5, migrates to 6,
// and checks that the thread is as it was, that there are no records (the
// migration invents none), and that records are written and read after it.
func TestUpgradeToRecords(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	schema := pgtest.Schema(t)
	old := pgstore.NewUnchecked(pool, schema)
	if err := pgstore.MigrateTo(ctx, old, 5); err != nil {
		t.Fatal(err)
	}
	tbl := pgx.Identifier{schema, "threads"}.Sanitize()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := pool.Exec(ctx, "INSERT INTO "+tbl+" (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)"+
		" VALUES ('t', 'refund', 'g', 'completed', 1, $1, '', '', NULL, $2, $2)", checkpoint.FormatID(1), at); err != nil {
		t.Fatal(err)
	}
	if _, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema}); err == nil {
		t.Fatal("New on a version-5 schema without Migrate succeeded")
	}
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, schema)
	if th, err := s.Thread(ctx, "t"); err != nil || th.Workflow != "refund" || th.Status != checkpoint.StatusCompleted {
		t.Fatalf("thread after the migration = %+v, %v", th, err)
	}
	if p, err := s.Records(ctx, &checkpoint.RecordQuery{Kind: "run"}); err != nil || len(p.Records) != 0 {
		t.Fatalf("records after the migration = %+v, %v; want none", p, err)
	}
	if err := s.PutRecord(ctx, &checkpoint.Record{Kind: "run", ID: "r", ThreadID: "t", Data: json.RawMessage(`{"status":"success"}`)}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Record(ctx, "run", "r"); err != nil || rec.ThreadID != "t" {
		t.Fatalf("Record = %+v, %v", rec, err)
	}
	if _, err := s.Record(ctx, "run", "nope"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("Record(nope) = %v, want ErrNotFound", err)
	}
}
