package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// Workflow is a compiled graph: it runs, pauses and resumes threads. It is
// safe for concurrent use; each thread runs in one place at a time.
type Workflow[S any] struct {
	name   string
	nodes  map[string]*node[S]
	order  []string
	edges  map[string][]string
	routes map[string]*route[S]
	state  *stateInfo
	cfg    compileConfig
	hash   string

	st        checkpoint.Store // cfg.store, or a memstore of the workflow's own
	p         persister[S]
	owner     string
	fanout    bool               // the graph has Map nodes
	subgraphs bool               // the graph has Subgraph nodes
	succ      map[string]flow[S] // what follows each node (and Start)
	active    activeRuns         // the runs of this process
	// plainRuns and storeRuns keep the allocations of root runs that
	// returned, for the next ones (newRun, recycle).
	plainRuns, storeRuns sync.Pool
	beat                 heartbeat
}

// activeRuns are the runs of a workflow in this process, by thread.
type activeRuns struct {
	mu sync.Mutex
	m  map[string]*activeRun
}

// get returns the run of thread, or nil.
func (as *activeRuns) get(thread string) *activeRun {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.m[thread]
}

// each calls fn for every run, under the lock.
func (as *activeRuns) each(fn func(thread string, a *activeRun)) {
	as.mu.Lock()
	defer as.mu.Unlock()
	for id, a := range as.m {
		fn(id, a)
	}
}

// activeRun is a run of this process, as Stop and the heartbeat see it.
type activeRun struct {
	cancel context.CancelCauseFunc
	ended  atomic.Bool
	tr     atomic.Pointer[threadRun]
	// room is the row of the run that registers the mark (newRun), made
	// with it: both live as long as the run and the heartbeat need them.
	room   threadRun
	joined bool // counted by the heartbeat; set before tr

	thread string
	set    *activeRuns
	beat   *heartbeat
}

// release ends the mark of the run in this process; it may be called
// more than once.
func (a *activeRun) release() {
	if a.ended.CompareAndSwap(false, true) {
		a.set.mu.Lock()
		delete(a.set.m, a.thread)
		a.set.mu.Unlock()
		if a.joined {
			a.beat.leave()
		}
		a.cancel(nil)
	}
}

// Causes of a run's context cancelled by weft itself.
var (
	errStopped  = errors.New("weft: stopped")
	errLostLock = errors.New("weft: the thread's claim was lost")
)

func (wf *Workflow[S]) init() {
	wf.st = wf.cfg.store
	if wf.st == nil {
		wf.st = memstore.New(memstore.WithClock(wf.now))
	}
	wf.p = &storePersister[S]{st: wf.st, si: wf.state, codec: wf.cfg.codec, heads: newHeadCache[S](wf.state)}
	wf.owner = wf.cfg.owner
	if wf.owner == "" {
		wf.owner = processOwner()
	}
	for _, n := range wf.nodes {
		wf.fanout = wf.fanout || n.fanout != nil
		wf.subgraphs = wf.subgraphs || n.sub != nil
	}
	wf.succ = map[string]flow[S]{}
	for from, tos := range wf.edges {
		wf.succ[from] = flow[S]{next: wf.sortNodes(slices.Clone(tos))}
	}
	for from, rt := range wf.routes {
		f := wf.succ[from]
		f.route = rt
		wf.succ[from] = f
	}
	wf.beat.init(wf, wf.cfg.beat)
}

// Name is the workflow's name, as given to NewGraph.
func (wf *Workflow[S]) Name() string { return wf.name }

func (wf *Workflow[S]) now() time.Time {
	if wf.cfg.now != nil {
		return wf.cfg.now()
	}
	return time.Now()
}

func (wf *Workflow[S]) log(ctx context.Context, msg, thread string, args ...any) {
	if wf.cfg.logger == nil {
		return
	}
	wf.cfg.logger.Log(ctx, slog.LevelInfo, msg, append([]any{"workflow", wf.name, "thread", thread}, args...)...)
}

// sortNodes orders node names as they were added to the graph and drops End
// and duplicates.
func (wf *Workflow[S]) sortNodes(names []string) []string {
	names = slices.DeleteFunc(names, func(n string) bool { return n == End })
	slices.SortFunc(names, func(a, b string) int { return wf.nodes[a].index - wf.nodes[b].index })
	return slices.Compact(names)
}

// next picks the nodes of the superstep after tasks, from static edges and
// routes evaluated on the merged state.
func (wf *Workflow[S]) next(tasks []string, s S) (next []string, err error) {
	if len(tasks) == 1 {
		if f := wf.succ[tasks[0]]; f.route == nil {
			return f.next, nil
		}
	}
	for _, t := range tasks {
		f := wf.succ[t]
		next = append(next, f.next...)
		rt := f.route
		if rt == nil {
			continue
		}
		to, err := wf.route(t, rt, s)
		if err != nil {
			return nil, err
		}
		next = append(next, to)
	}
	return wf.sortNodes(next), nil
}

func (wf *Workflow[S]) route(from string, rt *route[S], s S) (to string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &NodeError{Node: from, Panic: p, Err: fmt.Errorf("router panicked: %v", p)}
		}
	}()
	to = rt.fn(s)
	if !slices.Contains(rt.targets, to) {
		return "", &NodeError{Node: from, Err: fmt.Errorf("router returned %q, not one of its targets %s", to, strings.Join(rt.targets, ", "))}
	}
	return to, nil
}

