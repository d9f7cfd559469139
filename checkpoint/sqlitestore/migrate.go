package sqlitestore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotMigrated is wrapped by the error of Open when the database lacks
// migrations this program has (a new file, or one written by an older
// program) and Options.Migrate is false. Migrate it: open it once with
// Options{Migrate: true}, or run `weft migrate`.
// It is checkpoint.ErrNotMigrated, which pgstore wraps too.
var ErrNotMigrated = checkpoint.ErrNotMigrated

// SchemaVersion is the version of the newest embedded migration: the
// schema this program reads and writes, as pgstore.SchemaVersion is for
// PostgreSQL. LatestSchemaVersion returns the same number.
const SchemaVersion = 7

// SchemaError is the error of Open when the database's schema version is
// not the one this program knows. It wraps checkpoint.ErrSchemaTooNew when
// the database is newer and ErrNotMigrated when it is older.
type SchemaError struct {
	// Path is the database file.
	Path string
	// Have is the database's schema version (0: no weft schema yet).
	Have int
	// Known is the newest version this program knows, LatestSchemaVersion.
	Known int
}

// Error implements error.
func (e *SchemaError) Error() string {
	if e.Have > e.Known {
		return fmt.Sprintf("sqlitestore: %s: schema version %d is newer than %d, the newest this program knows: upgrade the program", e.Path, e.Have, e.Known)
	}
	return fmt.Sprintf("sqlitestore: %s: schema version %d, this program needs %d: migrate the database (open it with sqlitestore.Options{Migrate: true} or run `weft migrate`)", e.Path, e.Have, e.Known)
}

// Unwrap returns checkpoint.ErrSchemaTooNew or ErrNotMigrated.
func (e *SchemaError) Unwrap() error {
	if e.Have > e.Known {
		return checkpoint.ErrSchemaTooNew
	}
	return ErrNotMigrated
}

// migration is one embedded SQL file, migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// loadMigrations parses the embedded migrations once. Versions must run
// 1, 2, 3, ... without gaps.
var loadMigrations = sync.OnceValues(func() ([]migration, error) {
	return parseMigrations(migrationFS, "migrations")
})

// parseMigrations reads dir of fsys: files named NNNN_name.sql, numbered
// from 1 without gaps.
func parseMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("sqlitestore: migrations: %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(out)+1 {
			return nil, fmt.Errorf("sqlitestore: migrations: %q has version %d, want %d", e.Name(), v, len(out)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: migrations: %w", err)
		}
		out = append(out, migration{version: v, name: m[2], sql: string(b)})
	}
	if len(out) == 0 {
		return nil, errors.New("sqlitestore: migrations: none embedded")
	}
	return out, nil
}

// LatestSchemaVersion returns the newest schema version this program knows:
// the number of its newest embedded migration.
func LatestSchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// createVersionTable is the migration runner's own table: one row per
// migration applied.
const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
)`

// SchemaVersion returns the database's schema version: the newest
// migration applied to it, 0 for a database without weft's tables.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	v, err := schemaVersion(ctx, s.read)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: %s: schema version: %w", s.path, err)
	}
	return v, nil
}

func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}

// Migrate applies the embedded migrations the database lacks, each with its
// row in schema_version, all in one transaction: it applies all of them or
// none. It does nothing on a database that is up to date, and returns a
// *SchemaError wrapping checkpoint.ErrSchemaTooNew, changing nothing, on one
// that is newer than this program. Processes that migrate one file at the
// same time take turns; the later ones find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx txn) error {
		if _, err := tx.exec(ctx, createVersionTable); err != nil {
			return fmt.Errorf("sqlitestore: %s: migrate: %w", s.path, err)
		}
		have, err := schemaVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("sqlitestore: %s: migrate: %w", s.path, err)
		}
		if have > len(ms) {
			return &SchemaError{Path: s.path, Have: have, Known: len(ms)}
		}
		for _, m := range ms[have:] {
			if _, err := tx.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlitestore: %s: migration %04d_%s: %w", s.path, m.version, m.name, err)
			}
			if _, err := tx.exec(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, encodeTime(time.Now())); err != nil {
				return fmt.Errorf("sqlitestore: %s: migration %04d_%s: %w", s.path, m.version, m.name, err)
			}
		}
		return nil
	})
}

// checkSchema returns a *SchemaError unless the database is at the version
// this program knows.
func (s *Store) checkSchema(ctx context.Context) error {
	have, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if known := LatestSchemaVersion(); have != known {
		return &SchemaError{Path: s.path, Have: have, Known: known}
	}
	return nil
}
