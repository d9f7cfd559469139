// Package pgtest gives tests a PostgreSQL server to work against: its URL,
// a connection pool, and a fresh schema or database per test that is
// dropped when the test ends.
//
// # Which server
//
// The server is named by the environment variable WEFT_TEST_POSTGRES, a
// connection URL; without it, tests use
// postgres://postgres@127.0.0.1:5432/postgres. When the server cannot be
// reached, tests that need it are skipped with a message that says how to
// start one (sudo pg_ctlcluster 15 main start) — except when CI=true, where
// a missing server fails the test: CI must not pass by skipping.
//
// # Isolation
//
// [Schema] creates a schema with a random name and drops it (CASCADE) in
// t.Cleanup. Stores that take a schema name (checkpoint/pgstore does) get
// an empty world per test at the cost of one CREATE SCHEMA, so tests can run
// in parallel against one database. [Database] creates a whole database for
// the rare test that needs one (for example to test what happens across
// schemas or to the search path) and drops it when the test ends.
//
//	func TestSomething(t *testing.T) {
//		pool := pgtest.Pool(t)
//		schema := pgtest.Schema(t)
//		store, err := pgstore.New(t.Context(), pool, pgstore.Options{Schema: schema, Migrate: true})
//		...
//	}
//
// [Pool] is shared by every test of the test binary and never closed (the
// process ends first); [NewPool] opens a pool of its own, closed in
// t.Cleanup, for tests that simulate several processes.
package pgtest
