package weft

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// EventType says what an Event reports.
type EventType string

// The types of Event.
const (
	// EventRunStarted: Run started a thread (or a new turn of it).
	EventRunStarted EventType = "run_started"
	// EventResumed: Resume carries the thread on.
	EventResumed EventType = "resumed"
	// EventAnswered: a question got its answer (Answer has it): given to
	// Resume, up front with Answers, or by a resolver.
	EventAnswered EventType = "answered"
	// EventNodeStarted: a node (a task: a Map branch is one) started.
	EventNodeStarted EventType = "node_started"
	// EventNodeFinished: a node returned; Update is its new state (the
	// state type of its graph), or Err says why it failed. A node that
	// pauses does not finish: see EventInterrupted.
	EventNodeFinished EventType = "node_finished"
	// EventStepCommitted: a superstep's checkpoint is saved; Checkpoint is
	// its ID, Next the nodes of the next superstep.
	EventStepCommitted EventType = "step_committed"
	// EventInterrupted: the thread pauses; Questions are what it waits for.
	EventInterrupted EventType = "interrupted"
	// EventStopped: the run was stopped (Stop, or its context ended).
	EventStopped EventType = "stopped"
	// EventCompleted: the graph reached its end.
	EventCompleted EventType = "completed"
	// EventFailed: the run failed; Err says why.
	EventFailed EventType = "failed"
	// EventCustom: a node called Emit; Data is the value.
	EventCustom EventType = "custom"
)

// Event is one thing that happened in a run. Fields that do not apply to
// the Type are zero.
type Event struct {
	// Seq numbers the events of one Run, Resume or Stream call from 1, with
	// no gaps.
	Seq      int64
	Type     EventType
	Workflow string
	Thread   string
	// Node is the node path ("review", "outer/inner/review"); "" for events
	// of the whole run. Task is the task within the superstep ("tools#2"
	// for a Map branch).
	Node string
	Task string
	// Checkpoint is the checkpoint the event belongs to: the one written
	// (run_started, step_committed) or the one the superstep started from.
	Checkpoint string
	Time       time.Time
	// Update is a finished node's new state.
	Update any
	// Next are the nodes of the next superstep (step_committed).
	Next []string
	// Questions are the pending questions (interrupted).
	Questions []Question
	// Answer is the answer recorded (answered).
	Answer *AnswerEvent
	// Data is what a node passed to Emit (custom).
	Data any
	// Err is the failure (failed, or node_finished of a failed node).
	Err string
}

// AnswerEvent is the answer an EventAnswered reports.
type AnswerEvent struct {
	ID      string
	Node    string
	Value   []byte // JSON
	Author  string
	Channel string
	// Asked is when the question was asked and Answered when the answer
	// was recorded (by the store's clock, in whichever process): their
	// difference is how long the question waited for its answer.
	Asked, Answered time.Time
}

// Observer receives a run's events as they happen, one at a time and in
// order. A slow observer slows the run: no event is dropped. Observe must
// not call back into the workflow for the same thread.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc is an Observer that is a function.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// ObserverOption is the option WithObserver returns.
type ObserverOption struct{ o Observer }

// WithObserver sends every event of the workflow's runs (at Compile) or of
// one run (per run) to o.
func WithObserver(o Observer) ObserverOption { return ObserverOption{o: o} }

func (o ObserverOption) applyCompile(c *compileConfig) { c.observers = append(c.observers, o.o) }
func (o ObserverOption) applyRun(c *runConfig)         { c.observers = append(c.observers, o.o) }

