package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

func TestMigrations(t *testing.T) {
	ms := sqlitestore.Migrations()
	if len(ms) != sqlitestore.SchemaVersion {
		t.Fatalf("%d migrations, want %d", len(ms), sqlitestore.SchemaVersion)
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || !strings.Contains(m.SQL, "CREATE") && !strings.Contains(m.SQL, "ALTER") {
			t.Errorf("migration %d: %d %q (%d bytes)", i, m.Version, m.Name, len(m.SQL))
		}
	}
	if ms[0].Name != "init" {
		t.Errorf("the first migration is %q", ms[0].Name)
	}
	for _, tc := range []struct {
		from int
		has  []string
		lack []string
	}{
		{0, []string{"0001_init.sql", "0002_claims.sql", "0003_blob_roots.sql", "BEGIN IMMEDIATE;", "COMMIT;", "VALUES (1, 'init'"}, nil},
		{2, []string{"0003_blob_roots.sql", "VALUES (3, 'blob_roots'", "0004_outbox.sql"}, []string{"0001_init.sql", "0002_claims.sql"}},
		{3, []string{"0004_outbox.sql", "VALUES (4, 'outbox'", "CREATE TABLE outbox"}, []string{"0003_blob_roots.sql"}},
		{-1, []string{"0001_init.sql"}, nil},
	} {
		s := sqlitestore.MigrationScript(tc.from)
		for _, h := range tc.has {
			if !strings.Contains(s, h) {
				t.Errorf("MigrationScript(%d) lacks %q", tc.from, h)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(s, l) {
				t.Errorf("MigrationScript(%d) has %q", tc.from, l)
			}
		}
	}
	if s := sqlitestore.MigrationScript(sqlitestore.SchemaVersion); s != "" {
		t.Errorf("MigrationScript(latest) = %q, want nothing", s)
	}
}

// TestMigrationScriptApplies runs the script on a new file by hand: the
// file is then one Open accepts without migrating, with the versions
// recorded as Migrate records them.
func TestMigrationScriptApplies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hand.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, sqlitestore.MigrationScript(0)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatalf("Open after the script: %v", err)
	}
	s.Close()
	applied, err := sqlitestore.Applied(ctx, path)
	if err != nil || len(applied) != sqlitestore.SchemaVersion {
		t.Fatalf("Applied = %+v, %v", applied, err)
	}
	if d := time.Since(applied[0].AppliedAt); d < 0 || d > time.Hour {
		t.Errorf("applied at %v", applied[0].AppliedAt)
	}
}

func TestApplied(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.db")
	if _, err := sqlitestore.Applied(ctx, missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Applied of a missing file: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("Applied created the file")
	}

	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ms, err := sqlitestore.Applied(ctx, empty); err != nil || len(ms) != 0 {
		t.Errorf("Applied of an empty file = %+v, %v", ms, err)
	}

	path := filepath.Join(dir, "weft.db")
	s := openAt(t, path)
	ms, err := sqlitestore.Applied(ctx, path)
	if err != nil || len(ms) != sqlitestore.SchemaVersion {
		t.Fatalf("Applied = %+v, %v", ms, err)
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name != sqlitestore.Migrations()[i].Name || m.AppliedAt.IsZero() {
			t.Errorf("applied %d: %+v", i, m)
		}
	}
	// Applied reads while a Store has the file open.
	if _, err := commitNext(ctx, s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
	if ms, err := sqlitestore.Applied(ctx, path); err != nil || len(ms) != sqlitestore.SchemaVersion {
		t.Errorf("Applied beside a store = %d, %v", len(ms), err)
	}
}
