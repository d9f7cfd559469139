package weft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
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

	p         persister[S]
	owner     string
	fanout    bool                // the graph has Map nodes
	subgraphs bool                // the graph has Subgraph nodes
	succ      map[string][]string // static successors in node order
	running   sync.Map            // thread -> context.CancelCauseFunc
}

// errStopped is the cause of a run's context cancelled by Stop.
var errStopped = errors.New("weft: stopped")

func (wf *Workflow[S]) init() {
	if wf.cfg.store != nil {
		wf.p = &storePersister[S]{st: wf.cfg.store, si: wf.state, codec: wf.cfg.codec}
	} else {
		wf.p = memPersister[S]{m: newMemStore()}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	wf.owner = hex.EncodeToString(b[:])
	for _, n := range wf.nodes {
		wf.fanout = wf.fanout || n.fanout != nil
		wf.subgraphs = wf.subgraphs || n.sub != nil
	}
	wf.succ = map[string][]string{}
	for from, tos := range wf.edges {
		wf.succ[from] = wf.sortNodes(slices.Clone(tos))
	}
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
	if len(tasks) == 1 && wf.routes[tasks[0]] == nil {
		return wf.succ[tasks[0]], nil
	}
	for _, t := range tasks {
		next = append(next, wf.succ[t]...)
		rt := wf.routes[t]
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

// acquire claims the thread in this process, or fails with ErrBusy.
func (wf *Workflow[S]) acquire(ctx context.Context, thread string) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	if _, loaded := wf.running.LoadOrStore(thread, cancel); loaded {
		cancel(nil)
		return nil, nil, fmt.Errorf("thread %q is running in this process: %w", thread, ErrBusy)
	}
	return ctx, func() {
		wf.running.Delete(thread)
		cancel(nil)
	}, nil
}

// leased reports whether another process holds a live claim on the thread.
func (wf *Workflow[S]) leased(row *checkpoint.Thread) bool {
	return row.Status == StatusRunning && row.Owner != wf.owner && row.LeaseUntil.After(wf.now())
}

func (wf *Workflow[S]) newRun(ctx context.Context, p persister[S], thread string, rc *runConfig) *run[S] {
	r := &run[S]{wf: wf, ctx: ctx, saveCtx: context.WithoutCancel(ctx), p: p, rc: rc, thread: thread,
		before: wf.cfg.before, after: wf.cfg.after,
		tr: &threadRun{row: checkpoint.Thread{ID: thread}, owner: wf.owner, lease: wf.cfg.lease, name: wf.name, hash: wf.hash}}
	if s := rc.sink; s != nil {
		r.tr.ev = newEmitter(wf.cfg.observers, rc.observers, func(e Event) bool { return s.yield(e, nil) }, s.leave)
		s.em = r.tr.ev
	} else {
		r.tr.ev = newEmitter(wf.cfg.observers, rc.observers, nil, nil)
	}
	if len(rc.before) > 0 {
		r.before = append(slices.Clone(wf.cfg.before), rc.before...)
	}
	if len(rc.after) > 0 {
		r.after = append(slices.Clone(wf.cfg.after), rc.after...)
	}
	return r
}

func (wf *Workflow[S]) runConfig(opts []RunOption) (*runConfig, error) {
	rc := &runConfig{}
	if len(opts) == 0 {
		return rc, nil
	}
	for _, o := range opts {
		o.applyRun(rc)
	}
	for _, n := range append(slices.Clone(rc.before), rc.after...) {
		if wf.nodes[n] == nil {
			return nil, fmt.Errorf("weft: breakpoint at unknown node %q: %w", n, ErrInvalidGraph)
		}
	}
	return rc, nil
}

// Run starts the thread with input and drives it until it completes,
// pauses or stops.
//
// A new thread starts from Start with input (zero fields taken from
// WithDefaults). A completed thread starts a new turn: input is folded into
// its current state (zero fields keep the current value, fields with a
// reducer are merged, others replaced) and the graph runs again from Start;
// this is how a multi-turn chat takes its next message. A thread that is
// paused, stopped or failed is refused with ErrThreadPaused: carry it on
// with Resume. The empty thread ID runs an ephemeral thread that is kept
// nowhere (with Answers, the stateless replay pattern).
//
// A node's failure returns the error (a *NodeError naming the node) and
// leaves the thread failed at its last checkpoint.
func (wf *Workflow[S]) Run(ctx context.Context, thread string, input S, opts ...RunOption) (*Result[S], error) {
	rc, err := wf.runConfig(opts)
	if err != nil {
		return nil, err
	}
	p := wf.p
	ephemeral := thread == ""
	if ephemeral {
		p = nopPersister[S]{}
	} else {
		var release func()
		if ctx, release, err = wf.acquire(ctx, thread); err != nil {
			return nil, err
		}
		defer release()
	}
	r := wf.newRun(ctx, p, thread, rc)
	state := input
	var parent *snap[S]
	var row *checkpoint.Thread
	err = checkpoint.ErrNotFound
	if !ephemeral {
		row, err = p.thread(ctx, thread)
	}
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		if d, ok := wf.cfg.defaults.(S); ok {
			state = wf.state.withDefaults(reflectOf(&state), reflectOf(&d)).Interface().(S)
		}
	case err != nil:
		return nil, err
	case wf.leased(row):
		return nil, fmt.Errorf("thread %q is running in another process: %w", thread, ErrBusy)
	case row.Status != StatusCompleted:
		return nil, fmt.Errorf("thread %q is %s; carry it on with Resume: %w", thread, row.Status, ErrThreadPaused)
	default:
		r.tr.row = *row
		if parent, err = p.snapshot(ctx, thread, "", ""); err != nil {
			return nil, err
		}
		folded, err := wf.state.fold(reflectOf(&parent.state), reflectOf(&state))
		if err != nil {
			return nil, err
		}
		state = folded.Interface().(S)
	}
	next, err := wf.next([]string{Start}, state)
	if err != nil {
		return nil, err
	}
	cp := &checkpoint.Checkpoint{ThreadID: thread, Source: checkpoint.SourceInput, Next: next, CreatedAt: wf.now()}
	if parent != nil {
		cp.ParentID, cp.Step = parent.cp.ID, parent.cp.Step+1
	}
	c := &commit[S]{c: checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp}, state: state, prev: parent}
	if err := r.save(c, StatusRunning, "", nil); err != nil {
		return nil, claimError(err)
	}
	r.head = &snap[S]{cp: *cp, state: state}
	r.rootCP = cp.ID
	r.emit(Event{Type: EventRunStarted, Checkpoint: cp.ID, Next: next})
	wf.log(ctx, "weft: run started", thread)
	return r.loop()
}

