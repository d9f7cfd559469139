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
// gets ErrConflict with nothing of it kept. [Store.Answer] is an UPDATE ...
// WHERE status = 'pending' per answer, all in one transaction that rolls
// back at the first that changes nothing.
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
// to the WAL and syncs it once; statements are prepared once per
// connection.
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
// them; so do the queries of one thread's interrupts (from the primary key)
// and queries without a status. The package's tests check every plan with
// EXPLAIN QUERY PLAN.
//
// # Corrupt data
//
// A stored value that the store could not have written (bad JSON in a list
// or map column, text in an integer column) makes the read fail with an
// error that wraps [checkpoint.ErrCorrupt] and names the thread and the
// checkpoint, blob, interrupt or step. Prune refuses to remove blobs of a
// namespace in which a remaining checkpoint's versions cannot be read.
//
// # Decisions the contract leaves open
//
// This store decides them as memstore does:
//
//   - Commit stores c.Thread as given apart from Version, CreatedAt and
//     UpdatedAt; in particular Thread.Head is the caller's.
//   - Commit fills in an empty checkpoint ID (FormatID of the new version),
//     a zero checkpoint CreatedAt (c.At), a zero blob Version (the new
//     version), and an empty interrupt Status (pending) or zero CreatedAt
//     (c.At). A checkpoint ID or blob version that is not the new version
//     is refused with an error.
//   - Interrupts are identified by (ThreadID, ID) and ordered by CreatedAt,
//     then ID, then ThreadID.
//   - A commit or PutWrites on a thread that does not exist is a version
//     mismatch (ErrConflict), except Commit with ExpectedVersion 0, which
//     creates the thread.
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
