package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// recorded are the IDs of the answers this Resume recorded.
	recorded []string
	// active is the run's mark in this process (root runs only); finish
	// releases it, so that its final event can start another run of the
	// thread.
	active *activeRun
	// claimed: the thread was claimed before the run (Continue).
	claimed bool
	// prefetched are the head's pending writes when something (the
	// tracer's link) read them before the first superstep did.
	prefetched []write[S]

	// Buffers reused from one superstep to the next.
	spare   *snap[S] // the head before last
	c       commit[S]
	stepBuf []checkpoint.Step
	resBuf  []taskResult[S]
	// tasks are made but not yet used tasks (newTask); tasksMade counts
	// the tasks used so far.
	tasks     []task[S]
	tasksMade int
	// room is a root run's room for its first heads and the first
	// contents of its buffers (nil for a subgraph's run), kept is the room
	// for what only a run with a store uses (nil without one).
	room *runRoom[S]
	kept *storeRoom
	// block is the allocation a root run lives in (*plainBlock[S] or
	// *storeBlock[S]), recycled once it has returned; nil for others.
	block any
}

// runRoom is room for a run's first heads and the first contents of its
// buffers, made with the run: a short run allocates none of them.
type runRoom[S any] struct {
	heads   [2]snap[S]
	used    int // heads handed out
	steps   [2]checkpoint.Step
	results [1]taskResult[S]
}

// storeRoom is the part of a run's room that only a run with a store
// uses: its commits' blobs and plain fields' bytes, its Resume's answers,
// and the taskRare of its first task that asks (taken is set once it is:
// tasks of several goroutines may ask).
type storeRoom struct {
	blobs    [4]checkpoint.Blob
	data     [128]byte
	answers  [1]checkpoint.Answer
	recorded [1]string
	query    checkpoint.InterruptQuery // a Resume's query of its questions
	answer   answerClaim               // and its request
	rare     taskRare
	taken    atomic.Bool
}

// answerClaim is an answer request and the claim it makes.
type answerClaim struct {
	req   checkpoint.AnswerRequest
	claim checkpoint.Claim
}

// useRoom makes the run's buffers start in room and kept (nil for none).
func (r *run[S]) useRoom(room *runRoom[S], kept *storeRoom) {
	r.room, r.kept = room, kept
	r.stepBuf, r.resBuf = room.steps[:0], room.results[:0]
	if kept != nil {
		r.c.blobs, r.c.data = kept.blobs[:0], kept.data[:0]
	}
}

// newSnap returns a zero snapshot for a new head. Heads are recycled
// (run.spare) once the run has moved past them: nothing else holds them.
func (r *run[S]) newSnap() *snap[S] {
	if rm := r.room; rm != nil && rm.used < len(rm.heads) {
		rm.used++
		return &rm.heads[rm.used-1]
	}
	return new(snap[S])
}

func (r *run[S]) now() time.Time { return r.wf.now() }

// stamp is the time of what is being committed: the end of the last
// superstep if one just ran, else now (zero for an untimed run).
func (r *run[S]) stamp() time.Time {
	if t := r.at; !t.IsZero() {
		r.at = time.Time{}
		return t
	}
	if !r.timed() {
		return time.Time{}
	}
	return r.now()
}

// timed reports whether anything sees the times of the run's supersteps:
// a store (the step log, checkpoints, claims) or observers (events). An
// ephemeral run without observers keeps its checkpoints and step log
// nowhere, so its supersteps read no clock (two clock reads were about a
// tenth of a ten-node run). Questions still get their times.
func (r *run[S]) timed() bool { return r.p.store() != nil || r.observed() }

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

// register makes the run the thread's active run in this process, whose
// claim the heartbeat renews.
func (r *run[S]) register(a *activeRun) {
	a.joined, r.active = true, a
	a.tr.Store(r.tr)
	r.wf.beat.join()
}

// finish ends the run's mark in this process before its final event.
func (r *run[S]) finish() {
	if !r.child && r.active != nil {
		r.active.release()
	}
}

// replayed finds an up-front answer (Answers given to Run) by ID, resume
// key or node path, each usable once per run.
func (r *run[S]) replayed(rec *checkpoint.InterruptRecord) (json.RawMessage, bool) {
	if len(r.rc.replay) == 0 {
		return nil, false
	}
	tr := r.tr
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, k := range []string{rec.ID, resumeKey(rec), rec.Node} {
		v, ok := r.rc.replay[k]
		if !ok || k == "" || tr.replayUsed[k] {
			continue
		}
		b, err := answerJSON(v)
		if err != nil {
			return nil, false
		}
		if tr.replayUsed == nil {
			tr.replayUsed = map[string]bool{}
		}
		tr.replayUsed[k] = true
		return b, true
	}
	return nil, false
}

// threadRun is what the runs of one thread share: its row, and the lock
// that orders their commits (a graph and its subgraphs commit to one
// thread, subgraphs of parallel nodes at once).
type threadRun struct {
	mu         sync.Mutex
	row        checkpoint.Thread
	owner      string
	lease      time.Duration
	name       string // the root workflow's name and graph hash
	hash       string
	ev         *emitter        // nil without observers
	replayUsed map[string]bool // up-front answers used
	// confirmed is when the store last confirmed the claim (a claim, a
	// commit or a heartbeat), by the workflow's clock.
	confirmed time.Time
	// calls counts the weft calls in flight on the contexts of the
	// thread's tasks (task.enter).
	calls atomic.Int32
}

