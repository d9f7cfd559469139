package weft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// taskInput is the task of a submitted run's input write.
const taskInput = "__input__"

// Submit records a run of thread with input, as Run would start it, and
// returns at once without running it: the thread is ready, and a worker
// that has the workflow (package worker), or a Resume, runs it. The result
// has StatusReady. A thread that exists must be completed or cancelled (a
// new turn); others are refused as Run refuses them.
func (wf *Workflow[S]) Submit(ctx context.Context, thread string, input S) (*Result[S], error) {
	data, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("weft: input of thread %q: %w: %w", thread, ErrInvalidInput, err)
	}
	if err := wf.submit(ctx, thread, data); err != nil {
		return nil, err
	}
	return &Result[S]{Thread: thread, Status: StatusReady, State: input}, nil
}

// submit records input (JSON of the state type) as a run of thread to
// start.
func (wf *Workflow[S]) submit(ctx context.Context, thread string, input json.RawMessage) error {
	if err := submitRun(ctx, wf.st, wf.now(), wf.name, wf.hash, thread, input); err != nil {
		return err
	}
	wf.log(ctx, "weft: run submitted", thread)
	return nil
}

// SubmitRun records a run of workflow on thread with input, the JSON of
// the workflow's state, as Workflow.Submit does, for a program that does
// not have the workflow's code (the weft command line, an operator's
// tool): the thread is ready, and a worker that has the workflow runs it.
// Input is decoded when the run starts, as Run decodes it (unknown fields
// refused): input that does not fit the state fails the thread then, with
// ErrInvalidInput. A thread that exists must belong to workflow
// (ErrWrongWorkflow) and be completed or cancelled (a new turn); a running
// one is ErrBusy, a paused, ready, stopped or failed one ErrThreadPaused.
func SubmitRun(ctx context.Context, st checkpoint.Store, workflow, thread string, input json.RawMessage) error {
	if workflow == "" {
		return fmt.Errorf("weft: SubmitRun needs a workflow name: %w", ErrInvalidInput)
	}
	if len(bytes.TrimSpace(input)) == 0 {
		input = json.RawMessage("null")
	}
	if !json.Valid(input) {
		return fmt.Errorf("weft: input of thread %q is not JSON: %w", thread, ErrInvalidInput)
	}
	return submitRun(ctx, st, time.Now(), workflow, "", thread, input)
}

// submitRun records input as a run of workflow (graph hash, if known) on
// thread, to start.
func submitRun(ctx context.Context, st checkpoint.Store, at time.Time, workflow, hash, thread string, input json.RawMessage) error {
	if thread == "" {
		return fmt.Errorf("weft: Submit needs a thread ID: %w", ErrInvalidInput)
	}
	if err := checkThreadID(thread); err != nil {
		return err
	}
	row, err := st.Thread(ctx, thread)
	c := &checkpoint.Commit{At: at}
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		c.Thread = checkpoint.Thread{ID: thread, Workflow: workflow, GraphHash: hash}
	case err != nil:
		return err
	default:
		if row.Workflow != "" && row.Workflow != workflow {
			return fmt.Errorf("thread %q belongs to workflow %q, not %q: %w", row.ID, row.Workflow, workflow, ErrWrongWorkflow)
		}
		switch row.Status {
		case StatusCompleted, StatusCancelled:
		case StatusRunning:
			return fmt.Errorf("thread %q is running (in %s): %w", thread, row.Owner, ErrBusy)
		default:
			return fmt.Errorf("thread %q is %s; carry it on with Resume: %w", thread, row.Status, ErrThreadPaused)
		}
		c.Thread, c.ExpectedVersion = *row, row.Version
	}
	c.Thread.Status, c.Thread.Error = StatusReady, ""
	c.Writes = []checkpoint.PendingWrite{{CheckpointID: c.Thread.Head, Task: taskInput, Kind: writeInput, Data: input}}
	if _, err := st.Commit(ctx, c); err != nil {
		return busyError(fmt.Errorf("thread %q: %w", thread, err))
	}
	return nil
}

