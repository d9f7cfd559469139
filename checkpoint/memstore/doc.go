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
//   - Commit stores c.Thread as given apart from Version, CreatedAt and
//     UpdatedAt: in particular Thread.Head is the caller's (the engine sets
//     it to the ID of each root checkpoint it commits).
//   - Commit fills in a checkpoint's ThreadID, an empty checkpoint ID
//     (FormatID of the new version), a zero CreatedAt (c.At), a zero blob
//     Version (the new version), the ThreadID of steps and interrupts, and
//     an empty interrupt Status (pending). A checkpoint ID or blob version
//     that is not the new version is refused with an error.
//   - Interrupts are identified by (ThreadID, ID). Interrupts are ordered by
//     CreatedAt, then ID, then ThreadID.
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
package memstore
