package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL is the environment variable that names the test server.
const EnvURL = "WEFT_TEST_POSTGRES"

// DefaultURL is the server tests use when EnvURL is not set: the local
// cluster of a Debian or Ubuntu machine, with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres"

// how tells a developer how to get a server.
const how = "start one with `sudo pg_ctlcluster 15 main start`, or set " + EnvURL + " to the URL of another"

var (
	probeOnce sync.Once
	probeErr  error

	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
)

// URL returns the URL of the test server. If the server cannot be reached,
// it skips the test (fails it when CI=true).
func URL(t testing.TB) string {
	t.Helper()
	u := rawURL()
	probeOnce.Do(func() { probeErr = probe(u) })
	if probeErr != nil {
		msg := fmt.Sprintf("pgtest: no PostgreSQL server at %s (%v): %s", redact(u), probeErr, how)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

func rawURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// probe connects once, with a short timeout.
func probe(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

// redact hides a password in u.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the configured URL"
	}
	return p.Redacted()
}

// Pool returns a pool on the test server shared by every test of the test
// binary. Tests must not close it. It skips the test if there is no server
// (see URL).
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t)
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			poolErr = err
			return
		}
		// Tests run in parallel: allow more than the default of four
		// connections, well under the server's max_connections.
		if cfg.MaxConns < 16 {
			cfg.MaxConns = 16
		}
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
	})
	if poolErr != nil {
		t.Fatalf("pgtest: opening a pool on %s: %v", redact(u), poolErr)
	}
	return pool
}

// NewPool opens a pool of its own on the server at u (URL(t) if u is ""),
// closed when the test ends: two such pools behave like two processes.
func NewPool(t testing.TB, u string) *pgxpool.Pool {
	t.Helper()
	if u == "" {
		u = URL(t)
	}
	p, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatalf("pgtest: opening a pool on %s: %v", redact(u), err)
	}
	t.Cleanup(p.Close)
	return p
}

// Name returns a random identifier that starts with prefix, safe to use
// unquoted: prefix (lower-case letters, digits and underscores) followed by
// an underscore and 16 hex digits.
func Name(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + "_" + hex.EncodeToString(b[:])
}

// Schema creates a schema with a random name ("weft_test_<hex>") and returns
// its name; it is dropped with everything in it when the test ends. It
// skips the test if there is no server (see URL).
func Schema(t testing.TB) string {
	t.Helper()
	p := Pool(t)
	name := Name("weft_test")
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		t.Fatalf("pgtest: creating schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			t.Errorf("pgtest: dropping schema %s: %v", name, err)
		}
	})
	return name
}

// Database creates a database with a random name ("weft_test_<hex>") and
// returns the URL of the test server with that database; the database is
// dropped when the test ends, after closing the connections left on it. It
// skips the test if there is no server (see URL).
func Database(t testing.TB) string {
	t.Helper()
	u := URL(t)
	p := Pool(t)
	name := Name("weft_test")
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := p.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := p.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	dbURL, err := withDatabase(u, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// withDatabase returns u with its database replaced by name. It handles
// URLs; a keyword/value connection string gets a dbname keyword appended
// (the last one wins).
func withDatabase(u, name string) (string, error) {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		p, err := url.Parse(u)
		if err != nil {
			return "", fmt.Errorf("parsing %s: %w", EnvURL, err)
		}
		p.Path = "/" + name
		return p.String(), nil
	}
	return u + " dbname=" + name, nil
}