// acquire marks the thread as run by this process (or fails with ErrBusy),
// and returns the run's context and its mark, which release ends. The
// store's claim is taken separately: acquire keeps two calls of this
// process apart before either reaches the store.
func (wf *Workflow[S]) acquire(ctx context.Context, thread string) (context.Context, *activeRun, error) {
	set := &wf.active
	set.mu.Lock()
	if set.m[thread] != nil {
		set.mu.Unlock()
		return nil, nil, fmt.Errorf("thread %q is running in this process: %w", thread, ErrBusy)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	a := &activeRun{cancel: cancel, thread: thread, set: set, beat: &wf.beat}
	if set.m == nil {
		set.m = make(map[string]*activeRun)
	}
	set.m[thread] = a
	set.mu.Unlock()
	return ctx, a, nil
}

// newRun makes a root run with context ctx, derived from outer (the
// caller's: the run's commits keep its values, not its cancellation) or
// outer itself, and a copy of rc. a is the mark the run registers (nil for
// none): the thread's row is made with it.
func (wf *Workflow[S]) newRun(ctx, outer context.Context, p persister[S], thread string, rc *runConfig, a *activeRun) *run[S] {
	// A root run, its config and its room live as long as each other: one
	// allocation, recycled once the run has returned (recycle), with the
	// room for a store's runs only with a store. The thread's row it
	// shares with its subgraphs' runs is apart: the heartbeat may still
	// hold it after the run, and the run's tasks count on it the weft calls
	// in flight on their contexts.
	var r *run[S]
	if p.store() == nil {
		b, _ := wf.plainRuns.Get().(*plainBlock[S])
		if b == nil {
			b = new(plainBlock[S])
		}
		b.rc = *rc
		r = &b.r
		r.tr, r.rc, r.block = threadRunOf(a), &b.rc, b
		r.useRoom(&b.room, nil)
	} else {
		b, _ := wf.storeRuns.Get().(*storeBlock[S])
		if b == nil {
			b = new(storeBlock[S])
		}
		b.rc = *rc
		r = &b.r
		r.tr, r.rc, r.block = threadRunOf(a), &b.rc, b
		r.useRoom(&b.room, &b.kept)
	}
	r.wf, r.ctx, r.saveCtx, r.p, r.thread = wf, ctx, detached(outer), p, thread
	r.before, r.after = wf.cfg.before, wf.cfg.after
	tr := r.tr
	tr.row.ID, tr.owner, tr.lease, tr.name, tr.hash = thread, wf.owner, wf.cfg.lease, wf.name, wf.hash
	if s := rc.sink; s != nil {
		r.tr.ev = newEmitter(wf.cfg.observers, rc.observers, func(e Event) bool { return s.yield(e, nil) }, s.leave)
		s.em = r.tr.ev
	} else {
		r.tr.ev = newEmitter(wf.cfg.observers, rc.observers, nil, nil)
	}
	if rc.before != nil {
		r.before = slices.Concat(wf.cfg.before, rc.before)
	}
	if rc.after != nil {
		r.after = slices.Concat(wf.cfg.after, rc.after)
	}
	return r
}

// flow is what follows a node: its static successors in node order, and
// its router (nil for none).
type flow[S any] struct {
	next  []string
	route *route[S]
}

// plainBlock is the allocation of a root run without a store (newRun).
type plainBlock[S any] struct {
	r    run[S]
	rc   runConfig
	room runRoom[S]
}

// storeBlock is the allocation of a root run with a store (newRun).
type storeBlock[S any] struct {
	r    run[S]
	rc   runConfig
	room runRoom[S]
	kept storeRoom
}

// recycle empties the allocation of root run r, which has returned, and
// keeps it for the next run, with the tasks the run made but did not use
// (newTask). Nothing the run handed out points into it:
// results, events and errors carry copies, stores copy what they are
// given, the tasks (node contexts, which a library may watch after the
// node returned) and the thread's row (which the heartbeat may still hold)
// are apart, and every goroutine of the run has ended. A goroutine that a
// node left running may still be inside a weft call on the node's context
// (Emit, Interrupt, Do, Return): then the allocation is left to the
// garbage collector instead (task.enter).
func (wf *Workflow[S]) recycle(r *run[S]) {
	if r.tr.calls.Load() != 0 {
		return
	}
	switch b := r.block.(type) {
	case *plainBlock[S]:
		rest := b.r.tasks // never handed out: zero
		*b = plainBlock[S]{}
		b.r.tasks = rest
		wf.plainRuns.Put(b)
	case *storeBlock[S]:
		rest := b.r.tasks
		*b = storeBlock[S]{}
		b.r.tasks = rest
		wf.storeRuns.Put(b)
	}
}

// detached returns ctx without its cancellation (context.WithoutCancel),
// or ctx itself when it is the background context, which has none.
func detached(ctx context.Context) context.Context {
	if ctx == context.Background() {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// runConfig applies opts to a new runConfig.
func (wf *Workflow[S]) runConfig(opts []RunOption) (runConfig, error) {
	if len(opts) == 0 {
		return runConfig{}, nil
	}
	rc := runConfigs.Get().(*runConfig)
	defer func() { *rc = runConfig{}; runConfigs.Put(rc) }()
	if err := wf.runOptions(rc, opts); err != nil {
		return runConfig{}, err
	}
	return *rc, nil
}

// runConfigs are the runConfigs that options are applied to: the options
// are an interface, so the config they write to is on the heap. None of
// them (all are weft's) keeps it.
var runConfigs = sync.Pool{New: func() any { return new(runConfig) }}

// runOptions applies opts to rc, zero, and checks the result.
func (wf *Workflow[S]) runOptions(rc *runConfig, opts []RunOption) error {
	for _, o := range opts {
		o.applyRun(rc)
	}
	for _, n := range slices.Concat(rc.before, rc.after, rc.gotos) {
		if n != "*" && n != End && wf.nodes[n] == nil {
			return fmt.Errorf("weft: unknown node %q: %w", n, ErrInvalidGraph)
		}
	}
	if rc.update != nil {
		if _, ok := rc.update.(func(S) S); !ok {
			return fmt.Errorf("weft: Update takes a func(%s) %[1]s, not %T: %w", wf.state.typ, rc.update, ErrInvalidInput)
		}
	}
	return nil
}

// checkThreadID refuses thread IDs that cannot name a thread everywhere
// (in a URL path, on a command line).
func checkThreadID(id string) error {
	switch {
	case id == "." || id == "..":
		return fmt.Errorf("weft: thread ID %q is reserved: %w", id, ErrInvalidInput)
	case len(id) > 1024:
		return fmt.Errorf("weft: thread ID of %d bytes, at most 1024: %w", len(id), ErrInvalidInput)
	case strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("weft: thread ID %q has a control character: %w", id, ErrInvalidInput)
	}
	return nil
}

// owns refuses a thread that another workflow drives.
func (wf *Workflow[S]) owns(row *checkpoint.Thread) error {
	if row.Workflow != "" && row.Workflow != wf.name {
		return fmt.Errorf("thread %q belongs to workflow %q, not %q: %w", row.ID, row.Workflow, wf.name, ErrWrongWorkflow)
	}
	return nil
}

// Run starts the thread with input and drives it until it completes,
// pauses or stops.
//
// A new thread starts from Start with input (zero fields taken from
// WithDefaults). A completed or cancelled thread starts a new turn: input
// is folded into its current state (zero fields keep the current value,
// fields with a reducer are merged, others replaced; see Zero to set a
// field to its zero value) and the graph runs again from Start; this is
// how a multi-turn chat takes its next message. A thread that is paused,
// ready, stopped or failed is refused with ErrThreadPaused: carry it on
// with Resume. A thread of another workflow is refused with
// ErrWrongWorkflow. The empty thread ID runs an ephemeral thread that is
// kept nowhere (with Answers, the stateless replay pattern).
//
// A node's failure returns the error (a *NodeError naming the node) and
// leaves the thread failed at its last checkpoint.
func (wf *Workflow[S]) Run(ctx context.Context, thread string, input S, opts ...RunOption) (*Result[S], error) {
	rc, err := wf.runConfig(opts)
	if err != nil {
		return nil, err
	}
	rc.replay = rc.keyed
	if thread == "" {
		r := wf.newRun(ctx, ctx, nopPersister[S]{}, "", &rc, nil)
		defer wf.recycle(r)
		return r.start(wf.withDefaults(input), nil)
	}
	if err := checkThreadID(thread); err != nil {
		return nil, err
	}
	outer := ctx
	ctx, a, err := wf.acquire(ctx, thread)
	if err != nil {
		return nil, err
	}
	r := wf.newRun(ctx, outer, wf.p, thread, &rc, a)
	defer func() { a.release(); wf.recycle(r) }()
	r.register(a)
	row, err := wf.st.Thread(ctx, thread)
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		return r.start(wf.withDefaults(input), nil)
	case err != nil:
		return nil, err
	}
	if err := wf.owns(row); err != nil {
		return nil, err
	}
	switch row.Status {
	case StatusCompleted, StatusCancelled:
	case StatusRunning:
		return nil, fmt.Errorf("thread %q is running (in %s): %w", thread, row.Owner, ErrBusy)
	default:
		return nil, fmt.Errorf("thread %q is %s; carry it on with Resume: %w", thread, row.Status, ErrThreadPaused)
	}
	r.tr.setRow(*row, false, time.Time{})
	if row.Head == "" {
		// Cancelled before it ever ran (a submitted run): nothing to
		// carry over.
		return r.start(wf.withDefaults(input), nil)
	}
	parent, err := wf.p.rootSnapshot(ctx, row, "", nil)
	if err != nil {
		return nil, err
	}
	state, err := wf.foldInputZero(parent.state, input, rc.zero)
	if err != nil {
		return nil, err
	}
	return r.start(state, parent)
}

func (wf *Workflow[S]) withDefaults(input S) S {
	if wf.cfg.defaults == nil {
		return input
	}
	return wf.applyDefaults(input)
}

// applyDefaults is withDefaults' slow path, apart so that input escapes
// only when there are defaults.
func (wf *Workflow[S]) applyDefaults(input S) S {
	if d, ok := wf.cfg.defaults.(S); ok {
		return wf.state.withDefaults(reflectOf(&input), reflectOf(&d)).Interface().(S)
	}
	return input
}

// foldInputZero folds the input of a new turn into the current state; the
// fields named in zero are set even to their zero value.
func (wf *Workflow[S]) foldInputZero(cur, input S, zero []string) (S, error) {
	folded, err := wf.state.fold(reflectOf(&cur), reflectOf(&input), zero)
	if err != nil {
		var zero S
		return zero, err
	}
	return folded.Interface().(S), nil
}

// start commits the input checkpoint of a run (a new thread's, or a new
// turn's on top of parent) and runs the loop. The commit claims the
// thread.
func (r *run[S]) start(state S, parent *snap[S]) (*Result[S], error) {
	wf := r.wf
	next, err := wf.next([]string{Start}, state)
	if err != nil {
		return nil, err
	}
	// The head is made first and its checkpoint committed in place, with
	// the run's reused commit: no copies on the heap.
	head := r.newSnap()
	*head = snap[S]{state: state, cp: checkpoint.Checkpoint{ThreadID: r.thread, Source: checkpoint.SourceInput, Next: next, CreatedAt: wf.now()}}
	cp := &head.cp
	if parent != nil {
		cp.ParentID, cp.Step = parent.cp.ID, parent.cp.Step+1
	}
	r.c = commit[S]{c: checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp}, state: state, prev: parent, blobs: r.c.blobs, data: r.c.data}
	if r.tr.row.Status != StatusRunning {
		r.tr.row.Epoch++ // the commit claims the thread
	}
	if r.tr.row.Version == 0 {
		r.tr.row.CreatedAt = cp.CreatedAt
	}
	if err := r.save(&r.c, StatusRunning, "", nil); err != nil {
		return nil, busyError(err)
	}
	r.head = head
	r.rootCP = cp.ID
	r.emit(Event{Type: EventRunStarted, Checkpoint: cp.ID, Next: next})
	wf.log(r.ctx, "weft: run started", r.thread)
	return r.loop()
}

// Resume carries a thread on: with answers to the questions it waits for
// (Answer by ID, Answers by key or node path, Reply when it waits for one
// question), past a breakpoint, or from where it stopped or failed (a
// failed superstep runs again; its nodes that had finished are not re-run).
// A ready thread (its answers were given elsewhere) is carried on too.
//
// Answers are checked before anything is recorded: an unknown question is
// ErrUnknownInterrupt, one answered before ErrAlreadyAnswered, one that does
// not satisfy the question's schema ErrInvalidAnswer, a key that matches
// several questions ErrAmbiguousAnswer; then nothing is written. The
// answers are then recorded and the thread claimed in one step. Answered
// nodes run again at once, even if other nodes of the same superstep still
// wait for their answers; the run pauses again on those. Once answers are
// recorded, an error of the run that follows (a node that fails, the
// thread running in another process) comes as an *AnsweredError, which
// says what was recorded.
//
// Resume of a paused thread without answers returns it still paused.
// Resume of a completed thread is ErrThreadCompleted, of a cancelled one
// ErrThreadCancelled.
func (wf *Workflow[S]) Resume(ctx context.Context, thread string, opts ...RunOption) (*Result[S], error) {
	rc, err := wf.runConfig(opts)
	if err != nil {
		return nil, err
	}
	rc.byKey = rc.keyed
	rc.resumer = rc.author
	runCtx, a, err := wf.acquire(ctx, thread)
	if err != nil {
		if !rc.answering() {
			return nil, err
		}
		// Running here: record the answers; the run sees them when it
		// pauses, and carries on with them.
		r := wf.newRun(ctx, ctx, wf.p, thread, &rc, nil)
		return nil, r.recordOnly(err)
	}
	r := wf.newRun(runCtx, ctx, wf.p, thread, &rc, a)
	defer func() { a.release(); wf.recycle(r) }()
	r.register(a)
	res, err := r.resume(nil)
	err = r.explainLoss(err)
	if err != nil && len(r.recorded) > 0 && !errors.As(err, new(*AnsweredError)) {
		err = &AnsweredError{Thread: thread, Answered: slices.Clone(r.recorded), Err: err}
	}
	return res, err
}

// resume is Resume once the thread is marked as running here.
// resume is Resume, or with claimed set Continue of the thread this
// process claimed (its row).
func (r *run[S]) resume(claimed *checkpoint.Thread) (*Result[S], error) {
	wf, ctx, thread := r.wf, r.ctx, r.thread
	row := claimed
	if row == nil {
		var err error
		if row, err = wf.st.Thread(ctx, thread); err != nil {
			return nil, err
		}
	}
	r.claimed = claimed != nil
	if err := wf.owns(row); err != nil {
		return nil, err
	}
	switch row.Status {
	case StatusCompleted:
		return nil, wf.lateAnswers(ctx, r, fmt.Errorf("thread %q: %w", thread, ErrThreadCompleted))
	case StatusCancelled:
		return nil, wf.lateAnswers(ctx, r, fmt.Errorf("thread %q: %w", thread, ErrThreadCancelled))
	}
	r.tr.setRow(*row, r.claimed, wf.now())
	if row.Head == "" {
		return r.resumeSubmitted()
	}
	var err error
	if r.head, err = wf.p.rootSnapshot(ctx, row, "", r.newSnap()); err != nil {
		return nil, err
	}
	r.rootCP = r.head.cp.ID
	var q *checkpoint.InterruptQuery
	if r.kept != nil {
		q = &r.kept.query
	} else {
		q = new(checkpoint.InterruptQuery)
	}
	if r.records, err = wf.questionsIn(ctx, q, thread, r.head.cp.ID, ""); err != nil {
		return nil, err
	}
	if err := wf.checkGraph(row, r.head, r.records); err != nil {
		return nil, err
	}
	if row.GraphHash != wf.hash {
		// Another graph wrote the thread: what its pending writes name
		// must exist here too, before anything is recorded.
		ws, err := wf.p.writes(ctx, thread, "", r.head.cp.ID, &r.head.state)
		if err != nil {
			return nil, err
		}
		if err := r.checkWrites(ws); err != nil {
			return nil, err
		}
	}
	answers, err := wf.collectAnswers(r)
	if err != nil {
		return nil, err
	}
	cmd, err := r.commandWrite()
	if err != nil {
		return nil, err
	}
	if !r.claimed && len(answers) == 0 && cmd == nil && row.Status == StatusInterrupted && slices.ContainsFunc(r.records, isPending) {
		return r.result(StatusInterrupted, r.records), nil // nothing to act on
	}
	if err := r.claim(answers, cmd); err != nil {
		return nil, err
	}
	if len(answers) > 0 {
		r.recordAnswers(answers)
	}
	if !r.tr.row.StopRequested.IsZero() {
		return r.stop(nil, nil, nil)
	}
	if input, ok, err := r.submittedInput(); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return r.startSubmitted(input)
	}
	r.resumed = true
	r.emit(Event{Type: EventResumed, Checkpoint: r.head.cp.ID, Next: r.head.cp.Next})
	wf.log(ctx, "weft: run resumed", thread, "answers", len(answers))
	return r.loop()
}

