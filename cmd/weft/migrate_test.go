package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

type migrateStatus struct {
	Store      string
	Version    int
	Latest     int
	Exists     bool
	Pending    int
	Migrations []migrationRow
}

// TestMigrateStatusPrint checks --status and --print on SQLite files at
// every version: neither changes the file, and the printed SQL, run by
// hand, brings the file to the latest version.
func TestMigrateStatusPrint(t *testing.T) {
	latest := sqlitestore.LatestSchemaVersion()
	dir := t.TempDir()
	weftIn(t, dir, "", "migrate", "--store", "sqlite:full.db").want(t, 0)
	if err := os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// old.db is at version 1: its first migration, applied by hand.
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	script := sqlitestore.MigrationScript(0)
	first, _, _ := strings.Cut(script, "\n-- 0002_")
	if _, err := db.Exec(first + "\nCOMMIT;"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		file    string
		version int
		exists  bool
		text    []string
		sql     []string // in --print
		noSQL   []string
	}{
		{"missing.db", 0, false, []string{"does not exist yet", "pending", fmt.Sprintf("%d pending", latest)}, []string{"0001_init.sql"}, nil},
		{"empty.db", 0, true, []string{"schema version 0", "init", "pending"}, []string{"0001_init.sql", "CREATE TABLE IF NOT EXISTS schema_version"}, nil},
		{"old.db", 1, true, []string{"schema version 1", "applied", fmt.Sprintf("%d pending", latest-1)}, []string{"0002_claims.sql"}, []string{"-- 0001_init.sql\n"}},
		{"full.db", latest, true, []string{fmt.Sprintf("schema version %d; the latest this weft knows is %d", latest, latest)}, []string{"nothing to apply"}, []string{"BEGIN"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			store := "sqlite:" + tc.file
			before, _ := os.ReadFile(filepath.Join(dir, tc.file))
			r := weftIn(t, dir, "", "migrate", "--status", "--store", store).want(t, 0, tc.text...)
			if tc.version < latest && !strings.Contains(r.stdout, "'weft migrate --store "+store+"' applies them") {
				t.Errorf("--status does not say how to apply:\n%s", r.stdout)
			}
			var st migrateStatus
			weftIn(t, dir, "", "migrate", "--status", "--json", "--store", store).want(t, 0).json(t, &st)
			if st.Version != tc.version || st.Latest != latest || st.Exists != tc.exists || st.Pending != latest-tc.version || len(st.Migrations) != latest {
				t.Errorf("--status --json: %+v", st)
			}
			for _, m := range st.Migrations {
				applied := m.Version <= tc.version
				if (m.Status == "applied") != applied || applied == m.AppliedAt.IsZero() {
					t.Errorf("migration %+v at version %d", m, tc.version)
				}
			}
			r = weftIn(t, dir, "", "migrate", "--print", "--store", store).want(t, 0, tc.sql...)
			for _, s := range tc.noSQL {
				if strings.Contains(r.stdout, s) {
					t.Errorf("--print has %q", s)
				}
			}
			after, _ := os.ReadFile(filepath.Join(dir, tc.file))
			if string(before) != string(after) {
				t.Error("--status or --print changed the file")
			}
			if !tc.exists {
				if _, err := os.Stat(filepath.Join(dir, tc.file)); err == nil {
					t.Fatal("--status or --print created the file")
				}
				return
			}
			if tc.version == latest {
				return
			}
			// The printed SQL, run by hand, migrates the file.
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(r.stdout); err != nil {
				t.Fatalf("running the printed SQL: %v", err)
			}
			weftIn(t, dir, "", "migrate", "--status", "--json", "--store", store).want(t, 0).json(t, &st)
			if st.Version != latest || st.Pending != 0 {
				t.Errorf("after the printed SQL: %+v", st)
			}
			weftIn(t, dir, "", "inbox", "--store", store).want(t, 0, "No questions are waiting.")
		})
	}
	weftIn(t, dir, "", "migrate", "--status", "--print").want(t, exitUsage, "give one")
}

func TestMigratePostgres(t *testing.T) {
	pgtest.Pool(t) // skips without a server
	schema := pgtest.Schema(t)
	store := pgtest.URL(t) + "?weft_schema=" + schema
	if strings.Contains(pgtest.URL(t), "?") {
		store = pgtest.URL(t) + "&weft_schema=" + schema
	}
	dir := t.TempDir()
	latest := sqlitestore.LatestSchemaVersion()
	var st migrateStatus
	weftIn(t, dir, "", "migrate", "--status", "--json", "--store", store).want(t, 0).json(t, &st)
	if st.Version != 0 || st.Pending != latest || !st.Exists {
		t.Errorf("--status of a new schema: %+v", st)
	}
	weftIn(t, dir, "", "inbox", "--store", store).want(t, exitError, "not migrated", "Hint: run weft migrate --store")
	weftIn(t, dir, "", "migrate", "--print", "--store", store).want(t, 0, "pg_advisory_xact_lock", `"`+schema+`".threads`, "0003_blob_roots.sql")
	weftIn(t, dir, "", "migrate", "--status", "--store", store).want(t, 0, "schema version 0", "pending")

	weftIn(t, dir, "", "migrate", "--store", store).want(t, 0, fmt.Sprintf("schema version %d", latest))
	weftIn(t, dir, "", "migrate", "--status", "--json", "--store", store).want(t, 0).json(t, &st)
	if st.Version != latest || st.Pending != 0 || st.Migrations[0].Status != "applied" || st.Migrations[0].AppliedAt.IsZero() {
		t.Errorf("--status after migrate: %+v", st)
	}
	weftIn(t, dir, "", "migrate", "--print", "--store", store).want(t, 0, "nothing to apply")
	weftIn(t, dir, "", "inbox", "--store", store).want(t, 0, "No questions are waiting.")
}
