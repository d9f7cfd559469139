package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string // with {{schema}} still in it
}

// loadMigrations lists the embedded migrations in version order. A test
// checks the file names, so a bad name cannot ship.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		num, name, ok2 := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || len(num) != 4 || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgstore: migrations are not numbered 1, 2, 3...: %04d_%s.sql is number %d", m.version, m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the version of the newest embedded migration: the
// schema version this package reads and writes. A test checks that it
// matches the files in migrations/.
const SchemaVersion = 7

// Migrate brings the store's schema up to SchemaVersion: it creates the
// schema if it does not exist and applies, in one transaction, every
// migration the database has not seen, recording each in the table
// schema_version. Concurrent migrators (several processes starting at once)
// are serialized by a transaction-level advisory lock keyed by the schema
// name, so each migration is applied once. Migrate on an up-to-date schema
// changes nothing. If the database holds a version newer than
// SchemaVersion, Migrate changes nothing and returns an error wrapping
// checkpoint.ErrSchemaTooNew.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, SchemaVersion)
}

// migrateTo applies the migrations up to version target (tests start from
// an older schema with it).
func (s *Store) migrateTo(ctx context.Context, target int) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: %w", s.schema, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	// hashtextextended turns the name into the bigint key of the lock.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "weft.pgstore.migrate:"+s.schema); err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: lock: %w", s.schema, err)
	}
	q := s.ident
	// Create the schema only if it is missing: a role without the CREATE
	// privilege on the database can migrate a schema made for it.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", s.schema).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: %w", s.schema, err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+q); err != nil {
			return fmt.Errorf("pgstore: migrate schema %q: %w", s.schema, err)
		}
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+q+".schema_version ("+
		"version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: %w", s.schema, err)
	}
	var current int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+q+".schema_version").Scan(&current); err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: %w", s.schema, err)
	}
	if current > len(ms) {
		return fmt.Errorf("pgstore: schema %q is at version %d, this program knows up to %d: %w", s.schema, current, len(ms), checkpoint.ErrSchemaTooNew)
	}
	for _, m := range ms[current:max(current, min(target, len(ms)))] {
		sql := strings.ReplaceAll(m.sql, "{{schema}}", q)
		// No arguments: pgx sends the file with the simple protocol, which
		// runs several statements.
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("pgstore: migrate schema %q to version %d (%s): %w", s.schema, m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+q+".schema_version (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("pgstore: migrate schema %q to version %d: %w", s.schema, m.version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate schema %q: commit: %w", s.schema, err)
	}
	return nil
}

// Version returns the schema version recorded in the database: 0 if the
// schema has not been migrated yet.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+s.ident+".schema_version").Scan(&v)
	switch pgCode(err) {
	case "42P01", "3F000": // undefined_table, invalid_schema_name
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: schema %q: reading its version: %w", s.schema, err)
	}
	return v, nil
}

// checkVersion refuses a schema that is not at SchemaVersion.
func (s *Store) checkVersion(ctx context.Context) error {
	v, err := s.Version(ctx)
	switch {
	case err != nil:
		return err
	case v > SchemaVersion:
		return fmt.Errorf("pgstore: schema %q is at version %d, this program knows up to %d: %w", s.schema, v, SchemaVersion, checkpoint.ErrSchemaTooNew)
	case v < SchemaVersion:
		return fmt.Errorf("pgstore: schema %q is at version %d, this program needs %d: run Migrate (or open with Options.Migrate, or run `weft migrate`): %w", s.schema, v, SchemaVersion, checkpoint.ErrNotMigrated)
	}
	return nil
}

// quote quotes a schema name as an identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }
