package weft_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// opener opens a store for one test. Every call of one opener returns a
// handle on the same data, as another process would open it: a new
// handle on the same SQLite file, a new pool on the same PostgreSQL
// schema, the same memstore. clock, if not nil, is the store's clock.
type opener func(clock func() time.Time) checkpoint.Store

// durable are the stores whose behaviour the engine's integrity tests
// check: what a node changes, what an answer records, what an edit keeps
// must come back the same from each.
var durable = map[string]func(t *testing.T) opener{
	"memstore": func(t *testing.T) opener {
		var s *memstore.Store
		return func(clock func() time.Time) checkpoint.Store {
			if s == nil {
				if clock != nil {
					s = memstore.New(memstore.WithClock(clock))
				} else {
					s = memstore.New()
				}
			}
			return s
		}
	},
	"sqlite": func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "weft.db")
		return func(clock func() time.Time) checkpoint.Store {
			s, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{Migrate: true, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
	},
	"postgres": func(t *testing.T) opener {
		url, schema := pgtest.URL(t), pgtest.Schema(t)
		return func(clock func() time.Time) checkpoint.Store {
			s, err := pgstore.New(t.Context(), pgtest.NewPool(t, url), pgstore.Options{Schema: schema, Migrate: true, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	},
}

// eachStore runs fn on every durable store, each in a subtest named after
// it.
func eachStore(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Helper()
	for _, name := range []string{"memstore", "sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { fn(t, durable[name](t)) })
	}
}
