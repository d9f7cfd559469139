package main

import (
	"flag"
	"fmt"

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

On PostgreSQL the tables live in the schema "weft"; add weft_schema=NAME to
the URL's query for another.

  weft migrate --store sqlite:weft.db
  weft migrate --store 'postgres://weft@db.internal/app?weft_schema=weft_prod'`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		return func([]string) error { return runMigrate(c) }
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