// LogObserver logs events to l: run-level events and failures at Info (Warn
// for failures), node events and custom events at Debug.
func LogObserver(l *slog.Logger) Observer {
	return ObserverFunc(func(ctx context.Context, e Event) {
		level := slog.LevelDebug
		switch e.Type {
		case EventRunStarted, EventResumed, EventAnswered, EventInterrupted, EventStopped, EventCompleted:
			level = slog.LevelInfo
		case EventFailed:
			level = slog.LevelWarn
		}
		if e.Type == EventNodeFinished && e.Err != "" {
			level = slog.LevelWarn
		}
		if !l.Enabled(ctx, level) {
			return
		}
		attrs := []slog.Attr{slog.String("workflow", e.Workflow), slog.String("thread", e.Thread), slog.Int64("seq", e.Seq)}
		if e.Node != "" {
			attrs = append(attrs, slog.String("node", e.Node))
		}
		if e.Task != "" && e.Task != e.Node {
			attrs = append(attrs, slog.String("task", e.Task))
		}
		if e.Checkpoint != "" {
			attrs = append(attrs, slog.String("checkpoint", e.Checkpoint))
		}
		if len(e.Questions) > 0 {
			ids := make([]string, len(e.Questions))
			for i, q := range e.Questions {
				ids[i] = q.ID
			}
			attrs = append(attrs, slog.Any("questions", ids))
		}
		if e.Answer != nil {
			attrs = append(attrs, slog.String("interrupt", e.Answer.ID), slog.String("author", e.Answer.Author), slog.String("channel", e.Answer.Channel))
		}
		if e.Data != nil {
			attrs = append(attrs, slog.Any("data", e.Data))
		}
		if e.Err != "" {
			attrs = append(attrs, slog.String("error", e.Err))
		}
		l.LogAttrs(ctx, level, "weft: "+string(e.Type), attrs...)
	})
}

// emitter numbers a run's events and hands them to its observers, one at
// a time and in order (the runs of subgraphs share their parent's). No
// lock is held while an observer or the stream's loop body runs: events
// emitted meanwhile queue up (up to maxQueued, then their emitters wait).
//
// A Stream's consumer, the sink, is special: it is the body of a range
// loop, so it is called on the goroutine that runs the root run (the
// consumer's own) whenever it can be. Events that happen on other
// goroutines (parallel tasks, and everything inside them) are relayed to
// that goroutine, which waits for its parallel tasks by serving the relay.
type emitter struct {
	mu         sync.Mutex
	cond       sync.Cond
	seq        int64
	queue      []Event
	delivering bool
	observers  []Observer
	sink       func(Event) bool
	relay      chan Event
	left       atomic.Bool // the sink returned false or panicked
	panicked   any
	leave      func() // stops the run when the sink leaves
}

// maxQueued bounds the events waiting for a slow observer or consumer.
const maxQueued = 1024

func newEmitter(a, b []Observer, sink func(Event) bool, leave func()) *emitter {
	if len(a)+len(b) == 0 && sink == nil {
		return nil
	}
	em := &emitter{observers: append(append([]Observer(nil), a...), b...), sink: sink, leave: leave}
	em.cond.L = &em.mu
	if sink != nil {
		em.relay = make(chan Event)
	}
	return em
}

// emit sends e; it is a no-op without observers.
func (r *run[S]) emit(e Event) { r.emitFrom(e, r.off) }

// emitFrom sends e from the run's goroutine (off false) or another one.
func (r *run[S]) emitFrom(e Event, off bool) { r.emitVia(e, off, nil) }

// emitVia sends e; an event relayed from another goroutine is dropped if
// done closes first (the node that emits it returned).
func (r *run[S]) emitVia(e Event, off bool, done <-chan struct{}) {
	em := r.tr.ev
	if em == nil {
		return
	}
	e.Workflow, e.Thread = r.tr.name, r.thread
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	if off && em.sink != nil && !em.left.Load() {
		select {
		case em.relay <- e:
		case <-done:
		}
		return
	}
	em.dispatch(r.ctx, e)
}

