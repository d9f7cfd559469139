package pgtest

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Counter is a pgx.QueryTracer that counts the statements a pool sends,
// for tests that check what an operation asks of the database without
// timing it.
type Counter struct{ n atomic.Int64 }

// N returns how many statements have been sent so far.
func (c *Counter) N() int64 { return c.n.Load() }

// TraceQueryStart counts a statement.
func (c *Counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

// TraceQueryEnd does nothing.
func (c *Counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// CountingPool opens a pool of its own on the test server, as NewPool
// does, whose statements the returned Counter counts.
func CountingPool(t testing.TB) (*pgxpool.Pool, *Counter) {
	t.Helper()
	u := URL(t)
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", redact(u), err)
	}
	c := &Counter{}
	cfg.ConnConfig.Tracer = c
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("pgtest: opening a pool on %s: %v", redact(u), err)
	}
	t.Cleanup(p.Close)
	return p, c
}
