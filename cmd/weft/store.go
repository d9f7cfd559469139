package main

import (
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/demo"
)

// storeKind parses a --store value: "sqlite" and the file's path, or
// "postgres" and the URL.
func storeKind(spec string) (kind, target string, err error) {
	switch {
	case strings.HasPrefix(spec, "sqlite:"):
		path := strings.TrimPrefix(spec, "sqlite:")
		path = strings.TrimPrefix(path, "//") // sqlite://path is forgiven
		if path == "" {
			return "", "", usagef("--store %q: want sqlite:PATH", spec)
		}
		return "sqlite", path, nil
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return "postgres", spec, nil
	}
	return "", "", usagef("--store %q: want sqlite:PATH or a postgres:// URL", spec)
}

// openStore opens --store. With migrate, it creates or upgrades the
// store's tables; without, a SQLite file must exist and be migrated.
func (c *cli) openStore(migrate bool) (checkpoint.Store, error) {
	kind, target, err := storeKind(c.store)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "sqlite":
		if !migrate {
			if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", errNoStoreFile, target)
			}
		}
		s, err := sqlitestore.Open(c.ctx, target, sqlitestore.Options{Migrate: migrate})
		if err != nil {
			return nil, err
		}
		c.closers = append(c.closers, s)
		return s, nil
	default:
		url, schema, err := pgSchema(target)
		if err != nil {
			return nil, err
		}
		s, err := pgstore.Open(c.ctx, url, pgstore.Options{Migrate: migrate, Schema: schema})
		if err != nil {
			return nil, err
		}
		c.closers = append(c.closers, s)
		return s, nil
	}
}

// pgSchema takes the weft_schema parameter, the PostgreSQL schema of weft's
// tables (default "weft"), out of a database URL.
func pgSchema(raw string) (string, string, error) {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "", "", usagef("--store: %v", err)
	}
	q := u.Query()
	schema := q.Get("weft_schema")
	if !q.Has("weft_schema") {
		return raw, "", nil
	}
	q.Del("weft_schema")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// redact hides the password of a database URL.
func redact(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return url
	}
	user, _, hasPass := strings.Cut(creds, ":")
	if !hasPass {
		return url
	}
	return scheme + "://" + user + ":xxxxx@" + host
}

// demoRunners compiles the demo workflows on store: the workflows the
// command can run, so that answer, stop and resume carry demo threads on.
func demoRunners(store checkpoint.Store) ([]weft.Runner, error) {
	runners, err := demo.Workflows(store)
	if err != nil {
		return nil, fmt.Errorf("demo workflows: %w", err)
	}
	return runners, nil
}