// Resume carries a thread on: with answers (Answer) to the questions it
// waits for, past a breakpoint, or from where it stopped or failed (a failed
// superstep runs again; its nodes that had finished are not re-run).
//
// Answers are checked before anything is recorded: an unknown question is
// ErrUnknownInterrupt, one answered before ErrAlreadyAnswered, one that does
// not satisfy the question's schema ErrInvalidAnswer; then the thread stays
// exactly as it was. If questions remain unanswered, Resume records the
// answers given and returns the thread still paused on the rest. Resume of a
// completed thread is ErrThreadCompleted.
func (wf *Workflow[S]) Resume(ctx context.Context, thread string, opts ...RunOption) (*Result[S], error) {
	rc, err := wf.runConfig(opts)
	if err != nil {
		return nil, err
	}
	ctx, release, err := wf.acquire(ctx, thread)
	if err != nil {
		return nil, err
	}
	defer release()
	r := wf.newRun(ctx, wf.p, thread, rc)
	row, err := wf.p.thread(ctx, thread)
	switch {
	case err != nil:
		return nil, err
	case wf.leased(row):
		return nil, fmt.Errorf("thread %q is running in another process: %w", thread, ErrBusy)
	case row.Status == StatusCompleted:
		return nil, fmt.Errorf("thread %q: %w", thread, ErrThreadCompleted)
	}
	r.tr.row = *row
	if r.head, err = wf.p.snapshot(ctx, thread, "", ""); err != nil {
		return nil, err
	}
	r.rootCP = r.head.cp.ID
	if r.records, err = wf.questionsAt(ctx, thread, r.head.cp.ID, ""); err != nil {
		return nil, err
	}
	if err := wf.checkGraph(row, r.head, r.records); err != nil {
		return nil, err
	}
	answers, err := wf.collectAnswers(ctx, r)
	if err != nil {
		return nil, err
	}
	if len(answers) > 0 {
		if err := wf.p.answer(ctx, answers); err != nil {
			return nil, err
		}
		for _, a := range answers {
			for i := range r.records {
				if rec := &r.records[i]; rec.ID == a.InterruptID {
					rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, a.Value, a.Author, a.Channel, a.At
					r.answeredEvent(rec, false)
				}
			}
		}
	}
	pending := func(x checkpoint.InterruptRecord) bool { return x.Status == checkpoint.InterruptPending }
	if len(answers) > 0 && slices.ContainsFunc(r.records, pending) {
		// Others may have answered the rest meanwhile (another process, or
		// a Resume refused as busy here): the store knows.
		if r.records, err = wf.questionsAt(ctx, thread, r.head.cp.ID, ""); err != nil {
			return nil, err
		}
	}
	if slices.ContainsFunc(r.records, pending) {
		if r.observed() {
			r.emit(Event{Type: EventInterrupted, Checkpoint: r.head.cp.ID, Questions: questionsOf(r.records)})
		}
		return r.result(StatusInterrupted, r.records), nil
	}
	if err := r.save(&commit[S]{c: checkpoint.Commit{At: wf.now()}}, StatusRunning, "", nil); err != nil {
		return nil, claimError(err)
	}
	r.resumed = true
	r.emit(Event{Type: EventResumed, Checkpoint: r.head.cp.ID, Next: r.head.cp.Next})
	wf.log(ctx, "weft: run resumed", thread, "answers", len(answers))
	return r.loop()
}