// submittedInput returns the input of a run submitted to the head: a new
// thread, or a new turn of a completed thread (nothing next) or of a
// cancelled one (its head may still name what was next when it was
// cancelled, but none of its questions is pending or answered). A head
// with live questions is carried on, not restarted, so it is not read.
func (r *run[S]) submittedInput() (json.RawMessage, bool, error) {
	headID := ""
	if r.head != nil {
		if len(r.head.cp.Next) > 0 && slices.ContainsFunc(r.records, func(x checkpoint.InterruptRecord) bool {
			return x.Status == checkpoint.InterruptPending || x.Status == checkpoint.InterruptAnswered
		}) {
			return nil, false, nil
		}
		headID = r.head.cp.ID
	}
	ws, err := r.wf.st.PendingWrites(r.ctx, r.thread, "", headID)
	if err != nil {
		return nil, false, err
	}
	for _, w := range ws {
		if w.Task == taskInput && w.Kind == writeInput {
			return w.Data, true, nil
		}
	}
	return nil, false, nil
}

// resumeSubmitted carries on a thread that was submitted and never
// started: it has no checkpoint yet.
func (r *run[S]) resumeSubmitted() (*Result[S], error) {
	if r.rc.answering() {
		return nil, fmt.Errorf("thread %q has not started: it asked nothing: %w", r.thread, ErrUnknownInterrupt)
	}
	if err := r.claim(nil, nil); err != nil {
		return nil, err
	}
	if !r.tr.row.StopRequested.IsZero() {
		return r.stop(nil, nil, nil)
	}
	input, ok, err := r.submittedInput()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("thread %q has neither a checkpoint nor a submitted input: %w", r.thread, ErrCorruptCheckpoint)
	}
	return r.startSubmitted(input)
}

// startSubmitted starts the run a Submit recorded, the thread claimed.
func (r *run[S]) startSubmitted(input json.RawMessage) (*Result[S], error) {
	in, zero, err := decodeInput[S](r.wf, input)
	if err != nil {
		return nil, r.failStart(err)
	}
	if r.head == nil {
		return r.start(r.wf.withDefaults(in), nil)
	}
	r.rc.zero = append(r.rc.zero, zero...)
	state, err := r.wf.foldInputZero(r.head.state, in, r.rc.zero)
	if err != nil {
		return nil, r.failStart(err)
	}
	return r.start(state, r.head)
}

// failStart fails a submitted run that cannot start (its input does not
// fit the state, after a deploy changed it or from SubmitRun), the thread
// claimed: the thread becomes failed at the checkpoint it had, with the
// submitted input kept, instead of staying claimed until its lease lapses
// and failing again in every process that takes it over. It returns err.
func (r *run[S]) failStart(err error) error {
	c := &commit[S]{c: checkpoint.Commit{At: r.stamp()}}
	if serr := r.save(c, StatusFailed, err.Error(), nil); serr != nil {
		return errors.Join(err, serr)
	}
	if !r.child {
		r.finish()
		cp := ""
		if r.head != nil {
			cp = r.head.cp.ID
		}
		r.emit(Event{Type: EventFailed, Checkpoint: cp, Err: err.Error()})
	}
	r.wf.log(r.ctx, "weft: submitted run failed to start", r.thread, "error", err)
	return err
}

// decodeInput decodes JSON input into the state type, refusing unknown
// fields, and returns the fields it sets to their zero value explicitly
// (so that a new turn sets them: see Zero).
func decodeInput[S any](wf *Workflow[S], input json.RawMessage) (S, []string, error) {
	var in S
	trimmed := bytes.TrimSpace(input)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return in, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, nil, fmt.Errorf("input of workflow %s: %w: %w", wf.name, ErrInvalidInput, err)
	}
	if dec.More() {
		return in, nil, fmt.Errorf("input of workflow %s: %w: data after the value", wf.name, ErrInvalidInput)
	}
	var present map[string]json.RawMessage
	if json.Unmarshal(trimmed, &present) != nil {
		return in, nil, nil // not an object: the state is not a struct
	}
	var zero []string
	v := reflectOf(&in)
	for i := range wf.state.fields {
		f := &wf.state.fields[i]
		if f.index < 0 || !f.field(v).IsZero() {
			continue
		}
		if _, ok := present[jsonName(wf.state.typ.Field(f.index))]; ok {
			zero = append(zero, f.name)
		}
	}
	return in, zero, nil
}

// jsonName is the name encoding/json gives a struct field.
func jsonName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag != "" && tag != "-" {
		return tag
	}
	return f.Name
}
