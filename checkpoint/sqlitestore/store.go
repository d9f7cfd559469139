package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/weftgraph/weft/checkpoint"
)

// Options configure Open. The zero value is the default for every field.
type Options struct {
	// Migrate applies the embedded migrations the database lacks before
	// Open returns, creating weft's tables in a new file. Default false:
	// Open refuses a database whose schema is older than this program
	// with a *SchemaError wrapping ErrNotMigrated, so that schema changes
	// happen when someone asks for them (this option, Store.Migrate on
	// another handle, or `weft migrate`), never as a side effect of a
	// deploy.
	Migrate bool

	// BusyTimeout is how long a statement waits for a lock that another
	// connection or process holds (SQLite's busy_timeout) before it fails
	// with SQLITE_BUSY. Writers take turns on the one write lock of the
	// file, so this bounds how long a commit waits for the others. 0
	// means 5 seconds; a negative value means not to wait at all. A
	// context that ends stops the wait early.
	BusyTimeout time.Duration

	// MaxReadConns caps the connections that serve reads. 0 means
	// max(4, GOMAXPROCS). Writes always use one connection of their own.
	MaxReadConns int

	// Clock is the store's clock: the time of leases and claims (Claim,
	// ClaimReady, Heartbeat, Lease, the lease of a commit that leaves a
	// thread running, and the UpdatedAt of a thread that Answer claims or
	// makes ready). nil means time.Now. Tests of takeovers give it a fake
	// clock. Every process sharing a file should read the same time.
	Clock func() time.Time

	// Outbox turns the outbox on: commits, answers and reassignments
	// record the events of checkpoint.Outbox in their transactions, for a
	// sender (package webhook) to deliver, and the file is marked as using
	// its outbox (checkpoint.OutboxMark), for good. Without it, a store
	// turns its outbox on by itself on a file so marked (or whose outbox
	// holds events); on one not marked, every write that would record an
	// event looks for the mark inside its transaction (one lookup, until
	// the mark is seen) and records the event if it is there: no process
	// that writes to the file leaves a change unreported after a store
	// with the outbox on was opened, whatever its own options.
	Outbox bool
}

// DefaultBusyTimeout is the BusyTimeout of Options{}.
const DefaultBusyTimeout = 5 * time.Second

// Store is a checkpoint.Store in one SQLite file. It is safe for
// concurrent use by many goroutines, and by many processes that open the
// same file. Create it with Open and release it with Close.
type Store struct {
	path string
	// write has one connection whose transactions begin with BEGIN
	// IMMEDIATE: writers of this process queue for it in database/sql,
	// writers of other processes wait for the file's write lock under
	// busy_timeout.
	write *sql.DB
	// read has read-only (query_only) connections; in WAL mode readers
	// see a consistent snapshot and never wait for the writer.
	read *sql.DB
	// wstmts and rstmts are the statements prepared at Open on write and
	// read, by query text. They are not changed after Open.
	wstmts, rstmts map[string]*sql.Stmt
	// dyn are the statements of read queries built per call (the inbox's
	// and the thread list's filters), prepared on first use, by text, up
	// to maxDynamic of them; nil once closed.
	dynMu sync.RWMutex
	dyn   map[string]*sql.Stmt
	// now is Options.Clock, or time.Now.
	now func() time.Time
	// outbox: record events (Options.Outbox, or the file is marked as
	// using its outbox; see checkpoint.OutboxMark).
	outbox bool
	// watch: record events if the file is marked by the time of the write
	// (the store was opened before it was); marked caches a mark seen.
	watch  bool
	marked atomic.Bool
	// counts counts what the store asks of SQLite, for the tests that
	// check the cost of a read without timing it.
	counts counters
}

// counters count the statements the store runs and the blob rows its
// reads scan.
type counters struct {
	statements atomic.Int64
	blobRows   atomic.Int64
}

var _ checkpoint.Store = (*Store)(nil)

