package checkpoint

import (
	"context"
	"encoding/json"
	"time"
)

// Store keeps threads, checkpoints, pending writes, interrupts and the step
// log. Implementations are safe for concurrent use by many goroutines; SQL
// implementations are also safe for many processes sharing one database.
//
// Every method that names something that does not exist returns an error
// wrapping ErrNotFound; a query (Threads, Interrupts) whose filters match
// nothing returns an empty page instead. A method called with a context
// that is done returns an error wrapping ctx.Err() and changes nothing.
// Stores copy what they are given and what they return: callers may keep
// and change both. Strings are ordered byte by byte (as Go compares them),
// whatever the database's collation. Times are kept to the microsecond at
// least; their location is not kept.
//
// The conformance suite in checkpoint/storetest checks every promise
// written here.
type Store interface {
	// Thread returns the thread's row.
	Thread(ctx context.Context, threadID string) (*Thread, error)

	// Threads lists threads ordered by ID, one page at a time.
	Threads(ctx context.Context, q *ThreadQuery) (*ThreadPage, error)

	// Commit applies c atomically and returns the thread's new version.
	//
	// It succeeds only if the thread's version is c.ExpectedVersion (0: the
	// thread must not exist yet; a thread that does not exist fails any
	// other ExpectedVersion); otherwise it returns ErrConflict and changes
	// nothing. In one transaction it then: writes c.Thread as given (Head
	// included: the store does not move it) with Version ExpectedVersion+1
	// (CreatedAt is c.At for a new thread and stays for an existing one,
	// UpdatedAt is c.At); cancels every pending interrupt of the thread if
	// c.CancelPending; writes c.Checkpoint and its Blobs, and removes the
	// pending writes of (c.Checkpoint.Namespace, c.Checkpoint.ParentID);
	// writes c.Writes (replacing writes with the same key); inserts
	// c.Interrupts (an interrupt whose (ThreadID, ID) exists already keeps
	// its row, whatever its status); appends c.Steps with their Version
	// set.
	Commit(ctx context.Context, c *Commit) (int64, error)

	// PutWrites records pending writes outside a commit (a side effect
	// journaled as soon as it has run), if the thread's version is still
	// p.Version; otherwise (a thread that does not exist included)
	// ErrConflict, and nothing is written. It does not change the version.
	PutWrites(ctx context.Context, p *PutWrites) error

	// Checkpoint returns one checkpoint with every blob needed to rebuild
	// its state. An empty id asks for the head: Thread.Head for the root
	// namespace, the newest checkpoint for any other.
	Checkpoint(ctx context.Context, threadID, namespace, id string) (*Checkpoint, error)

	// History lists a namespace's checkpoints, newest first, without blobs;
	// none for a namespace without checkpoints (ErrNotFound only when the
	// thread does not exist).
	History(ctx context.Context, q *HistoryQuery) ([]Checkpoint, error)

	// PendingWrites returns the pending writes of the superstep that starts
	// from checkpoint checkpointID in namespace, ordered by task, kind and
	// key; none if there are none (ErrNotFound only when the thread does
	// not exist).
	PendingWrites(ctx context.Context, threadID, namespace, checkpointID string) ([]PendingWrite, error)

	// Interrupts lists interrupts matching q, ordered by CreatedAt, then
	// ID, then ThreadID. An interrupt is identified by (ThreadID, ID): two
	// threads may ask questions with the same ID.
	Interrupts(ctx context.Context, q *InterruptQuery) (*InterruptPage, error)

	// Answer records answers, all or none: each interrupt must exist
	// (ErrNotFound) and be pending (ErrAlreadyAnswered); the same interrupt
	// twice in one call is ErrAlreadyAnswered. Answering is a
	// compare-and-set on the status: of two concurrent answers to one
	// question, exactly one succeeds.
	Answer(ctx context.Context, answers []Answer) error

	// Reassign changes who a pending interrupt is assigned to and its
	// deadline (escalation); ErrNotFound if it does not exist,
	// ErrAlreadyAnswered (changing nothing) if it is not pending.
	Reassign(ctx context.Context, r *Reassign) error

	// Steps returns the thread's step log recorded by commits with a
	// version greater than afterVersion, in the order written (ErrNotFound
	// only when the thread does not exist).
	Steps(ctx context.Context, threadID string, afterVersion int64) ([]Step, error)

	// DeleteThread removes the thread and everything stored for it; a
	// thread created later with the same ID starts empty.
	DeleteThread(ctx context.Context, threadID string) error

	// Prune removes old checkpoints and returns how many it removed. It
	// never removes a namespace's newest checkpoint nor the thread's head,
	// keeps every blob that a remaining checkpoint needs (including Append
	// chains), and removes the pending writes of removed checkpoints. Steps
	// and interrupts stay: they are the audit trail. With p.ThreadID set,
	// a thread that does not exist is ErrNotFound.
	Prune(ctx context.Context, p *Prune) (int, error)
}

