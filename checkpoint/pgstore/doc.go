// Package pgstore is a [checkpoint.Store] on PostgreSQL, through pgx/v5: the
// production store, and the one that lets any number of weft processes
// share threads.
//
//	store, err := pgstore.Open(ctx, "postgres://weft@db/app", pgstore.Options{Migrate: true})
//	if err != nil { ... }
//	defer store.Close()
//	wf, err := g.Compile(weft.WithStore(store))
//
// It passes the conformance suite in checkpoint/storetest, so a workflow
// behaves on it as on memstore or sqlitestore. It needs PostgreSQL 12 or
// later (tested on 15).
//
// # Opening
//
// [Open] connects with a pool of its own, which [Store.Close] closes. [New]
// takes a *pgxpool.Pool that the application already has (to share its
// connections, its TLS and tracing setup, or to use the same pool for the
// application's own tables); Close then leaves the pool alone. The Store
// holds no lock of its own around the pool: every method is one or two
// round trips on whichever connection the pool gives, and the database
// serializes what must be serialized. Size the pool for the number of
// threads a process advances at once (pgxpool's default is four
// connections, or the number of CPUs if more).
//
//	store, err := pgstore.New(ctx, pool, pgstore.Options{Schema: "weft_billing"})
//
// # Schema
//
// Every table lives in one PostgreSQL schema, "weft" unless
// [Options].Schema names another. The name is always quoted (with
// pgx.Identifier), so it may be any name PostgreSQL accepts and is
// case-sensitive. Stores on different schemas of one database are fully
// independent: an application can keep several (one per tenant, or one per
// test, as this package's tests do) without a database each.
//
// The tables are threads, checkpoints, blobs, pending_writes, interrupts
// (with interrupt_assignees, see below) and steps, keyed by thread ID, plus
// leases, outbox (see The outbox) and schema_version. Payloads, answers,
// blobs and pending writes are bytea, kept byte for byte; times are
// timestamptz, at the microsecond precision PostgreSQL keeps; a
// checkpoint's field versions and annotations are jsonb; node lists and
// assignees are text[]. Keys sort with the "C" collation, byte by byte like
// Go strings, whatever the database's locale. Text values (IDs, names) must
// not contain NUL bytes, which PostgreSQL refuses. There are no foreign
// keys: DeleteThread removes a thread's rows from every table in one
// transaction, and commits do not pay for per-row checks.
//
// # Migrations
//
// The schema is created and upgraded by versioned migrations embedded in
// the binary (migrations/NNNN_name.sql, with the schema name substituted).
// [Store.Migrate] applies those the database lacks, in one transaction, and
// records each in schema_version; [Options].Migrate runs it on open. Several
// processes that start at once are serialized by a transaction-level
// advisory lock keyed by the schema name, so each migration runs once.
// Without Migrate, opening checks the version and fails if the schema is
// missing or older; [Store.Version] reports the version a database holds.
// Migration 1 creates the tables; migration 2 (claims) adds threads.epoch
// and threads.stop_requested, interrupts.note and interrupts.fallback_at,
// the table leases and the index threads_claimable, keeping existing rows
// (epoch 0, no stop requested); migration 3 (blob roots) adds blobs.root
// (see Append chains) and fills it for existing rows, walking each chain
// once down a temporary index on base: it rewrites every row of blobs
// once (the table needs room for the old row versions until vacuum), and
// chains written at version 2 read the same afterwards; migration 4
// (outbox) adds the table outbox and its partial index outbox_due, and
// records no event for existing rows; migration 7 (blob packs) adds
// blobs.pack_from, the functions that write and read packs and the
// trigger blobs_fold (see Append chains), and rewrites no row: chains
// written before it fold the next time they grow. A database at a
// version newer than [SchemaVersion]
// (written by a newer weft) is refused with an error wrapping
// checkpoint.ErrSchemaTooNew, with or without Migrate: an old program
// never writes to a schema it does not understand. Migrate needs the
// CREATE privilege on the schema (and on the database if the schema does
// not exist yet); a deployment that runs migrations separately (the weft
// migrate command) can open its stores without Migrate and with fewer
// rights.
//
// # Concurrency across processes
//
// Every guarantee of checkpoint.Store holds for any number of processes on
// one schema, because the database enforces it:
//
//   - A superstep's commit is one transaction, sent as one pgx.Batch (one
//     round trip). Its first statement is the compare-and-set on the thread
//     row: UPDATE ... WHERE id = $1 AND version = $2 (INSERT ... ON CONFLICT
//     DO NOTHING for a new thread), raising an error that aborts the batch
//     when it matches no row. Of two processes that advance one thread, one
//     commits; the other waits for its row lock, finds the new version and
//     gets checkpoint.ErrConflict, and nothing of its commit is kept.
//   - PutWrites checks the writer's claim (running, its owner, its epoch)
//     with SELECT ... FOR SHARE in the same batch as its writes, so a
//     commit or a takeover cannot slip in between, and a process that lost
//     its claim writes nothing.
//   - Answer is one batch and one transaction: it locks the thread row
//     (SELECT ... FOR UPDATE), checks every answer in one statement (the
//     interrupt exists, is pending and belongs to the thread's head;
//     raising at the first refused one aborts the batch), records answers
//     and writes, and readies or claims the thread. Of two reviewers who
//     answer one question at once, the second checks after the first
//     committed and gets checkpoint.ErrAlreadyAnswered.
//   - Every write path that changes interrupts (Commit, Answer, Reassign)
//     or claims (RequestStop, Claim) locks the thread row first, so
//     overlapping transactions cannot deadlock.
//   - Reads of a checkpoint (the row and every blob its state needs, down
//     Append chains) are one statement, so one snapshot: a concurrent
//     Prune cannot leave a checkpoint without blobs.
//
// # Append chains
//
// A list that grows by appends is stored as Append blobs, each holding the
// elements added to the blob of the same field at its Base, down to a full
// blob: the head of a thread whose list grew every superstep needs one
// blob per superstep. Each blob row keeps its chain's root, the version of
// the full blob it starts from, set when the commit inserts it (the root
// of its base, looked up in the same statement; its own version for a
// full blob; its base when the base is not stored). A chain's versions
// all lie between its root and its head, so [Store.Checkpoint] reads, in
// its one statement, for each field of the checkpoint the head blob by its
// key and then the range of that field's blobs of the same root from the
// root to the head: two index scans of the primary key (thread_id,
// namespace, field, version) per field, with every key column in the
// index condition, whatever the length of the chain. The store follows the
// bases in Go and keeps exactly the chain; blobs of forks whose branches
// share the root and fall in the range are read and dropped. Schema
// version 2 walked the chain with a recursive query instead, one lookup
// per link, which without statistics PostgreSQL planned on (thread_id,
// namespace) alone: quadratic in the chain (2 s for the head of a thread
// of 5,000 appends, 42 ms after ANALYZE).
//
// A chain is not left to grow a row per superstep: when a commit inserts
// an Append blob 64 or more versions above its root, the trigger
// blobs_fold (a BEFORE INSERT trigger whose WHEN condition PostgreSQL
// checks without calling it, so other inserts cost nothing more) folds the
// field's rows from the root up, packs among them, into the new row,
// which becomes a pack: the blobs in checkpoint.AppendPack's format, each
// stored once, at the commit's version, with root its own version and
// pack_from its lowest blob's. It runs inside the commit's statement,
// after the version check locked the thread row, so no row of the field
// is newer; a fork of an older chain among the rows pulls the start of
// the fold down to that chain's root, so that every chain of a blob in a
// pack is in it. No other row of the field lies inside a pack's range
// [pack_from, version], so the row of a field's version w is the first at
// or above w: w's own, or a pack that holds w (or nothing at w). Reads
// look up the head's row that way, then the range of its root as before,
// and unpack packs before following the bases; a blob appended to one
// inside a pack gets the pack's root. A read of the head of a thread of
// 5,000 appends reads a pack and fewer than 64 rows (see BENCHMARKS.md).
// A commit with VerifyBlobs that names a version inside a pack reads the
// pack (pack_has) to check that it holds it. Prune keeps a pack while any
// remaining checkpoint needs one of its blobs, then rewrites it without
// the blobs none needs (reading, in Go, the packs, plain rows and
// checkpoints of the namespaces it touched that hold packs), or removes
// it when none is left. A pack that cannot be read makes Checkpoint fail,
// and Prune fail without removing anything, with an error wrapping
// checkpoint.ErrCorrupt and checkpoint.ErrPack.
//
// The plan must not depend on statistics, since a schema that was just
// created, or a table that grew fast since autovacuum's last ANALYZE, has
// none or stale ones. So the lookups are LATERAL subqueries fenced with
// OFFSET 0: each is an index scan parameterized by the row before it, and
// the planner has no join order or join method to choose (given the
// chance, it joined the checkpoint's versions to all of a thread's blobs
// with a hash join). TestCheckpointChainCost checks it on a fresh schema
// with autovacuum off: at 10 and at 2,000 supersteps a read is one
// statement, reads no more blob rows than a chain has before it folds
// plus a few, and
// EXPLAIN ANALYZE shows no sequential scan of blobs and (almost) no rows
// removed by a filter. Autovacuum's ANALYZE is therefore not needed for
// reads of checkpoints; it still matters for the rest (the inbox, Prune),
// and autovacuum's VACUUM keeps the tables from bloating, as for any
// table with updates and deletes.
//
// # Claims and leases
//
// A run claims its thread before it advances it: Claim (one conditional
// UPDATE), ClaimReady (SELECT ... FOR UPDATE SKIP LOCKED of the oldest
// ready threads, or running ones on a lapsed lease, of some workflows, then
// UPDATE, in one statement served by the partial index threads_claimable:
// concurrent workers never claim the same thread and never wait for each
// other), or an Answer that claims. Each claim sets owner and lease_until
// and increments epoch. Heartbeat renews leases with one UPDATE and
// reports stop requests (RequestStop sets stop_requested on a running
// thread). Named leases for maintenance (Store.Lease) are rows of the
// table leases, taken with INSERT ... ON CONFLICT DO UPDATE WHERE the
// lease lapsed or is the owner's. Leases run on the database's clock
// (now()), which every process shares; [Options].Clock replaces it with
// the caller's, for tests that move time.
//
// # Notices
//
// *Store is a [checkpoint.Notifier] on LISTEN/NOTIFY. The channel is
// "weft_notices" for the default schema and "weft_notices:" followed by
// the schema's name otherwise ([Store.Channel]); payloads are compact JSON,
// {"kind":"ready","thread":"...","workflow":"..."}. The store notifies by
// itself after an Answer that makes a thread ready (not one that claims
// it), a Commit that leaves a thread ready, RequestStop of a running
// thread, and, with the outbox on, every write that may have recorded an
// event (kind "event", for webhook senders; one per batch): once the write
// has committed (never for one rolled back), in
// batches, at most one pg_notify statement per [Options].NotifyInterval
// (10 ms), with one ready notice per workflow in a batch. Not inside the
// writing transaction: PostgreSQL serialises the commits of transactions
// that notify, WAL flush included; 32 writers that each notified committed
// 178 times a second where they commit 1,314 times a second now (1,333
// without notices; BenchmarkReadyCommitParallel). Notices are hints, which
// is what makes that safe: a notice lost with a process that dies between
// its write and the batch costs a listener one poll; [Store.Close] sends
// the batch still waiting. [Options].NoNotify turns them off (behind a
// pooler in transaction mode, which breaks LISTEN). [Store.Listen] takes a
// connection out of the pool for as long as it listens.
//
// # The outbox
//
// *Store is a [checkpoint.Outbox]. With [Options].Outbox, Commit, Answer
// and Reassign record their events in the batch (the one transaction) of
// the change: a question inserted by a commit is inserted and reported by
// one statement (INSERT ... ON CONFLICT DO NOTHING RETURNING feeding the
// INSERT into outbox, so a question that existed already is not reported
// again); answers and reassignments read the questions' rows after the
// change into their events; a commit that leaves the thread failed adds
// thread.failed. After the batch commits, the store sends an event
// notice (checkpoint.NoticeEvent, batched like the others) that wakes the
// webhook senders listening.
//
// A store opened with Outbox marks the schema as using its outbox, for
// good: a row named [checkpoint.OutboxMark] in the table leases (a lease
// that never lapses; no migration). A store opened without Outbox on a
// marked schema, or on one whose outbox holds events, turns its outbox on
// by itself. One opened without it on a schema not marked (it was opened
// before the sender's process, or no webhooks are used) writes with the
// event statements each made conditional on the mark (an uncorrelated
// EXISTS on leases, evaluated once, first): a write that starts after the
// mark committed records its events, so no process that writes to the
// schema leaves a change unreported, whatever its options. On a schema
// never marked that costs a commit with a question, an answer or a
// reassignment one index probe of the leases table. Such a store learns
// that the schema is marked from the first of its writes that recorded an
// event (the statement's row count; it logs it) and from then on notifies
// senders as a store with Outbox does: only that first event waits for a
// sender's poll.
// [Store.ClaimEvents] selects the oldest due pending events FOR UPDATE
// SKIP LOCKED (the partial index outbox_due serves it) and sets their
// claimant and lease in the same statement: concurrent senders never
// claim one event and never wait for each other, and an event whose
// sender died is claimed again once its lease lapses, by the database's
// clock (or [Options].Clock). Event IDs are random (128 bits), made by the
// store; a dedup key, when set, is unique, so a deadline.near is recorded
// once.
//
// # The inbox
//
// Pending interrupts are indexed by partial indexes (WHERE status =
// 'pending'), which stay as small as the inbox however long the audit trail
// of answered questions grows: one in (created_at, id, thread_id) order for
// the whole inbox and its keyset cursor, one per workflow and one per node
// in the same order, and one on deadlines. The deadline pass first counts
// the due questions through it (up to 1,001); when at most 1,000 are due it
// reads them through it alone, in a materialised CTE, and sorts them,
// whatever the plan (so an idle worker reads no paused question); when
// more are, it leaves the plan to PostgreSQL, which finds a page of them
// in inbox order soon. The questions of one checkpoint of a
// thread, which every Resume and State reads at the head, come from
// interrupts_checkpoint (thread_id, checkpoint_id), not from a read of all
// the thread's questions. Assignees are a text[] column
// mirrored, for pending interrupts only, into the table
// interrupt_assignees (one row per assignee, kept in step by a trigger)
// whose primary key is (assignee, created_at, id, thread_id): the inbox of
// some assignees reads, for each, the first rows of its range in order and
// merges them. A GIN index on the array was measured and dropped: it cannot
// return rows in order, and for an assignee with few questions the planner
// walked the whole inbox (seconds at a million rows). The first page of 50
// of a million paused threads is an index scan that stops after 51 rows
// (see BenchmarkInboxFirstPage). Queries on other statuses across threads
// scan the table; with a ThreadID they use the primary key.
//
// # Decisions the contract leaves open
//
// They are memstore's (see its package doc), so that both behave alike:
// Commit stores c.Thread as given apart from Version, CreatedAt and
// UpdatedAt, fills in the checkpoint's and interrupts' empty fields the
// same way, and refuses a checkpoint ID or blob version that is not the
// new version; interrupts are identified by (ThreadID, ID) and ordered by
// CreatedAt, ID, ThreadID; a commit or PutWrites on a missing thread is
// ErrConflict; History, PendingWrites and Steps of a missing thread are
// ErrNotFound; Assignees never match an interrupt without assignees, and
// DueBefore never one without a deadline; a blob that a checkpoint names
// but that was never written is left out. Moreover:
//
//   - Interrupt cursors are opaque (base64url of the last row's position)
//     and only valid for this store.
//   - A row that cannot be decoded (a versions or meta column that is not
//     a JSON object of the right values, a NULL inside an array) is
//     reported with an error that names the thread and the checkpoint or
//     interrupt and wraps checkpoint.ErrCorrupt.
//   - Reads return times in UTC.
//   - Prune with a thread ID that does not exist is ErrNotFound; Prune of
//     every thread ranks all checkpoints, which suits a periodic job
//     rather than a hot path. It first locks (FOR SHARE) the threads it
//     prunes, so their commits wait for it or finish before it reads: a
//     fork committed with VerifyBlobs never keeps a checkpoint whose blobs
//     the prune removed (it fails with ErrNotFound instead).
package pgstore
