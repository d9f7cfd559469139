package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// run drives one thread forward in one namespace: the loop of supersteps.
type run[S any] struct {
	wf  *Workflow[S]
	ctx context.Context
	// saveCtx outlives a stop: the commit that records it must go through.
	saveCtx context.Context
	p       persister[S]
	rc      *runConfig
	thread  string
	ns      string
	// prefix is the node path of the subgraph node this run is inside
	// ("outer/inner"); "" for the root.
	prefix string
	// tr is the thread's row, shared with the runs of subgraphs inside
	// this one; child is true for those.
	tr    *threadRun
	child bool
	// off is true for a run on another goroutine than the root run's (a
	// subgraph inside a parallel task).
	off    bool
	head   *snap[S]
	rootCP string // the root namespace's head: the pause the questions belong to
	// records are the questions of the pause at the head (any status),
	// loaded when a paused thread is resumed.
	records []checkpoint.InterruptRecord
	resumed bool
	// waiting are the questions of the pause this run ended with.
	waiting []checkpoint.InterruptRecord
	// pending are the pending writes of the superstep being run (outputs
	// of tasks that finished, Do journals, gotos), loaded on resume.
	pending []write[S]
	steps   int
	// at is the time of the end of the last superstep, used for what the
	// superstep commits.
	at     time.Time
	before []string
	after  []string

	// Buffers reused from one superstep to the next.
	spare   *snap[S] // the head before last, unless the persister keeps it
	c       commit[S]
	stepBuf []checkpoint.Step
	resBuf  []taskResult[S]
}

func (r *run[S]) now() time.Time { return r.wf.now() }

// stamp is the time of what is being committed: the end of the last
// superstep if one just ran, else now.
func (r *run[S]) stamp() time.Time {
	if t := r.at; !t.IsZero() {
		r.at = time.Time{}
		return t
	}
	return r.now()
}

func (r *run[S]) author() string {
	if r.rc.author != "" {
		return r.rc.author
	}
	return "replay"
}

func (r *run[S]) channel() string {
	if r.rc.channel != "" {
		return r.rc.channel
	}
	return checkpoint.ChannelAPI
}

// replayed finds an up-front answer (Answers) by ID, key or node path.
func (r *run[S]) replayed(id, key, path string) (json.RawMessage, bool) {
	if len(r.rc.replay) == 0 {
		return nil, false
	}
	for _, k := range []string{id, key, path} {
		if v, ok := r.rc.replay[k]; ok && k != "" {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, false
			}
			return b, true
		}
	}
	return nil, false
}

// threadRun is what the runs of one thread share: its row, and the lock
// that orders their commits (a graph and its subgraphs commit to one
// thread, subgraphs of parallel nodes at once).
type threadRun struct {
	mu    sync.Mutex
	row   checkpoint.Thread
	owner string
	lease time.Duration
	name  string // the root workflow's name and graph hash
	hash  string
	ev    *emitter // nil without observers
}

// status is the thread's status as this run last saw it.
func (r *run[S]) status() Status {
	r.tr.mu.Lock()
	defer r.tr.mu.Unlock()
	return r.tr.row.Status
}

// taskResult is what one task of a superstep ended with.
type taskResult[S any] struct {
	t       *task[S]
	out     S
	gotos   []string
	err     error
	reused  bool
	started time.Time
	dur     time.Duration
}

func (tr *taskResult[S]) paused() bool {
	return tr.t != nil && tr.t.waiting > 0 && tr.t.fatal == nil &&
		(tr.err == nil || errors.As(tr.err, new(*PauseError)))
}

