// Package checkpoint defines what weft persists and the Store contract that
// every backend implements.
//
// The root package weft drives threads; a Store keeps them. Drivers
// (memstore, sqlitestore, pgstore) depend on this package and never the other
// way round, and checkpoint/storetest holds the one conformance suite that
// every Store must pass.
//
// # What is stored
//
//   - A [Thread] is the row that names one durable workflow instance. Its
//     Version is bumped by every [Commit]; commits carry the version they
//     expect (compare-and-set), so two processes that advance the same thread
//     cannot both win: the loser gets [ErrConflict] and nothing of its commit
//     is kept.
//   - A [Checkpoint] is the state after one superstep. The state is split
//     into fields, each stored as a [Blob] keyed by (thread, namespace, field,
//     version). A checkpoint lists the version of every field it holds in
//     Versions; unchanged fields point at older blobs and are not written
//     again. A blob marked Append holds only elements appended to the blob at
//     Base, so a list that only grows stores each element once. Versions are
//     the thread version of the commit that wrote them, so they are unique
//     within a thread even across forks and namespaces. A checkpoint's ID is
//     its version formatted by [FormatID]: IDs of one thread sort by age.
//   - A [PendingWrite] belongs to a superstep that has not committed yet
//     because it paused or failed: the output of a node that finished, or a
//     journaled side effect. When the superstep runs again those writes are
//     reused instead of running the node (or the effect) a second time.
//   - An [InterruptRecord] is a question to a human with its payload, the
//     JSON schema of the expected answer, assignees and deadline. It moves
//     from pending to answered exactly once ([Store.Answer] is a
//     compare-and-set), or to cancelled when the thread moves on without it.
//   - A [Step] is one line of the superstep log: which node ran in which
//     superstep, with what outcome and how long it took.
//   - An [Event] is an entry of a store's outbox ([Outbox], optional): a
//     question asked, answered or escalated, a deadline near, a thread
//     failed, recorded in the transaction of what it reports, until a
//     sender (package webhook) has delivered it.
//   - A [Record] is a small JSON document a server keeps next to the
//     threads ([Records], optional), keyed by a kind and an ID and indexed
//     by thread: the LangGraph API's run records and thread metadata.
//
// # Namespaces
//
// A thread's own graph writes checkpoints in namespace "". A subgraph run
// inside a node writes its checkpoints in a namespace named after the node
// path and task ("outer:3/inner:7"); the thread's Head names the root
// namespace's newest checkpoint, and [Store.Checkpoint] with an empty ID on
// another namespace returns that namespace's newest checkpoint.
//
// # Encoding
//
// Stores never decode state: blobs, pending writes and answers are opaque
// bytes to them. Interrupt payloads, schemas, fallbacks and answers are JSON
// (the server and the inbox read them without knowing Go types); state blobs
// are encoded by the workflow's codec, JSON unless configured otherwise.
// Stores give every one of them back byte for byte as given: a store must
// not normalize JSON (as a Postgres jsonb column would: keep it in bytea or
// json).
//
// # Errors
//
// Every Store maps its own "no rows" to [ErrNotFound], a failed version check
// to [ErrConflict], and an answer to a question that is no longer pending to
// [ErrAlreadyAnswered], so callers test them with errors.Is whatever the
// backend.
package checkpoint
