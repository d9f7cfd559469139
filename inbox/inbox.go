package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// Inbox is the human side of weft: the questions that paused threads wait
// for, across every thread of a store, and the answers to them. It is safe
// for concurrent use. Create it with New.
type Inbox struct {
	store checkpoint.Store

	mu      sync.RWMutex
	runners map[string]weft.Runner

	now     func() time.Time
	log     *slog.Logger
	runOpts []weft.RunOption
	queue   bool
	monitor weft.Monitor

	// warned holds the IDs of due interrupts whose fallback failed in a
	// way that repeats every pass, so that it is logged once.
	warnMu sync.Mutex
	warned map[string]bool
}

// Option configures an Inbox.
type Option func(*Inbox)

// WithClock makes the inbox read the time from now instead of time.Now: for
// which deadlines are due (FireDue) and how old questions are
// (Query.OlderThan). Give the workflows the same clock (weft.WithClock),
// since they stamp the questions' creation times and deadlines.
func WithClock(now func() time.Time) Option {
	return func(ib *Inbox) {
		if now != nil {
			ib.now = now
		}
	}
}

// WithLogger logs the inbox's answers, escalations and deadline passes to
// l. By default the inbox logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(ib *Inbox) {
		if l != nil {
			ib.log = l
		}
	}
}

// WithRunOptions appends opts to every Resume the inbox makes (answers and
// fallbacks): an observer that streams the events of the runs the inbox
// starts, a step limit. They come after the inbox's own weft.Answer and
// weft.By options.
func WithRunOptions(opts ...weft.RunOption) Option {
	return func(ib *Inbox) { ib.runOpts = append(ib.runOpts, opts...) }
}

// WithQueue makes the inbox record answers and fallbacks and make their
// threads ready, without running them: workers (package worker) that have
// the workflows run them, within their limits. Without it the inbox runs a
// thread inline, in the caller's goroutine, when an answer lets it go on.
func WithQueue() Option {
	return func(ib *Inbox) { ib.queue = true }
}

// WithMonitor tells m of every deadline FireDue fires and of every answer
// recorded without a run here to carry on with it (for metrics; see
// weft.Monitor).
func WithMonitor(m weft.Monitor) Option {
	return func(ib *Inbox) { ib.monitor = m }
}

// New returns an inbox over store, able to answer the threads of runners.
// Every runner must keep its threads in store (weft.WithStore(store)):
// the inbox finds questions in store and carries their threads on with
// the runner named by the thread's workflow. Runners are looked up by
// Name; a later runner of the same name replaces an earlier one.
//
// Threads of workflows that are not registered are still listed, shown
// and audited; answering them needs their runner (ErrUnknownWorkflow), or
// Record, which only records the answer.
func New(store checkpoint.Store, runners []weft.Runner, opts ...Option) *Inbox {
	ib := &Inbox{
		store:   store,
		runners: make(map[string]weft.Runner, len(runners)),
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
		warned:  map[string]bool{},
	}
	for _, o := range opts {
		o(ib)
	}
	for _, r := range runners {
		ib.Register(r)
	}
	return ib
}

// Register adds r to the runners the inbox can answer for, replacing a
// runner of the same name. r must keep its threads in the inbox's store;
// one that visibly does not (another store value) is registered all the
// same, with a warning in the log.
func (ib *Inbox) Register(r weft.Runner) {
	if r == nil {
		return
	}
	if s := r.Store(); !sameStore(s, ib.store) {
		ib.log.Warn("inbox: workflow uses another store value than the inbox; both must be the same database, or its answers will not find their questions",
			"workflow", r.Name(), "store", fmt.Sprintf("%T", s))
	}
	ib.mu.Lock()
	ib.runners[r.Name()] = r
	ib.mu.Unlock()
}

// sameStore reports whether a and b are the same store, answering true
// when it cannot tell.
func sameStore(a, b checkpoint.Store) bool {
	if a == nil || b == nil {
		return a == b
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb {
		return false
	}
	if !ta.Comparable() {
		return true
	}
	return a == b
}

// Runner returns the runner registered for workflow.
func (ib *Inbox) Runner(workflow string) (weft.Runner, bool) {
	ib.mu.RLock()
	defer ib.mu.RUnlock()
	r, ok := ib.runners[workflow]
	return r, ok
}

// Workflows returns the names of the registered workflows, sorted.
func (ib *Inbox) Workflows() []string {
	ib.mu.RLock()
	names := make([]string, 0, len(ib.runners))
	for n := range ib.runners {
		names = append(names, n)
	}
	ib.mu.RUnlock()
	slices.Sort(names)
	return names
}

// Store returns the inbox's store.
func (ib *Inbox) Store() checkpoint.Store { return ib.store }

// thread loads a thread's row; a missing thread is ErrNotFound.
func (ib *Inbox) thread(ctx context.Context, thread string) (*checkpoint.Thread, error) {
	row, err := ib.store.Thread(ctx, thread)
	if err != nil {
		return nil, fmt.Errorf("inbox: thread %q: %w", thread, err)
	}
	return row, nil
}

// runnerOf returns the thread's row and the runner of its workflow.
func (ib *Inbox) runnerOf(ctx context.Context, thread string) (*checkpoint.Thread, weft.Runner, error) {
	row, err := ib.thread(ctx, thread)
	if err != nil {
		return nil, nil, err
	}
	r, ok := ib.Runner(row.Workflow)
	if !ok {
		return row, nil, fmt.Errorf("inbox: thread %q belongs to workflow %q, which this inbox does not have (it has %v): %w",
			thread, row.Workflow, ib.Workflows(), ErrUnknownWorkflow)
	}
	return row, r, nil
}
