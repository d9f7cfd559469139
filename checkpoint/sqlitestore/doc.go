// Package sqlitestore is the embedded default [checkpoint.Store]: every
// thread, checkpoint, pending write, interrupt and step in one SQLite file,
// through the pure-Go driver modernc.org/sqlite (no cgo).
//
//	store, err := sqlitestore.Open(ctx, "weft.db", sqlitestore.Options{Migrate: true})
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	wf, err := g.Compile(weft.WithStore(store))
//
// It passes the conformance suite in checkpoint/storetest, so a workflow
// behaves the same on it as on memstore or pgstore. One file serves one
// machine: several processes may share it, but not over a network file
// system (SQLite's WAL needs shared memory); use pgstore to scale out.
//
// # Opening and migrations
//
// [Open] takes a file path (not a URI; "" and ":memory:" are refused) and
// [Options], whose zero value is the default. The schema is a series of
// versioned SQL files embedded in the package (migrations/NNNN_name.sql),
// and a table, schema_version, records which were applied. Open compares
// the file's version with [LatestSchemaVersion]:
//
//   - equal: the store is ready;
//   - older, a new file among them: with Options.Migrate, Open applies the
//     missing migrations; without, it fails with a [*SchemaError]
//     wrapping [ErrNotMigrated], which says to migrate. Schema changes
//     happen when someone asks for them (Options.Migrate, the CLI's
//     `weft migrate`), not as a side effect of starting a program;
//   - newer (written by a newer program): Open fails with a [*SchemaError]
//     wrapping [checkpoint.ErrSchemaTooNew], with or without Migrate, and
//     changes nothing.
//
// [Store.Migrate] applies the missing migrations and their schema_version
// rows in one transaction: all or none. Processes that migrate one file at
// once take turns; the later ones find nothing to do. [Store.SchemaVersion]
// reports the file's version.
//
// The migrations so far:
//
//   - 0001_init: threads, checkpoints, blobs, pending writes, interrupts
//     (with the assignee mirror and the inbox indexes) and steps;
//   - 0002_claims: a thread's claim epoch (threads.epoch, 0 for the threads
//     of version 1) and stop request (threads.stop_requested), a cancelled
//     question's note and a fallback's time (interrupts.note,
//     interrupts.fallback_at), the partial index threads_claimable that
//     serves ClaimReady, and the table of named leases (leases). It only
//     adds, so a file of version 1 keeps all its rows;
//   - 0003_blob_roots: blobs.root (see Append chains below) and the blobs
//     table's primary key in the order (thread_id, namespace, field,
//     version). SQLite cannot change a primary key in place, so the
//     migration rebuilds the table: it copies every row, computing the
//     roots of existing chains by walking each chain once, which needs
//     room for a second copy of the table while it runs. Chains written at
//     version 2 read the same afterwards;
//   - 0004_outbox: the table outbox (see The outbox below) and its partial
//     index outbox_due. It only adds, and records no event for what the
//     file held before;
//   - 0005_interrupts_by_checkpoint: the index interrupts_checkpoint
//     (thread_id, checkpoint_id), from which the questions of a thread's
//     head are read (see The inbox below);
//   - 0006_records: the table records of [checkpoint.Records] and its
//     index records_thread;
//   - 0007_blob_packs: blobs.pack_from, NULL for a plain row and the
//     lowest version of the blobs a pack row holds (see Append chains
//     below). Adding a nullable column rewrites no row: the rows of
//     version 6 read as plain rows, and a long chain written before it is
//     folded the next time a commit appends to it.
//
// # The outbox
//
// *Store is a [checkpoint.Outbox]. With [Options].Outbox, Commit,
// Answer and Reassign insert their events (question.asked for each
// question a commit inserts, question.answered, question.escalated,
// thread.failed) into the table outbox in their own write transaction, so
// an event exists if and only if its change was kept. A store opened with
// Outbox marks the file as using its outbox, for good: a file beside it
// named after it with the suffix "-weft-outbox", then a row named
// [checkpoint.OutboxMark] in the table leases (a lease that never lapses;
// no migration). A store opened without it on a marked file, or on one
// whose outbox holds events, turns its outbox on by itself; one opened
// before the mark looks for the mark's file in each write that would
// record an event, while the write holds the write lock (one stat, until
// it has seen it; a write that misses the file ends before the row is
// written): no process that writes to the file leaves a change
// unreported, whatever its options. To stop using the outbox, delete the
// row and the file while no weft process has the database open. SQLite does not
// notify: senders poll. An event row keeps a snapshot of the question (node, key,
// reason, assignees, deadline) as it was. [Store.ClaimEvents] is one
// UPDATE ... RETURNING of the oldest due pending events (served by the
// partial index outbox_due), which sets the claimant and its lease inside
// the write transaction: claimants on one file take turns and never claim
// one event twice; an event whose claimant died is claimed again once its
// lease lapses. Event IDs are random (128 bits); a dedup key, when set, is
// unique in the table, so a deadline.near is recorded once.
//
// # Pragmas
//
// The store opens two pools of connections on the file:
//
//   - one write connection, with journal_mode=WAL (readers never wait for
//     the writer, nor the writer for readers), synchronous=FULL (the WAL is
//     synced at every commit: a commit that returned survives a crash or a
//     power cut), foreign_keys=ON (deleting a thread's row cascades to
//     everything stored for it), busy_timeout (Options.BusyTimeout, 5s by
//     default) and transactions that begin with BEGIN IMMEDIATE;
//   - Options.MaxReadConns read connections (max(4, GOMAXPROCS) by
//     default) with query_only=ON and the same busy_timeout.
//
// BEGIN IMMEDIATE takes the file's write lock when a transaction starts,
// waiting for it under busy_timeout. With SQLite's default (BEGIN
// DEFERRED) a transaction that reads first and writes later must upgrade
// its lock, and when another writer got there first the upgrade fails at
// once with SQLITE_BUSY, whatever the timeout: the read-then-write of a
// compare-and-set would fail instead of waiting. Open checks that the file
// is in WAL mode and fails if SQLite could not switch it.
//
// # Concurrency
//
// A Store is safe for concurrent use by many goroutines. Writers of one
// process queue for the write connection; writers of several processes (or
// of several Stores on one file) queue for the file's write lock. Either
// way a write waits rather than fails, up to the busy timeout or until its
// context ends. Reads run on the read connections in parallel with each
// other and with the writer; a read that takes several queries (Checkpoint,
// History, PendingWrites, Steps) runs them in one read transaction, so it
// sees one snapshot: a concurrent Prune cannot take away a blob that a
// checkpoint being read needs.
//
// [Store.Commit] is a compare-and-set on the thread's version inside one
// write transaction: it reads the version, returns checkpoint.ErrConflict
// and rolls back if it is not the one expected, and otherwise writes the
// thread (UPDATE ... WHERE version = expected), the checkpoint, its blobs,
// pending writes, interrupts and steps before it commits. Of two processes
// that advance one thread from the same version, one commits and the other
// gets ErrConflict with nothing of it kept. [Store.Answer] reads the
// thread and each question, refuses before it writes anything if one is
// missing, not pending or not of the thread's pause, and then answers them
// (an UPDATE ... WHERE status = 'pending' each), records the answer's
// writes and makes the thread ready or claims it, in one transaction.
//
// # Claims and leases
//
// A run claims a thread before it advances it ([Store.Claim],
// [Store.ClaimReady], an Answer with a Claim): the thread becomes running,
// with an owner, a lease (the store's now + the lease asked for) and a new
// epoch. Every claim is a read and an UPDATE in one write transaction,
// which holds the file's write lock from BEGIN IMMEDIATE to its commit, so
// two claimants (goroutines, Stores or processes on one file) take turns:
// ClaimReady of concurrent workers never claims one thread twice. It finds
// the threads that wait (ready, or running on a lapsed lease) from the
// partial index threads_claimable (workflow, updated_at, id) over the ready
// and running threads, oldest first; the threads that ended are not in it.
// [Store.Heartbeat] renews leases (changing no version and no index) and
// reports the stop requests that [Store.RequestStop] recorded.
// [Store.PutWrites] writes only for the claim's owner at its epoch, read in
// the transaction that writes: a process that lost its claim writes
// nothing. [Store.Lease] keeps named leases (maintenance that one process
// at a time runs) in the table leases, taken by one upsert that changes the
// row only if it is free, lapsed or the caller's.
//
// The store's time is Options.Clock (time.Now by default): leases, claims
// and the UpdatedAt of a thread that Answer claims or makes ready. Tests
// of takeovers give it a fake clock; processes sharing a file must agree
// on the time, as their leases are compared with each other's.
//
// # Storage
//
// Times are unix microseconds, so the store keeps times to the microsecond
// and returns them in UTC; the zero time survives the round trip. Small
// lists and maps (a checkpoint's Next, Versions and Meta, an interrupt's
// Assignees and EscalateTo) are JSON text; their strings must be valid
// UTF-8, or Commit and Reassign fail. Blobs, pending writes and the JSON
// fields of interrupts are stored as given.
//
// Small rows keyed by text (threads, checkpoints, steps) are WITHOUT ROWID
// tables, so a commit writes one b-tree per row instead of a table and its
// primary-key index; blobs, pending writes and interrupts, which carry
// payloads of any size, are rowid tables. A thread's row is updated with
// its workflow and status only when they change, since SQLite rewrites the
// index entry of every indexed column an UPDATE sets. A superstep commit
// (the thread, one checkpoint, one blob, one step) writes about five pages
// to the WAL, one more for the entry of a running thread in
// threads_claimable (its updated_at moves), and syncs it once; statements
// are prepared once per connection.
//
// # Append chains
//
// A list that grows by appends is stored as Append blobs, each holding the
// elements added to the blob of the same field at its Base, down to a full
// blob: the head of a thread whose list grew every superstep needs one
// blob per superstep. Each blob row keeps the chain's root, set when the
// blob is inserted (by the insert itself, which returns it): its own
// version for a full blob, the root of the row that holds its base for an
// Append blob, its base when no row does. A chain's versions all lie
// between its root and its head (or, from a pack, the pack's lowest
// version), so [Store.Checkpoint] reads the blobs of a checkpoint in one
// statement, whatever the length of its chains: for each field, the row
// that holds the version asked for, by one seek of the primary key
// (thread_id, namespace, field, version), then the rows of that field and
// root from the root to that row, one range of the key. The store then
// unpacks the packs among them and follows the bases in Go
// ([checkpoint.ChainBlobs]), keeping exactly the chain; blobs of forks
// whose branches share the root and fall in the range are read and
// dropped.
//
// Long chains are folded into packs, so that a read scans a bounded
// number of rows: a commit that inserts an Append blob at version v whose
// root R is 64 versions below it or more (foldAfter) folds, in its own
// transaction, every row of the field from R to v into one pack row at v
// (its blobs in [checkpoint.AppendPack]'s format; root v, base 0,
// pack_from the lowest version in it), and deletes the rows it folded. A
// pack among them is expanded into the new one, and so the pack of a
// chain grows with it: each blob is stored once, in one row, and each
// fold rewrites the chain's pack, once per 64 appends. When a row in the
// range belongs to a chain that starts below R (a fork from before a
// full value that R's chain starts from), the range reaches down to that
// chain's root, and to the lowest version of a pack it starts from,
// until no row in it has a chain that leaves it: every blob in a pack has
// its Base chain in the same pack or in rows above it. No other row of
// the field lies in a pack's range, since v is the thread's newest
// version when it folds. Appends to a blob in a pack get the pack's root,
// v, and are read with it. So the head of a list that grew for 5,000
// supersteps reads one pack and fewer than 64 rows, where it read 5,000
// rows; TestBlobsQueryPlan checks the plan, TestCheckpointChainCost and
// TestFoldBoundsRows count the statements and rows of reads at 10 to
// 2,000 supersteps. A commit that does not fold runs the same statements
// as before packs (TestFoldStatements); one that folds runs three more (a
// range read of the field, a second one in the rare case the range
// reaches down below it, a DELETE and an UPDATE).
//
// A lookup of the blob of a field at version w (the head of a read, the
// base of an Append blob) takes the first row of the field at or above w:
// it is w's own row, or a pack whose range holds w, or w is not stored. A
// version inside a pack's range need not be one of its blobs: Commit with
// VerifyBlobs, which checks that the blobs a fork names are there, unpacks
// the pack in the rare case a version it names is not a plain row. Prune
// of a namespace without packs is one statement, as before; of one with
// packs, it works out in Go which blobs the remaining checkpoints need,
// following bases through the blobs of packs, deletes the plain rows not
// needed, and rewrites a pack without its blobs that are not needed (or
// deletes it when none is). A pack that cannot be unpacked is corrupt
// data (see below): the read, the verifying commit or the commit that
// would fold it fails, and Prune removes nothing. DeleteThread cascades
// to packs as to every row.
//
// # The inbox
//
// [Store.Interrupts] serves the inbox from indexes, in inbox order, so a
// page costs the same however many interrupts are stored: the interrupts of
// one status from interrupts_inbox (status, created_at, id, thread_id), of
// one workflow from interrupts_inbox_workflow, of some assignees from
// interrupt_assignees, one row per assignee of each interrupt kept by
// triggers, whose ranges a compound SELECT merges in order. Cursors are
// positions in that order (keyset pagination), not offsets. A query for due
// deadlines reads the few due interrupts from interrupts_due and sorts
// them; so do the queries of one thread's interrupts (from the primary key,
// or, for one checkpoint's, which every Resume and State reads at the
// head, from interrupts_checkpoint (thread_id, checkpoint_id), so a long
// chat does not read every question it was asked) and queries without a
// status. The package's tests check every plan with
// EXPLAIN QUERY PLAN.
//
// # Corrupt data
//
// A stored value that the store could not have written (bad JSON in a list
// or map column, text in an integer column, a pack that does not unpack)
// makes the read fail with an error that wraps [checkpoint.ErrCorrupt]
// (and, for a pack, [checkpoint.ErrPack]) and names the thread and the
// checkpoint, blob, interrupt or step. Prune refuses to remove blobs of a
// namespace in which a remaining checkpoint's versions or a pack cannot be
// read; a commit that would fold a pack that cannot be read fails, and
// keeps nothing.
//
// # Decisions the contract leaves open
//
// This store decides them as memstore does:
//
//   - Commit stores c.Thread as given apart from Version, CreatedAt,
//     UpdatedAt, the lease and the stop request; in particular Head, Owner
//     and Epoch are the caller's.
//   - Commit fills in an empty checkpoint ID (FormatID of the new version),
//     a zero checkpoint CreatedAt (c.At), a zero blob Version (the new
//     version), and an empty interrupt Status (pending) or zero CreatedAt
//     (c.At). A checkpoint ID or blob version that is not the new version
//     is refused with an error.
//   - Interrupts are identified by (ThreadID, ID) and ordered by CreatedAt,
//     then ID, then ThreadID.
//   - A commit on a thread that does not exist is a version mismatch
//     (ErrConflict), except with ExpectedVersion 0, which creates the
//     thread; PutWrites on one is a lost claim (ErrConflict).
//   - ClaimReady orders threads of equal UpdatedAt by ID; a running
//     thread's lease has lapsed at LeaseUntil itself.
//   - History, PendingWrites and Steps of a thread that does not exist
//     return ErrNotFound; of a namespace or checkpoint without entries they
//     return an empty list.
//   - An InterruptQuery with Assignees does not match interrupts with no
//     assignees. Interrupts without a deadline never match DueBefore.
//   - A blob that a checkpoint names but that was never written is left out
//     of the checkpoint's Blobs (the engine reports the state as corrupt).
//
// And these its own way:
//
//   - A Prune of every thread (Prune.ThreadID "") works through the threads
//     in batches of 100, one transaction each, so that it never holds the
//     write lock for long; a Prune of one thread is one transaction.
//   - Times are kept to the microsecond, returned in UTC.
package sqlitestore
