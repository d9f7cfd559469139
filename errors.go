package weft

import (
	"errors"
	"fmt"
	"strings"

	"github.com/weftgraph/weft/checkpoint"
)

// Sentinel errors for the states a caller handles. Test them with errors.Is:
// the errors weft returns wrap them with detail.
var (
	// ErrNotFound: no such thread or checkpoint.
	ErrNotFound = checkpoint.ErrNotFound
	// ErrConflict: another run advanced the thread first; nothing of this
	// run's last step was kept.
	ErrConflict = checkpoint.ErrConflict
	// ErrAlreadyAnswered: the question was answered before (or cancelled
	// because the thread moved on); the earlier answer stands.
	ErrAlreadyAnswered = checkpoint.ErrAlreadyAnswered
	// ErrThreadCompleted: Resume of a thread whose graph has ended. Run
	// starts a new turn on it instead.
	ErrThreadCompleted = errors.New("weft: thread already completed")
	// ErrThreadCancelled: Resume of a thread that was cancelled. Run starts
	// a new turn on it instead; Fork rewinds it.
	ErrThreadCancelled = errors.New("weft: thread cancelled")
	// ErrThreadPaused: Run of a thread that waits for answers, or is
	// stopped, failed or ready; use Resume.
	ErrThreadPaused = errors.New("weft: thread is paused")
	// ErrBusy: the thread is already running, here or in another process.
	ErrBusy = errors.New("weft: thread is busy")
	// ErrNotRunning: Stop or Cancel of a thread that has ended (or Stop of
	// one that neither runs nor waits).
	ErrNotRunning = errors.New("weft: thread is not running")
	// ErrWrongWorkflow: the thread belongs to another workflow.
	ErrWrongWorkflow = errors.New("weft: thread of another workflow")
	// ErrClaimLost: the run lost its claim on the thread: another process
	// took the thread over (this one froze, or its heartbeats did not get
	// through), so nothing this run did after its last commit was kept.
	ErrClaimLost = errors.New("weft: claim on the thread lost")
	// ErrHandedBack ends a run to give its thread to another process:
	// cancel the run's context with it as the cause
	// (context.WithCancelCause), and the run stops at its last checkpoint
	// with the thread ready, not stopped, so that any worker carries it on.
	// Workers do it when they shut down.
	ErrHandedBack = errors.New("weft: handed back")
	// ErrUnknownInterrupt: an answer names a question the thread is not
	// waiting on.
	ErrUnknownInterrupt = errors.New("weft: unknown interrupt")
	// ErrAmbiguousAnswer: an answer by key, node path or Reply matches
	// several questions the thread waits for; answer them by ID.
	ErrAmbiguousAnswer = errors.New("weft: answer matches several questions")
	// ErrInvalidAnswer: an answer does not satisfy the question's schema (or
	// does not decode into its Go type). Nothing was recorded.
	ErrInvalidAnswer = errors.New("weft: invalid answer")
	// ErrInterruptMismatch: a node run again after a pause did not ask the
	// questions the thread recorded for it (a key answered for another
	// payload, an answered question it did not ask again), so the recorded
	// answers cannot be trusted to belong to its calls.
	ErrInterruptMismatch = errors.New("weft: interrupt mismatch on replay")
	// ErrStepLimit: a run took more supersteps than its limit.
	ErrStepLimit = errors.New("weft: step limit reached")
	// ErrGraphChanged: the thread waits in a node the graph no longer has.
	ErrGraphChanged = errors.New("weft: graph changed")
	// ErrInvalidInput: a Runner's JSON input does not decode into the
	// workflow's state type, or an argument is not one weft can use (a
	// reserved thread ID, an Update of the wrong type).
	ErrInvalidInput = errors.New("weft: invalid input")
	// ErrInvalidGraph: Compile found problems; the error lists them all.
	ErrInvalidGraph = errors.New("weft: invalid graph")
	// ErrCorruptCheckpoint: a stored checkpoint (or another stored row)
	// cannot be decoded. It is checkpoint.ErrCorrupt, which stores return.
	ErrCorruptCheckpoint = checkpoint.ErrCorrupt
	// ErrOutsideNode: Interrupt or another node-only call was made with a
	// context that does not come from a running node.
	ErrOutsideNode = errors.New("weft: called outside a running node")
)

// PauseError is what Interrupt returns while the question waits for an
// answer. A node returns it (or any error wrapping it) unchanged; the
// runtime records the pause in the node's context too, so a node that
// swallows it is still paused.
type PauseError struct {
	// ID of the question.
	ID string
	// Node is the path of the node that asked.
	Node string
}

func (e *PauseError) Error() string {
	return fmt.Sprintf("weft: node %s paused on interrupt %s", e.Node, e.ID)
}

// NodeError is a node's failure (an error it returned or a panic it raised),
// with the node's path.
type NodeError struct {
	Node string
	// Panic is the value a panicking node raised (nil for a returned error);
	// Stack is the goroutine's stack at the panic.
	Panic any
	Stack string
	Err   error
}

func (e *NodeError) Error() string {
	if e.Panic != nil {
		return fmt.Sprintf("weft: node %s panicked: %v", e.Node, e.Panic)
	}
	return fmt.Sprintf("weft: node %s: %v", e.Node, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// MergeError reports that parallel nodes changed the same state field and
// the graph has no reducer for it.
type MergeError struct {
	// Field is the field's name, as Graph.Reduce takes it ("Winner").
	Field string
	Nodes []string
}

func (e *MergeError) Error() string {
	return fmt.Sprintf("weft: field %s changed by parallel nodes %s; declare a reducer with Graph.Reduce",
		e.Field, strings.Join(e.Nodes, " and "))
}

// CompileError lists every problem Compile found. It matches ErrInvalidGraph.
type CompileError struct {
	Graph    string
	Problems []string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("weft: graph %q is invalid:\n  - %s", e.Graph, strings.Join(e.Problems, "\n  - "))
}

func (e *CompileError) Is(target error) bool { return target == ErrInvalidGraph }

// EncodeError reports a state value the codec could not encode, with the
// path of the offending value ("State.Items[3].Due").
type EncodeError struct {
	Path string
	Err  error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("weft: cannot encode %s: %v", e.Path, e.Err)
}

func (e *EncodeError) Unwrap() error { return e.Err }

// AnsweredError is the error of a Resume (or an answer through the inbox)
// that recorded its answers and then could not carry the thread on: the
// answers stand, and Err says what happened after (a node that failed, the
// thread running in another process, which carries on with them:
// ErrBusy). A refusal, which records nothing, is never an AnsweredError.
type AnsweredError struct {
	Thread string
	// Answered are the IDs of the questions answered.
	Answered []string
	Err      error
}

func (e *AnsweredError) Error() string {
	return fmt.Sprintf("weft: thread %q: answers to %s recorded; then: %v", e.Thread, strings.Join(e.Answered, ", "), e.Err)
}

func (e *AnsweredError) Unwrap() error { return e.Err }
