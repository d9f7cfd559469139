package pgstore_test

import (
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/storetest"
	"github.com/weftgraph/weft/internal/pgtest"
)

// newStore returns a store on a fresh schema of the shared test pool.
func newStore(t testing.TB) *pgstore.Store {
	t.Helper()
	return newStoreWith(t, pgstore.Options{})
}

// newStoreWith returns a store with opts on a fresh schema of the shared
// test pool (opts.Schema and opts.Migrate are set).
func newStoreWith(t testing.TB, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	pool := pgtest.Pool(t)
	opts.Schema, opts.Migrate = pgtest.Schema(t), true
	s, err := pgstore.New(t.Context(), pool, opts)
	if err != nil {
		t.Fatalf("pgstore.New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) checkpoint.Store { return newStore(t) })
}

func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T, outbox bool) checkpoint.Store {
		return newStoreWith(t, pgstore.Options{Outbox: outbox})
	})
}