// loop runs supersteps until the graph ends, pauses, stops or fails.
func (r *run[S]) loop() (*Result[S], error) {
	limit := r.wf.cfg.stepLimit
	if r.rc.stepLimit > 0 {
		limit = r.rc.stepLimit
	}
	for {
		h := r.head
		if len(h.cp.Next) == 0 {
			if !r.child && r.status() != StatusCompleted {
				// Reached without a commit of its own (a resume of a
				// thread whose head has nothing next): record the end.
				if err := r.save(&commit[S]{c: checkpoint.Commit{At: r.now()}}, StatusCompleted, "", nil); err != nil {
					return nil, err
				}
			}
			if !r.child {
				r.emit(Event{Type: EventCompleted, Checkpoint: h.cp.ID})
			}
			return r.result(StatusCompleted, nil), nil
		}
		if r.steps >= limit {
			return nil, r.fail(nil, nil, nil, fmt.Errorf("thread %q: %d supersteps: %w", r.thread, r.steps, ErrStepLimit))
		}
		if recs := r.breakpoints(checkpoint.KindBefore, h.cp.Next, h); len(recs) > 0 {
			return r.pause(recs, nil, nil, nil)
		}
		tasks := r.wf.expand(h.cp.Next, h.state)
		r.pending = r.pending[:0]
		if r.resumed {
			ws, err := r.p.writes(r.ctx, r.thread, r.ns, h.cp.ID, &h.state)
			if err != nil {
				return nil, err
			}
			r.pending = ws
		}
		start := r.now()
		results := r.runTasks(tasks, start)
		end := r.now()
		r.at = end
		r.steps++
		r.resumed = false
		r.records = nil

		steps := r.stepBuf[:0]
		var failed error
		var paused bool
		for i := range results {
			tr := &results[i]
			st := checkpoint.Step{
				ThreadID: r.thread, Namespace: r.ns, Superstep: h.cp.Step + 1, CheckpointID: h.cp.ID,
				Node: r.path(nodeOf(tasks[i])), Task: tasks[i], Status: checkpoint.StepCompleted,
				StartedAt: tr.started, Duration: tr.dur,
			}
			if tr.dur < 0 { // timed by the superstep, not by itself
				st.Duration = end.Sub(tr.started)
			}
			switch {
			case tr.reused:
				st.Status = checkpoint.StepReused
			case tr.paused():
				st.Status = checkpoint.StepInterrupted
				paused = true
			case tr.err != nil:
				st.Status, st.Error = checkpoint.StepFailed, tr.err.Error()
				if r.ctx.Err() != nil {
					st.Status = checkpoint.StepStopped
				}
				if failed == nil {
					failed = tr.err
				}
			}
			steps = append(steps, st)
		}
		r.stepBuf = steps
		if r.ctx.Err() != nil {
			return r.stop(tasks, results, steps)
		}
		if failed != nil {
			return nil, r.fail(tasks, results, steps, failed)
		}
		if paused {
			var recs []checkpoint.InterruptRecord
			for i := range results {
				if t := results[i].t; t != nil {
					recs = append(recs, t.asked...)
				}
			}
			return r.pause(recs, tasks, results, steps)
		}
		if err := r.advance(tasks, results, steps); err != nil {
			return nil, err
		}
		if len(r.records) > 0 {
			return r.result(StatusInterrupted, nil), nil
		}
	}
}

func (r *run[S]) path(node string) string {
	if r.prefix == "" {
		return node
	}
	return r.prefix + "/" + node
}

// runTasks runs the superstep's tasks: one inline, several in parallel.
// A task with a pending output from an earlier attempt is not run again.
func (r *run[S]) runTasks(tasks []string, start time.Time) []taskResult[S] {
	results := slices.Grow(r.resBuf[:0], len(tasks))[:len(tasks)]
	clear(results)
	r.resBuf = results
	var todo []int
	for i, name := range tasks {
		if j := slices.IndexFunc(r.pending, func(w write[S]) bool { return w.task == name && w.kind == writeOutput }); j >= 0 {
			results[i] = taskResult[S]{out: r.pending[j].out, reused: true, started: start}
			if k := slices.IndexFunc(r.pending, func(w write[S]) bool { return w.task == name && w.kind == writeGoto }); k >= 0 {
				if err := json.Unmarshal(r.pending[k].data, &results[i].gotos); err != nil {
					results[i].err = fmt.Errorf("thread %q checkpoint %s: goto of %s: %w: %w", r.thread, r.head.cp.ID, name, ErrCorruptCheckpoint, err)
				}
			}
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) == 1 {
		i := todo[0]
		results[i] = r.runTask(tasks[i], r.head.state, start)
		return results
	}
	var wg sync.WaitGroup
	for _, i := range todo {
		// Each parallel node gets a copy whose slices are capped, so
		// appends in one branch never write into another's array.
		in := r.head.state
		r.wf.state.clip(reflectOf(&in))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.runTask(tasks[i], in, time.Time{})
		}()
	}
	if r.off {
		wg.Wait()
	} else {
		r.tr.ev.wait(&wg)
	}
	return results
}