// Open opens the database file at path, creating it if it does not exist,
// and returns a Store over it.
//
// Open puts the file in WAL mode and checks its schema version: a database
// newer than this program is refused with a *SchemaError wrapping
// checkpoint.ErrSchemaTooNew; one that lacks migrations, a new file among
// them, is migrated if opts.Migrate is set and refused with a *SchemaError
// wrapping ErrNotMigrated otherwise. path is a file name, not a URI; ""
// and ":memory:" are refused (use memstore for a store in memory).
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: Open(%q): want the path of a database file", path)
	}
	if _, err := loadMigrations(); err != nil {
		return nil, err
	}
	uri, err := fileURI(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: Open(%q): %w", path, err)
	}
	busy := opts.BusyTimeout
	switch {
	case busy == 0:
		busy = DefaultBusyTimeout
	case busy < 0:
		busy = 0
	}
	busyMS := strconv.FormatInt(busy.Milliseconds(), 10)

	// The write connection: BEGIN IMMEDIATE takes the write lock at the
	// start of a transaction, so a transaction never has to upgrade a
	// read lock (which fails at once with SQLITE_BUSY instead of waiting)
	// and busy_timeout covers every wait. synchronous=FULL syncs the WAL
	// at every commit: a commit that returned survives a power cut.
	wq := url.Values{}
	wq.Set("_busy_timeout", busyMS)
	wq.Set("_txlock", "immediate")
	wq.Set("_foreign_keys", "1")
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", "FULL")
	write, err := sql.Open("sqlite", uri+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: Open(%q): %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	rq := url.Values{}
	rq.Set("_busy_timeout", busyMS)
	rq.Set("_foreign_keys", "1")
	rq.Set("_query_only", "1")
	read, err := sql.Open("sqlite", uri+"?"+rq.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: Open(%q): %w", path, err)
	}
	n := opts.MaxReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := &Store{path: path, write: write, read: read, now: opts.Clock}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.open(ctx, opts); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// journalMode opens the write connection, which turns the file to WAL, and
// returns the journal mode it reports. Connections that open a new file at
// the same moment (processes starting together) race to change its
// journal mode, and the losers get SQLITE_BUSY at once, without waiting
// for the busy timeout: they try again until it has passed.
func (s *Store) journalMode(ctx context.Context, busy time.Duration) (string, error) {
	if busy == 0 {
		busy = DefaultBusyTimeout
	}
	deadline := time.Now().Add(busy)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		var mode string
		err := s.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteBusy
}

// sqliteBusy is SQLite's result code SQLITE_BUSY.
const sqliteBusy = 5

// open checks the connections and the schema, and prepares the statements.
func (s *Store) open(ctx context.Context, opts Options) error {
	mode, err := s.journalMode(ctx, opts.BusyTimeout)
	if err != nil {
		return fmt.Errorf("sqlitestore: Open(%q): %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlitestore: Open(%q): journal mode is %q, not WAL (is the file on a network file system?)", s.path, mode)
	}
	if opts.Migrate {
		if err := s.Migrate(ctx); err != nil {
			return err
		}
	}
	if err := s.checkSchema(ctx); err != nil {
		return err
	}
	if s.wstmts, err = prepare(ctx, s.write, writeQueries); err != nil {
		return fmt.Errorf("sqlitestore: Open(%q): %w", s.path, err)
	}
	if s.rstmts, err = prepare(ctx, s.read, readQueries); err != nil {
		return fmt.Errorf("sqlitestore: Open(%q): %w", s.path, err)
	}
	s.dyn = make(map[string]*sql.Stmt)
	return s.openOutbox(ctx, opts.Outbox)
}

// prepare prepares queries on db. The statements of a pool are prepared
// once per connection and then reused: SQLite compiles a statement in about
// as much time as it takes to run a small one.
func prepare(ctx context.Context, db *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	m := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			for _, st := range m {
				st.Close()
			}
			return nil, fmt.Errorf("prepare %q: %w", q, err)
		}
		m[q] = st
	}
	return m, nil
}

// fileURI turns a path into an SQLite file: URI, so that no character of
// the path is taken for the start of the query.
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter: file:///C:/...
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file://" + p, nil
}