// Continue carries on a thread that this process has claimed already: row
// is the thread's row as the claim left it (from Store.ClaimReady, with
// Owner this workflow's owner). It is how a worker runs the threads it
// claims; it does what Resume does without answers.
func (wf *Workflow[S]) Continue(ctx context.Context, row checkpoint.Thread, opts ...RunOption) (*Result[S], error) {
	if row.Status != StatusRunning || row.Owner != wf.owner {
		return nil, fmt.Errorf("weft: Continue of thread %q, which is %s by %q, not claimed by %q: %w", row.ID, row.Status, row.Owner, wf.owner, ErrInvalidInput)
	}
	rc, err := wf.runConfig(opts)
	if err != nil {
		return nil, err
	}
	outer := ctx
	ctx, a, err := wf.acquire(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	r := wf.newRun(ctx, outer, wf.p, row.ID, &rc, a)
	defer func() { a.release(); wf.recycle(r) }()
	r.register(a)
	res, err := r.resume(&row)
	return res, r.explainLoss(err)
}

// explainLoss says why a run that held a claim failed when the claim is
// what it lost: a process that froze and woke after another took the
// thread over finds the thread changed under it (its input consumed, its
// checkpoint moved on) before its heartbeat noticed. Such an error wraps
// ErrClaimLost, whatever the store call that failed.
func (r *run[S]) explainLoss(err error) error {
	if err == nil || errors.Is(err, ErrClaimLost) {
		return err
	}
	owner, epoch := r.tr.claim()
	if owner != r.wf.owner || epoch == 0 {
		return err // it never held a claim
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	row, rerr := r.wf.st.Thread(ctx, r.thread)
	if rerr == nil && (row.Owner != owner || row.Epoch != epoch) {
		return fmt.Errorf("thread %q: another process took it over (epoch %d, by %s): %w (%w)", r.thread, row.Epoch, row.Owner, ErrClaimLost, err)
	}
	return err
}

// Owner is the name the workflow's runs claim threads under in the store
// (see WithOwner).
func (wf *Workflow[S]) Owner() string { return wf.owner }

func isPending(x checkpoint.InterruptRecord) bool { return x.Status == checkpoint.InterruptPending }

// recordOnly records the answers of a Resume of a thread this process runs
// already (busy is the error that says so), without claiming it.
func (r *run[S]) recordOnly(busy error) error {
	wf, ctx, thread := r.wf, r.ctx, r.thread
	row, err := wf.st.Thread(ctx, thread)
	if err != nil {
		return err
	}
	if err := wf.owns(row); err != nil {
		return err
	}
	r.tr.setRow(*row, false, time.Time{})
	if row.Head != "" {
		if r.records, err = wf.questionsAt(ctx, thread, row.Head, ""); err != nil {
			return err
		}
	}
	answers, err := wf.collectAnswers(r)
	if err != nil {
		return err
	}
	if len(answers) == 0 {
		return busy
	}
	if _, err := wf.st.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: thread, Answers: answers}); err != nil {
		return err
	}
	ids := make([]string, len(answers))
	for i, a := range answers {
		ids[i] = a.InterruptID
	}
	return &AnsweredError{Thread: thread, Answered: ids, Err: busy}
}

