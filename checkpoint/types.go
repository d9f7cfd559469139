package checkpoint

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Status is where a thread stands.
type Status string

// The statuses of a thread.
const (
	// StatusRunning: a run is advancing the thread now (see Thread.Owner and
	// Thread.LeaseUntil for who and until when).
	StatusRunning Status = "running"
	// StatusReady: the thread can run and waits for someone to claim it:
	// its questions were answered, a run was submitted without waiting for
	// it, or a stopped thread was asked to resume. Workers take such
	// threads; Resume carries one on too.
	StatusReady Status = "ready"
	// StatusInterrupted: the thread waits for answers to its questions (or
	// for Resume past a breakpoint).
	StatusInterrupted Status = "interrupted"
	// StatusStopped: a run was stopped; the thread keeps its last checkpoint
	// and carries on from there when resumed.
	StatusStopped Status = "stopped"
	// StatusCompleted: the graph reached its end.
	StatusCompleted Status = "completed"
	// StatusFailed: a node failed; Thread.Error says why. Resuming re-runs
	// the failed superstep.
	StatusFailed Status = "failed"
	// StatusCancelled: the thread was cancelled while it waited: its
	// questions were withdrawn (with who did it and why). It keeps its
	// history; it does not run again unless forked.
	StatusCancelled Status = "cancelled"
)

// Thread is the row of one durable workflow instance.
type Thread struct {
	// ID is the caller's name for the thread ("review-42").
	ID string
	// Workflow is the name of the graph that drives the thread.
	Workflow string
	// GraphHash fingerprints the graph's shape (nodes and edges) at the
	// last commit, so a resume with a changed graph can be refused.
	GraphHash string
	// Status is where the thread stands.
	Status Status
	// Version counts the thread's commits; it is 1 after the first. Stores
	// set it; Commit.Thread.Version is ignored.
	Version int64
	// Head is the ID of the newest checkpoint of the root namespace, the
	// state the next run starts from; "" before the first checkpoint.
	Head string
	// Error is the failure that put the thread in StatusFailed.
	Error string
	// Owner names the process running the thread while it is
	// StatusRunning; LeaseUntil is when that claim lapses if not renewed
	// (by a commit, a Heartbeat or a new Claim). A running thread whose
	// lease has lapsed may be claimed by anyone: its owner is presumed
	// dead.
	Owner      string
	LeaseUntil time.Time
	// Epoch counts the claims of the thread: every claim (Claim,
	// ClaimReady, an Answer that claims, a commit that starts a run)
	// increments it. A claimant's pending writes carry the epoch of its
	// claim, so a process that lost its claim (it froze, and another took
	// the thread over) writes nothing more.
	Epoch int64
	// StopRequested is when someone asked the running thread to stop
	// (RequestStop); zero if nobody did. The owner sees it at its next
	// Heartbeat and stops at its last checkpoint. A commit that leaves the
	// thread not running clears it.
	StopRequested time.Time
	// CreatedAt is the time of the first commit, UpdatedAt of the last.
	CreatedAt time.Time
	UpdatedAt time.Time
	// TakenOver is set only in the rows ClaimReady returns: the claim took
	// a running thread whose owner's lease had lapsed (a takeover: that
	// owner is presumed dead), not a ready one. Stores do not keep it.
	TakenOver bool
}

// Checkpoint is a thread's state after one superstep, in one namespace.
type Checkpoint struct {
	ThreadID string
	// Namespace is "" for the thread's own graph and a path for a subgraph.
	Namespace string
	// ID is FormatID of the version of the commit that wrote it.
	ID string
	// ParentID is the checkpoint the superstep started from ("" for the
	// first). A fork has a parent older than the head.
	ParentID string
	// Step is the superstep number: 0 for the input, then 1, 2, ...
	Step int
	// Source says what wrote it: SourceInput, SourceLoop, SourceUpdate,
	// SourceFork or SourceCancel.
	Source string
	// Next lists the nodes the following superstep runs; empty when the
	// graph has ended.
	Next []string
	// Versions maps every field of the state to the version of its blob.
	Versions map[string]int64
	// Meta holds small annotations (which node an update was made as, the
	// breakpoints already passed); stores keep it as given.
	Meta map[string]string
	// CreatedAt is the commit time.
	CreatedAt time.Time
	// Blobs are, on Commit, the blobs this checkpoint writes (fields whose
	// version is the commit's). From Store.Checkpoint they are every blob
	// needed to rebuild the state: for each field, the blob at its version
	// and, for an Append blob, the blobs down its Base chain to a full one,
	// in no particular order. History leaves them out.
	Blobs []Blob
}

// Where checkpoints come from.
const (
	SourceInput  = "input"  // the input of a new run
	SourceLoop   = "loop"   // a superstep of the graph
	SourceUpdate = "update" // UpdateState
	SourceFork   = "fork"   // Fork from a past checkpoint
	// SourceCancel: a cancel of the thread, which keeps the state as it
	// was; its Meta says who cancelled it and why.
	SourceCancel = "cancel"
)

// Blob is one encoded field value.
type Blob struct {
	Field string
	// Version is the version of the commit that wrote the blob.
	Version int64
	// Base is 0 for a full value. Otherwise Data holds only elements that
	// are appended to the value of the blob of the same field at version
	// Base.
	Base int64
	Data []byte
}

// Appends reports whether b holds only elements appended to its Base.
func (b Blob) Appends() bool { return b.Base != 0 }

