package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"
)

// Migration is one of the migrations embedded in this package, as Migrate
// applies it.
type Migration struct {
	// Version is the schema version the migration brings a database to:
	// 1, 2, 3, ...
	Version int
	// Name is the migration's name, from its file: "claims" for
	// 0002_claims.sql.
	Name string
	// SQL is the text of the file, as Migrate runs it.
	SQL string
}

// Migrations returns the embedded migrations in version order: the schema
// this program knows, one step at a time.
func Migrations() []Migration {
	ms, err := loadMigrations()
	if err != nil {
		return nil
	}
	out := make([]Migration, len(ms))
	for i, m := range ms {
		out[i] = Migration{Version: m.version, Name: m.name, SQL: m.sql}
	}
	return out
}

// MigrationScript returns the SQL that Migrate runs on a database at
// schema version from, as one script a person can read (or run with the
// sqlite3 shell): in one transaction, the table of versions, then each
// pending migration followed by its row in schema_version. It returns ""
// when from is the newest version or more: there is nothing to apply.
func MigrationScript(from int) string {
	ms := Migrations()
	if from < 0 {
		from = 0
	}
	if from >= len(ms) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- weft SQLite schema: from version %d to %d, as Migrate applies it.\n", from, len(ms))
	b.WriteString("BEGIN IMMEDIATE;\n\n")
	b.WriteString(createVersionTable + ";\n")
	for _, m := range ms[from:] {
		fmt.Fprintf(&b, "\n-- %04d_%s.sql\n", m.Version, m.Name)
		b.WriteString(strings.TrimRight(m.SQL, "\n") + "\n")
		fmt.Fprintf(&b, "INSERT INTO schema_version (version, name, applied_at) VALUES (%d, '%s', CAST(unixepoch('subsec') * 1000000 AS INTEGER));\n",
			m.Version, strings.ReplaceAll(m.Name, "'", "''"))
	}
	b.WriteString("\nCOMMIT;\n")
	return b.String()
}

// AppliedMigration is a migration recorded in a database's schema_version
// table.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// Applied returns the migrations recorded in the database file at path,
// oldest first, without opening it as a Store: it neither migrates the
// file nor refuses an old (or too new) schema, so it tells what Migrate
// would do. A file without weft's tables has none. A file that does not
// exist is an error wrapping fs.ErrNotExist, and is not created.
func Applied(ctx context.Context, path string) ([]AppliedMigration, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	uri, err := fileURI(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	// mode=rw does not create a missing file; query_only refuses writes.
	db, err := sql.Open("sqlite", uri+"?mode=rw&_query_only=1&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).Scan(&n); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: applied migrations: %w", path, err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_version ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: applied migrations: %w", path, err)
	}
	defer rows.Close()
	var out []AppliedMigration
	for rows.Next() {
		var m AppliedMigration
		var at int64
		if err := rows.Scan(&m.Version, &m.Name, &at); err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: applied migrations: %w", path, err)
		}
		m.AppliedAt = time.UnixMicro(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: applied migrations: %w", path, err)
	}
	return out, nil
}