// setRow sets the thread's row as the run knows it (the heartbeat reads
// it from another goroutine); with claimed, the store confirmed the claim
// at now.
func (tr *threadRun) setRow(row checkpoint.Thread, claimed bool, now time.Time) {
	tr.mu.Lock()
	tr.row = row
	if claimed {
		tr.confirmed = now
	}
	tr.mu.Unlock()
}

// confirm notes that the store confirmed the claim at t.
func (tr *threadRun) confirm(t time.Time) {
	tr.mu.Lock()
	tr.confirmed = t
	tr.mu.Unlock()
}

// checkClaim makes sure, before a side effect, that the run still holds
// its claim: if no heartbeat confirmed it for two beats (the process was
// frozen, or the store unreachable), it asks the store, and refuses with
// ErrClaimLost if another process took the thread over.
func (r *run[S]) checkClaim(ctx context.Context) error {
	if r.p.store() == nil {
		return nil
	}
	if err := context.Cause(r.ctx); errors.Is(err, errLostLock) {
		return fmt.Errorf("thread %q: %w", r.thread, ErrClaimLost)
	}
	tr := r.tr
	tr.mu.Lock()
	stale := r.now().Sub(tr.confirmed) > 2*r.wf.cfg.beat
	owner, status := tr.row.Owner, tr.row.Status
	tr.mu.Unlock()
	if !stale || status != StatusRunning {
		return nil
	}
	beat, err := r.wf.st.Heartbeat(ctx, &checkpoint.Heartbeat{Owner: owner, Threads: []string{r.thread}, Lease: r.wf.cfg.lease})
	if err != nil {
		return fmt.Errorf("thread %q: confirming the claim: %w", r.thread, err)
	}
	if !slices.Contains(beat.Held, r.thread) {
		return fmt.Errorf("thread %q: another process took it over: %w", r.thread, ErrClaimLost)
	}
	tr.confirm(r.now())
	return nil
}

// claim is the claim the run holds, for fenced writes.
func (tr *threadRun) claim() (owner string, epoch int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.row.Owner, tr.row.Epoch
}

// incarnation tells apart the threads that had one ID one after another
// (deleted and created again): the time the thread was created.
func (tr *threadRun) incarnation() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return strconv.FormatInt(tr.row.CreatedAt.UnixMicro(), 36)
}

// status is the thread's status as this run last saw it.
func (r *run[S]) status() Status {
	r.tr.mu.Lock()
	defer r.tr.mu.Unlock()
	return r.tr.row.Status
}

// originOf is the checkpoint a superstep from cp first ran from: an edit
// that keeps the nodes that run next carries their journals over, and
// their effect and question IDs with them.
func originOf(cp *checkpoint.Checkpoint) string {
	if o := cp.Meta[metaOrigin]; o != "" {
		return o
	}
	return cp.ID
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
	// retries are the failed attempts before the last, for the step log.
	retries []checkpoint.Step
}

func (tr *taskResult[S]) paused() bool {
	return tr.t != nil && tr.t.waiting > 0 && tr.t.fatal == nil &&
		(tr.err == nil || errors.As(tr.err, new(*PauseError)))
}

// loop runs supersteps until the graph ends, pauses, stops or fails.
func (r *run[S]) loop() (res *Result[S], err error) {
	if tc := r.wf.cfg.tracer; tc != nil && !r.child {
		ctx, end := tc.Run(r.ctx, TraceRun{Workflow: r.wf.name, Thread: r.thread, Resumed: r.resumed, Checkpoint: r.head.cp.ID}, r.traceLink())
		r.ctx = ctx
		defer func() {
			status := StatusFailed
			if res != nil {
				status = res.Status
			}
			end(status, err)
		}()
	}
	defer func() {
		// A run whose claim the heartbeat found lost fails with whatever
		// its cancelled context made the next store call return; say why.
		if err != nil && !errors.Is(err, ErrClaimLost) && errors.Is(context.Cause(r.ctx), errLostLock) {
			err = fmt.Errorf("thread %q: another process took it over: %w (%w)", r.thread, ErrClaimLost, err)
		}
	}()
	limit := r.wf.cfg.stepLimit
	if r.rc.stepLimit > 0 {
		limit = r.rc.stepLimit
	}
	for {
		h := r.head
		if len(h.cp.Next) == 0 {
			return r.complete()
		}
		if r.steps >= limit {
			return nil, r.fail(nil, nil, nil, fmt.Errorf("thread %q: %d supersteps: %w", r.thread, r.steps, ErrStepLimit))
		}
		if len(r.before) == 0 {
			// no breakpoints
		} else if recs := r.breakpoints(checkpoint.KindBefore, h.cp.Next, h, r.idBase()); len(recs) > 0 {
			res, again, err := r.pause(recs, nil, nil, nil)
			if again {
				continue
			}
			return res, err
		}
		tasks := r.wf.expand(h.cp.Next, h.state)
		r.waiting = nil
		r.pending = r.pending[:0]
		if r.resumed {
			ws, err := r.prefetched, error(nil)
			r.prefetched = nil
			if ws == nil {
				ws, err = r.p.writes(r.ctx, r.thread, r.ns, h.cp.ID, &h.state)
			}
			if err != nil {
				return nil, err
			}
			if err := r.checkWrites(ws); err != nil {
				return nil, err
			}
			r.pending = ws
		}
		var start, end time.Time
		timed := r.timed()
		if timed {
			start = r.now()
		}
		results := r.runTasks(tasks, start)
		if timed {
			end = r.now()
		}
		r.at = end
		r.steps++
		r.resumed = false

		steps := r.stepBuf[:0]
		var failed error
		var paused bool
		for i := range results {
			tr := &results[i]
			if tr.t == nil && !tr.reused {
				paused = true // waits for its answers: it did not run
				continue
			}
			steps = append(steps, tr.retries...)
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
				st.Status, st.Duration = checkpoint.StepReused, 0
			case tr.paused():
				st.Status = checkpoint.StepInterrupted
				paused = true
			case tr.err != nil && r.ctx.Err() != nil:
				st.Status, st.Error = checkpoint.StepStopped, tr.err.Error()
			case tr.err != nil:
				st.Status, st.Error = checkpoint.StepFailed, tr.err.Error()
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
				t := results[i].t
				switch {
				case t == nil || len(t.asked) == 0:
					// asked nothing new
				case recs == nil:
					// The one asker's questions as they are (nothing
					// changes them once its node returned); clipped, so
					// that another asker's are appended to a copy.
					recs = slices.Clip(t.asked)
				default:
					recs = append(recs, t.asked...)
				}
			}
			res, again, err := r.pause(recs, tasks, results, steps)
			if again {
				continue
			}
			return res, err
		}
		if err := r.advance(tasks, results, steps); err != nil {
			return nil, err
		}
		if len(r.waiting) > 0 {
			return r.paused(nil), nil
		}
	}
}