// Commit is one atomic change of a thread: see Store.Commit.
type Commit struct {
	// Thread is the row to write; its Version is set by the store.
	Thread Thread
	// ExpectedVersion is the version the thread must have; 0 creates it.
	ExpectedVersion int64
	// At is the commit time.
	At time.Time
	// CancelPending cancels the thread's pending interrupts first.
	CancelPending bool
	// Checkpoint, if not nil, is written with its Blobs. Its ID is
	// FormatID(ExpectedVersion+1), as is the Version of its blobs.
	Checkpoint *Checkpoint
	// Writes are pending writes to record, after the checkpoint removed
	// those of the superstep it ends.
	Writes []PendingWrite
	// Interrupts are new questions, pending; one that exists already is
	// left as it is.
	Interrupts []InterruptRecord
	// Steps are appended to the step log with Version set to the new
	// version.
	Steps []Step
}

// PutWrites is the argument of Store.PutWrites.
type PutWrites struct {
	// ThreadID names the thread the writes belong to.
	ThreadID string
	// Version is the version the thread must still have.
	Version int64
	// Writes are recorded, replacing writes with the same key.
	Writes []PendingWrite
}

// ThreadQuery selects threads. Zero fields do not filter.
type ThreadQuery struct {
	// Workflow keeps threads of this workflow.
	Workflow string
	// Status keeps threads in this status.
	Status Status
	// After is a cursor: ThreadPage.Next of the previous page. It is a
	// position in the order, not an offset: threads created or deleted
	// after a page was read do not make the next pages skip or repeat
	// others.
	After string
	// Limit caps the page; 0 means 100.
	Limit int
}

// ThreadPage is one page of threads. Next is "" on the last page.
type ThreadPage struct {
	Threads []Thread
	Next    string
}

// HistoryQuery selects checkpoints of one namespace.
type HistoryQuery struct {
	// ThreadID names the thread; it must exist.
	ThreadID string
	// Namespace is the namespace listed ("" for the thread's own graph).
	Namespace string
	// Before, if set, keeps checkpoints older than this ID (which need not
	// be a checkpoint of the namespace: IDs sort by age).
	Before string
	// Limit caps the list; 0 means no limit.
	Limit int
}

// InterruptQuery selects interrupts. Zero fields do not filter.
type InterruptQuery struct {
	// ID, ThreadID, CheckpointID and Workflow match those fields exactly.
	ID           string
	ThreadID     string
	CheckpointID string
	Workflow     string
	// Node matches the node path exactly.
	Node string
	// Status keeps interrupts in this status.
	Status InterruptStatus
	// Assignees keeps interrupts assigned to at least one of them; an
	// interrupt with no assignees (anyone may answer) is not kept.
	Assignees []string
	// CreatedBefore keeps interrupts created before this time (age).
	CreatedBefore time.Time
	// DueBefore keeps interrupts with a deadline at or before this time;
	// an interrupt without a deadline is not kept.
	DueBefore time.Time
	// After is a cursor: InterruptPage.Next of the previous page. It is a
	// position in the order, not an offset: interrupts that stop matching
	// (answered) after a page was read do not make the next pages skip or
	// repeat others. A cursor the store did not make is an error.
	After string
	// Limit caps the page; 0 means 100.
	Limit int
}

// InterruptPage is one page of interrupts. Next is "" on the last page.
type InterruptPage struct {
	Interrupts []InterruptRecord
	Next       string
}

// Answer is a human's (or a resolver's, or a deadline's) answer to one
// interrupt.
type Answer struct {
	// ThreadID and InterruptID name the interrupt answered.
	ThreadID    string
	InterruptID string
	// Value is the answer as JSON; "null" is a valid answer.
	Value json.RawMessage
	// Author is who answered; Channel is how (ChannelAPI, ChannelUI, ...);
	// At is when. The store records all three with the answer.
	Author  string
	Channel string
	At      time.Time
}

// Reassign is the argument of Store.Reassign.
type Reassign struct {
	// ThreadID and InterruptID name the interrupt, which must be pending.
	ThreadID    string
	InterruptID string
	Assignees   []string
	// Assignees, Deadline, Fallback and EscalateTo replace the
	// interrupt's; empty ones clear them.
	Deadline   time.Time
	Fallback   json.RawMessage
	EscalateTo []string
}

// Prune is the argument of Store.Prune. KeepLast and Before may be
// combined: a checkpoint goes when either rule says so.
type Prune struct {
	// ThreadID limits pruning to one thread; "" prunes every thread.
	ThreadID string
	// KeepLast keeps the newest N checkpoints of each namespace; 0 keeps
	// all as far as this rule goes.
	KeepLast int
	// Before removes checkpoints created (Checkpoint.CreatedAt) before this
	// time.
	Before time.Time
}
