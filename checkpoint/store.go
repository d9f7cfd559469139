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
//
// The interface is not stable before weft v1: methods are added as weft
// gains capabilities (as river's driver interface grows), and a store
// written outside this module must follow. Run storetest against it; the
// suite names each promise a new method makes.
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
	// nothing. If c.VerifyBlobs, it also checks that every blob the
	// checkpoint's Versions name exists (ErrNotFound otherwise, changing
	// nothing). In one transaction it then:
	//   - writes c.Thread as given, Head, Owner and Epoch included (the
	//     store does not move them), with Version ExpectedVersion+1;
	//     CreatedAt is c.At for a new thread and stays for an existing one,
	//     UpdatedAt is c.At. A thread left StatusRunning gets LeaseUntil =
	//     the store's now + c.Lease and keeps its StopRequested (whatever
	//     c.Thread says: a stop may be requested while the run commits);
	//     any other status clears Owner, LeaseUntil and StopRequested;
	//   - cancels every pending interrupt of the thread if c.Cancel is set
	//     (those of c.Cancel.IDs only, if it lists any), recording its
	//     Author, Channel, At and Note on each;
	//   - if c.Carry is set, copies the pending writes of checkpoint
	//     c.Carry.From (in c.Checkpoint's namespace) whose Kind is one of
	//     c.Carry.Kinds to c.Checkpoint, before the next step removes them;
	//   - writes c.Checkpoint and its Blobs, and removes the pending writes
	//     of (c.Checkpoint.Namespace, c.Checkpoint.ParentID);
	//   - writes c.Writes (replacing writes with the same key);
	//   - inserts c.Interrupts (an interrupt whose (ThreadID, ID) exists
	//     already keeps its row, whatever its status);
	//   - appends c.Steps with their Version set.
	Commit(ctx context.Context, c *Commit) (int64, error)

	// PutWrites records pending writes outside a commit (a side effect
	// journaled as soon as it has run, the output of a task that finished
	// while others still run), if the thread is still claimed by p.Owner
	// at p.Epoch (StatusRunning, Owner and Epoch as given); otherwise (a
	// thread that does not exist included) ErrConflict, and nothing is
	// written. It changes neither the version nor the claim.
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

	// Answer records answers to the questions of one thread, all or none,
	// with a.Writes, and makes the thread ready to act on them, in one
	// transaction.
	//
	// The thread must exist (ErrNotFound). Each answer's interrupt must
	// exist (ErrNotFound), be pending (ErrAlreadyAnswered), and belong to
	// the pause the thread is at: its CheckpointID is the thread's Head
	// (ErrAlreadyAnswered otherwise: the thread moved past it). The same
	// interrupt twice in one call is ErrAlreadyAnswered. Answering is a
	// compare-and-set on the status: of two concurrent answers to one
	// question, exactly one succeeds.
	//
	// Then, if a.Claim is set and the thread may be claimed (see Claim:
	// not running, or running on a lapsed lease), it is claimed for
	// a.Claim.Owner: StatusRunning, Epoch+1, Version+1. Otherwise a
	// thread that was StatusInterrupted becomes StatusReady (Version+1),
	// so that whoever runs ready threads carries it on; a thread in any
	// other status keeps it (a running one sees the answers when it next
	// reads its questions). The result is the thread's row afterwards.
	Answer(ctx context.Context, a *AnswerRequest) (*AnswerResult, error)

	// Claim claims the thread for c.Owner, as a run must before it
	// advances a thread: it succeeds if the thread's version is
	// c.ExpectedVersion and the thread is not running on a live lease;
	// otherwise ErrConflict (a thread that does not exist: ErrNotFound).
	// The claimed thread is StatusRunning, Owner c.Owner, LeaseUntil the
	// store's now + c.Lease, Epoch+1 and Version+1; the result is its row.
	// Claim does not look at the status otherwise: the caller knows what
	// it may run.
	Claim(ctx context.Context, c *Claim) (*Thread, error)

	// ClaimReady claims up to q.Limit threads of the workflows q.Workflows
	// that wait for someone to run them: StatusReady, or StatusRunning on
	// a lapsed lease (their owner died). Each is claimed as Claim does;
	// oldest first (by UpdatedAt). Concurrent callers never claim the
	// same thread. It returns the claimed rows, none if nothing waits;
	// TakenOver marks those that were running (takeovers).
	ClaimReady(ctx context.Context, q *ClaimReady) ([]Thread, error)

	// Heartbeat renews the claims h.Owner holds on h.Threads: each one
	// still StatusRunning with that owner gets LeaseUntil the store's now
	// + h.Lease, without a new version. It returns the threads whose
	// claims were renewed (the others are lost: someone took them over,
	// or they ended) and, of them, those asked to stop.
	Heartbeat(ctx context.Context, h *Heartbeat) (*Beat, error)

	// RequestStop asks a thread to stop, durably: a running thread gets
	// StopRequested (its owner stops it at its next heartbeat), a ready
	// one becomes StatusStopped (Version+1); a thread in another status is
	// left as it is. The result is the thread's row afterwards
	// (ErrNotFound if it does not exist).
	RequestStop(ctx context.Context, r *StopRequest) (*Thread, error)

	// Lease takes, renews or (with l.Release) gives up the named lease
	// for l.Owner: one owner at a time holds a name, until its lease
	// lapses (the store's now + l.TTL at the last renewal). It reports
	// whether l.Owner holds the lease afterwards. Maintenance that must
	// run in one process at a time (deadlines, retention) is guarded by
	// one.
	Lease(ctx context.Context, l *Lease) (bool, error)

	// Reassign changes who a pending interrupt is assigned to and its
	// deadline (escalation); ErrNotFound if it does not exist,
	// ErrAlreadyAnswered (changing nothing) if it is not pending, and
	// ErrConflict (changing nothing) if r.ExpectedDeadline is not its
	// deadline: of two processes escalating one question, one does.
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
	// Thread is the row to write; its Version is set by the store, and
	// its LeaseUntil too while it runs (from Lease).
	Thread Thread
	// ExpectedVersion is the version the thread must have; 0 creates it.
	ExpectedVersion int64
	// At is the commit time.
	At time.Time
	// Lease is how long the claim of a thread left running lasts from the
	// commit, by the store's clock.
	Lease time.Duration
	// Cancel, if set, cancels the thread's pending interrupts first.
	Cancel *Cancellation
	// Carry, if set, carries pending writes of another checkpoint over to
	// Checkpoint (which must be set).
	Carry *Carry
	// VerifyBlobs makes the commit fail with ErrNotFound if a blob that
	// Checkpoint.Versions names (at an older version) is missing: for a
	// checkpoint made from an older one (a fork), whose blobs a concurrent
	// Prune may be removing.
	VerifyBlobs bool
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

