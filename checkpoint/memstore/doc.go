// Package memstore is an in-memory [checkpoint.Store]: for tests, examples and
// applications whose threads need not outlive the process.
//
//	store := memstore.New()
//	wf, err := g.Compile(weft.WithStore(store))
//
// A Store is safe for concurrent use by many goroutines. It keeps everything
// in the process's memory and loses it when the process exits; use
// checkpoint/sqlitestore or checkpoint/pgstore to keep threads across
// restarts. It passes the conformance suite in checkpoint/storetest, so a
// workflow behaves the same on it as on the SQL stores.
//
// # Outbox
//
// A Store is a [checkpoint.Outbox]; with WithOutbox its Commit, Answer and
// Reassign record their events under the same lock as the change, for a
// sender (package webhook). Without it they record none.
//
// # Copies
//
// The Store copies what it is given and what it returns: after a call, the
// caller may change the values it passed in or got back (slices, maps, the
// bytes of blobs, pending writes and JSON fields) without changing what is
// stored. To keep allocations low, the byte slices of one returned value
// share one backing array; each slice is capped at its own length, so
// appending to one never overwrites another.
//
// # Decisions the contract leaves open
//
//   - Commit fills in what a caller left empty: a checkpoint's ThreadID, an
//     empty checkpoint ID (FormatID of the new version), a zero checkpoint
//     CreatedAt (c.At), a zero blob Version (the new version), an empty
//     interrupt Status (pending) and a zero interrupt CreatedAt (c.At). It
//     sets the ThreadID of steps and interrupts to the commit's thread. A
//     checkpoint ID or blob version that is not the new version is refused
//     with an error (not ErrConflict), before the version is checked.
//   - A blob that a checkpoint names but that was never written is left out
//     of the checkpoint's Blobs (the engine reports the state as corrupt).
//   - Cursors are opaque strings: a thread cursor is the ID of the last
//     thread of the page; an interrupt cursor encodes the CreatedAt, ID and
//     ThreadID of the last interrupt of the page.
//   - Commit, PutWrites, History, Prune and Reassign without arguments (a
//     nil pointer, a Commit without a thread ID) return an error; a nil
//     ThreadQuery or InterruptQuery is the empty query; Answer of no answers
//     does nothing.
//
// # Cost
//
// One lock guards the store: reads share it, writes take it alone, and
// everything that can be copied before taking it is. Thread, Checkpoint,
// History, PendingWrites and Steps work on one thread; the step log grows
// in chunks, so a commit never copies a thread's past steps. Threads scans
// and sorts the threads that match. Interrupts scans the interrupts of
// every thread (of one thread with ThreadID) and keeps only the page asked
// for as it goes, so the first page of 50 out of 10,000 pending interrupts
// costs one pass over them and no sort.
package memstore
