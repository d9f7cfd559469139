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
	// ErrThreadPaused: Run of a thread that waits for answers; use Resume.
	ErrThreadPaused = errors.New("weft: thread is paused")
	// ErrBusy: the thread is already running, here or in another process.
	ErrBusy = errors.New("weft: thread is busy")
	// ErrNotRunning: Stop of a thread that is not running in this process.
	ErrNotRunning = errors.New("weft: thread is not running")
	// ErrUnknownInterrupt: an answer names a question the thread is not
	// waiting on.
	ErrUnknownInterrupt = errors.New("weft: unknown interrupt")
	// ErrInvalidAnswer: an answer does not satisfy the question's schema (or
	// does not decode into its Go type). Nothing was recorded.
	ErrInvalidAnswer = errors.New("weft: invalid answer")
	// ErrInterruptMismatch: a node re-run after a pause asked different
	// questions than before (another key, or fewer or more calls), so the
	// recorded answers cannot be trusted to belong to them.
	ErrInterruptMismatch = errors.New("weft: interrupt mismatch on replay")
	// ErrStepLimit: a run took more supersteps than its limit.
	ErrStepLimit = errors.New("weft: step limit reached")
	// ErrGraphChanged: the thread waits in a node the graph no longer has.
	ErrGraphChanged = errors.New("weft: graph changed")
	// ErrInvalidInput: a Runner's JSON input does not decode into the
	// workflow's state type.
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