// claim claims the thread in the store, recording answers if any in the
// same step. A thread that runs elsewhere keeps running there: the answers
// are recorded all the same, and the error (ErrBusy) says so.
func (r *run[S]) claim(answers []checkpoint.Answer, cmd *checkpoint.PendingWrite) error {
	wf, thread := r.wf, r.thread
	if r.claimed {
		if len(answers) > 0 || cmd != nil {
			return fmt.Errorf("weft: Continue of thread %q takes no answers: %w", thread, ErrInvalidInput)
		}
		return nil
	}
	if len(answers) > 0 {
		// The request and its claim in the run's room (stores keep nothing
		// of what they are given), or in one allocation.
		var rq *answerClaim
		if r.kept != nil {
			rq = &r.kept.answer
		} else {
			rq = new(answerClaim)
		}
		rq.claim = checkpoint.Claim{Owner: wf.owner, Lease: wf.cfg.lease}
		req := &rq.req
		*req = checkpoint.AnswerRequest{ThreadID: thread, Answers: answers, Claim: &rq.claim}
		if cmd != nil {
			req.Writes = []checkpoint.PendingWrite{*cmd}
		}
		res, err := wf.st.Answer(r.ctx, req)
		if err != nil {
			return err
		}
		if r.kept != nil && len(answers) <= len(r.kept.recorded) {
			r.recorded = r.kept.recorded[:len(answers):len(answers)]
		} else {
			r.recorded = make([]string, len(answers))
		}
		for i, a := range answers {
			r.recorded[i] = a.InterruptID
		}
		if !res.Claimed {
			return fmt.Errorf("thread %q is %s (in %s), which carries on with the answers: %w", thread, res.Thread.Status, res.Thread.Owner, ErrBusy)
		}
		r.tr.setRow(res.Thread, true, wf.now())
		return nil
	}
	row, err := wf.st.Claim(r.ctx, &checkpoint.Claim{ThreadID: thread, ExpectedVersion: r.tr.row.Version, Owner: wf.owner, Lease: wf.cfg.lease})
	if err != nil {
		return busyError(err)
	}
	r.tr.setRow(*row, true, wf.now())
	if cmd != nil {
		err := wf.st.PutWrites(r.ctx, &checkpoint.PutWrites{ThreadID: thread, Owner: row.Owner, Epoch: row.Epoch, Writes: []checkpoint.PendingWrite{*cmd}})
		if err != nil {
			return fmt.Errorf("thread %q: the update given to Resume: %w", thread, err)
		}
	}
	return nil
}