// runTask runs one node. A zero start makes it time itself (parallel
// tasks); otherwise the superstep times it.
func (r *run[S]) runTask(name string, in S, start time.Time) (tr taskResult[S]) {
	nodeName, branch := splitTask(name)
	t := &task[S]{Context: r.ctx, r: r, node: nodeName, path: r.path(nodeName), name: name, cpID: r.head.cp.ID,
		off: r.off || start.IsZero()}
	for _, rec := range r.records {
		if rec.Kind == checkpoint.KindDynamic && rec.Namespace == r.ns && rec.Task == name {
			t.prior = append(t.prior, rec)
		}
	}
	slices.SortFunc(t.prior, func(a, b checkpoint.InterruptRecord) int { return a.Index - b.Index })
	tr.t = t
	tr.started, tr.dur = start, -1
	if start.IsZero() {
		tr.started = r.now()
	}
	defer func() {
		if start.IsZero() {
			tr.dur = r.now().Sub(tr.started)
		}
		if p := recover(); p != nil {
			tr.err = &NodeError{Node: t.path, Panic: p, Stack: string(debug.Stack())}
		}
	}()
	if r.observed() {
		r.emitFrom(Event{Type: EventNodeStarted, Node: t.path, Task: name, Checkpoint: t.cpID, Time: tr.started}, t.off)
		defer func() {
			if tr.paused() {
				return
			}
			e := Event{Type: EventNodeFinished, Node: t.path, Task: name, Checkpoint: t.cpID, Update: tr.out}
			if tr.err != nil {
				e.Update, e.Err = nil, tr.err.Error()
			}
			r.emitFrom(e, t.off)
		}()
	}
	var out S
	var err error
	if n := r.wf.nodes[nodeName]; branch >= 0 {
		out, err = n.fanout.run(t, in, branch)
	} else {
		out, err = n.fn(t, in)
	}
	tr.out, tr.gotos = out, t.gotos
	switch {
	case t.fatal != nil:
		tr.err = t.fatal
	case err != nil && !errors.As(err, new(*PauseError)):
		tr.err = &NodeError{Node: t.path, Err: err}
	case t.waiting == 0 && err != nil:
		tr.err = &NodeError{Node: t.path, Err: fmt.Errorf("returned a pause that is not its own: %w", err)}
	case t.waiting == 0 && t.calls < len(t.prior):
		tr.err = fmt.Errorf("node %s: asked %d questions, the thread recorded %d: %w", t.path, t.calls, len(t.prior), ErrInterruptMismatch)
	}
	return tr
}

// splitTask splits a task name into its node and branch ("tools#2" is
// branch 2 of Map node tools; other tasks are branch -1).
func splitTask(task string) (string, int) {
	node, idx, ok := strings.Cut(task, "#")
	if !ok {
		return task, -1
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return task, -1
	}
	return node, i
}

func nodeOf(task string) string {
	node, _ := splitTask(task)
	return node
}

// nodesOf returns the nodes of a superstep's tasks, in order, once each.
func nodesOf(tasks []string) []string {
	if !slices.ContainsFunc(tasks, func(t string) bool { return strings.Contains(t, "#") }) {
		return tasks
	}
	nodes := make([]string, len(tasks))
	for i, t := range tasks {
		nodes[i] = nodeOf(t)
	}
	return slices.Compact(nodes)
}

