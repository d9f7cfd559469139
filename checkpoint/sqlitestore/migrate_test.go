package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	v, err := s.SchemaVersion(ctx)
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