// recordAnswers marks answers as recorded in r.records and reports them.
func (r *run[S]) recordAnswers(answers []checkpoint.Answer) {
	for _, a := range answers {
		for i := range r.records {
			if rec := &r.records[i]; rec.ID == a.InterruptID {
				rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, a.Value, a.Author, a.Channel, a.At
				r.answeredEvent(rec, false)
			}
		}
	}
}

// lateAnswers explains answers given to a thread that has ended: each is
// refused as answered (or cancelled) before, or as never asked, with err.
func (wf *Workflow[S]) lateAnswers(ctx context.Context, r *run[S], err error) error {
	for _, a := range r.rc.answers {
		page, qerr := wf.st.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: r.thread, ID: a.id})
		switch {
		case qerr != nil:
			return errors.Join(err, qerr)
		case len(page.Interrupts) > 0:
			return fmt.Errorf("question %s is %s: %w (%w)", a.id, page.Interrupts[0].Status, ErrAlreadyAnswered, err)
		default:
			return fmt.Errorf("thread %q never asked %s: %w (%w)", r.thread, a.id, ErrUnknownInterrupt, err)
		}
	}
	if len(r.rc.byKey) > 0 || r.rc.reply != nil {
		return fmt.Errorf("no question waits for an answer: %w (%w)", ErrAlreadyAnswered, err)
	}
	return err
}