// Cancellation says who cancels a thread's pending interrupts, how and why:
// see Commit.Cancel.
type Cancellation struct {
	// IDs, if any, are the interrupts to cancel; none cancels every
	// pending interrupt of the thread.
	IDs     []string
	Author  string
	Channel string
	At      time.Time
	Note    string
}

// Carry names the pending writes a commit carries over to its checkpoint:
// those of checkpoint From, in the new checkpoint's namespace, whose Kind
// is one of Kinds.
type Carry struct {
	From  string
	Kinds []string
}

// PutWrites is the argument of Store.PutWrites.
type PutWrites struct {
	// ThreadID names the thread the writes belong to.
	ThreadID string
	// Owner and Epoch are the claim the writer holds.
	Owner string
	Epoch int64
	// Writes are recorded, replacing writes with the same key.
	Writes []PendingWrite
}

// AnswerRequest is the argument of Store.Answer.
type AnswerRequest struct {
	// ThreadID names the thread; every answer must be to one of its
	// questions.
	ThreadID string
	Answers  []Answer
	// Writes are pending writes recorded with the answers (replacing
	// writes with the same key): what the answerer wants done with them
	// (an update of the state, where to go next).
	Writes []PendingWrite
	// Claim, if set, claims the thread as well (Owner and Lease; its
	// ThreadID and ExpectedVersion are not used).
	Claim *Claim
}

// AnswerResult is what Store.Answer did.
type AnswerResult struct {
	// Thread is the thread's row afterwards.
	Thread Thread
	// Claimed reports whether the thread was claimed for the request's
	// Claim.Owner.
	Claimed bool
}

// Claim is the argument of Store.Claim.
type Claim struct {
	ThreadID        string
	ExpectedVersion int64
	Owner           string
	// Lease is how long the claim lasts unless renewed.
	Lease time.Duration
}

// ClaimReady is the argument of Store.ClaimReady.
type ClaimReady struct {
	// Owner claims the threads, for Lease.
	Owner string
	Lease time.Duration
	// Workflows are the workflows whose threads the owner can run; none
	// claims nothing.
	Workflows []string
	// Limit caps how many threads are claimed; 0 means 1.
	Limit int
}

// Heartbeat is the argument of Store.Heartbeat.
type Heartbeat struct {
	Owner   string
	Threads []string
	Lease   time.Duration
}

// Beat is the result of Store.Heartbeat.
type Beat struct {
	// Held are the threads whose claims were renewed.
	Held []string
	// Stop are the threads of Held asked to stop.
	Stop []string
}

// StopRequest is the argument of Store.RequestStop.
type StopRequest struct {
	ThreadID string
	At       time.Time
}

// Lease is the argument of Store.Lease.
type Lease struct {
	Name  string
	Owner string
	TTL   time.Duration
	// Release gives the lease up if Owner holds it.
	Release bool
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
	// ExpectedDeadline is the deadline the interrupt must still have.
	ExpectedDeadline time.Time
	// Assignees, Deadline, Fallback, FallbackAt and EscalateTo replace the
	// interrupt's; empty ones clear them.
	Assignees  []string
	Deadline   time.Time
	Fallback   json.RawMessage
	FallbackAt time.Time
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
