package pgstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

func TestMigrations(t *testing.T) {
	ms := pgstore.Migrations("my schema")
	if len(ms) != pgstore.SchemaVersion {
		t.Fatalf("%d migrations, want %d", len(ms), pgstore.SchemaVersion)
	}
	for i, m := range ms {
		if m.Version != i+1 || m.Name == "" || strings.Contains(m.SQL, "{{schema}}") || !strings.Contains(m.SQL, `"my schema".`) {
			t.Errorf("migration %d: %d %q", i, m.Version, m.Name)
		}
	}
	if d := pgstore.Migrations(""); !strings.Contains(d[0].SQL, `"weft".`) {
		t.Error(`Migrations("") is not for schema "weft"`)
	}
	for _, tc := range []struct {
		from int
		has  []string
		lack []string
	}{
		{0, []string{"BEGIN;", "pg_advisory_xact_lock", `CREATE SCHEMA IF NOT EXISTS "s"`, "0001_init.sql", "0003_blob_roots.sql", `INSERT INTO "s".schema_version (version, name) VALUES (1, 'init')`, "COMMIT;"}, nil},
		{1, []string{"0002_claims.sql", "0003_blob_roots.sql", "0004_outbox.sql"}, []string{"0001_init.sql", "{{schema}}"}},
		{3, []string{"0004_outbox.sql", `CREATE TABLE "s".outbox`, "VALUES (4, 'outbox')"}, []string{"0003_blob_roots.sql"}},
	} {
		s := pgstore.MigrationScript("s", tc.from)
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
	if s := pgstore.MigrationScript("s", pgstore.SchemaVersion); s != "" {
		t.Errorf("MigrationScript(latest) = %q", s)
	}
}

// TestMigrationScriptApplies runs the script by hand on a new schema, then
// on one at version 1: New then accepts the schema without migrating, and
// Applied reads the versions as Migrate records them.
func TestMigrationScriptApplies(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.Pool(t)
	for _, from := range []int{0, 1} {
		schema := pgtest.Schema(t)
		if ms, err := pgstore.Applied(ctx, pool, schema); err != nil || len(ms) != 0 {
			t.Fatalf("Applied before = %+v, %v", ms, err)
		}
		if from > 0 {
			s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			// Back to version from: a schema made by an older weft.
			if _, err := pool.Exec(ctx, "DROP SCHEMA "+quoteIdent(schema)+" CASCADE"); err != nil {
				t.Fatal(err)
			}
			if err := pgstore.MigrateTo(ctx, s, from); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := pool.Exec(ctx, pgstore.MigrationScript(schema, from)); err != nil {
			t.Fatalf("the script from %d: %v", from, err)
		}
		if _, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema}); err != nil {
			t.Fatalf("New after the script from %d: %v", from, err)
		}
		ms, err := pgstore.Applied(ctx, pool, schema)
		if err != nil || len(ms) != pgstore.SchemaVersion {
			t.Fatalf("Applied = %+v, %v", ms, err)
		}
		for i, m := range ms {
			if m.Version != i+1 || m.Name != pgstore.Migrations(schema)[i].Name || time.Since(m.AppliedAt) > time.Hour {
				t.Errorf("applied %d: %+v", i, m)
			}
		}
	}
	if ms, err := pgstore.Applied(ctx, pool, "no_such_schema_here"); err != nil || len(ms) != 0 {
		t.Errorf("Applied of a missing schema = %+v, %v", ms, err)
	}
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