// questionsAt returns the thread's questions of the pause at checkpoint
// cpID (of status, if not ""), every page of them.
func (wf *Workflow[S]) questionsAt(ctx context.Context, thread, cpID string, status checkpoint.InterruptStatus) ([]checkpoint.InterruptRecord, error) {
	q := &checkpoint.InterruptQuery{ThreadID: thread, CheckpointID: cpID, Status: status, Limit: 1000}
	var recs []checkpoint.InterruptRecord
	for {
		page, err := wf.p.interrupts(ctx, q)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page.Interrupts...)
		if page.Next == "" {
			return recs, nil
		}
		q.After = page.Next
	}
}

// claimError is the error of a run that could not claim a thread: another
// run's commit came first, so the thread is busy.
func claimError(err error) error {
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w (%w)", ErrBusy, err)
	}
	return err
}

// collectAnswers checks the answers of a Resume against the questions at
// the head and adds the implicit answers that pass pending breakpoints.
func (wf *Workflow[S]) collectAnswers(ctx context.Context, r *run[S]) ([]checkpoint.Answer, error) {
	var out []checkpoint.Answer
	at := wf.now()
	seen := map[string]bool{}
	for _, a := range r.rc.answers {
		i := slices.IndexFunc(r.records, func(x checkpoint.InterruptRecord) bool { return x.ID == a.id })
		if i < 0 {
			page, err := wf.p.interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: r.thread, ID: a.id})
			if err != nil {
				return nil, err
			}
			if len(page.Interrupts) > 0 {
				return nil, fmt.Errorf("thread %q: interrupt %s is %s: %w", r.thread, a.id, page.Interrupts[0].Status, ErrAlreadyAnswered)
			}
			return nil, fmt.Errorf("thread %q does not wait on interrupt %q: %w", r.thread, a.id, ErrUnknownInterrupt)
		}
		rec := &r.records[i]
		if rec.Status != checkpoint.InterruptPending || seen[a.id] {
			return nil, fmt.Errorf("thread %q: interrupt %s is %s: %w", r.thread, a.id, rec.Status, ErrAlreadyAnswered)
		}
		seen[a.id] = true
		raw, err := json.Marshal(a.value)
		if err != nil {
			return nil, fmt.Errorf("answer to %s (node %s): %w: %w", a.id, rec.Node, ErrInvalidAnswer, err)
		}
		if err := validate(rec.Schema, raw); err != nil {
			return nil, fmt.Errorf("answer to %s (node %s): %w: %w", a.id, rec.Node, ErrInvalidAnswer, err)
		}
		out = append(out, checkpoint.Answer{ThreadID: r.thread, InterruptID: a.id, Value: raw, Author: r.rc.author, Channel: r.channel(), At: at})
	}
	for _, rec := range r.records {
		if rec.Status == checkpoint.InterruptPending && rec.Kind != checkpoint.KindDynamic && !seen[rec.ID] {
			out = append(out, checkpoint.Answer{ThreadID: r.thread, InterruptID: rec.ID, Value: json.RawMessage("null"), Author: r.rc.author, Channel: r.channel(), At: at})
		}
	}
	return out, nil
}

