package weft

import (
	"context"
	"encoding/json"
)

// Tracer traces the runs of a workflow: a hook for telemetry, given with
// WithTracer. Package github.com/weftgraph/weft/otel (a module of its own,
// so that weft itself does not depend on OpenTelemetry) implements it.
//
// Each method is called as something starts and returns the context that
// thing runs under (with the tracer's span in it, for the user's own
// instrumentation inside nodes and effects) and a function to call when it
// ends. The methods are called from the goroutines that run the work; they
// must be safe for concurrent use and quick.
type Tracer interface {
	// Run is called as a run starts executing a thread (Run, Resume, a
	// worker's Continue; not a subgraph's run, which is part of its
	// parent's). linked is what Carry returned in the run that paused the
	// thread, if this run resumes it (in this process or another): a run
	// links to the run that asked the question it carries on with. end
	// gets the run's status and error.
	Run(ctx context.Context, run TraceRun, linked map[string]string) (context.Context, func(status Status, err error))
	// Node is called as a task starts (each attempt of a node, each branch
	// of a Map node); end gets the node's error, nil if it finished or
	// paused.
	Node(ctx context.Context, node TraceNode) (context.Context, func(err error))
	// Effect is called as a weft.Do function runs (not when its journaled
	// result is replayed); end gets its error.
	Effect(ctx context.Context, key, effectID string) (context.Context, func(err error))
	// Carry returns what to keep with a pause, from the context of the run
	// that pauses (the one Run returned), so that the run that resumes the
	// thread gets it as linked. It is stored with the thread's pending
	// writes; keep it small (a trace context).
	Carry(ctx context.Context) map[string]string
}

// TraceRun describes a run for a Tracer.
type TraceRun struct {
	Workflow, Thread string
	// Resumed: the run carries on a thread that existed (Resume, a
	// worker); false for a run that starts a thread or a new turn.
	Resumed bool
	// Checkpoint is the checkpoint the run starts from.
	Checkpoint string
}

// TraceNode describes a task for a Tracer.
type TraceNode struct {
	Workflow, Thread string
	// Node is the node's path ("review", "outer/inner/review"); Task the
	// task ("tools#2" for a Map branch).
	Node, Task string
	// Superstep is the superstep the task runs in; Attempt counts its
	// attempts from 1 (see Retry).
	Superstep, Attempt int
}

// WithTracer traces the workflow's runs, nodes and effects with t.
func WithTracer(t Tracer) CompileOption {
	return compileFunc(func(c *compileConfig) { c.tracer = t })
}

// taskTrace and writeTrace name the pending write that carries a paused
// run's trace to the run that resumes it.
const (
	taskTrace  = "__trace__"
	writeTrace = "trace"
)

// traceLink returns what the run that paused the thread carried, if this
// run resumes it.
func (r *run[S]) traceLink() map[string]string {
	if !r.resumed || r.head == nil || r.head.cp.ID == "" {
		return nil
	}
	ws, err := r.p.writes(r.ctx, r.thread, r.ns, r.head.cp.ID, &r.head.state)
	if err != nil {
		return nil
	}
	r.prefetched = ws // the first superstep reads them too
	for _, w := range ws {
		if w.task == taskTrace && w.kind == writeTrace {
			var m map[string]string
			if json.Unmarshal(w.data, &m) == nil {
				return m
			}
		}
	}
	return nil
}

// traceCarry returns the pending write that keeps the run's trace with its
// pause, or nil.
func (r *run[S]) traceCarry() []write[S] {
	tc := r.wf.cfg.tracer
	if tc == nil || r.child {
		return nil
	}
	m := tc.Carry(r.ctx)
	if len(m) == 0 {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return []write[S]{{ns: r.ns, cpID: r.head.cp.ID, task: taskTrace, kind: writeTrace, data: data}}
}

// traceEffect starts an effect's trace, if the workflow has a tracer.
func (t *task[S]) traceEffect(ctx context.Context, key, id string) (context.Context, func(error)) {
	if tc := t.r.wf.cfg.tracer; tc != nil {
		return tc.Effect(ctx, key, id)
	}
	return ctx, func(error) {}
}
