package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/internal/notifier"
)

// DefaultSchema is the schema a Store uses when Options.Schema is empty.
const DefaultSchema = "weft"

// Options configure a Store.
type Options struct {
	// Schema is the PostgreSQL schema that holds the store's tables; ""
	// means DefaultSchema ("weft"). Any name PostgreSQL accepts works (it
	// is always quoted, so it is case-sensitive): up to 63 bytes, no NUL
	// byte. Stores on different schemas of one database are independent.
	Schema string
	// Migrate applies the embedded migrations when the store is opened
	// (see Store.Migrate). Without it, opening checks that the schema is at
	// SchemaVersion and fails otherwise.
	Migrate bool
	// Clock, if set, is the clock of leases and claims (Claim, ClaimReady,
	// Heartbeat, Lease, Answer that claims, the lease of a commit that
	// leaves a thread running): the store passes its time to the database
	// instead of using the database's now(). Tests of takeovers set it to a
	// fake clock; production leaves it nil, so that every process shares
	// the database's clock.
	Clock func() time.Time
	// NoNotify turns off the notices the store sends by itself after its
	// own writes that make work ready or record outbox events (see
	// Store.Listen): workers and webhook senders then find them by
	// polling. Notify still works. Set it behind a connection pooler that
	// breaks LISTEN/NOTIFY.
	NoNotify bool
	// NotifyInterval is the least time between two batches of those
	// notices (default 10 ms): the first notice after a quiet interval is
	// sent at once, the ones that follow within the interval together.
	NotifyInterval time.Duration
	// Logger logs what the store does in the background: notices it could
	// not send, and that it found the schema's outbox in use (default:
	// nowhere).
	Logger *slog.Logger
	// Outbox turns the outbox on: commits, answers and reassignments
	// record the events of checkpoint.Outbox in their transactions, for a
	// sender (package webhook) to deliver, and the schema is marked as
	// using its outbox (checkpoint.OutboxMark), for good. Without it, a
	// store turns its outbox on by itself on a schema so marked (or whose
	// outbox holds events); on one not marked, every write that would
	// record an event records it if the schema is marked by then (one
	// index probe in the statement): the writes of a process that opened
	// its store before a sender's process marked the schema are reported
	// too, and no write is left unreported whatever its process's options.
	// Such a store notifies senders of its events from its first write
	// that recorded one (it learns then that the schema is marked; the
	// senders find that first one by polling).
	Outbox bool
}

// Store is a checkpoint.Store on PostgreSQL. It is safe for concurrent use
// by many goroutines, and any number of processes may share one database
// and schema: every guarantee of checkpoint.Store is enforced by the
// database, not by the process.
type Store struct {
	pool   *pgxpool.Pool
	owned  bool   // Close closes pool
	schema string // as given
	ident  string // quoted
	sql    statements

	clock   func() time.Time  // nil: the database's now()
	notices *notifier.Batcher // nil: no notices after writes (NoNotify)
	channel string            // the NOTIFY channel of the schema
	outbox  bool              // record events (Options.Outbox, or the schema is marked)
	watch   bool              // record events if the schema is marked by then (opened before it was)
	marked  atomic.Bool       // a write of a watching store recorded an event: the schema is marked
	log     *slog.Logger      // Options.Logger, or nowhere

	// blobRows counts the blob rows Checkpoint has read, for the tests
	// that check the cost of a read without timing it.
	blobRows atomic.Int64
}

var (
	_ checkpoint.Store    = (*Store)(nil)
	_ checkpoint.Notifier = (*Store)(nil)
)

// New returns a Store on pool, which stays the caller's: Close does not
// close it. With opts.Migrate it applies the migrations first; without, it
// checks that the schema is at SchemaVersion (an error wrapping
// checkpoint.ErrSchemaTooNew if it is newer).
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New with a nil pool")
	}
	schema := opts.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	if len(schema) > 63 || strings.IndexByte(schema, 0) >= 0 {
		return nil, fmt.Errorf("pgstore: invalid schema name %q: at most 63 bytes, no NUL", schema)
	}
	s := &Store{pool: pool, schema: schema, ident: quote(schema), clock: opts.Clock, channel: channelOf(schema)}
	s.sql = newStatements(s.ident)
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !opts.NoNotify {
		s.notices = notifier.New(s.sendNotices, opts.NotifyInterval, opts.Logger)
	}
	var err error
	if opts.Migrate {
		err = s.Migrate(ctx)
	} else {
		err = s.checkVersion(ctx)
	}
	if err != nil {
		return nil, err
	}
	if err := s.openOutbox(ctx, opts.Outbox); err != nil {
		return nil, err
	}
	return s, nil
}

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// connection string, as pgxpool.ParseConfig takes) with a pool that the
// Store owns and Close closes, then proceeds as New.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close sends the notices still waiting for their batch (for up to five
// seconds), then closes the pool if the Store opened it (Open); a Store made
// by New leaves its pool open. Close returns nil; it exists so that a Store
// can be closed like any resource.
func (s *Store) Close() error {
	if s.notices != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.notices.Flush(ctx) // a notice is a hint: polling finds the work
		cancel()
	}
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// Pool returns the pool the Store uses.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the name of the Store's schema.
func (s *Store) Schema() string { return s.schema }