// Close closes the database. Close waits for the calls in progress; calls
// after it fail. When the last connection to the file closes, SQLite
// checkpoints the WAL into the database file and removes it.
func (s *Store) Close() error {
	var errs []error
	s.dynMu.Lock()
	dyn := s.dyn
	s.dyn = nil
	s.dynMu.Unlock()
	for _, m := range []map[string]*sql.Stmt{s.rstmts, s.wstmts, dyn} {
		for _, st := range m {
			errs = append(errs, st.Close())
		}
	}
	errs = append(errs, s.read.Close(), s.write.Close())
	return errors.Join(errs...)
}

// txn is a transaction with the statements prepared on its pool.
type txn struct {
	tx     *sql.Tx
	stmts  map[string]*sql.Stmt
	counts *counters
}

// exec runs a statement in the transaction, prepared if query is one of
// the pool's.
func (t txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.counts.statements.Add(1)
	if st := t.stmts[query]; st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction, prepared if it is one of
// the pool's.
func (t txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.counts.statements.Add(1)
	if st := t.stmts[query]; st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext is QueryContext for one row.
func (t txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.counts.statements.Add(1)
	if st := t.stmts[query]; st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it,
// or rolls it back if fn fails.
func (s *Store) writeTx(ctx context.Context, fn func(txn) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	if err := fn(txn{tx, s.wstmts, &s.counts}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
}

// readTx runs fn in a read transaction: every query of fn sees the same
// snapshot of the database.
func (s *Store) readTx(ctx context.Context, fn func(txn) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlitestore: begin: %w", err)
	}
	defer tx.Rollback()
	return fn(txn{tx, s.rstmts, &s.counts})
}

// query runs a query outside a transaction on the read pool, prepared
// (prepared).
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s.counts.statements.Add(1)
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.read.QueryContext(ctx, query, args...)
}

// maxDynamic bounds the read queries built per call that stay prepared:
// their texts depend on which filters are set (and on how many assignees
// a filter names), so there are few in use, but no bound.
const maxDynamic = 64

// prepared returns query prepared on the read pool: one of the
// statements prepared at Open, or one built per call, prepared the first
// time; nil once maxDynamic of those are, or if it does not prepare (the
// query run without preparing then says why).
func (s *Store) prepared(ctx context.Context, query string) *sql.Stmt {
	if st := s.rstmts[query]; st != nil {
		return st
	}
	s.dynMu.RLock()
	st := s.dyn[query]
	s.dynMu.RUnlock()
	if st != nil {
		return st
	}
	s.dynMu.Lock()
	defer s.dynMu.Unlock()
	if st := s.dyn[query]; st != nil || s.dyn == nil || len(s.dyn) >= maxDynamic {
		return st // prepared meanwhile, closed, or full
	}
	st, err := s.read.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	s.dyn[query] = st
	return st
}

// queryRow is query for one row.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s.counts.statements.Add(1)
	if st := s.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.read.QueryRowContext(ctx, query, args...)
}

// queryer is a *sql.DB or a txn.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func notFoundThread(id string) error {
	return fmt.Errorf("sqlitestore: thread %q: %w", id, checkpoint.ErrNotFound)
}

// corrupt wraps a decoding problem of the row named by what.
func corrupt(what string, err error) error {
	return fmt.Errorf("sqlitestore: %s: %w: %w", what, checkpoint.ErrCorrupt, err)
}

const qThreadExists = `SELECT 1 FROM threads WHERE id = ?`

// threadExists reports whether the thread has a row.
func threadExists(ctx context.Context, q queryer, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, qThreadExists, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlitestore: thread %q: %w", id, err)
	}
	return true, nil
}

// mustExist returns ErrNotFound for a thread without a row: the error of
// reads that found nothing.
func mustExist(ctx context.Context, q queryer, id string) error {
	ok, err := threadExists(ctx, q, id)
	if err == nil && !ok {
		err = notFoundThread(id)
	}
	return err
}

// bytesArg binds an optional byte slice: nil is NULL.
func bytesArg[T ~[]byte](b T) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}