// expand turns the nodes of a superstep into its tasks: a Map node becomes
// one task per item ("tools#0", "tools#1", ...), or itself with no items.
func (wf *Workflow[S]) expand(next []string, s S) []string {
	if !wf.fanout {
		return next
	}
	var tasks []string
	for _, n := range next {
		m := wf.nodes[n].fanout
		k := 0
		if m != nil {
			k = m.count(s)
		}
		if k == 0 {
			tasks = append(tasks, n)
			continue
		}
		for i := range k {
			tasks = append(tasks, n+"#"+strconv.Itoa(i))
		}
	}
	return tasks
}

// breakpoints returns the static interrupts of kind for nodes at checkpoint
// h that are not passed yet (answered, or passed by UpdateState).
func (r *run[S]) breakpoints(kind string, nodes []string, h *snap[S]) []checkpoint.InterruptRecord {
	set := r.before
	if kind == checkpoint.KindAfter {
		set = r.after
	}
	if len(set) == 0 {
		return nil
	}
	var recs []checkpoint.InterruptRecord
	passed := strings.Split(h.cp.Meta[metaPassed], ",")
	for _, n := range nodes {
		if !slices.Contains(set, n) || (kind == checkpoint.KindBefore && slices.Contains(passed, n)) {
			continue
		}
		id := interruptID(r.thread, r.ns, h.cp.ID, n, kind)
		if slices.ContainsFunc(r.records, func(x checkpoint.InterruptRecord) bool { return x.ID == id }) {
			continue
		}
		root := r.rootCP
		if kind == checkpoint.KindAfter && r.ns == "" {
			root = h.cp.ID
		}
		recs = append(recs, checkpoint.InterruptRecord{
			ID: id, ThreadID: r.thread, Workflow: r.wf.name, CheckpointID: root, Namespace: r.ns,
			Node: r.path(n), Task: n, Kind: kind, Value: json.RawMessage("null"),
			Status: checkpoint.InterruptPending, CreatedAt: r.now(),
		})
	}
	return recs
}

const metaPassed = "passed_before"

// outputs turns finished tasks into pending writes, so they do not run again.
func (r *run[S]) outputs(tasks []string, results []taskResult[S]) []write[S] {
	var ws []write[S]
	for i := range results {
		tr := &results[i]
		if tr.reused || tr.err != nil || tr.paused() {
			continue
		}
		ws = append(ws, write[S]{ns: r.ns, cpID: r.head.cp.ID, task: tasks[i], kind: writeOutput, out: tr.out, base: &r.head.state})
		if len(tr.gotos) > 0 {
			data, _ := json.Marshal(tr.gotos) // []string always encodes
			ws = append(ws, write[S]{ns: r.ns, cpID: r.head.cp.ID, task: tasks[i], kind: writeGoto, data: data})
		}
	}
	return ws
}

// answered returns the questions tasks asked and got answered at once (by
// up-front answers or resolvers), to keep in the thread's audit trail.
func answered[S any](results []taskResult[S]) []checkpoint.InterruptRecord {
	var recs []checkpoint.InterruptRecord
	for i := range results {
		if t := results[i].t; t != nil {
			for _, rec := range t.asked {
				if rec.Status == checkpoint.InterruptAnswered {
					recs = append(recs, rec)
				}
			}
		}
	}
	return recs
}