// questionsAt returns the thread's questions of the pause at checkpoint
// cpID (of status, if not ""), every page of them.
func (wf *Workflow[S]) questionsAt(ctx context.Context, thread, cpID string, status checkpoint.InterruptStatus) ([]checkpoint.InterruptRecord, error) {
	return wf.questionsIn(ctx, new(checkpoint.InterruptQuery), thread, cpID, status)
}

// questionsIn is questionsAt with its query made in q (stores keep
// nothing of what they are given).
func (wf *Workflow[S]) questionsIn(ctx context.Context, q *checkpoint.InterruptQuery, thread, cpID string, status checkpoint.InterruptStatus) ([]checkpoint.InterruptRecord, error) {
	*q = checkpoint.InterruptQuery{ThreadID: thread, CheckpointID: cpID, Status: status, Limit: 1000}
	var recs []checkpoint.InterruptRecord
	for {
		page, err := wf.st.Interrupts(ctx, q)
		if err != nil {
			return nil, err
		}
		if page.Next == "" && recs == nil {
			return page.Interrupts, nil // one page: the store's copy
		}
		recs = append(recs, page.Interrupts...)
		if page.Next == "" {
			return recs, nil
		}
		q.After = page.Next
	}
}

// busyError is the error of a run that could not claim a thread: another
// run's claim or commit came first, so the thread is busy.
func busyError(err error) error {
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w (%w)", ErrBusy, err)
	}
	return err
}

// collectAnswers checks the answers of a Resume against the questions at
// the head and adds the implicit answers that pass pending breakpoints.
func (wf *Workflow[S]) collectAnswers(r *run[S]) ([]checkpoint.Answer, error) {
	rc := r.rc
	at := wf.now()
	var out []checkpoint.Answer // the store copies them
	if r.kept != nil {
		out = r.kept.answers[:0]
	}
	seen := map[string]bool{}
	add := func(rec *checkpoint.InterruptRecord, value any) error {
		if rec.Status != checkpoint.InterruptPending || seen[rec.ID] {
			return fmt.Errorf("thread %q: question %s is %s: %w", r.thread, rec.ID, statusOf(rec, seen), ErrAlreadyAnswered)
		}
		seen[rec.ID] = true
		raw, err := answerJSON(value)
		if err == nil && !typeAnswers(rec.Schema, value) {
			err = validate(rec.Schema, raw)
		}
		if err != nil {
			return fmt.Errorf("answer to %s (node %s): %w: %w", rec.ID, rec.Node, ErrInvalidAnswer, err)
		}
		out = append(out, checkpoint.Answer{ThreadID: r.thread, InterruptID: rec.ID, Value: raw, Author: rc.author, Channel: r.channel(), At: at})
		return nil
	}
	for _, a := range rc.answers {
		i := slices.IndexFunc(r.records, func(x checkpoint.InterruptRecord) bool { return x.ID == a.id })
		if i < 0 {
			return nil, wf.notWaiting(r, a.id)
		}
		if err := add(&r.records[i], a.value); err != nil {
			return nil, err
		}
	}
	for _, k := range sortedKeys(rc.byKey) {
		rec, err := r.byKey(k)
		if err != nil {
			return nil, err
		}
		if err := add(rec, rc.byKey[k]); err != nil {
			return nil, err
		}
	}
	if rc.reply != nil {
		var pending []*checkpoint.InterruptRecord
		for i := range r.records {
			if rec := &r.records[i]; rec.Status == checkpoint.InterruptPending && !seen[rec.ID] {
				pending = append(pending, rec)
			}
		}
		switch len(pending) {
		case 0:
			return nil, fmt.Errorf("thread %q waits for no question to reply to: %w", r.thread, ErrUnknownInterrupt)
		case 1:
			if err := add(pending[0], rc.reply.value); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("thread %q waits for %d questions; Reply answers only one: answer them by ID or key: %w", r.thread, len(pending), ErrAmbiguousAnswer)
		}
	}
	for i := range r.records {
		if rec := &r.records[i]; rec.Status == checkpoint.InterruptPending && rec.Kind != checkpoint.KindDynamic && !seen[rec.ID] {
			out = append(out, checkpoint.Answer{ThreadID: r.thread, InterruptID: rec.ID, Value: json.RawMessage("null"), Author: rc.author, Channel: r.channel(), At: at})
		}
	}
	return out, nil
}

