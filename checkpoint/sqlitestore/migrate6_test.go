package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// TestUpgradeToRecords writes a thread at schema version 5, migrates to 6,
// and checks that the thread is as it was, that there are no records (the
// migration invents none), and that records are written and read after it.
func TestUpgradeToRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(createVersionTable)
	for _, m := range ms[:5] {
		exec(m.sql)
		exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 0)`, m.version, m.name)
	}
	exec(`INSERT INTO threads (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)
		VALUES ('t', 'refund', 'g', 'completed', 1, ?, '', '', NULL, 0, 0)`, checkpoint.FormatID(1))

	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatal("Open of a version-5 file without Migrate succeeded")
	}
	s, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion || SchemaVersion < 6 {
		t.Fatalf("SchemaVersion = %d, %v; want %d (6 or later)", v, err, SchemaVersion)
	}
	if th, err := s.Thread(ctx, "t"); err != nil || th.Workflow != "refund" || th.Status != checkpoint.StatusCompleted {
		t.Fatalf("thread after the migration = %+v, %v", th, err)
	}
	if p, err := s.Records(ctx, &checkpoint.RecordQuery{Kind: "run"}); err != nil || len(p.Records) != 0 {
		t.Fatalf("records after the migration = %+v, %v; want none", p, err)
	}
	if err := s.PutRecord(ctx, &checkpoint.Record{Kind: "run", ID: "r", ThreadID: "t", Data: json.RawMessage(`{"status":"success"}`)}); err != nil {
		t.Fatal(err)
	}
	if rec, err := s.Record(ctx, "run", "r"); err != nil || rec.ThreadID != "t" || string(rec.Data) != `{"status":"success"}` {
		t.Fatalf("Record = %+v, %v", rec, err)
	}
}