// SQLSTATE codes the store's own checks raise (see raise_unless in the
// schema).
const (
	codeConflict = "WF001" // a thread's version (or claim) is not the expected one
	codeRefused  = "WF002" // an answer to an answered interrupt, or one the thread moved past
	codeMissing  = "WF003" // a thread, interrupt or blob that does not exist
)

// now is the argument that stands for the store's clock in statements,
// which read it as coalesce($n::timestamptz, now()): NULL (the database's
// clock) unless Options.Clock is set.
func (s *Store) now() pgtype.Timestamptz {
	if s.clock == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: s.clock(), Valid: true}
}

// micros is d in microseconds, as statements take durations
// ($n::bigint * interval '1 microsecond').
func micros(d time.Duration) int64 { return d.Microseconds() }

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// notFoundThread is the error for a missing thread.
func notFoundThread(id string) error {
	return fmt.Errorf("pgstore: thread %q: %w", id, checkpoint.ErrNotFound)
}

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// timeOf maps NULL to the zero time, and other times to UTC.
func timeOf(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

const threadColumns = "id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at, epoch, stop_requested"

// threadRow is a row of threadColumns as read.
type threadRow struct {
	t      checkpoint.Thread
	status string
	lease  pgtype.Timestamptz
	stop   pgtype.Timestamptz
}

// scanDest returns the destinations of threadColumns.
func (x *threadRow) scanDest() []any {
	t := &x.t
	return []any{&t.ID, &t.Workflow, &t.GraphHash, &x.status, &t.Version, &t.Head, &t.Error, &t.Owner, &x.lease, &t.CreatedAt, &t.UpdatedAt, &t.Epoch, &x.stop}
}

// decode returns the thread the row holds.
func (x *threadRow) decode() checkpoint.Thread {
	t := x.t
	t.Status = checkpoint.Status(x.status)
	t.LeaseUntil, t.StopRequested = timeOf(x.lease), timeOf(x.stop)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t
}

// scanThread reads a row of threadColumns.
func scanThread(row pgx.Row) (checkpoint.Thread, error) {
	var x threadRow
	err := row.Scan(x.scanDest()...)
	return x.decode(), err
}

// Thread returns the thread's row.
func (s *Store) Thread(ctx context.Context, threadID string) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := scanThread(s.pool.QueryRow(ctx, s.sql.thread, threadID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundThread(threadID)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: %w", threadID, err)
	}
	return &t, nil
}

// Threads lists threads ordered by ID (byte order). The cursor is the ID of
// the last thread of the previous page.
func (s *Store) Threads(ctx context.Context, q *checkpoint.ThreadQuery) (*checkpoint.ThreadPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.ThreadQuery{}
	}
	limit := checkpoint.PageLimit(q.Limit)
	var sb strings.Builder
	args := make([]any, 0, 4)
	sb.WriteString("SELECT " + threadColumns + " FROM " + s.ident + ".threads WHERE true")
	if q.Workflow != "" {
		args = append(args, q.Workflow)
		fmt.Fprintf(&sb, " AND workflow = $%d", len(args))
	}
	if q.Status != "" {
		args = append(args, string(q.Status))
		fmt.Fprintf(&sb, " AND status = $%d", len(args))
	}
	if q.After != "" {
		args = append(args, q.After)
		fmt.Fprintf(&sb, " AND id > $%d", len(args))
	}
	args = append(args, limit+1)
	fmt.Fprintf(&sb, " ORDER BY id LIMIT $%d", len(args))
	rows, err := s.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: threads: %w", err)
	}
	page := &checkpoint.ThreadPage{Threads: []checkpoint.Thread{}}
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: threads: %w", err)
		}
		page.Threads = append(page.Threads, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: threads: %w", err)
	}
	if len(page.Threads) > limit {
		page.Threads = page.Threads[:limit]
		page.Next = page.Threads[limit-1].ID
	}
	return page, nil
}