// checkGraph refuses a thread that waits in a node this graph lacks.
func (wf *Workflow[S]) checkGraph(row *checkpoint.Thread, head *snap[S], recs []checkpoint.InterruptRecord) error {
	if row.GraphHash == wf.hash {
		return nil
	}
	waits := slices.Clone(head.cp.Next)
	for _, rec := range recs {
		if rec.Status == checkpoint.InterruptPending {
			top, _, _ := strings.Cut(rec.Node, "/")
			waits = append(waits, top)
		}
	}
	for _, n := range waits {
		if wf.nodes[n] == nil {
			return fmt.Errorf("thread %q waits in node %q, which graph %q no longer has: %w", row.ID, n, wf.name, ErrGraphChanged)
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
	row, err := wf.p.thread(ctx, thread)
	if err != nil {
		return nil, err
	}
	s, err := wf.p.snapshot(ctx, thread, "", checkpointID)
	if err != nil {
		return nil, err
	}
	snap := wf.snapshotOf(row, s)
	if wf.subgraphs {
		if snap.Subgraphs, err = wf.subgraphStates(ctx, wf.p.backing(), thread, "", "", s); err != nil {
			return nil, err
		}
	}
	recs, err := wf.questionsAt(ctx, thread, s.cp.ID, checkpoint.InterruptPending)
	if err != nil {
		return nil, err
	}
	snap.Interrupts = questionsOf(recs)
	return snap, nil
}

func (wf *Workflow[S]) snapshotOf(row *checkpoint.Thread, s *snap[S]) *Snapshot[S] {
	return &Snapshot[S]{
		Thread: row.ID, Workflow: row.Workflow, Status: row.Status, Values: s.state,
		Next: slices.Clone(s.cp.Next), Checkpoint: s.cp.ID, Parent: s.cp.ParentID, Step: s.cp.Step,
		Source: s.cp.Source, Created: s.cp.CreatedAt, Error: row.Error,
	}
}

// UpdateOption configures UpdateState and Fork.
type UpdateOption func(*updateConfig)

type updateConfig struct{ asNode string }

// AsNode makes an update count as the output of node: the next superstep
// runs the nodes that follow it, as if it had just run.
func AsNode(node string) UpdateOption { return func(c *updateConfig) { c.asNode = node } }

// UpdateState changes a thread's state between runs: fn gets the current
// state and returns the new one, written as a new checkpoint. Without AsNode
// the thread will run the same nodes next; with it, the nodes after that
// node. Pending questions are cancelled (a node that asked will ask again
// when it re-runs); a breakpoint the thread was paused at is passed when it
// is resumed. Afterwards the thread is completed if nothing runs next, and
// otherwise stopped: Resume carries it on.
func (wf *Workflow[S]) UpdateState(ctx context.Context, thread string, fn func(S) S, opts ...UpdateOption) (*Snapshot[S], error) {
	return wf.write(ctx, thread, "", fn, checkpoint.SourceUpdate, opts)
}

// Fork rewinds a thread to a past checkpoint (time travel): a new checkpoint
// with that checkpoint's state, changed by fn if not nil, becomes the head,
// and Resume runs again from there. The history after the past checkpoint
// stays in History.
func (wf *Workflow[S]) Fork(ctx context.Context, thread, checkpointID string, fn func(S) S, opts ...UpdateOption) (*Snapshot[S], error) {
	if checkpointID == "" {
		return nil, fmt.Errorf("weft: Fork of thread %q needs a checkpoint ID", thread)
	}
	return wf.write(ctx, thread, checkpointID, fn, checkpoint.SourceFork, opts)
}

func (wf *Workflow[S]) write(ctx context.Context, thread, baseID string, fn func(S) S, source string, opts []UpdateOption) (*Snapshot[S], error) {
	var cfg updateConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.asNode != "" && wf.nodes[cfg.asNode] == nil {
		return nil, fmt.Errorf("weft: AsNode(%q): no such node: %w", cfg.asNode, ErrInvalidGraph)
	}
	ctx, release, err := wf.acquire(ctx, thread)
	if err != nil {
		return nil, err
	}
	defer release()
	row, err := wf.p.thread(ctx, thread)
	if err != nil {
		return nil, err
	}
	if wf.leased(row) {
		return nil, fmt.Errorf("thread %q is running in another process: %w", thread, ErrBusy)
	}
	base, err := wf.p.snapshot(ctx, thread, "", baseID)
	if err != nil {
		return nil, err
	}
	state := base.state
	if fn != nil {
		state = fn(state)
	}
	next := base.cp.Next
	meta := map[string]string{}
	if cfg.asNode != "" {
		if next, err = wf.next([]string{cfg.asNode}, state); err != nil {
			return nil, err
		}
		meta["as_node"] = cfg.asNode
	}
	if baseID == "" && row.Status == StatusInterrupted {
		recs, err := wf.questionsAt(ctx, thread, base.cp.ID, "")
		if err != nil {
			return nil, err
		}
		var passed []string
		for _, rec := range recs {
			if rec.Kind == checkpoint.KindBefore && slices.Contains(next, rec.Task) {
				passed = append(passed, rec.Task)
			}
		}
		if len(passed) > 0 {
			meta[metaPassed] = strings.Join(passed, ",")
		}
	}
	cp := &checkpoint.Checkpoint{
		ThreadID: thread, ParentID: base.cp.ID, Step: base.cp.Step + 1,
		Source: source, Next: next, Meta: meta, CreatedAt: wf.now(),
	}
	r := wf.newRun(ctx, wf.p, thread, &runConfig{})
	r.tr.row = *row
	status := StatusStopped
	if len(next) == 0 {
		status = StatusCompleted
	}
	c := &commit[S]{c: checkpoint.Commit{At: cp.CreatedAt, CancelPending: true, Checkpoint: cp}, state: state, prev: base}
	if err := r.save(c, status, "", nil); err != nil {
		return nil, err
	}
	return wf.snapshotOf(&r.tr.row, &snap[S]{cp: *cp, state: state}), nil
}

// History lists the thread's checkpoints, newest first, with their states.
// After a Fork it includes the abandoned branch too.
func (wf *Workflow[S]) History(ctx context.Context, thread string) iter.Seq2[*Snapshot[S], error] {
	return func(yield func(*Snapshot[S], error) bool) {
		row, err := wf.p.thread(ctx, thread)
		if err != nil {
			yield(nil, err)
			return
		}
		cps, err := wf.p.history(ctx, &checkpoint.HistoryQuery{ThreadID: thread})
		if err != nil {
			yield(nil, err)
			return
		}
		for _, cp := range cps {
			s, err := wf.p.snapshot(ctx, thread, "", cp.ID)
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			if !yield(wf.snapshotOf(row, s), nil) {
				return
			}
		}
	}
}

// Steps returns the thread's superstep log: every node run, in order, with
// its outcome and duration.
func (wf *Workflow[S]) Steps(ctx context.Context, thread string) ([]Step, error) {
	return wf.p.steps(ctx, thread)
}

// Stop cancels a thread running in this process: its nodes' contexts are
// cancelled, the thread keeps its last checkpoint, its status becomes
// stopped, and Run or Resume returns a stopped Result. Resume carries it on.
// Stop of a thread that is not running here returns ErrNotRunning.
func (wf *Workflow[S]) Stop(ctx context.Context, thread string) error {
	v, ok := wf.running.Load(thread)
	if !ok {
		return fmt.Errorf("thread %q: %w", thread, ErrNotRunning)
	}
	v.(context.CancelCauseFunc)(errStopped)
	return nil
}

// Delete removes a thread and everything stored for it.
func (wf *Workflow[S]) Delete(ctx context.Context, thread string) error {
	_, release, err := wf.acquire(ctx, thread)
	if err != nil {
		return err
	}
	defer release()
	return wf.p.deleteThread(ctx, thread)
}
