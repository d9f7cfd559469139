package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration is one of the migrations embedded in this package, as Migrate
// applies it to one schema.
type Migration struct {
	// Version is the schema version the migration brings a schema to: 1,
	// 2, 3, ...
	Version int
	// Name is the migration's name, from its file: "claims" for
	// 0002_claims.sql.
	Name string
	// SQL is the text of the file with the schema's quoted name in it, as
	// Migrate runs it.
	SQL string
}

// schemaOrDefault is schema, or DefaultSchema for "".
func schemaOrDefault(schema string) string {
	if schema == "" {
		return DefaultSchema
	}
	return schema
}

// Migrations returns the embedded migrations in version order, written
// for schema ("" means DefaultSchema): the schema this program knows, one
// step at a time.
func Migrations(schema string) []Migration {
	ms, err := loadMigrations()
	if err != nil {
		return nil
	}
	q := quote(schemaOrDefault(schema))
	out := make([]Migration, len(ms))
	for i, m := range ms {
		out[i] = Migration{Version: m.version, Name: m.name, SQL: strings.ReplaceAll(m.sql, "{{schema}}", q)}
	}
	return out
}

// MigrationScript returns the SQL that Migrate runs on schema ("" means
// DefaultSchema) at version from, as one script a person can read (or run
// with psql): in one transaction, the lock that serializes migrators, the
// schema and the table of versions if they are missing, then each pending
// migration followed by its row in schema_version. It returns "" when
// from is SchemaVersion or more: there is nothing to apply.
func MigrationScript(schema string, from int) string {
	schema = schemaOrDefault(schema)
	ms := Migrations(schema)
	from = max(from, 0)
	if from >= len(ms) {
		return ""
	}
	q := quote(schema)
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	var b strings.Builder
	fmt.Fprintf(&b, "-- weft PostgreSQL schema %s: from version %d to %d, as Migrate applies it.\n", q, from, len(ms))
	b.WriteString("BEGIN;\n")
	fmt.Fprintf(&b, "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0));\n", lit("weft.pgstore.migrate:"+schema))
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", q)
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.schema_version (version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());\n", q)
	for _, m := range ms[from:] {
		fmt.Fprintf(&b, "\n-- %04d_%s.sql\n", m.Version, m.Name)
		b.WriteString(strings.TrimRight(m.SQL, "\n") + "\n")
		fmt.Fprintf(&b, "INSERT INTO %s.schema_version (version, name) VALUES (%d, %s);\n", q, m.Version, lit(m.Name))
	}
	b.WriteString("\nCOMMIT;\n")
	return b.String()
}

// AppliedMigration is a migration recorded in a schema's schema_version
// table.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// Applied returns the migrations recorded in schema ("" means
// DefaultSchema) of the database pool connects to, oldest first, without
// opening a Store: it neither migrates nor refuses an old (or too new)
// schema, so it tells what Migrate would do. A schema that does not exist,
// or has no table of versions, has none.
func Applied(ctx context.Context, pool *pgxpool.Pool, schema string) ([]AppliedMigration, error) {
	schema = schemaOrDefault(schema)
	rows, err := pool.Query(ctx, "SELECT version, name, applied_at FROM "+quote(schema)+".schema_version ORDER BY version")
	if err == nil {
		var out []AppliedMigration
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppliedMigration, error) {
			var m AppliedMigration
			err := r.Scan(&m.Version, &m.Name, &m.AppliedAt)
			return m, err
		})
		if err == nil {
			return out, nil
		}
	}
	switch pgCode(err) {
	case "42P01", "3F000": // undefined_table, invalid_schema_name
		return nil, nil
	}
	return nil, fmt.Errorf("pgstore: schema %q: applied migrations: %w", schema, err)
}