// save commits c with the thread's status set to status (a subgraph's run
// leaves the status and head to its parent). It fills in the thread row,
// the expected version and the ID of a checkpoint without one under the
// thread's lock; prepare, if not nil, is
// called there first with the version the commit will have, to name what
// depends on it, and may return a different status ("" keeps status).
func (r *run[S]) save(c *commit[S], status Status, errText string, prepare func(version int64) Status) error {
	tr := r.tr
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if cp := c.c.Checkpoint; cp != nil && cp.ID == "" {
		cp.ID = checkpoint.FormatID(tr.row.Version + 1)
	}
	if prepare != nil {
		if s := prepare(tr.row.Version + 1); s != "" {
			status = s
		}
	}
	row := tr.row
	if !r.child {
		row.Status, row.Error = status, errText
		row.Workflow, row.GraphHash = tr.name, tr.hash
		if cp := c.c.Checkpoint; cp != nil {
			row.Head = cp.ID
		}
	}
	if row.Status == StatusRunning {
		row.Owner, row.LeaseUntil = tr.owner, c.c.At.Add(tr.lease)
	} else {
		row.Owner, row.LeaseUntil = "", time.Time{}
	}
	row.UpdatedAt = c.c.At
	c.c.Thread, c.c.ExpectedVersion = row, tr.row.Version
	v, err := r.p.commit(r.saveCtx, c)
	if err != nil {
		return fmt.Errorf("thread %q: %w", r.thread, err)
	}
	row.Version = v
	tr.row = row
	return nil
}

// pause commits a pause: new questions, finished outputs, the step log.
func (r *run[S]) pause(recs []checkpoint.InterruptRecord, tasks []string, results []taskResult[S], steps []checkpoint.Step) (*Result[S], error) {
	c := &commit[S]{c: checkpoint.Commit{At: r.stamp(), Interrupts: recs, Steps: steps}}
	if results != nil {
		c.writes = r.outputs(tasks, results)
	}
	if err := r.save(c, StatusInterrupted, "", nil); err != nil {
		return nil, err
	}
	waiting := make([]checkpoint.InterruptRecord, 0, len(recs))
	for _, rec := range r.records {
		if rec.Status == checkpoint.InterruptPending {
			waiting = append(waiting, rec)
		}
	}
	for _, rec := range recs {
		if rec.Status == checkpoint.InterruptPending {
			waiting = append(waiting, rec)
		}
	}
	for i := range results {
		if t := results[i].t; t != nil {
			waiting = append(waiting, t.nested...)
		}
	}
	r.waiting = waiting
	if !r.child && r.observed() {
		r.emit(Event{Type: EventInterrupted, Checkpoint: r.head.cp.ID, Questions: questionsOf(waiting)})
	}
	r.wf.log(r.ctx, "weft: thread paused", r.thread, "questions", len(waiting))
	return r.result(StatusInterrupted, waiting), nil
}

// fail commits a failure and returns err.
func (r *run[S]) fail(tasks []string, results []taskResult[S], steps []checkpoint.Step, err error) error {
	c := &commit[S]{c: checkpoint.Commit{At: r.stamp(), Steps: steps}}
	if results != nil {
		c.writes = r.outputs(tasks, results)
		for i := range results {
			if t := results[i].t; t != nil && results[i].paused() {
				c.c.Interrupts = append(c.c.Interrupts, t.asked...)
			}
		}
	}
	if serr := r.save(c, StatusFailed, err.Error(), nil); serr != nil {
		return errors.Join(err, serr)
	}
	if !r.child {
		r.emit(Event{Type: EventFailed, Checkpoint: r.head.cp.ID, Err: err.Error()})
	}
	r.wf.log(r.ctx, "weft: thread failed", r.thread, "error", err)
	return err
}

// stop commits a stop: the thread keeps its last checkpoint.
func (r *run[S]) stop(tasks []string, results []taskResult[S], steps []checkpoint.Step) (*Result[S], error) {
	c := &commit[S]{c: checkpoint.Commit{At: r.stamp(), Steps: steps}, writes: r.outputs(tasks, results)}
	if err := r.save(c, StatusStopped, "", nil); err != nil {
		return nil, err
	}
	res := r.result(StatusStopped, nil)
	if !r.child {
		r.emit(Event{Type: EventStopped, Checkpoint: r.head.cp.ID})
	}
	if cause := context.Cause(r.ctx); !errors.Is(cause, errStopped) {
		return res, fmt.Errorf("thread %q stopped: %w", r.thread, cause)
	}
	return res, nil
}

