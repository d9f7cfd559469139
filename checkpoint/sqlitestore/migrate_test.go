package sqlitestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	v, err := s.SchemaVersion(ctx)
	if sqlitestore.SchemaVersion != sqlitestore.LatestSchemaVersion() {
		t.Errorf("SchemaVersion %d, but the embedded migrations go up to %d", sqlitestore.SchemaVersion, sqlitestore.LatestSchemaVersion())
	}
	if !errors.Is(sqlitestore.ErrNotMigrated, checkpoint.ErrNotMigrated) {
		t.Error("sqlitestore.ErrNotMigrated is not checkpoint.ErrNotMigrated")
	}
	if err != nil || v != sqlitestore.LatestSchemaVersion() || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, sqlitestore.LatestSchemaVersion())
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate on an up-to-date database: %v", err)
	}
	if _, err := commitNext(ctx, s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateReopen opens one file again and again, with and without
// Migrate: nothing changes, and the data stays.
func TestMigrateReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openAt(t, path)
	if _, err := commitNext(ctx, s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []sqlitestore.Options{{Migrate: true}, {}, {Migrate: true}} {
		s2, err := sqlitestore.Open(ctx, path, opts)
		if err != nil {
			t.Fatalf("Open(%+v) again: %v", opts, err)
		}
		if v, err := s2.SchemaVersion(ctx); err != nil || v != sqlitestore.LatestSchemaVersion() {
			t.Errorf("SchemaVersion = %d, %v", v, err)
		}
		if th, err := s2.Thread(ctx, "t"); err != nil || th.Version != 1 {
			t.Errorf("Thread = %+v, %v", th, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := rawDB(t, path).QueryRowContext(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != sqlitestore.LatestSchemaVersion() {
		t.Fatalf("schema_version has %d rows, %v; want one per migration", rows, err)
	}
}

func TestOpenWithoutMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a new file without Migrate: no error")
	}
	var se *sqlitestore.SchemaError
	if !errors.Is(err, sqlitestore.ErrNotMigrated) || !errors.As(err, &se) || se.Have != 0 || se.Known != sqlitestore.LatestSchemaVersion() {
		t.Fatalf("Open without Migrate: %v, want a *SchemaError{Have: 0} wrapping ErrNotMigrated", err)
	}
	t.Log(err)
	// The refused Open left the file usable: migrating it works.
	openAt(t, path)
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openAt(t, path)
	newer := sqlitestore.LatestSchemaVersion() + 1
	if _, err := rawDB(t, path).ExecContext(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future', 0)`, newer); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []sqlitestore.Options{{}, {Migrate: true}} {
		s2, err := sqlitestore.Open(ctx, path, opts)
		if err == nil {
			s2.Close()
			t.Fatalf("Open(%+v) of a newer database: no error", opts)
		}
		var se *sqlitestore.SchemaError
		if !errors.Is(err, checkpoint.ErrSchemaTooNew) || !errors.As(err, &se) || se.Have != newer {
			t.Fatalf("Open(%+v): %v, want a *SchemaError{Have: %d} wrapping ErrSchemaTooNew", opts, err, newer)
		}
		t.Log(err)
	}
	// The store opened before the newer program migrated refuses to
	// migrate, and changes nothing.
	if err := s.Migrate(ctx); !errors.Is(err, checkpoint.ErrSchemaTooNew) {
		t.Fatalf("Migrate: %v, want ErrSchemaTooNew", err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != newer {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, newer)
	}
}

// TestMigrateConcurrently opens a new file from several goroutines at
// once, each with its own connections: one applies the migrations, the
// others wait for it and find nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Migrate: true})
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	s := openAt(t, path)
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlitestore.LatestSchemaVersion() {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
}

// TestMigrateFromV1 builds a file at schema version 1 (the first
// migration alone, as an older program left it), with a thread, a
// checkpoint, a pending write and an interrupt, and opens it with Migrate:
// the upgrade keeps every row and gives the new columns their defaults
// (epoch 0, no stop request, no note, no fallback time), and the claims
// work on the old rows.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{
		`PRAGMA journal_mode = WAL`,
		string(v1),
		`CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_version VALUES (1, 'init', 0)`,
		`INSERT INTO threads VALUES ('t', 'w', 'g', 'interrupted', 1, '000000000001', '', '', NULL, 1000000, 2000000)`,
		`INSERT INTO checkpoints VALUES ('t', '', 1, '', 0, 'input', NULL, '{"f":1}', NULL, 1000000)`,
		`INSERT INTO blobs VALUES ('t', '', 1, 'f', 0, x'31')`,
		`INSERT INTO pending_writes VALUES ('t', '', '000000000001', 'n', 'output', '', x'32')`,
		`INSERT INTO interrupts (thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index,
			reason, assignees, deadline, status, author, channel, created_at)
			VALUES ('t', 'q', 'w', '000000000001', '', 'n', 'n', 'dynamic', '', 0, 'why', '["ann"]', 5000000, 'pending', '', '', 1000000)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()

	if s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{}); !errors.Is(err, sqlitestore.ErrNotMigrated) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a version 1 file without Migrate: %v, want ErrNotMigrated", err)
	}
	s := openAt(t, path)
	if v, err := s.SchemaVersion(ctx); err != nil || v != sqlitestore.LatestSchemaVersion() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, sqlitestore.LatestSchemaVersion())
	}
	th, err := s.Thread(ctx, "t")
	if err != nil || th.Version != 1 || th.Status != checkpoint.StatusInterrupted || th.Head != checkpoint.FormatID(1) ||
		th.Epoch != 0 || !th.StopRequested.IsZero() || !th.UpdatedAt.Equal(time.UnixMicro(2000000).UTC()) {
		t.Fatalf("Thread after the upgrade = %+v, %v", th, err)
	}
	cp, err := s.Checkpoint(ctx, "t", "", "")
	if err != nil || len(cp.Blobs) != 1 || string(cp.Blobs[0].Data) != "1" {
		t.Fatalf("Checkpoint after the upgrade = %+v, %v", cp, err)
	}
	ws, err := s.PendingWrites(ctx, "t", "", checkpoint.FormatID(1))
	if err != nil || len(ws) != 1 || string(ws[0].Data) != "2" {
		t.Fatalf("PendingWrites after the upgrade = %+v, %v", ws, err)
	}
	page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"ann"}})
	if err != nil || len(page.Interrupts) != 1 {
		t.Fatalf("Interrupts after the upgrade = %+v, %v", page, err)
	}
	if r := page.Interrupts[0]; r.ID != "q" || r.Note != "" || !r.FallbackAt.IsZero() || !r.Deadline.Equal(time.UnixMicro(5000000).UTC()) {
		t.Fatalf("interrupt after the upgrade = %+v", r)
	}
	// The old rows take part in the new features: answering makes the
	// thread ready, and ClaimReady finds it through the new index.
	res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t",
		Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`true`), Author: "ann", At: t0}}})
	if err != nil || res.Claimed || res.Thread.Status != checkpoint.StatusReady || res.Thread.Version != 2 {
		t.Fatalf("Answer after the upgrade = %+v, %v", res, err)
	}
	claimed, err := s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: "o", Lease: time.Minute, Workflows: []string{"w"}})
	if err != nil || len(claimed) != 1 || claimed[0].ID != "t" || claimed[0].Epoch != 1 || claimed[0].Version != 3 {
		t.Fatalf("ClaimReady after the upgrade = %+v, %v", claimed, err)
	}
	if ok, err := s.Lease(ctx, &checkpoint.Lease{Name: "maintenance", Owner: "o", TTL: time.Minute}); err != nil || !ok {
		t.Fatalf("Lease after the upgrade = %v, %v", ok, err)
	}
}
