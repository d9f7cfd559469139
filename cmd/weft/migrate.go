package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

var migrateCmd = &command{
	name:    "migrate",
	nargs:   [2]int{0, 0},
	summary: "create or upgrade a store's tables",
	help: `Migrate applies the migrations the store lacks, all in one transaction,
and prints its schema version: it creates weft's tables in a new SQLite file
(or PostgreSQL schema) and upgrades those of an older weft. A store that is
up to date is left as it is. Other commands never migrate a store: run this
after installing a new weft (weft demo migrates its own store).

--status changes nothing: it prints the database's schema version, the
latest this weft knows, and each migration, applied (and when) or pending.
--print changes nothing either: it prints the SQL that migrate would run,
the pending migrations in one transaction with their rows in the table of
versions, for a review (or to run by hand with sqlite3 or psql). Neither
creates a missing SQLite file.

On PostgreSQL the tables live in the schema "weft"; add weft_schema=NAME to
the URL's query for another.

  weft migrate --store sqlite:weft.db
  weft migrate --status --store 'postgres://weft@db.internal/app?weft_schema=weft_prod'
  weft migrate --print --store sqlite:weft.db > upgrade.sql`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var status, print bool
		fs.BoolVar(&status, "status", false, "print the schema version and the applied and pending migrations; change nothing")
		fs.BoolVar(&print, "print", false, "print the SQL of the pending migrations; change nothing")
		return func([]string) error {
			switch {
			case status && print:
				return usagef("--status and --print: give one")
			case status:
				return runMigrateStatus(c)
			case print:
				return runMigratePrint(c)
			}
			return runMigrate(c)
		}
	},
}

func runMigrate(c *cli) error {
	store, err := c.openStore(true)
	if err != nil {
		return err
	}
	var version, latest int
	switch s := store.(type) {
	case *sqlitestore.Store:
		if version, err = s.SchemaVersion(c.ctx); err != nil {
			return err
		}
		latest = sqlitestore.LatestSchemaVersion()
	case *pgstore.Store:
		if version, err = s.Version(c.ctx); err != nil {
			return err
		}
		latest = pgstore.SchemaVersion
	}
	if c.json {
		return c.printJSON(map[string]any{"store": redact(c.store), "version": version, "latest": latest})
	}
	_, err = fmt.Fprintf(c.stdout, "%s is at schema version %d (the latest this weft knows is %d).\n", redact(c.store), version, latest)
	return err
}

// migrationRow is one migration in the output of migrate --status.
type migrationRow struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Status    string    `json:"status"` // applied, pending, or unknown (newer than this weft)
	AppliedAt time.Time `json:"applied_at,omitzero"`
}

// schemaState is what a database holds of weft's schema, read without
// migrating it.
type schemaState struct {
	version, latest int
	missing         bool // a SQLite file that does not exist yet
	rows            []migrationRow
	script          func(from int) string // MigrationScript of the store
}

// readSchema reads the applied migrations of --store and sets them beside
// those this weft knows.
func (c *cli) readSchema() (*schemaState, error) {
	kind, target, err := storeKind(c.store)
	if err != nil {
		return nil, err
	}
	type known struct {
		version int
		name    string
	}
	var st schemaState
	var knows []known
	var applied map[int]migrationRow
	switch kind {
	case "sqlite":
		for _, m := range sqlitestore.Migrations() {
			knows = append(knows, known{m.Version, m.Name})
		}
		st.script = sqlitestore.MigrationScript
		ms, err := sqlitestore.Applied(c.ctx, target)
		if errors.Is(err, fs.ErrNotExist) {
			st.missing, err = true, nil
		}
		if err != nil {
			return nil, err
		}
		applied = make(map[int]migrationRow)
		for _, m := range ms {
			applied[m.Version] = migrationRow{Version: m.Version, Name: m.Name, AppliedAt: m.AppliedAt}
		}
	default:
		url, schema, err := pgSchema(target)
		if err != nil {
			return nil, err
		}
		for _, m := range pgstore.Migrations(schema) {
			knows = append(knows, known{m.Version, m.Name})
		}
		st.script = func(from int) string { return pgstore.MigrationScript(schema, from) }
		pool, err := pgxpool.New(c.ctx, url)
		if err != nil {
			return nil, fmt.Errorf("pgstore: %w", err)
		}
		defer pool.Close()
		ms, err := pgstore.Applied(c.ctx, pool, schema)
		if err != nil {
			return nil, err
		}
		applied = make(map[int]migrationRow)
		for _, m := range ms {
			applied[m.Version] = migrationRow{Version: m.Version, Name: m.Name, AppliedAt: m.AppliedAt}
		}
	}
	st.latest = len(knows)
	for _, k := range knows {
		if a, ok := applied[k.version]; ok {
			a.Status = "applied"
			st.rows = append(st.rows, a)
			st.version = max(st.version, k.version)
			delete(applied, k.version)
			continue
		}
		st.rows = append(st.rows, migrationRow{Version: k.version, Name: k.name, Status: "pending"})
	}
	for v := st.latest + 1; len(applied) > 0; v++ {
		if a, ok := applied[v]; ok {
			a.Status = "unknown"
			st.rows = append(st.rows, a)
			st.version = v
			delete(applied, v)
		}
	}
	return &st, nil
}

func (st *schemaState) pending() int {
	n := 0
	for _, r := range st.rows {
		if r.Status == "pending" {
			n++
		}
	}
	return n
}

func runMigrateStatus(c *cli) error {
	st, err := c.readSchema()
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"store": redact(c.store), "version": st.version, "latest": st.latest,
			"exists": !st.missing, "pending": st.pending(), "migrations": st.rows})
	}
	w := c.stdout
	store := redact(c.store)
	switch {
	case st.missing:
		fmt.Fprintf(w, "%s does not exist yet: migrate creates it at schema version %d.\n", store, st.latest)
	case st.version > st.latest:
		fmt.Fprintf(w, "%s is at schema version %d, newer than %d, the latest this weft knows: install a newer weft.\n", store, st.version, st.latest)
	default:
		fmt.Fprintf(w, "%s is at schema version %d; the latest this weft knows is %d.\n", store, st.version, st.latest)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tNAME\tSTATUS\tAPPLIED")
	for _, r := range st.rows {
		at := "-"
		if !r.AppliedAt.IsZero() {
			at = stamp(r.AppliedAt)
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", r.Version, r.Name, r.Status, at)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := st.pending(); n > 0 && st.version <= st.latest {
		fmt.Fprintf(w, "\n%d pending: %s applies them (%s shows their SQL).\n",
			n, quoteCmd("weft migrate"+storeFlag(c)), quoteCmd("weft migrate --print"+storeFlag(c)))
	}
	return nil
}

func runMigratePrint(c *cli) error {
	st, err := c.readSchema()
	if err != nil {
		return err
	}
	if st.version > st.latest {
		return fmt.Errorf("%s is at schema version %d, newer than %d, the latest this weft knows: %w",
			redact(c.store), st.version, st.latest, checkpoint.ErrSchemaTooNew)
	}
	script := st.script(st.version)
	if c.json {
		return c.printJSON(map[string]any{"store": redact(c.store), "from": st.version, "to": st.latest, "sql": script})
	}
	if script == "" {
		_, err := fmt.Fprintf(c.stdout, "-- %s is at schema version %d, the latest this weft knows: nothing to apply.\n", redact(c.store), st.version)
		return err
	}
	_, err = fmt.Fprint(c.stdout, script)
	return err
}