func statusOf(rec *checkpoint.InterruptRecord, seen map[string]bool) string {
	if seen[rec.ID] {
		return "answered twice in one call"
	}
	return string(rec.Status)
}

// answerJSON encodes an answer value; json.RawMessage is taken as it is.
func answerJSON(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, errors.New("not valid JSON")
		}
		return raw, nil
	}
	return marshalPayload(v)
}

// notWaiting is the error for an answer to a question that is not among
// those of the thread's pause: answered or cancelled at an earlier pause,
// or never asked.
func (wf *Workflow[S]) notWaiting(r *run[S], id string) error {
	page, err := wf.st.Interrupts(r.ctx, &checkpoint.InterruptQuery{ThreadID: r.thread, ID: id})
	if err != nil {
		return err
	}
	if len(page.Interrupts) > 0 {
		return fmt.Errorf("thread %q: question %s is %s (the thread moved past it): %w", r.thread, id, page.Interrupts[0].Status, ErrAlreadyAnswered)
	}
	return fmt.Errorf("thread %q does not wait on question %q: %w", r.thread, id, ErrUnknownInterrupt)
}

// byKey finds the one pending question that k names: its ID, its resume
// key (Question.ResumeKey) or its node path.
func (r *run[S]) byKey(k string) (*checkpoint.InterruptRecord, error) {
	var match []*checkpoint.InterruptRecord
	other := false
	for i := range r.records {
		rec := &r.records[i]
		if rec.ID != k && resumeKey(rec) != k && rec.Node != k {
			continue
		}
		if rec.Status != checkpoint.InterruptPending {
			other = true
			continue
		}
		match = append(match, rec)
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) > 1:
		return nil, fmt.Errorf("thread %q: %q names %d questions (%s): answer them by ID: %w", r.thread, k, len(match), idsOf(match), ErrAmbiguousAnswer)
	case other:
		return nil, fmt.Errorf("thread %q: the question %q names is answered already: %w", r.thread, k, ErrAlreadyAnswered)
	}
	return nil, fmt.Errorf("thread %q: no question it waits for is named %q: %w", r.thread, k, ErrUnknownInterrupt)
}

func idsOf(recs []*checkpoint.InterruptRecord) string {
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	return strings.Join(ids, ", ")
}

// checkGraph refuses a thread that waits in, or goes to, a node this graph
// lacks.
func (wf *Workflow[S]) checkGraph(row *checkpoint.Thread, head *snap[S], recs []checkpoint.InterruptRecord) error {
	if err := wf.knows(row.ID, head.cp.Next); err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Status == checkpoint.InterruptPending {
			top, _, _ := strings.Cut(rec.Node, "/")
			if err := wf.knows(row.ID, []string{top}); err != nil {
				return err
			}
		}
	}
	return nil
}

// knows refuses node names read from the store that the graph lacks.
func (wf *Workflow[S]) knows(thread string, names []string) error {
	for _, n := range names {
		if n != End && wf.nodes[nodeOf(n)] == nil {
			return fmt.Errorf("thread %q goes to node %q, which graph %q does not have (a deploy removed it?): %w", thread, n, wf.name, ErrGraphChanged)
		}
	}
	return nil
}

// State returns the thread's current state, what runs next and the questions
// it waits for.
func (wf *Workflow[S]) State(ctx context.Context, thread string) (*Snapshot[S], error) {
	return wf.StateAt(ctx, thread, "")
}

// StateAt returns the thread's state at a past checkpoint (see History);
// the empty ID is the head.
func (wf *Workflow[S]) StateAt(ctx context.Context, thread, checkpointID string) (*Snapshot[S], error) {
	row, err := wf.st.Thread(ctx, thread)
	if err != nil {
		return nil, err
	}
	if row.Head == "" && checkpointID == "" {
		return &Snapshot[S]{Thread: row.ID, Workflow: row.Workflow, Status: row.Status, Created: row.CreatedAt}, nil
	}
	s, err := wf.p.rootSnapshot(ctx, row, checkpointID, nil)
	if err != nil {
		return nil, err
	}
	snap := wf.snapshotOf(row, s)
	if wf.subgraphs {
		if snap.Subgraphs, err = wf.subgraphStates(ctx, wf.p.backing(), thread, "", "", s); err != nil {
			return nil, err
		}
	}
	recs, err := wf.questionsAt(ctx, thread, s.cp.ID, "")
	if err != nil {
		return nil, err
	}
	snap.Interrupts = questionsOf(recs)
	if err := wf.taskView(ctx, snap, s, recs, s.cp.ID == row.Head); err != nil {
		return nil, err
	}
	return snap, nil
}

func (wf *Workflow[S]) snapshotOf(row *checkpoint.Thread, s *snap[S]) *Snapshot[S] {
	return &Snapshot[S]{
		Thread: row.ID, Workflow: row.Workflow, Status: row.Status, Values: s.state,
		Next: slices.Clone(s.cp.Next), Checkpoint: s.cp.ID, Parent: s.cp.ParentID, Step: s.cp.Step,
		Source: s.cp.Source, Created: s.cp.CreatedAt, Error: row.Error, Owner: row.Owner, LeaseUntil: row.LeaseUntil,
		Author: s.cp.Meta[metaBy], Channel: s.cp.Meta[metaVia], Note: s.cp.Meta[metaNote],
	}
}

