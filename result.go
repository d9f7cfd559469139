package weft

import (
	"encoding/json"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Status is where a thread or a run stands: StatusRunning,
// StatusInterrupted, StatusStopped, StatusCompleted or StatusFailed.
type Status = checkpoint.Status

// The statuses of threads and results.
const (
	StatusRunning     = checkpoint.StatusRunning
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
	// Key is the weft.Key the node gave, if any.
	Key string
	// Value is the payload the node passed to Interrupt, as JSON.
	Value json.RawMessage
	// Schema is the JSON schema an answer must satisfy.
	Schema json.RawMessage
	// Reason says why the node asked (weft.Reason).
	Reason string
	// Assignees may answer (weft.Assign); none means anyone.
	Assignees []string
	// Deadline is when the question is due (weft.Within, weft.Escalate);
	// zero for none.
	Deadline time.Time
	Created  time.Time
}

// DecodeValue decodes the question's payload into v.
func (q *Question) DecodeValue(v any) error { return json.Unmarshal(q.Value, v) }

func questionOf(r *checkpoint.InterruptRecord) Question {
	return Question{
		ID: r.ID, Thread: r.ThreadID, Node: r.Node, Task: r.Task, Kind: r.Kind, Key: r.Key,
		Value: r.Value, Schema: r.Schema, Reason: r.Reason, Assignees: r.Assignees,
		Deadline: r.Deadline, Created: r.CreatedAt,
	}
}

// Result is what a Run or Resume ended with.
type Result[S any] struct {
	Thread string
	// Status is StatusCompleted, StatusInterrupted or StatusStopped (a
	// failed run returns an error).
	Status Status
	// State is the thread's state: at the end, or at the pause (the last
	// checkpoint: nodes of the paused superstep that finished are not in
	// it yet).
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
	// Values is the state.
	Values S
	// Next lists the nodes the next superstep runs; empty at the end.
	Next []string
	// Interrupts are the questions pending at this checkpoint.
	Interrupts []Question
	// Checkpoint and Parent are checkpoint IDs; Step is the superstep.
	Checkpoint string
	Parent     string
	Step       int
	// Source says what wrote the checkpoint: "input", "loop", "update" or
	// "fork".
	Source  string
	Created time.Time
	// Error is the failure of a failed thread.
	Error string
	// Subgraphs are the states of the subgraph runs under way from this
	// checkpoint (a thread paused inside a subgraph), outermost first.
	Subgraphs []SubgraphState
}