// PendingWrite is something a superstep produced before it paused or
// failed, kept so that it is not produced again when the superstep re-runs.
// A commit that writes the superstep's checkpoint (a Checkpoint whose
// ParentID is CheckpointID, in the same namespace) removes them.
type PendingWrite struct {
	Namespace string
	// CheckpointID is the checkpoint the superstep started from.
	CheckpointID string
	// Task names the node run within the superstep ("review", or
	// "tools#2" for a fan-out branch).
	Task string
	// Kind says what Data is ("output", "do", ...); Key tells apart
	// several writes of one kind in one task. Writing the same
	// (Namespace, CheckpointID, Task, Kind, Key) again replaces Data.
	Kind string
	Key  string
	Data []byte
}

// InterruptStatus is where a question stands.
type InterruptStatus string

// The statuses of an interrupt.
const (
	InterruptPending   InterruptStatus = "pending"
	InterruptAnswered  InterruptStatus = "answered"
	InterruptCancelled InterruptStatus = "cancelled"
)

// Kinds of interrupt.
const (
	KindDynamic = "dynamic" // weft.Interrupt inside a node
	KindBefore  = "before"  // a breakpoint before a node
	KindAfter   = "after"   // a breakpoint after a node
)

// Channels an answer can come through.
const (
	ChannelAPI      = "api"
	ChannelUI       = "ui"
	ChannelCLI      = "cli"
	ChannelResolver = "resolver"
	ChannelDeadline = "deadline"
	// ChannelEngine: weft itself (a question made moot by the node that
	// asked it, or superseded by an edit).
	ChannelEngine = "engine"
)

// InterruptRecord is a question to a human and, once given, its answer.
type InterruptRecord struct {
	// ID is stable: the same question asked again at the same place gets
	// the same ID, in any process. It is unique within its thread: stores
	// identify an interrupt by (ThreadID, ID).
	ID       string
	ThreadID string
	Workflow string
	// CheckpointID is the thread's head (root namespace) when the question
	// was asked: the questions of one pause share it.
	CheckpointID string
	// Namespace is the namespace of the graph that asked.
	Namespace string
	// Node is the path of the node that asked ("outer/inner/review").
	Node string
	// Task is the task within its superstep ("review", "tools#2").
	Task string
	// Kind is KindDynamic, KindBefore or KindAfter.
	Kind string
	// Key is the caller's key for the question, if it gave one; Index is
	// the position of the call among the task's Interrupt calls.
	Key   string
	Index int
	// Reason says why the node asked.
	Reason string
	// Value is the payload shown to the human (JSON).
	Value json.RawMessage
	// Schema is the JSON schema that an answer must satisfy.
	Schema json.RawMessage
	// Assignees are the principals or roles that may answer; none means
	// anyone may (but such a question matches no InterruptQuery.Assignees).
	Assignees []string
	// Deadline is when the next deadline action of the question is due;
	// zero for none. When it is due, a question whose FallbackAt has come
	// is answered with Fallback; otherwise one with EscalateTo is
	// reassigned to them (and its Deadline becomes FallbackAt).
	Deadline time.Time
	// Fallback is the answer a deadline gives (weft.Within), at FallbackAt
	// (zero: at Deadline).
	Fallback   json.RawMessage
	FallbackAt time.Time
	// EscalateTo are the assignees the question passes to at Deadline
	// (weft.Escalate) unless its fallback is due first.
	EscalateTo []string
	// Status, and the answer with who gave it, through which channel and
	// when. For a cancelled question, Author, Channel and AnsweredAt say
	// who cancelled it, how and when, and Note why.
	Status     InterruptStatus
	Answer     json.RawMessage
	Author     string
	Channel    string
	AnsweredAt time.Time
	Note       string
	CreatedAt  time.Time
}

// Step is one line of the superstep log.
type Step struct {
	ThreadID  string
	Namespace string
	// Version is the version of the commit that recorded the step; stores
	// set it.
	Version int64
	// Superstep is the number of the superstep (the Step of the checkpoint
	// it writes).
	Superstep int
	// CheckpointID is the checkpoint the superstep started from.
	CheckpointID string
	Node         string
	Task         string
	Status       StepStatus
	StartedAt    time.Time
	Duration     time.Duration
	Error        string
}

// StepStatus is the outcome of one node in one superstep.
type StepStatus string

// Outcomes of a step.
const (
	StepCompleted   StepStatus = "completed"
	StepInterrupted StepStatus = "interrupted"
	StepFailed      StepStatus = "failed"
	StepStopped     StepStatus = "stopped"
	// StepRetried: an attempt of the node failed and its retry policy ran
	// it again; the next step of the task is the next attempt.
	StepRetried StepStatus = "retried"
	// StepReused: the node had finished before its superstep paused; its
	// pending write was used instead of running it again.
	StepReused StepStatus = "reused"
)

// FormatID formats a commit version as a checkpoint ID. IDs of one thread
// sort in commit order.
func FormatID(version int64) string {
	if version >= 0 && version < smallIDCount {
		return smallIDs()[version]
	}
	return formatID(version)
}

// smallIDs are the IDs of the first versions, formatted once, on first
// use: every superstep names its checkpoint.
const smallIDCount = 4096

var smallIDs = sync.OnceValue(func() []string {
	ids := make([]string, smallIDCount)
	for i := range ids {
		ids[i] = formatID(int64(i))
	}
	return ids
})

func formatID(version int64) string {
	s := strconv.FormatInt(version, 10)
	const width = 12
	if len(s) >= width {
		return s
	}
	var buf [width]byte
	for i := range buf {
		buf[i] = '0'
	}
	copy(buf[width-len(s):], s)
	return string(buf[:])
}

// ParseID returns the version a checkpoint ID was formatted from.
func ParseID(id string) (int64, error) {
	v, err := strconv.ParseInt(id, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("checkpoint: malformed checkpoint ID %q: %w", id, ErrNotFound)
	}
	return v, nil
}
