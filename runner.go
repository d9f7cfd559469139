package weft

import (
	"context"
	"encoding/json"
	"iter"
	"reflect"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Runner is a Workflow seen without its state type, for code that handles
// many workflows at once: the HTTP server, the inbox's deadline runner, the
// command line. States go in as JSON and come out as values of the
// workflow's state type, held in an any. Get one with Workflow.Runner.
type Runner interface {
	// Name is the workflow's name.
	Name() string
	// Store is the workflow's store; nil for a workflow without one.
	Store() checkpoint.Store
	// InputSchema is the JSON schema of the state type, the input of Run.
	InputSchema() json.RawMessage
	// Shape is Workflow.Shape: the graph's nodes and edges, to draw.
	Shape() Shape
	// Run is Workflow.Run with the input as JSON ("" or null for the zero
	// state). Input that does not decode into the state type, or has fields
	// it lacks, is refused with ErrInvalidInput.
	Run(ctx context.Context, thread string, input json.RawMessage, opts ...RunOption) (*Result[any], error)
	// Resume is Workflow.Resume. Answer values may be json.RawMessage.
	Resume(ctx context.Context, thread string, opts ...RunOption) (*Result[any], error)
	// Submit is Workflow.Submit with the input as JSON (checked as Run
	// checks it).
	Submit(ctx context.Context, thread string, input json.RawMessage) error
	// Continue is Workflow.Continue: it runs a thread this process claimed.
	Continue(ctx context.Context, row checkpoint.Thread, opts ...RunOption) (*Result[any], error)
	// Owner is Workflow.Owner; Lease is how long its claims last without
	// a heartbeat (WithLease).
	Owner() string
	Lease() time.Duration
	// Cancel is Workflow.Cancel.
	Cancel(ctx context.Context, thread, reason string, opts ...RunOption) error
	// State, StateAt, History, Steps, Stop and Delete are the Workflow's.
	State(ctx context.Context, thread string) (*Snapshot[any], error)
	StateAt(ctx context.Context, thread, checkpointID string) (*Snapshot[any], error)
	History(ctx context.Context, thread string) iter.Seq2[*Snapshot[any], error]
	Steps(ctx context.Context, thread string) ([]Step, error)
	Stop(ctx context.Context, thread string) error
	Delete(ctx context.Context, thread string) error
}

// Runner returns the workflow as a Runner.
func (wf *Workflow[S]) Runner() Runner { return runner[S]{wf} }

type runner[S any] struct{ wf *Workflow[S] }

func (r runner[S]) Name() string            { return r.wf.name }
func (r runner[S]) Shape() Shape            { return r.wf.Shape() }
func (r runner[S]) Store() checkpoint.Store { return r.wf.cfg.store }

func (r runner[S]) InputSchema() json.RawMessage {
	s, err := schemaFor(reflect.TypeFor[S]())
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return s
}

func (r runner[S]) Run(ctx context.Context, thread string, input json.RawMessage, opts ...RunOption) (*Result[any], error) {
	in, zero, err := decodeInput[S](r.wf, input)
	if err != nil {
		return nil, err
	}
	if len(zero) > 0 {
		opts = append(opts[:len(opts):len(opts)], Zero(zero...))
	}
	return anyResult(r.wf.Run(ctx, thread, in, opts...))
}

func (r runner[S]) Submit(ctx context.Context, thread string, input json.RawMessage) error {
	if _, _, err := decodeInput[S](r.wf, input); err != nil {
		return err
	}
	return r.wf.submit(ctx, thread, input)
}

func (r runner[S]) Continue(ctx context.Context, row checkpoint.Thread, opts ...RunOption) (*Result[any], error) {
	return anyResult(r.wf.Continue(ctx, row, opts...))
}

func (r runner[S]) Owner() string { return r.wf.owner }

func (r runner[S]) Lease() time.Duration { return r.wf.cfg.lease }

func (r runner[S]) Cancel(ctx context.Context, thread, reason string, opts ...RunOption) error {
	return r.wf.Cancel(ctx, thread, reason, opts...)
}

func (r runner[S]) Resume(ctx context.Context, thread string, opts ...RunOption) (*Result[any], error) {
	return anyResult(r.wf.Resume(ctx, thread, opts...))
}

func anyResult[S any](res *Result[S], err error) (*Result[any], error) {
	if res == nil {
		return nil, err
	}
	return &Result[any]{Thread: res.Thread, Status: res.Status, State: res.State, Interrupts: res.Interrupts, Checkpoint: res.Checkpoint}, err
}

func anySnapshot[S any](s *Snapshot[S]) *Snapshot[any] {
	return &Snapshot[any]{
		Thread: s.Thread, Workflow: s.Workflow, Status: s.Status, Values: s.Values, Next: s.Next,
		Interrupts: s.Interrupts, Checkpoint: s.Checkpoint, Parent: s.Parent, Step: s.Step,
		Source: s.Source, Created: s.Created, Error: s.Error, Subgraphs: s.Subgraphs,
		Author: s.Author, Channel: s.Channel, Note: s.Note,
	}
}

func (r runner[S]) State(ctx context.Context, thread string) (*Snapshot[any], error) {
	return r.StateAt(ctx, thread, "")
}

func (r runner[S]) StateAt(ctx context.Context, thread, checkpointID string) (*Snapshot[any], error) {
	s, err := r.wf.StateAt(ctx, thread, checkpointID)
	if err != nil {
		return nil, err
	}
	return anySnapshot(s), nil
}

func (r runner[S]) History(ctx context.Context, thread string) iter.Seq2[*Snapshot[any], error] {
	return func(yield func(*Snapshot[any], error) bool) {
		for s, err := range r.wf.History(ctx, thread) {
			var a *Snapshot[any]
			if s != nil {
				a = anySnapshot(s)
			}
			if !yield(a, err) {
				return
			}
		}
	}
}

func (r runner[S]) Steps(ctx context.Context, thread string) ([]Step, error) {
	return r.wf.Steps(ctx, thread)
}

func (r runner[S]) Stop(ctx context.Context, thread string) error { return r.wf.Stop(ctx, thread) }

func (r runner[S]) Delete(ctx context.Context, thread string) error {
	return r.wf.Delete(ctx, thread)
}