// History lists the thread's checkpoints, newest first, with their states.
// After a Fork it includes the abandoned branch too.
func (wf *Workflow[S]) History(ctx context.Context, thread string) iter.Seq2[*Snapshot[S], error] {
	return func(yield func(*Snapshot[S], error) bool) {
		row, err := wf.st.Thread(ctx, thread)
		if err != nil {
			yield(nil, err)
			return
		}
		cps, err := wf.st.History(ctx, &checkpoint.HistoryQuery{ThreadID: thread})
		if err != nil {
			yield(nil, err)
			return
		}
		for _, cp := range cps {
			s, err := wf.p.rootSnapshot(ctx, row, cp.ID, nil)
			if err == nil {
				var recs []checkpoint.InterruptRecord
				if recs, err = wf.questionsAt(ctx, thread, cp.ID, ""); err == nil {
					snap := wf.snapshotOf(row, s)
					snap.Interrupts = questionsOf(recs)
					if err = wf.taskView(ctx, snap, s, recs, cp.ID == row.Head); err == nil {
						if !yield(snap, nil) {
							return
						}
						continue
					}
				}
			}
			if !yield(nil, err) {
				return
			}
		}
	}
}

// Steps returns the thread's superstep log: every node run, in order, with
// its outcome and duration.
func (wf *Workflow[S]) Steps(ctx context.Context, thread string) ([]Step, error) {
	return wf.st.Steps(ctx, thread, 0)
}

// Stop stops a thread. A running thread's nodes see their contexts
// cancelled, the thread keeps its last checkpoint, its status becomes
// stopped, and Resume carries it on; if it runs in another process, Stop
// records the request in the store and returns, and that process stops it
// at its next heartbeat. A ready thread (answered, or submitted, and not
// yet picked up) becomes stopped. A paused thread is cancelled (see
// Cancel). Stop of a thread that is none of these returns ErrNotRunning.
func (wf *Workflow[S]) Stop(ctx context.Context, thread string) error {
	if a := wf.active.get(thread); a != nil {
		a.cancel(errStopped)
		return nil
	}
	row, err := wf.st.Thread(ctx, thread)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w (%w)", ErrNotRunning, err)
	}
	if err != nil {
		return err
	}
	switch row.Status {
	case StatusRunning, StatusReady:
		if _, err := wf.st.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: thread, At: wf.now()}); err != nil {
			return err
		}
		return nil
	case StatusInterrupted:
		return wf.Cancel(ctx, thread, "stopped")
	}
	return fmt.Errorf("thread %q is %s: %w", thread, row.Status, ErrNotRunning)
}

// Cancel ends a thread that waits (paused, ready, stopped or failed): its
// pending questions are withdrawn, with who cancelled them (By), how and
// why (reason) recorded on each, and the thread's status becomes
// cancelled. The cancel is a checkpoint of its own (Source "cancel"), with
// the state as it was and who cancelled it and why (Snapshot.Author,
// Channel, Note), so History shows it even when it withdrew no question.
// It keeps its history; Run starts a new turn on it, and Fork rewinds it.
// A running thread is refused with ErrBusy (stop it first), an ended one
// with ErrNotRunning.
func (wf *Workflow[S]) Cancel(ctx context.Context, thread, reason string, opts ...RunOption) error {
	rc, err := wf.runConfig(opts)
	if err != nil {
		return err
	}
	ctx, a, err := wf.acquire(ctx, thread)
	if err != nil {
		return err
	}
	defer a.release()
	for attempt := 0; ; attempt++ {
		row, err := wf.st.Thread(ctx, thread)
		if err != nil {
			return err
		}
		if err := wf.owns(row); err != nil {
			return err
		}
		switch row.Status {
		case StatusRunning:
			return fmt.Errorf("thread %q is running (in %s); stop it first: %w", thread, row.Owner, ErrBusy)
		case StatusCompleted, StatusCancelled:
			return fmt.Errorf("thread %q is %s: %w", thread, row.Status, ErrNotRunning)
		}
		r := wf.newRun(ctx, ctx, wf.p, thread, &rc, nil) // a new row per attempt
		r.register(a)
		r.tr.setRow(*row, false, time.Time{})
		at := wf.now()
		c := &commit[S]{c: checkpoint.Commit{At: at, Cancel: &checkpoint.Cancellation{Author: rc.author, Channel: r.channel(), At: at, Note: reason}}}
		if row.Head != "" {
			// The cancel is a checkpoint of its own, with the state as it
			// was: History shows who cancelled the thread and why, even
			// when no question was withdrawn.
			base, err := wf.p.rootSnapshot(ctx, row, "", nil)
			if err != nil {
				return err
			}
			c.c.Checkpoint = &checkpoint.Checkpoint{
				ThreadID: thread, ParentID: base.cp.ID, Step: base.cp.Step + 1, Source: checkpoint.SourceCancel,
				Next: base.cp.Next, Meta: CancelMeta(rc.author, r.channel(), reason), CreatedAt: at,
			}
			c.state, c.prev = base.state, base
		}
		err = r.save(c, StatusCancelled, "", nil)
		if errors.Is(err, ErrConflict) && attempt < 3 {
			continue // answered or edited meanwhile: look again
		}
		if err != nil {
			return err
		}
		wf.log(ctx, "weft: thread cancelled", thread, "reason", reason)
		return nil
	}
}

// Delete removes a thread and everything stored for it.
func (wf *Workflow[S]) Delete(ctx context.Context, thread string) error {
	_, a, err := wf.acquire(ctx, thread)
	if err != nil {
		return err
	}
	defer a.release()
	return wf.st.DeleteThread(ctx, thread)
}

// threadRunOf returns the room for a run's row in its mark a, or a new one
// when the run has no mark.
func threadRunOf(a *activeRun) *threadRun {
	if a == nil {
		return new(threadRun)
	}
	return &a.room
}
