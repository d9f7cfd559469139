package weft

import (
	"encoding/json"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Status is where a thread or a run stands: StatusRunning, StatusReady,
// StatusInterrupted, StatusStopped, StatusCompleted, StatusFailed or
// StatusCancelled.
type Status = checkpoint.Status

// The statuses of threads and results.
const (
	StatusRunning     = checkpoint.StatusRunning
	StatusReady       = checkpoint.StatusReady
	StatusCancelled   = checkpoint.StatusCancelled
	StatusInterrupted = checkpoint.StatusInterrupted
	StatusStopped     = checkpoint.StatusStopped
	StatusCompleted   = checkpoint.StatusCompleted
	StatusFailed      = checkpoint.StatusFailed
)

// The kinds of Question.
const (
	KindDynamic = checkpoint.KindDynamic // asked by Interrupt inside a node
	KindBefore  = checkpoint.KindBefore  // a breakpoint before a node
	KindAfter   = checkpoint.KindAfter   // a breakpoint after a node
)

// Step is one line of a thread's superstep log: which node ran in which
// superstep, its outcome and duration.
type Step = checkpoint.Step

// Question is a pending interrupt: what a paused thread waits for.
type Question struct {
	// ID names the question in Answer. It is stable: the same question at
	// the same place has the same ID in every process.
	ID     string
	Thread string
	// Node is the path of the node that asked ("review", or
	// "outer/inner/review" inside subgraphs).
	Node string
	// Task is the task that asked: the node's name, or "node#i" for branch
	// i of a Map node.
	Task string
	// Kind is KindDynamic, KindBefore or KindAfter.
	Kind string
	// Key is the weft.Key the node gave, if any, qualified by the
	// subgraph nodes it was asked in ("decision", "inner.decision"): the
	// name Answers knows it by, besides its ID and node path.
	Key string
	// Value is the payload the node passed to Interrupt, as JSON.
	Value json.RawMessage
	// Schema is the JSON schema an answer must satisfy.
	Schema json.RawMessage
	// Reason says why the node asked (weft.Reason).
	Reason string
	// Assignees may answer (weft.Assign); none means anyone.
	Assignees []string
	// Deadline is when the question's next deadline action is due
	// (weft.Within, weft.Escalate); zero for none. At FallbackAt it is
	// answered with Fallback; before that, at Deadline, a question with
	// EscalateTo is reassigned to them.
	Deadline   time.Time
	Fallback   json.RawMessage
	FallbackAt time.Time
	EscalateTo []string
	Created    time.Time
}

// DecodeValue decodes the question's payload into v.
func (q *Question) DecodeValue(v any) error { return json.Unmarshal(q.Value, v) }

func questionOf(r *checkpoint.InterruptRecord) Question {
	return Question{
		ID: r.ID, Thread: r.ThreadID, Node: r.Node, Task: r.Task, Kind: r.Kind, Key: r.Key,
		Value: r.Value, Schema: r.Schema, Reason: r.Reason, Assignees: r.Assignees,
		Deadline: r.Deadline, Fallback: r.Fallback, FallbackAt: r.FallbackAt, EscalateTo: r.EscalateTo, Created: r.CreatedAt,
	}
}

// Result is what a Run or Resume ended with.
type Result[S any] struct {
	Thread string
	// Status is StatusCompleted, StatusInterrupted or StatusStopped (a
	// failed run returns an error), or StatusReady for a run submitted
	// without running it (Submit).
	Status Status
	// State is the thread's state: at the end, or at the pause (the last
	// checkpoint: nodes of the paused superstep that finished are not in
	// it yet; Snapshot.Tasks has their outputs).
	State S
	// Interrupts are the questions the thread waits for.
	Interrupts []Question
	// Checkpoint is the ID of the thread's head checkpoint.
	Checkpoint string
}

// Paused reports whether the run stopped to wait for answers.
func (r *Result[S]) Paused() bool { return r.Status == StatusInterrupted }

// Snapshot is a thread's state at one checkpoint.
type Snapshot[S any] struct {
	Thread   string
	Workflow string
	// Status is the thread's status (for a past checkpoint too).
	Status Status
	// Owner names the process that runs the thread while it is running,
	// and LeaseUntil is when its claim lapses unless renewed.
	Owner      string
	LeaseUntil time.Time
	// Values is the state.
	Values S
	// Next lists the nodes the next superstep still has to run: at the
	// head of a paused thread, those of its superstep that have not
	// finished; empty at the end.
	Next []string
	// Tasks are the tasks of the superstep that runs from this checkpoint
	// (one per node, one per branch of a Map node), with how far each
	// got: LangGraph's StateSnapshot.tasks. For a past checkpoint, what
	// ran from it.
	Tasks []Task
	// Interrupts are the questions pending at this checkpoint.
	Interrupts []Question
	// Checkpoint and Parent are checkpoint IDs; Step is the superstep.
	Checkpoint string
	Parent     string
	Step       int
	// Source says what wrote the checkpoint: "input", "loop", "update",
	// "fork" or "cancel".
	Source  string
	Created time.Time
	// Author is who wrote the checkpoint by hand: the author given with
	// By to UpdateState, Fork or Cancel (or to a Resume whose Update
	// changed the state); "" for checkpoints weft wrote as it ran. Channel
	// is how (checkpoint.ChannelUI, ...), and Note why: the text given
	// with Note, or the reason of a cancel.
	Author  string
	Channel string
	Note    string
	// Error is the failure of a failed thread.
	Error string
	// Subgraphs are the states of the subgraph runs under way from this
	// checkpoint (a thread paused inside a subgraph), outermost first.
	Subgraphs []SubgraphState
}

// TaskStatus is how far a task of a superstep got.
type TaskStatus string

// The statuses of a Task.
const (
	TaskDone    TaskStatus = "done"    // finished: its output waits for the rest of its superstep (or was merged)
	TaskWaiting TaskStatus = "waiting" // asked questions that wait for answers
	TaskFailed  TaskStatus = "failed"  // failed: Error says why
	TaskPending TaskStatus = "pending" // has not run (or will run again)
)

// Task is one task of a superstep as State shows it.
type Task struct {
	// Name is the task ("review", "tools#2"); Node its node's path.
	Name string
	Node string
	// Status says how far the task got.
	Status TaskStatus
	// Update is the state the task returned (of the graph's state type),
	// for a done task whose superstep has not ended.
	Update any
	// Error is a failed task's error.
	Error string
	// Questions are the questions the task waits for (asked by it, or
	// inside the subgraph it runs).
	Questions []Question
}
