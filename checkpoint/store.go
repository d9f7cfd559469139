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
// wrapping ErrNotFound. Reads return copies: callers may keep and change
// what they get.
type Store interface {
	// Thread returns the thread's row.
	Thread(ctx context.Context, threadID string) (*Thread, error)

	// Threads lists threads ordered by ID.
	Threads(ctx context.Context, q *ThreadQuery) (*ThreadPage, error)

	// Commit applies c atomically and returns the thread's new version.
	//
	// It succeeds only if the thread's version is c.ExpectedVersion (0: the
	// thread must not exist yet); otherwise it returns ErrConflict and
	// changes nothing. In one transaction it then: writes c.Thread with
	// Version ExpectedVersion+1 (CreatedAt is c.At for a new thread,
	// UpdatedAt is c.At); cancels every pending interrupt of the thread if
	// c.CancelPending; writes c.Checkpoint and its Blobs, and removes the
	// pending writes of (c.Checkpoint.Namespace, c.Checkpoint.ParentID);
	// writes c.Writes (replacing writes with the same key); inserts
	// c.Interrupts (an ID that exists already keeps its row); appends
	// c.Steps with their Version set.
	Commit(ctx context.Context, c *Commit) (int64, error)

	// PutWrites records pending writes outside a commit (a side effect
	// journaled as soon as it has run), if the thread's version is still
	// p.Version; otherwise ErrConflict. It does not change the version.
	PutWrites(ctx context.Context, p *PutWrites) error

	// Checkpoint returns one checkpoint with every blob needed to rebuild
	// its state. An empty id asks for the head: Thread.Head for the root
	// namespace, the newest checkpoint for any other.
	Checkpoint(ctx context.Context, threadID, namespace, id string) (*Checkpoint, error)

	// History lists a namespace's checkpoints, newest first, without blobs.
	History(ctx context.Context, q *HistoryQuery) ([]Checkpoint, error)

	// PendingWrites returns the pending writes of the superstep that starts
	// from checkpoint checkpointID in namespace, ordered by task, kind and
	// key.
	PendingWrites(ctx context.Context, threadID, namespace, checkpointID string) ([]PendingWrite, error)

	// Interrupts lists interrupts matching q, ordered by CreatedAt then ID.
	Interrupts(ctx context.Context, q *InterruptQuery) (*InterruptPage, error)

	// Answer records answers, all or none: each interrupt must exist
	// (ErrNotFound) and be pending (ErrAlreadyAnswered); the same interrupt
	// twice in one call is ErrAlreadyAnswered. Answering is a
	// compare-and-set on the status: of two concurrent answers to one
	// question, exactly one succeeds.
	Answer(ctx context.Context, answers []Answer) error

	// Reassign changes who a pending interrupt is assigned to and its
	// deadline (escalation); ErrAlreadyAnswered if it is not pending.
	Reassign(ctx context.Context, r *Reassign) error

	// Steps returns the thread's step log recorded by commits with a
	// version greater than afterVersion, in the order written.
	Steps(ctx context.Context, threadID string, afterVersion int64) ([]Step, error)

	// DeleteThread removes the thread and everything stored for it.
	DeleteThread(ctx context.Context, threadID string) error

	// Prune removes old checkpoints and returns how many it removed. It
	// never removes a namespace's newest checkpoint nor the thread's head,
	// keeps every blob that a remaining checkpoint needs (including Append
	// chains), and removes the pending writes of removed checkpoints. Steps
	// and interrupts stay: they are the audit trail.
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
	Writes     []PendingWrite
	Interrupts []InterruptRecord
	Steps      []Step
}

// PutWrites is the argument of Store.PutWrites.
type PutWrites struct {
	ThreadID string
	// Version is the version the thread must still have.
	Version int64
	Writes  []PendingWrite
}

// ThreadQuery selects threads. Zero fields do not filter.
type ThreadQuery struct {
	Workflow string
	Status   Status
	// After is a cursor: ThreadPage.Next of the previous page.
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
	ThreadID  string
	Namespace string
	// Before, if set, keeps checkpoints older than this ID.
	Before string
	// Limit caps the list; 0 means no limit.
	Limit int
}

// InterruptQuery selects interrupts. Zero fields do not filter.
type InterruptQuery struct {
	ID           string
	ThreadID     string
	CheckpointID string
	Workflow     string
	// Node matches the node path exactly.
	Node   string
	Status InterruptStatus
	// Assignees keeps interrupts assigned to at least one of them.
	Assignees []string
	// CreatedBefore keeps interrupts created before this time (age).
	CreatedBefore time.Time
	// DueBefore keeps interrupts with a deadline at or before this time.
	DueBefore time.Time
	// After is a cursor: InterruptPage.Next of the previous page.
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
	ThreadID    string
	InterruptID string
	// Value is the answer as JSON; "null" is a valid answer.
	Value   json.RawMessage
	Author  string
	Channel string
	At      time.Time
}

// Reassign is the argument of Store.Reassign.
type Reassign struct {
	ThreadID    string
	InterruptID string
	Assignees   []string
	// Deadline, Fallback and EscalateTo replace the interrupt's.
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
	// Before removes checkpoints created before this time.
	Before time.Time
}