// advance merges the superstep's outputs, picks the next nodes and commits
// the new checkpoint (with after-breakpoints, if any).
func (r *run[S]) advance(tasks []string, results []taskResult[S], steps []checkpoint.Step) error {
	h := r.head
	var merged S
	if len(results) == 1 {
		merged = results[0].out
	} else {
		outs := make([]output, len(results))
		for i := range results {
			outs[i] = output{task: tasks[i], state: reflectOf(&results[i].out)}
		}
		m, err := r.wf.state.merge(reflectOf(&h.state), outs)
		if err != nil {
			return r.fail(nil, nil, steps, err)
		}
		merged = m.Interface().(S)
	}
	nodes := nodesOf(tasks)
	next, err := r.wf.next(nodes, merged)
	if err != nil {
		return r.fail(nil, nil, steps, err)
	}
	var gotos []string
	for i := range results {
		gotos = append(gotos, results[i].gotos...)
	}
	if len(gotos) > 0 {
		next = r.wf.sortNodes(slices.Concat(next, gotos))
	}
	newHead := r.spare
	if newHead == nil {
		newHead = new(snap[S])
	}
	r.spare = nil
	*newHead = snap[S]{state: merged, cp: checkpoint.Checkpoint{
		ThreadID: r.thread, Namespace: r.ns, ParentID: h.cp.ID,
		Step: h.cp.Step + 1, Source: checkpoint.SourceLoop, Next: next, CreatedAt: r.stamp(),
	}}
	cp := &newHead.cp
	status := StatusRunning
	if len(next) == 0 {
		status = StatusCompleted
	}
	var recs []checkpoint.InterruptRecord
	done := answered(results)
	r.c = commit[S]{
		c:     checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp, Steps: steps},
		state: merged, prev: h, head: newHead,
	}
	r.c.c.Interrupts = done
	var prepare func(int64) Status
	if len(r.after) > 0 { // the questions' IDs depend on the checkpoint's
		prepare = func(version int64) Status {
			cp.ID = checkpoint.FormatID(version)
			recs = r.breakpoints(checkpoint.KindAfter, nodes, newHead)
			r.c.c.Interrupts = append(done, recs...)
			if len(recs) > 0 {
				return StatusInterrupted
			}
			return ""
		}
	}
	err = r.save(&r.c, status, "", prepare)
	if err != nil {
		return err
	}
	r.head = newHead
	if !r.p.keeps() {
		r.spare = h // nothing holds on to it: the next superstep's head
	}
	if r.ns == "" {
		r.rootCP = cp.ID
	}
	r.records = recs
	if len(recs) > 0 {
		r.waiting = recs
	}
	if r.observed() {
		r.emit(Event{Type: EventStepCommitted, Node: r.prefix, Checkpoint: cp.ID, Next: next, Time: cp.CreatedAt})
		if len(recs) > 0 && !r.child {
			r.emit(Event{Type: EventInterrupted, Checkpoint: cp.ID, Questions: questionsOf(recs)})
		}
	}
	return nil
}

// questionsOf returns the pending ones of recs as questions (nil for none).
func questionsOf(recs []checkpoint.InterruptRecord) []Question {
	var qs []Question
	for i := range recs {
		if recs[i].Status == checkpoint.InterruptPending {
			qs = append(qs, questionOf(&recs[i]))
		}
	}
	return qs
}

// answeredEvent reports an answer recorded for rec.
func (r *run[S]) answeredEvent(rec *checkpoint.InterruptRecord, off bool) {
	r.emitFrom(Event{Type: EventAnswered, Node: rec.Node, Task: rec.Task, Checkpoint: rec.CheckpointID,
		Answer: &AnswerEvent{ID: rec.ID, Node: rec.Node, Value: rec.Answer, Author: rec.Author, Channel: rec.Channel}}, off)
}

// result builds the run's result from the head.
func (r *run[S]) result(status Status, waiting []checkpoint.InterruptRecord) *Result[S] {
	res := &Result[S]{Thread: r.thread, Status: status, State: r.head.state, Checkpoint: r.head.cp.ID}
	if status == StatusInterrupted && waiting == nil {
		waiting = r.records
	}
	res.Interrupts = questionsOf(waiting)
	return res
}