// checkWrites refuses pending writes that name nodes the graph lacks.
func (r *run[S]) checkWrites(ws []write[S]) error {
	for _, w := range ws {
		if w.task == taskResume || w.task == taskInput || w.task == taskTrace {
			continue
		}
		if err := r.wf.knows(r.thread, []string{w.task}); err != nil {
			return err
		}
		if w.kind == writeGoto {
			var to []string
			if err := json.Unmarshal(w.data, &to); err != nil {
				return fmt.Errorf("thread %q checkpoint %s: goto of %s: %w: %w", r.thread, r.head.cp.ID, w.task, ErrCorruptCheckpoint, err)
			}
			if err := r.wf.knows(r.thread, to); err != nil {
				return err
			}
		}
	}
	return nil
}

// isPause reports whether err is, or wraps, a *PauseError (errors.As
// without allocating its target).
func isPause(err error) bool {
	for err != nil {
		if _, ok := err.(*PauseError); ok {
			return true
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if isPause(e) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}

func (r *run[S]) path(node string) string {
	if r.prefix == "" {
		return node
	}
	return r.prefix + "/" + node
}

// priors returns the questions of the pause that task asked when it ran
// before (pending or answered; cancelled ones are gone), in call order;
// nil, without allocating, when it asked none.
func (r *run[S]) priors(task string) []checkpoint.InterruptRecord {
	var out []checkpoint.InterruptRecord
	for i := range r.records {
		if rec := &r.records[i]; r.isPrior(rec, task) {
			if out == nil {
				out = make([]checkpoint.InterruptRecord, 0, len(r.records)-i)
			}
			out = append(out, *rec)
		}
	}
	sortByCall(out)
	return out
}

// isPrior reports whether rec is one of the questions task asked at the
// pause when it ran before.
func (r *run[S]) isPrior(rec *checkpoint.InterruptRecord, task string) bool {
	return rec.Kind == checkpoint.KindDynamic && rec.Namespace == r.ns && rec.Task == task && rec.Status != checkpoint.InterruptCancelled
}

// sortByCall sorts questions of one task in call order.
func sortByCall(recs []checkpoint.InterruptRecord) {
	slices.SortFunc(recs, func(a, b checkpoint.InterruptRecord) int { return a.Index - b.Index })
}

// runTasks runs the superstep's tasks: one inline, several in parallel.
// A task with a pending output from an earlier attempt is not run again,
// nor one whose questions all still wait for answers (its result has no
// task: it is paused as it was). Start is when the superstep started
// (zero for an untimed run); parallel tasks time themselves.
func (r *run[S]) runTasks(tasks []string, start time.Time) []taskResult[S] {
	results := slices.Grow(r.resBuf[:0], len(tasks))[:len(tasks)]
	clear(results)
	r.resBuf = results
	var todo []int
	for i, name := range tasks {
		if j := slices.IndexFunc(r.pending, func(w write[S]) bool { return w.task == name && w.kind == writeOutput }); j >= 0 {
			results[i] = taskResult[S]{out: r.pending[j].out, reused: true, started: start}
			if k := slices.IndexFunc(r.pending, func(w write[S]) bool { return w.task == name && w.kind == writeGoto }); k >= 0 {
				_ = json.Unmarshal(r.pending[k].data, &results[i].gotos) // checked by checkWrites
			}
			continue
		}
		if r.waitsStill(name) {
			continue
		}
		todo = append(todo, i)
	}
	keep := r.p.store() != nil // the head must stay as it is: nodes get copies
	if len(todo) == 1 {
		i := todo[0]
		if keep {
			results[i] = r.runTask(tasks[i], r.own(r.head), start, false)
		} else {
			results[i] = r.runTask(tasks[i], r.head.state, start, false)
		}
		return results
	}
	sv := newSaver(r, len(todo))
	var wg sync.WaitGroup
	for _, i := range todo {
		in := r.own(r.head)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.runTask(tasks[i], in, time.Time{}, true)
			sv.finished(tasks[i], &results[i])
		}()
	}
	r.tr.ev.wait(r.ctx, &wg, r.off)
	sv.close()
	return results
}

// own returns a copy of h's state for a node to own.
func (r *run[S]) own(h *snap[S]) S {
	return copyState(r.wf.state, h.state)
}

// waitsStill reports whether a task of a resumed superstep asked questions
// that all still wait: it need not run again until one is answered. It
// reads r.records in place rather than through priors, which copies them:
// a task that runs makes its copy once, in attempt.
func (r *run[S]) waitsStill(task string) bool {
	if len(r.records) == 0 || r.wf.nodes[nodeOf(task)].sub != nil {
		return false // a subgraph finds out inside
	}
	n := 0
	for i := range r.records {
		if rec := &r.records[i]; r.isPrior(rec, task) {
			if rec.Status != checkpoint.InterruptPending {
				return false
			}
			n++
		}
	}
	if n == 0 {
		return false
	}
	from := len(r.waiting)
	for i := range r.records {
		if rec := &r.records[i]; r.isPrior(rec, task) {
			r.waiting = append(r.waiting, *rec)
		}
	}
	sortByCall(r.waiting[from:])
	return true
}

// taskSpec is what the attempts of one task share, worked out once.
type taskSpec[S any] struct {
	name     string // the task ("tools#2")
	node     string // its node ("tools")
	branch   int    // its branch of a Map node, -1 for none
	n        *node[S]
	parallel bool // it runs on a goroutine of its own and times itself
}

// runTask runs one node, again as its retry policy allows. A parallel task
// times itself; otherwise the superstep times it, from start.
func (r *run[S]) runTask(name string, in S, start time.Time, parallel bool) taskResult[S] {
	nodeName, branch := splitTask(name)
	spec := taskSpec[S]{name: name, node: nodeName, branch: branch, n: r.wf.nodes[nodeName], parallel: parallel}
	var retries []checkpoint.Step
	var journal map[string][]byte
	for attempt := 1; ; attempt++ {
		tr := r.attempt(&spec, in, start, journal, attempt)
		policy := spec.n.retry
		if tr.err == nil || tr.paused() || policy == nil || attempt >= policy.attempts() || r.ctx.Err() != nil ||
			(policy.Retryable != nil && !policy.Retryable(unwrapNode(tr.err))) {
			tr.retries = retries
			return tr
		}
		st := checkpoint.Step{
			ThreadID: r.thread, Namespace: r.ns, Superstep: r.head.cp.Step + 1, CheckpointID: r.head.cp.ID,
			Node: r.path(nodeName), Task: name, Status: checkpoint.StepRetried, StartedAt: tr.started,
			Duration: r.now().Sub(tr.started), Error: tr.err.Error(),
		}
		retries = append(retries, st)
		if tr.t.x != nil {
			journal = tr.t.x.journal // effects of the failed attempt are not repeated
		}
		r.wf.log(r.ctx, "weft: retrying node", r.thread, "node", r.path(nodeName), "attempt", attempt, "error", tr.err)
		if err := sleep(r.ctx, policy.backoff(attempt)); err != nil {
			tr.retries = retries
			return tr
		}
		if parallel || start.IsZero() {
			continue
		}
		start = r.now()
	}
}

func unwrapNode(err error) error {
	var ne *NodeError
	if errors.As(err, &ne) && ne.Err != nil {
		return ne.Err
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt runs one node once: attempt n of its retry policy.
func (r *run[S]) attempt(spec *taskSpec[S], in S, start time.Time, journal map[string][]byte, n int) (tr taskResult[S]) {
	name, nodeName := spec.name, spec.node
	t := r.newTask(spec.parallel) // zero: only the fields set are written
	t.Context, t.r, t.calls, t.node, t.path, t.name = r.ctx, r, &r.tr.calls, nodeName, r.path(nodeName), name
	t.cpID, t.origin, t.off, t.prior = r.head.cp.ID, originOf(&r.head.cp), r.off || spec.parallel, r.priors(name)
	if journal != nil {
		t.x = &taskRare{journal: journal}
	}
	if tc := r.wf.cfg.tracer; tc != nil {
		ctx, end := tc.Node(t.Context, TraceNode{Workflow: r.wf.name, Thread: r.thread, Node: t.path, Task: name,
			Superstep: r.head.cp.Step + 1, Attempt: n})
		t.Context = ctx
		defer func() { end(tr.err) }()
	}
	tr.t = t
	tr.started, tr.dur = start, -1
	if spec.parallel {
		tr.started = r.now()
	}
	defer func() {
		t.end()
		if spec.parallel {
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
	if spec.branch >= 0 {
		out, err = spec.n.fanout.run(t, in, spec.branch)
	} else {
		out, err = spec.n.fn(t, in)
	}
	tr.out = out
	if t.x != nil {
		tr.gotos = t.x.gotos
	}
	switch {
	case t.fatal != nil:
		tr.err = t.fatal
	case err != nil && !isPause(err):
		tr.err = &NodeError{Node: t.path, Err: err}
	case t.waiting == 0 && err != nil:
		tr.err = &NodeError{Node: t.path, Err: fmt.Errorf("returned a pause that is not its own: %w", err)}
	}
	if tr.err == nil {
		tr.err = t.mismatch()
	}
	return tr
}

// taskChunk is the most tasks newTask makes in one allocation for a
// subgraph's run; rootTaskChunk is how many it makes for a root run,
// whose unused tasks the next run of the recycled allocation takes on
// (recycle).
const (
	taskChunk = 16
	// 30 tasks of 224 bytes (6,720) nearly fill one of the allocator's
	// size classes (6,784).
	rootTaskChunk = 30
)

// newTask returns a new zero task. A task is made for every node that runs:
// those of the run's own goroutine come from a chunk of several, made at
// once. A root run's chunk outlives the run: the next root run carries on
// carving it, so that a run of a few nodes makes no allocation for them
// most of the time. A subgraph's run makes a chunk of as many tasks as
// its graph has nodes first, so a short run makes one. Tasks are never
// reused: a node's context stays its own after it returns, and an array
// is freed once no task carved from it is kept. A parallel task, made on
// a goroutine of its own, is allocated alone.
func (r *run[S]) newTask(parallel bool) *task[S] {
	if parallel {
		return new(task[S])
	}
	if len(r.tasks) == 0 {
		n := taskChunk
		if r.block != nil {
			n = rootTaskChunk
		} else if r.tasksMade < len(r.wf.nodes) {
			n = min(n, len(r.wf.nodes)-r.tasksMade)
		}
		r.tasks = make([]task[S], n)
	}
	t := &r.tasks[0]
	r.tasks = r.tasks[1:]
	r.tasksMade++
	return t
}

// newRare returns a new taskRare for a task of the run.
func (r *run[S]) newRare() *taskRare {
	if k := r.kept; k != nil && k.taken.CompareAndSwap(false, true) {
		return &k.rare
	}
	return &taskRare{}
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
// idBase is r.idBase() (the commit of after-breakpoints holds the lock it
// takes, so it is read before).
func (r *run[S]) breakpoints(kind string, nodes []string, h *snap[S], idBase []byte) []checkpoint.InterruptRecord {
	set := r.before
	if kind == checkpoint.KindAfter {
		set = r.after
	}
	if len(set) == 0 {
		return nil
	}
	all := slices.Contains(set, "*")
	var recs []checkpoint.InterruptRecord
	passed := strings.Split(h.cp.Meta[metaPassed], ",")
	for _, n := range nodes {
		if !(all || slices.Contains(set, n)) || (kind == checkpoint.KindBefore && slices.Contains(passed, n)) {
			continue
		}
		root := r.rootCP
		if kind == checkpoint.KindAfter && r.ns == "" {
			root = h.cp.ID
		}
		if slices.ContainsFunc(r.records, func(x checkpoint.InterruptRecord) bool {
			return x.Kind == kind && x.Task == n && x.Namespace == r.ns && x.CheckpointID == root
		}) {
			continue // asked at this pause already (and answered, since it runs)
		}
		id := interruptID(idBase, r.ns, h.cp.ID, n, []byte(kind))
		recs = append(recs, checkpoint.InterruptRecord{
			ID: id, ThreadID: r.thread, Workflow: r.wf.name, CheckpointID: root, Namespace: r.ns,
			Node: r.path(n), Task: n, Kind: kind, Value: json.RawMessage("null"), Reason: breakpointReason(kind, r.path(n)),
			Status: checkpoint.InterruptPending, CreatedAt: r.now(),
		})
	}
	return recs
}

func breakpointReason(kind, node string) string {
	if kind == checkpoint.KindBefore {
		return "breakpoint before " + node
	}
	return "breakpoint after " + node
}

// Meta keys of checkpoints.
const (
	metaPassed = "passed_before" // breakpoints passed by UpdateState
	metaOrigin = "origin"        // the checkpoint a carried superstep first ran from
	metaAsNode = "as_node"       // the node UpdateState wrote as
	metaBy     = "updated_by"    // who gave an update with answers (Update)
)

// outputs turns finished tasks into pending writes, so they do not run again.
func (r *run[S]) outputs(tasks []string, results []taskResult[S]) []write[S] {
	var ws []write[S]
	for i := range results {
		ws = append(ws, r.outputOf(tasks[i], &results[i])...)
	}
	return ws
}

// outputOf is the pending writes of one finished task: none for a task
// that did not finish (or whose output is stored already).
func (r *run[S]) outputOf(task string, tr *taskResult[S]) []write[S] {
	if tr.t == nil || tr.reused || tr.err != nil || tr.paused() {
		return nil
	}
	ws := []write[S]{{ns: r.ns, cpID: r.head.cp.ID, task: task, kind: writeOutput, out: tr.out, base: &r.head.state}}
	if len(tr.gotos) > 0 {
		data, _ := json.Marshal(tr.gotos) // []string always encodes
		ws = append(ws, write[S]{ns: r.ns, cpID: r.head.cp.ID, task: task, kind: writeGoto, data: data})
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
// thread's lock; prepare, if not nil, is called there first with the
// version the commit will have, to name what depends on it, and may return
// a different status ("" keeps status). A run that held the thread's claim
// and finds the thread changed lost the claim: ErrClaimLost.
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
	if r.thread == "" {
		// An ephemeral run's commits keep nothing, and of its row only
		// the version and the status are read: no copies of the row.
		if !r.child {
			tr.row.Status, tr.row.Error = status, errText
		}
		tr.row.Version++
		return nil
	}
	row := tr.row
	claimed := row.Status == StatusRunning
	if !r.child {
		row.Status, row.Error = status, errText
		row.Workflow, row.GraphHash = tr.name, tr.hash
		if cp := c.c.Checkpoint; cp != nil {
			row.Head = cp.ID
		}
	}
	if row.Status == StatusRunning {
		row.Owner = tr.owner
		c.c.Lease = tr.lease
	} else {
		row.Owner, row.LeaseUntil = "", time.Time{}
	}
	row.UpdatedAt = c.c.At
	if row.CreatedAt.IsZero() {
		row.CreatedAt = c.c.At
	}
	c.c.Thread, c.c.ExpectedVersion = row, tr.row.Version
	v, err := r.p.commit(r.saveCtx, c)
	if err != nil {
		if claimed && errors.Is(err, ErrConflict) {
			return fmt.Errorf("thread %q: %w: %w", r.thread, ErrClaimLost, err)
		}
		return fmt.Errorf("thread %q: %w", r.thread, err)
	}
	row.Version = v
	tr.row = row
	// The commit confirmed the claim; its time will do.
	if tr.confirmed = c.c.At; tr.confirmed.IsZero() && r.timed() {
		tr.confirmed = r.now()
	}
	return nil
}

// keepHead offers the head the run leaves the thread at to the persister's
// cache of heads.
func (r *run[S]) keepHead() {
	tr := r.tr
	tr.mu.Lock()
	thread, created := tr.row.ID, tr.row.CreatedAt
	tr.mu.Unlock()
	r.p.keep(thread, created, r.head)
}

// pause commits a pause: new questions, finished outputs, the step log.
// Questions of the pause that the superstep made moot (a node that ran
// again finished without asking them) are cancelled. If an answer arrived
// while the superstep ran, the thread is claimed again and again is true:
// the loop runs the superstep once more.
func (r *run[S]) pause(recs []checkpoint.InterruptRecord, tasks []string, results []taskResult[S], steps []checkpoint.Step) (res *Result[S], again bool, err error) {
	r.c = commit[S]{c: checkpoint.Commit{At: r.stamp(), Interrupts: recs, Steps: steps}, blobs: r.c.blobs, data: r.c.data}
	c := &r.c
	if results != nil {
		c.writes = r.outputs(tasks, results)
	}
	c.writes = append(c.writes, r.traceCarry()...)
	if moot := r.moot(results); len(moot) > 0 {
		c.c.Cancel = &checkpoint.Cancellation{IDs: moot, Author: "weft", Channel: checkpoint.ChannelEngine, At: c.c.At,
			Note: "not asked again: the node ran again without it"}
	}
	if err := r.save(c, StatusInterrupted, "", nil); err != nil {
		return nil, false, err
	}
	if !r.child {
		r.keepHead()
	}
	waiting := r.waitingAfter(recs, results)
	r.waiting = waiting
	if !r.child {
		if again, err := r.answeredMeanwhile(); again || err != nil {
			return nil, again, err
		}
	}
	r.wf.log(r.ctx, "weft: thread paused", r.thread, "questions", len(waiting))
	return r.paused(waiting), false, nil
}

// waitingAfter returns the questions a pause with new questions recs
// waits for: those the superstep left waiting, the pending ones of recs,
// and those pending inside the tasks' subgraphs or asked again.
func (r *run[S]) waitingAfter(recs []checkpoint.InterruptRecord, results []taskResult[S]) []checkpoint.InterruptRecord {
	if len(recs) > 0 && len(r.waiting) == 0 && !slices.ContainsFunc(recs, func(rec checkpoint.InterruptRecord) bool { return !isPending(rec) }) &&
		!slices.ContainsFunc(results, func(tr taskResult[S]) bool {
			return tr.t != nil && tr.t.x != nil && len(tr.t.x.nested)+len(tr.t.x.still) > 0
		}) {
		return slices.Clip(recs) // its new questions only, as they are
	}
	waiting := make([]checkpoint.InterruptRecord, 0, len(recs)+len(r.waiting))
	waiting = append(waiting, r.waiting...)
	for _, rec := range recs {
		if rec.Status == checkpoint.InterruptPending {
			waiting = append(waiting, rec)
		}
	}
	for i := range results {
		if t := results[i].t; t != nil {
			if t.x != nil {
				waiting = append(waiting, t.x.nested...)
				waiting = append(waiting, t.x.still...)
			}
		}
	}
	return waiting
}

// paused ends a root run with its pause: the result, and the event.
func (r *run[S]) paused(waiting []checkpoint.InterruptRecord) *Result[S] {
	if waiting == nil {
		waiting = r.waiting
	}
	res := r.result(StatusInterrupted, waiting)
	if !r.child {
		r.finish()
		if r.observed() {
			r.emit(Event{Type: EventInterrupted, Checkpoint: r.head.cp.ID, Questions: questionsOf(waiting)})
		}
	}
	return res
}

// moot returns the IDs of the questions of the pause that nodes which ran
// again left unasked.
func (r *run[S]) moot(results []taskResult[S]) []string {
	var ids []string
	for i := range results {
		if t := results[i].t; t != nil {
			if t.x != nil {
				ids = append(ids, t.x.unasked...)
			}
		}
	}
	return ids
}

// answeredMeanwhile looks, after a pause is committed, for answers that
// arrived while the superstep ran (and so could not make the thread
// ready): if one of the questions the thread waits for is answered, it
// claims the thread again and the superstep runs once more.
func (r *run[S]) answeredMeanwhile() (bool, error) {
	if r.p.store() == nil || !slices.ContainsFunc(r.waiting, func(w checkpoint.InterruptRecord) bool {
		return slices.ContainsFunc(r.records, func(x checkpoint.InterruptRecord) bool { return x.ID == w.ID })
	}) {
		return false, nil // only questions that existed before the superstep can have been answered during it
	}
	recs, err := r.wf.questionsAt(r.ctx, r.thread, r.rootCP, "")
	if err != nil {
		return false, err
	}
	answered := false
	for _, w := range r.waiting {
		if i := slices.IndexFunc(recs, func(x checkpoint.InterruptRecord) bool { return x.ID == w.ID }); i >= 0 && recs[i].Status == checkpoint.InterruptAnswered {
			answered = true
		}
	}
	if !answered {
		return false, nil
	}
	for attempt := 0; attempt < 3; attempt++ {
		row, err := r.wf.st.Claim(r.ctx, &checkpoint.Claim{ThreadID: r.thread, ExpectedVersion: r.tr.row.Version, Owner: r.wf.owner, Lease: r.wf.cfg.lease})
		if err == nil {
			r.tr.row, r.records, r.waiting, r.resumed = *row, recs, nil, true
			r.tr.confirm(r.now())
			return true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return false, err
		}
		// The answer made the thread ready (a new version): claim that.
		cur, err := r.wf.st.Thread(r.ctx, r.thread)
		if err != nil {
			return false, err
		}
		if cur.Status != StatusReady || cur.Head != r.rootCP {
			return false, nil // someone else carries it on
		}
		r.tr.setRow(*cur, false, time.Time{})
	}
	return false, nil
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
		r.finish()
		r.emit(Event{Type: EventFailed, Checkpoint: r.head.cp.ID, Err: err.Error()})
	}
	r.wf.log(r.ctx, "weft: thread failed", r.thread, "error", err)
	return err
}

// stop commits a stop: the thread keeps its last checkpoint. A run whose
// context was cancelled with ErrHandedBack leaves the thread ready instead,
// for another process to carry on.
func (r *run[S]) stop(tasks []string, results []taskResult[S], steps []checkpoint.Step) (*Result[S], error) {
	cause := context.Cause(r.ctx)
	status := StatusStopped
	if errors.Is(cause, ErrHandedBack) {
		status = StatusReady
	}
	c := &commit[S]{c: checkpoint.Commit{At: r.stamp(), Steps: steps}, writes: r.outputs(tasks, results)}
	if err := r.save(c, status, "", nil); err != nil {
		return nil, err
	}
	if !r.child {
		r.keepHead()
	}
	res := r.result(status, nil)
	if !r.child {
		r.finish()
		r.emit(Event{Type: EventStopped, Checkpoint: res.Checkpoint})
	}
	if cause != nil && !errors.Is(cause, errStopped) {
		return res, fmt.Errorf("thread %q stopped: %w", r.thread, cause)
	}
	return res, nil
}

// complete ends a run whose graph reached its end.
func (r *run[S]) complete() (*Result[S], error) {
	if !r.child && r.status() != StatusCompleted {
		// Reached without a commit of its own (a resume of a thread
		// whose head has nothing next): record the end.
		if err := r.save(&commit[S]{c: checkpoint.Commit{At: r.now()}}, StatusCompleted, "", nil); err != nil {
			return nil, err
		}
	}
	if !r.child {
		r.finish()
		r.emit(Event{Type: EventCompleted, Checkpoint: r.head.cp.ID})
	}
	return r.result(StatusCompleted, nil), nil
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
	var gotos []string
	meta := map[string]string(nil)
	if cmd := r.resumeCommand(); cmd != nil {
		var err error
		if merged, err = r.applyCommand(cmd, merged); err != nil {
			return r.fail(nil, nil, steps, err)
		}
		gotos = append(gotos, cmd.Goto...)
		meta = map[string]string{metaBy: cmd.By}
	}
	if r.ns == "" && r.rc.resumer != "" {
		meta = resumedMeta(meta, r.rc.resumer, r.channel())
		r.rc.resumer = "" // only the first checkpoint of the Resume
	}
	nodes := nodesOf(tasks)
	next, err := r.wf.next(nodes, merged)
	if err != nil {
		return r.fail(nil, nil, steps, err)
	}
	for i := range results {
		gotos = append(gotos, results[i].gotos...)
	}
	if len(gotos) > 0 {
		next = r.wf.sortNodes(slices.Concat(next, gotos))
	}
	newHead := r.spare
	if newHead == nil {
		newHead = r.newSnap()
	}
	r.spare = nil
	*newHead = snap[S]{state: merged, cp: checkpoint.Checkpoint{
		ThreadID: r.thread, Namespace: r.ns, ParentID: h.cp.ID, Meta: meta,
		Step: h.cp.Step + 1, Source: checkpoint.SourceLoop, Next: next, CreatedAt: r.stamp(),
	}}
	cp := &newHead.cp
	status := StatusRunning
	if len(next) == 0 {
		status = StatusCompleted
	}
	var recs []checkpoint.InterruptRecord
	done := answered(results)
	if r.thread == "" {
		// An ephemeral run's commits keep nothing (save): only the
		// checkpoint, which save numbers, is read.
		r.c.c.Checkpoint = cp
	} else {
		r.c = commit[S]{
			c:     checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp, Steps: steps, Interrupts: done},
			state: merged, prev: h, blobs: r.c.blobs, data: r.c.data,
		}
	}
	if r.thread != "" && r.ns == "" && slices.ContainsFunc(r.records, isPending) {
		// Questions of the pause that the superstep finished without.
		r.c.c.Cancel = &checkpoint.Cancellation{Author: "weft", Channel: checkpoint.ChannelEngine, At: cp.CreatedAt,
			Note: "not asked again: the node ran again without it"}
	}
	var prepare func(int64) Status
	if len(r.after) > 0 { // the questions' IDs depend on the checkpoint's
		idBase := r.idBase()
		prepare = func(version int64) Status {
			cp.ID = checkpoint.FormatID(version)
			recs = r.breakpoints(checkpoint.KindAfter, nodes, newHead, idBase)
			r.c.c.Interrupts = append(done, recs...)
			if len(recs) > 0 {
				return StatusInterrupted
			}
			return ""
		}
	}
	if err := r.save(&r.c, status, "", prepare); err != nil {
		return err
	}
	r.head = newHead
	r.spare = h
	if r.ns == "" {
		r.rootCP = cp.ID
	}
	r.records = recs
	r.waiting = recs
	if r.observed() {
		r.emit(Event{Type: EventStepCommitted, Node: r.prefix, Checkpoint: cp.ID, Next: next, Time: cp.CreatedAt})
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
	if !r.observed() {
		return
	}
	r.emitFrom(Event{Type: EventAnswered, Node: rec.Node, Task: rec.Task, Checkpoint: rec.CheckpointID,
		Answer: &AnswerEvent{ID: rec.ID, Node: rec.Node, Value: rec.Answer, Author: rec.Author, Channel: rec.Channel,
			Asked: rec.CreatedAt, Answered: rec.AnsweredAt}}, off)
}

// result builds the run's result from the head.
func (r *run[S]) result(status Status, waiting []checkpoint.InterruptRecord) *Result[S] {
	res := &Result[S]{Thread: r.thread, Status: status}
	if r.head != nil {
		res.State, res.Checkpoint = r.head.state, r.head.cp.ID
	}
	if status == StatusInterrupted && waiting == nil {
		waiting = r.records
	}
	res.Interrupts = questionsOf(waiting)
	return res
}

// saveDelay is how long the finished tasks of a superstep wait before
// their outputs are saved while others still run: a superstep of quick
// tasks commits them all at once, and a crash in a long one does not run
// again the tasks that finished.
const saveDelay = 50 * time.Millisecond

// saver saves the outputs of parallel tasks that finish while others still
// run (PutWrites, fenced by the run's claim), in batches.
type saver[S any] struct {
	r       *run[S]
	mu      sync.Mutex
	left    int // tasks still running
	queue   []write[S]
	timer   *time.Timer
	closed  bool
	running sync.WaitGroup
}

func newSaver[S any](r *run[S], n int) *saver[S] {
	if r.p.store() == nil {
		return nil
	}
	return &saver[S]{r: r, left: n}
}

// finished hands over the result of a task that returned.
func (sv *saver[S]) finished(task string, tr *taskResult[S]) {
	if sv == nil {
		return
	}
	ws := sv.r.outputOf(task, tr)
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.left--
	if sv.closed || sv.left == 0 || len(ws) == 0 {
		return
	}
	sv.queue = append(sv.queue, ws...)
	if sv.timer == nil {
		sv.running.Add(1)
		sv.timer = time.AfterFunc(saveDelay, sv.flush)
	}
}

// flush writes what is queued, and again while more comes.
func (sv *saver[S]) flush() {
	defer sv.running.Done()
	r := sv.r
	for {
		sv.mu.Lock()
		batch := sv.queue
		sv.queue = nil
		if len(batch) == 0 || sv.closed {
			sv.timer = nil
			sv.mu.Unlock()
			return
		}
		sv.mu.Unlock()
		owner, epoch := r.tr.claim()
		if err := r.p.putWrites(r.saveCtx, checkpoint.PutWrites{ThreadID: r.thread, Owner: owner, Epoch: epoch}, batch); err != nil {
			r.wf.log(r.ctx, "weft: saving finished outputs", r.thread, "error", err)
		}
	}
}

// close stops saving and waits for a write in flight: the superstep's
// commit follows.
func (sv *saver[S]) close() {
	if sv == nil {
		return
	}
	sv.mu.Lock()
	sv.closed = true
	if sv.timer != nil && sv.timer.Stop() {
		sv.running.Done() // never ran
		sv.timer = nil
	}
	sv.mu.Unlock()
	sv.running.Wait()
}

// jitter returns d changed by up to ±frac of it, at random.
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 || d <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}