// dispatch numbers e and delivers it, or queues it for the goroutine that
// is delivering already.
func (em *emitter) dispatch(ctx context.Context, e Event) {
	em.mu.Lock()
	for em.delivering && len(em.queue) >= maxQueued { // delivered ones stay counted until the queue drains
		em.cond.Wait()
	}
	em.seq++
	e.Seq = em.seq
	em.queue = append(em.queue, e)
	if em.delivering {
		em.mu.Unlock()
		return
	}
	em.delivering = true
	for i := 0; i < len(em.queue); i++ {
		next := em.queue[i]
		em.queue[i] = Event{}
		em.cond.Broadcast()
		em.mu.Unlock()
		em.deliver(ctx, next)
		em.mu.Lock()
	}
	em.queue = em.queue[:0]
	em.delivering = false
	em.cond.Broadcast()
	em.mu.Unlock()
}

// deliver hands e to the observers and the sink.
func (em *emitter) deliver(ctx context.Context, e Event) {
	for _, o := range em.observers {
		o.Observe(ctx, e)
	}
	if em.sink == nil || em.left.Load() {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			em.panicked = p
			em.left.Store(true)
			em.leave()
		}
	}()
	if !em.sink(e) {
		em.left.Store(true)
		em.leave()
	}
}

// wait waits for wg while relaying events to the sink, if there is one and
// the run is the root's (off false).
func (em *emitter) wait(ctx context.Context, wg *sync.WaitGroup, off bool) {
	if em == nil || em.sink == nil || off {
		wg.Wait()
		return
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for {
		select {
		case e := <-em.relay:
			em.dispatch(ctx, e)
		case <-done:
			return
		}
	}
}

// observed reports whether the run has observers, so callers can skip
// building events.
func (r *run[S]) observed() bool { return r.tr.ev != nil }

// emitter of a task, for Emit.
type emitTarget interface{ emitCustom(v any) error }

func (t *task[S]) emitCustom(v any) error {
	if err := t.enter("weft.Emit"); err != nil {
		return err
	}
	defer t.leave()
	t.r.emitVia(Event{Type: EventCustom, Node: t.path, Task: t.name, Checkpoint: t.cpID, Data: v}, t.off, t.done())
	return nil
}

// Emit sends a custom event from inside a node (a model's tokens, progress)
// to the run's observers and streams. It fails with ErrOutsideNode when ctx
// is not a node's, or the node has returned (a goroutine it left running).
func Emit(ctx context.Context, v any) error {
	t, ok := ctx.Value(taskKey{}).(emitTarget)
	if !ok {
		return fmt.Errorf("weft.Emit: %w", ErrOutsideNode)
	}
	return t.emitCustom(v)
}

// Stream runs the thread like Run and yields its events as they happen,
// then the run's error, if any, as the last pair. The run waits for the
// consumer: a slow loop slows it, and no event is dropped. Breaking out of
// the loop stops the run (the thread's status becomes stopped; Resume
// carries it on).
func (wf *Workflow[S]) Stream(ctx context.Context, thread string, input S, opts ...RunOption) iter.Seq2[Event, error] {
	return wf.stream(ctx, opts, func(ctx context.Context, opts []RunOption) error {
		_, err := wf.Run(ctx, thread, input, opts...)
		return err
	})
}

// StreamResume resumes the thread like Resume and yields its events as
// Stream does.
func (wf *Workflow[S]) StreamResume(ctx context.Context, thread string, opts ...RunOption) iter.Seq2[Event, error] {
	return wf.stream(ctx, opts, func(ctx context.Context, opts []RunOption) error {
		_, err := wf.Resume(ctx, thread, opts...)
		return err
	})
}

func (wf *Workflow[S]) stream(ctx context.Context, opts []RunOption, call func(context.Context, []RunOption) error) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		s := &streamSink{yield: yield, leave: func() { cancel(errStopped) }}
		err := call(ctx, append(opts[:len(opts):len(opts)], runFunc(func(c *runConfig) { c.sink = s })))
		if s.em != nil && s.em.panicked != nil {
			panic(s.em.panicked)
		}
		if err != nil && (s.em == nil || !s.em.left.Load()) {
			yield(Event{}, err)
		}
	}
}

// streamSink is a Stream's consumer as a run option sees it.
type streamSink struct {
	yield func(Event, error) bool
	leave func()
	em    *emitter
}
