package langgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// runRequest is the body of the run routes.
type runRequest struct {
	AssistantID       string          `json:"assistant_id"`
	Input             json.RawMessage `json:"input"`
	Command           *command        `json:"command"`
	Metadata          map[string]any  `json:"metadata"`
	StreamMode        json.RawMessage `json:"stream_mode"`
	StreamResumable   bool            `json:"stream_resumable"`
	InterruptBefore   json.RawMessage `json:"interrupt_before"`
	InterruptAfter    json.RawMessage `json:"interrupt_after"`
	IfNotExists       string          `json:"if_not_exists"`
	OnCompletion      string          `json:"on_completion"`
	OnDisconnect      string          `json:"on_disconnect"`
	MultitaskStrategy string          `json:"multitask_strategy"`
	// Checkpoint and CheckpointID name a past checkpoint to run from.
	Checkpoint   *stateRef `json:"checkpoint"`
	CheckpointID string    `json:"checkpoint_id"`
}

// from is the checkpoint the run is to start from ("" for the head).
func (req *runRequest) from() string {
	if req.CheckpointID != "" {
		return req.CheckpointID
	}
	return req.Checkpoint.id()
}

// command is LangGraph's Command: resume, update and goto.
type command struct {
	Resume json.RawMessage `json:"resume"`
	Update json.RawMessage `json:"update"`
	Goto   json.RawMessage `json:"goto"`
}

// has reports whether the JSON value raw is given (not absent, not null).
func has(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// answersOnly reports whether the request only answers questions: a
// command with resume alone, no input. A reviewer may make such runs.
func (req *runRequest) answersOnly() bool {
	c := req.Command
	return c != nil && has(c.Resume) && !has(c.Update) && !has(c.Goto) && !has(req.Input)
}

// The multitask strategies: what a run does on a thread that has runs under
// way.
const (
	strategyReject    = "reject"
	strategyInterrupt = "interrupt"
	strategyRollback  = "rollback"
	strategyEnqueue   = "enqueue"
)

// runRecord is a run as the handler keeps it, in memory.
type runRecord struct {
	ID, ThreadID, AssistantID string
	// graph is the workflow the run runs (its assistant's graph_id).
	graph     string
	Metadata  map[string]any
	CreatedAt time.Time
	Strategy  string
	// modes are the stream modes the run was created with.
	modes map[string]bool
	// log holds the run's stream events, for every reader.
	log *eventLog
	// ctx is the run's context; cancel ends it.
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	status    string
	updatedAt time.Time
	values    json.RawMessage
	err       error
	cancelled string // "", "interrupt" or "rollback": how it was cancelled
	started   bool   // the run has begun (it waited for no run, or they ended)
	startHead string // the thread's head when it began ("" for none)
	// stored: the record was read from the store, not made by this
	// handler (a run of an earlier process, or one dropped from memory).
	stored bool
	// ephemeral: the run of a thread deleted after it (a stateless run),
	// whose record is kept in memory only.
	ephemeral bool
}

func (rr *runRecord) object() map[string]any {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return map[string]any{
		"run_id": rr.ID, "thread_id": rr.ThreadID, "assistant_id": rr.AssistantID,
		"created_at": timestamp(rr.CreatedAt), "updated_at": timestamp(rr.updatedAt),
		"status": rr.status, "metadata": rr.Metadata, "kwargs": map[string]any{},
		"multitask_strategy": rr.Strategy,
	}
}

func (rr *runRecord) setStatus(s string) {
	rr.mu.Lock()
	rr.status, rr.updatedAt = s, time.Now().UTC()
	rr.mu.Unlock()
}

// ended reports whether the run has ended.
func (rr *runRecord) ended() bool {
	select {
	case <-rr.done:
		return true
	default:
		return false
	}
}

// stop cancels the run, recording how ("interrupt" or "rollback"); it
// reports whether the run was still going.
func (rr *runRecord) stop(action string) bool {
	if rr.ended() {
		return false
	}
	rr.mu.Lock()
	if rr.cancelled == "" {
		rr.cancelled = action
	}
	rr.mu.Unlock()
	rr.cancel()
	return true
}

// finish records how the run ended: "success" for a run that completed or
// paused (as the Platform reports a paused run), "interrupted" for one
// cancelled, "error" for one that failed; and closes its stream. save
// stores the record with its final status first, so that the run is
// reported ended only once it is stored (and a deletion after it is not
// undone by a late write).
func (rr *runRecord) finish(values json.RawMessage, err error, save func(rr *runRecord, status string, at time.Time)) {
	rr.mu.Lock()
	var status string
	switch {
	case rr.cancelled != "":
		status = "interrupted"
	case err != nil:
		status = "error"
	default:
		status = "success"
	}
	rr.mu.Unlock()
	// The last event, then every event is written to the store (if it
	// keeps them), then the record: a process that reads the run ended
	// reads all its events.
	if err != nil {
		rr.log.add("error", map[string]any{"error": errorName(err), "message": err.Error()})
	} else if values != nil {
		rr.log.values(values)
	}
	_ = rr.log.end()
	at := time.Now().UTC()
	save(rr, status, at)
	// All at once: whoever sees the status sees the run ended, its stream
	// closed, and the other way round.
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.values, rr.err, rr.updatedAt, rr.status = values, err, at, status
	rr.log.close()
	close(rr.done)
}

// active returns the runs of thread id under way (pending or running),
// oldest first. h.mu is held.
func (h *handler) active(id string) []*runRecord {
	var out []*runRecord
	for _, rr := range h.runs {
		if rr.ThreadID == id && !rr.ended() {
			out = append(out, rr)
		}
	}
	slices.SortFunc(out, func(a, b *runRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// busy reports whether a run of the handler is under way on thread id.
func (h *handler) busy(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.active(id)) > 0
}

// prepared is a run ready to go: its thread, workflow and record.
type prepared struct {
	thread *thread
	runner weft.Runner
	req    runRequest
	record *runRecord
	author string
	// after are the runs it waits for before it starts (enqueue,
	// interrupt, rollback); rollback are those it rolls back.
	after, rollback []*runRecord
	// temporary: the thread was made for a stateless run and is deleted
	// after it.
	temporary bool
	// answerer checks that the caller may answer the questions the run
	// answers.
	answerer func(assignees []string) bool
}

// prepare reads a run request, finds (or creates) its thread, applies the
// multitask strategy and records the run; it writes the error response
// itself and returns nil on failure.
func (h *handler) prepare(w http.ResponseWriter, r *http.Request) *prepared {
	var req runRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return nil
	}
	if req.AssistantID == "" {
		writeError(w, http.StatusUnprocessableEntity, "assistant_id is required")
		return nil
	}
	if !mayOperate(r) && !req.answersOnly() {
		writeError(w, http.StatusForbidden, forbidden(r, "start or resume runs other than answers (command.resume alone)"))
		return nil
	}
	rn, asst, ok := h.runnerOf(w, r, req.AssistantID)
	if !ok {
		return nil
	}
	if req.MultitaskStrategy == "" {
		req.MultitaskStrategy = strategyEnqueue
	}
	switch req.MultitaskStrategy {
	case strategyReject, strategyInterrupt, strategyRollback, strategyEnqueue:
	default:
		writeError(w, http.StatusUnprocessableEntity, "multitask_strategy must be reject, interrupt, rollback or enqueue")
		return nil
	}
	switch req.IfNotExists {
	case "", "reject", "create":
	default:
		writeError(w, http.StatusUnprocessableEntity, "if_not_exists must be reject or create")
		return nil
	}
	switch req.OnDisconnect {
	case "", "cancel", "continue":
	default:
		writeError(w, http.StatusUnprocessableEntity, "on_disconnect must be cancel or continue")
		return nil
	}
	modes, err := streamModes(req.StreamMode)
	if err != nil {
		writeErr(w, err)
		return nil
	}
	if _, err := breakpoints(rn, req); err != nil {
		writeErr(w, err)
		return nil
	}
	ctx := r.Context()
	p := &prepared{runner: rn, req: req, author: author(r), answerer: answerer(r)}
	id := r.PathValue("id")
	if id == "" {
		id, p.temporary = newUUID(), req.OnCompletion != "keep"
	}
	t, err := h.lookup(ctx, id)
	if errors.Is(err, weft.ErrNotFound) && (r.PathValue("id") == "" || req.IfNotExists == "create") {
		h.remember(id, "")
		t, err = h.lookup(ctx, id)
	}
	if err != nil {
		writeErr(w, err)
		return nil
	}
	if t.meta.Workflow != "" && t.meta.Workflow != rn.Name() {
		writeError(w, http.StatusConflict, fmt.Sprintf("thread %s belongs to graph %s, not %s", id, t.meta.Workflow, rn.Name()))
		return nil
	}
	p.thread = t
	now := time.Now().UTC()
	if req.Metadata == nil {
		req.Metadata = map[string]any{}
	}
	rctx, cancel := context.WithCancel(h.base)
	p.record = &runRecord{
		ID: newUUID(), ThreadID: id, AssistantID: asst["assistant_id"].(string), graph: rn.Name(), Metadata: req.Metadata,
		CreatedAt: now, Strategy: req.MultitaskStrategy, modes: modes, log: newEventLog(),
		ctx: rctx, cancel: cancel, updatedAt: now, status: "pending", done: make(chan struct{}),
		ephemeral: p.temporary,
	}
	p.record.log.persist(h.runEvents(p.record))
	p.record.log.add("metadata", map[string]any{"run_id": p.record.ID, "attempt": 1})
	// The record is stored first (pending), and forgotten if the run is
	// refused.
	if err := h.saveRun(ctx, p.record, "", time.Time{}); err != nil {
		cancel()
		p.record.log.stopPersisting()
		_ = h.forgetRun(context.WithoutCancel(ctx), p.record)
		writeErr(w, err)
		return nil
	}
	// A thread running in another process is refused by weft (ErrBusy:
	// 409), which also takes over one whose owner died. The strategy
	// decides what becomes of the runs under way here.
	if err := h.admit(p); err != nil {
		cancel()
		p.record.log.stopPersisting()
		_ = h.forgetRun(context.WithoutCancel(ctx), p.record)
		writeErr(w, err)
		return nil
	}
	return p
}

// errRejected is a run refused by multitask_strategy reject (409).
var errRejected = fmt.Errorf("thread is already running a task; wait for it to finish or choose a different multitask strategy: %w", weft.ErrBusy)

// admit applies the run's multitask strategy to the runs under way on its
// thread here and records it, or refuses it.
func (h *handler) admit(p *prepared) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	under := h.active(p.record.ThreadID)
	if len(under) > 0 {
		switch p.req.MultitaskStrategy {
		case strategyReject:
			return errRejected
		case strategyRollback:
			if err := h.canRollback(p.runner, under); err != nil {
				return err
			}
			p.rollback = under
			fallthrough
		case strategyInterrupt:
			for _, rr := range under {
				rr.stop(p.req.MultitaskStrategy)
			}
		}
		p.after = under
	}
	h.runs[p.record.ID] = p.record
	h.pruneRuns()
	return nil
}

// canRollback reports whether the runs can be rolled back: a run that
// started a thread is rolled back by deleting the thread, one that went on
// from a checkpoint by rewinding to it, which needs a forker.
func (h *handler) canRollback(rn weft.Runner, runs []*runRecord) error {
	if _, ok := rn.(weft.StateEditor); ok {
		return nil
	}
	for _, rr := range runs {
		rr.mu.Lock()
		head := rr.startHead
		rr.mu.Unlock()
		if head != "" {
			return fmt.Errorf("rolling back a run that went on from a checkpoint: %s: %w", noEditor, errInvalid)
		}
	}
	return nil
}

// rollBack undoes what runs (ended) did to their thread: the thread goes
// back to the head it had when the first of them began, or is deleted if
// it had none; their records are dropped, as the Platform deletes
// rolled-back runs.
func (h *handler) rollBack(ctx context.Context, rn weft.Runner, thread string, runs []*runRecord) error {
	var head string
	began := false
	for _, rr := range runs {
		rr.mu.Lock()
		if rr.started && !began {
			began, head = true, rr.startHead
		}
		rr.mu.Unlock()
	}
	h.mu.Lock()
	for _, rr := range runs {
		delete(h.runs, rr.ID)
	}
	h.mu.Unlock()
	for _, rr := range runs {
		if err := h.forgetRun(ctx, rr); err != nil {
			return err
		}
	}
	if !began {
		return nil
	}
	if head == "" {
		h.remember(thread, rn.Name()) // the thread stays, empty
		if err := rn.Delete(ctx, thread); err != nil && !errors.Is(err, weft.ErrNotFound) {
			return fmt.Errorf("rolling back thread %q: %w", thread, err)
		}
		return nil
	}
	f, ok := rn.(weft.StateEditor)
	if !ok {
		return fmt.Errorf("rolling back: %s: %w", noEditor, errInvalid)
	}
	if _, err := f.ForkJSON(ctx, thread, head, nil, weft.Note("rolled back")); err != nil {
		return fmt.Errorf("rolling back thread %q to checkpoint %s: %w", thread, head, err)
	}
	return nil
}

// rewind makes checkpoint cp the head of thread (weft's Fork), unless it
// is the head already.
func (h *handler) rewind(ctx context.Context, rn weft.Runner, thread, cp string) error {
	snap, err := rn.State(ctx, thread)
	if err != nil {
		return err
	}
	if snap.Checkpoint == cp {
		return nil
	}
	f, ok := rn.(weft.StateEditor)
	if !ok {
		return fmt.Errorf("running from a checkpoint: %s: %w", noEditor, errInvalid)
	}
	if _, err := f.ForkJSON(ctx, thread, cp, nil); err != nil {
		return fmt.Errorf("thread %q: running from checkpoint %s: %w", thread, cp, err)
	}
	return nil
}

// maxRuns is how many run records the handler keeps; past it, the records
// of the runs that ended longest ago are dropped.
const maxRuns = 10000

// maxLogs is how many ended runs keep their stream events (which hold
// states, and can be large); older ones keep their record only.
const maxLogs = 256

// pruneRuns drops the oldest records of ended runs past maxRuns, and the
// events of ended runs past maxLogs. h.mu is held.
func (h *handler) pruneRuns() {
	var ended []*runRecord
	for _, rr := range h.runs {
		if rr.ended() {
			ended = append(ended, rr)
		}
	}
	if len(ended) <= maxLogs && len(h.runs) <= maxRuns {
		return
	}
	slices.SortFunc(ended, func(a, b *runRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if n := len(h.runs) - maxRuns; n > 0 {
		for _, rr := range ended[:min(len(ended), n)] {
			delete(h.runs, rr.ID)
		}
		ended = ended[min(len(ended), n):]
	}
	for _, rr := range ended[:max(0, len(ended)-maxLogs)] {
		rr.log.drop()
	}
}

// launch runs p in the background, under its record's context (not the
// request's), and records how it ends.
func (h *handler) launch(p *prepared) {
	go func() {
		defer p.record.cancel()
		values, err := h.execute(p.record.ctx, p)
		p.record.finish(values, err, h.saveQuietly)
	}()
}

// execute waits for the runs p comes after, rolls back those it rolls
// back, then runs p to its end (or pause), streaming its events into its
// record's log, and returns the thread's values as the Platform's
// runs.wait returns them: with "__interrupt__" when paused. A run
// cancelled returns the thread's values where it stopped.
func (h *handler) execute(ctx context.Context, p *prepared) (json.RawMessage, error) {
	for _, rr := range p.after {
		select {
		case <-rr.done:
		case <-ctx.Done():
			p.record.mu.Lock()
			if p.record.cancelled == "" {
				p.record.cancelled = strategyInterrupt
			}
			p.record.mu.Unlock()
			return nil, nil // cancelled before it began: nothing ran
		}
	}
	id := p.thread.meta.ID
	if p.temporary {
		defer h.discard(context.WithoutCancel(ctx), p)
	}
	if len(p.rollback) > 0 {
		if err := h.rollBack(ctx, p.runner, id, p.rollback); err != nil {
			return nil, err
		}
	}
	if cp := p.req.from(); cp != "" {
		// Time travel: the thread goes back to the checkpoint first.
		if err := h.rewind(ctx, p.runner, id, cp); err != nil {
			return nil, err
		}
	}
	t, err := h.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	p.thread = t
	rr := p.record
	rr.mu.Lock()
	rr.started = true
	if t.row != nil {
		rr.startHead = t.row.Head
	}
	rr.mu.Unlock()
	h.joinThread(ctx, rr)
	rr.setStatus("running")
	h.saveQuietly(rr, "", time.Time{})
	h.remember(id, p.runner.Name())

	q := newEventQueue()
	at := *t // the thread as the run makes it: of the run's workflow
	at.runner = p.runner
	tr := &translator{
		runner: p.runner, thread: id, log: rr.log, states: map[string]json.RawMessage{},
		modes: rr.modes, tasks: map[string]string{},
		stateAt: func(ctx context.Context, cp string) (map[string]any, int, error) {
			snap, err := p.runner.StateAt(ctx, id, cp)
			if err != nil {
				return nil, 0, err
			}
			obj, err := h.stateObject(ctx, &at, snap)
			return obj, snap.Step, err
		},
	}
	stop, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case <-q.wake:
				tr.handle(ctx, q.take())
			case <-stop:
				tr.handle(ctx, q.take())
				return
			}
		}
	}()
	opts := []weft.RunOption{weft.By(p.author, checkpoint.ChannelAPI), weft.WithObserver(q)}
	bps, _ := breakpoints(p.runner, p.req) // checked by prepare
	opts = append(opts, bps...)
	res, err := h.start(ctx, p, opts)
	close(stop)
	<-drained
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Cancelled (by a cancel, a strategy, a disconnection or the base
		// context): the thread stopped at its last checkpoint.
		rr.mu.Lock()
		if rr.cancelled == "" {
			rr.cancelled = strategyInterrupt
		}
		rr.mu.Unlock()
		return h.currentValues(context.WithoutCancel(ctx), p)
	}
	if err != nil {
		return nil, err
	}
	return resultValues(res)
}

// currentValues is the thread's state as JSON, nil if it has none.
func (h *handler) currentValues(ctx context.Context, p *prepared) (json.RawMessage, error) {
	snap, err := p.runner.State(ctx, p.thread.meta.ID)
	if errors.Is(err, weft.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := json.Marshal(snap.Values)
	if err != nil {
		return nil, fmt.Errorf("thread %q: encoding its values: %w", p.thread.meta.ID, err)
	}
	return v, nil
}

// discard deletes the thread of a stateless run and forgets it.
func (h *handler) discard(ctx context.Context, p *prepared) {
	h.mu.Lock()
	log := h.dropThreadStream(p.thread.meta.ID)
	h.mu.Unlock()
	if log != nil {
		log.stopPersisting()
	}
	_ = p.runner.Delete(ctx, p.thread.meta.ID)
	_ = h.forgetThread(ctx, p.thread.meta.ID)
	h.mu.Lock()
	delete(h.threads, p.thread.meta.ID)
	h.mu.Unlock()
}

// start begins the run: Resume for a command, or for no input on a thread
// that can carry on; Run otherwise (after cancelling the questions of a
// thread that waits, as new input to a paused LangGraph thread starts over).
func (h *handler) start(ctx context.Context, p *prepared, opts []weft.RunOption) (*weft.Result[any], error) {
	id, rn := p.thread.meta.ID, p.runner
	if c := p.req.Command; c != nil {
		copts, err := h.commandOptions(ctx, p, c)
		if err != nil {
			return nil, err
		}
		return rn.Resume(ctx, id, append(opts, copts...)...)
	}
	noInput := !has(p.req.Input)
	if row := p.thread.row; row != nil {
		switch row.Status {
		case weft.StatusInterrupted, weft.StatusStopped, weft.StatusFailed, weft.StatusReady:
			if noInput {
				return rn.Resume(ctx, id, opts...)
			}
			if err := rn.Cancel(ctx, id, "new input", weft.By(p.author, checkpoint.ChannelAPI)); err != nil {
				return nil, fmt.Errorf("starting over with new input: %w", err)
			}
		}
	}
	return rn.Run(ctx, id, p.req.Input, opts...)
}

// commandOptions turns a Command into Resume's options: resume as
// weft.Reply, or, when it is an object keyed by the IDs of pending
// questions, one weft.Answer per key; update as weft.Update; goto as
// weft.GoTo. It refuses answers the caller may not give (errForbidden).
func (h *handler) commandOptions(ctx context.Context, p *prepared, c *command) ([]weft.RunOption, error) {
	var opts []weft.RunOption
	if has(c.Resume) {
		pending, err := h.pendingQuestions(ctx, p)
		if err != nil {
			return nil, err
		}
		answers := byID(pending, c.Resume)
		for _, q := range pending {
			if _, ok := answers[q.ID]; (ok || answers == nil) && !p.answerer(q.Assignees) {
				return nil, fmt.Errorf("question %s is assigned to %v: %w", q.ID, q.Assignees, errForbidden)
			}
		}
		if answers != nil {
			for id, v := range answers {
				opts = append(opts, weft.Answer(id, v))
			}
		} else {
			opts = append(opts, weft.Reply(c.Resume))
		}
	}
	if has(c.Update) {
		u, ok := p.runner.(updater)
		if !ok {
			return nil, fmt.Errorf("command update needs the workflow wrapped with langgraph.Runner: %w", errInvalid)
		}
		opt, err := u.updateOption(c.Update)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	if has(c.Goto) {
		var nodes []string
		var one string
		if err := json.Unmarshal(c.Goto, &one); err == nil {
			nodes = []string{one}
		} else if err := json.Unmarshal(c.Goto, &nodes); err != nil {
			return nil, fmt.Errorf("command goto must be a node name or a list of them (Send is not supported): %w", errInvalid)
		}
		opts = append(opts, weft.GoTo(nodes...))
	}
	return opts, nil
}

// pendingQuestions are the questions the thread waits for.
func (h *handler) pendingQuestions(ctx context.Context, p *prepared) ([]weft.Question, error) {
	snap, err := p.runner.State(ctx, p.thread.meta.ID)
	if err != nil {
		return nil, err
	}
	return snap.Interrupts, nil
}

// byID returns resume as answers keyed by question ID when it is an object
// whose keys are all IDs of pending questions, or look like question IDs
// (weft refuses those it does not know: ErrUnknownInterrupt, or
// ErrAlreadyAnswered); nil otherwise: resume is then one answer.
func byID(pending []weft.Question, resume json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(resume), []byte("{")) || json.Unmarshal(resume, &m) != nil || len(m) == 0 {
		return nil
	}
	for k := range m {
		if !slices.ContainsFunc(pending, func(q weft.Question) bool { return q.ID == k }) && !looksLikeID(k) {
			return nil
		}
	}
	return m
}

// looksLikeID reports whether s has the form of a weft question ID (and a
// LangGraph interrupt id): 32 lowercase hex digits.
func looksLikeID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// breakpoints are the run's interrupt_before and interrupt_after ("*" for
// every node).
func breakpoints(rn weft.Runner, req runRequest) ([]weft.RunOption, error) {
	var opts []weft.RunOption
	for i, raw := range []json.RawMessage{req.InterruptBefore, req.InterruptAfter} {
		if !has(raw) {
			continue
		}
		var nodes []string
		var star string
		if err := json.Unmarshal(raw, &star); err == nil && star == "*" {
			for _, n := range rn.Shape().Nodes {
				nodes = append(nodes, n.Name)
			}
		} else if err := json.Unmarshal(raw, &nodes); err != nil {
			return nil, fmt.Errorf("interrupt_before and interrupt_after take \"*\" or a list of nodes: %w", errInvalid)
		}
		if i == 0 {
			opts = append(opts, weft.InterruptBefore(nodes...))
		} else {
			opts = append(opts, weft.InterruptAfter(nodes...))
		}
	}
	return opts, nil
}

// resultValues is the state of res as a JSON object, with "__interrupt__"
// listing the questions it waits for when it paused (empty at a
// breakpoint).
func resultValues(res *weft.Result[any]) (json.RawMessage, error) {
	values, err := json.Marshal(res.State)
	if err != nil {
		return nil, fmt.Errorf("thread %q: encoding its values: %w", res.Thread, err)
	}
	if res.Status != weft.StatusInterrupted {
		return values, nil
	}
	return withInterrupts(values, res.Interrupts)
}

// withInterrupts adds "__interrupt__" with the dynamic questions of qs to
// the JSON object values.
func withInterrupts(values json.RawMessage, qs []weft.Question) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if string(values) != "null" {
		if err := json.Unmarshal(values, &m); err != nil {
			return nil, fmt.Errorf("the state is not a JSON object: %w", err)
		}
	}
	b, _ := json.Marshal(wireInterrupts(qs))
	m["__interrupt__"] = b
	return json.Marshal(m)
}

// wireInterrupts are the dynamic questions of qs as the Platform shows
// interrupts.
func wireInterrupts(qs []weft.Question) []wireInterrupt {
	out := []wireInterrupt{}
	for _, q := range qs {
		if q.Kind == weft.KindDynamic {
			out = append(out, wireInterrupt{ID: q.ID, Value: q.Value})
		}
	}
	return out
}

// follow waits for the run of a request to end; if the client goes away
// first, it cancels the run unless on_disconnect is "continue", and
// reports false.
func follow(r *http.Request, rr *runRecord, onDisconnect string) bool {
	select {
	case <-rr.done:
		return true
	case <-r.Context().Done():
		if onDisconnect != "continue" {
			rr.stop(strategyInterrupt)
		}
		return false
	}
}

func (h *handler) waitRun(w http.ResponseWriter, r *http.Request) {
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	h.launch(p)
	if !follow(r, p.record, p.req.OnDisconnect) {
		return
	}
	writeOutcome(w, p.record)
}

// writeOutcome answers with how the run ended: the thread's values, or the
// error.
func writeOutcome(w http.ResponseWriter, rr *runRecord) {
	rr.mu.Lock()
	values, err := rr.values, rr.err
	rr.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	if values == nil {
		values = json.RawMessage("null")
	}
	w.Header().Set("Content-Location", "/threads/"+rr.ThreadID+"/runs/"+rr.ID)
	writeJSON(w, http.StatusOK, values)
}

func (h *handler) backgroundRun(w http.ResponseWriter, r *http.Request) {
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	h.launch(p)
	w.Header().Set("Content-Location", "/threads/"+p.record.ThreadID+"/runs/"+p.record.ID)
	writeJSON(w, http.StatusOK, p.record.object())
}

// record finds run id of thread, in memory or in the store, writing 404
// if there is none.
func (h *handler) record(w http.ResponseWriter, r *http.Request) *runRecord {
	id := r.PathValue("run")
	h.mu.Lock()
	rr, ok := h.runs[id]
	h.mu.Unlock()
	if !ok {
		var err error
		if rr, err = h.storedRun(r.Context(), id); err != nil {
			writeErr(w, err)
			return nil
		}
	}
	if rr == nil || rr.ThreadID != r.PathValue("id") {
		writeError(w, http.StatusNotFound, "Run not found")
		return nil
	}
	return rr
}

func (h *handler) getRun(w http.ResponseWriter, r *http.Request) {
	if rr := h.record(w, r); rr != nil {
		writeJSON(w, http.StatusOK, rr.object())
	}
}

func (h *handler) listRuns(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := h.lookup(r.Context(), id); err != nil {
		writeErr(w, err)
		return
	}
	status := r.URL.Query().Get("status")
	stored, err := h.storedRuns(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return
	}
	h.mu.Lock()
	var rs []*runRecord
	for _, rr := range h.runs {
		if rr.ThreadID == id {
			rs = append(rs, rr)
		}
	}
	var settle []*runRecord
	for _, rr := range stored {
		if _, mem := h.runs[rr.ID]; !mem {
			rs = append(rs, rr)
			settle = append(settle, rr)
		}
	}
	h.mu.Unlock()
	for _, rr := range settle { // runs of no process here: their thread tells
		h.settle(r.Context(), rr)
	}
	slices.SortFunc(rs, func(a, b *runRecord) int { return b.CreatedAt.Compare(a.CreatedAt) })
	out := []map[string]any{}
	for _, rr := range rs {
		obj := rr.object()
		if status == "" || obj["status"] == status {
			out = append(out, obj)
		}
	}
	limit, offset := queryInt(r, "limit", 10), queryInt(r, "offset", 0)
	writeJSON(w, http.StatusOK, page(out, offset, limit))
}

// deleteRun forgets a run that has ended (409 for one under way).
func (h *handler) deleteRun(w http.ResponseWriter, r *http.Request) {
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	if !rr.ended() {
		writeError(w, http.StatusConflict, "Run is pending or running: cancel it first")
		return
	}
	if err := h.forgetRun(r.Context(), rr); err != nil {
		writeErr(w, err)
		return
	}
	h.mu.Lock()
	delete(h.runs, rr.ID)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// joinRun waits for the run to end and returns the thread's values.
func (h *handler) joinRun(w http.ResponseWriter, r *http.Request) {
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	if !follow(r, rr, "continue") {
		return
	}
	if rr.stored {
		// A run of an earlier process: its values are the thread's.
		h.writeThreadValues(w, r, rr)
		return
	}
	writeOutcome(w, rr)
}

// writeThreadValues answers a join of a stored run with the thread's
// values, as the Platform's join does, with "__interrupt__" when it waits.
func (h *handler) writeThreadValues(w http.ResponseWriter, r *http.Request, rr *runRecord) {
	ctx := r.Context()
	t, err := h.lookup(ctx, rr.ThreadID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if t.runner == nil || t.row == nil {
		writeJSON(w, http.StatusOK, nil)
		return
	}
	snap, err := t.runner.State(ctx, rr.ThreadID)
	if err != nil {
		writeErr(w, err)
		return
	}
	values, err := json.Marshal(snap.Values)
	if err == nil && snap.Status == weft.StatusInterrupted {
		values, err = withInterrupts(values, snap.Interrupts)
	}
	if err != nil {
		writeErr(w, fmt.Errorf("thread %q: encoding its values: %w", rr.ThreadID, err))
		return
	}
	writeJSON(w, http.StatusOK, json.RawMessage(values))
}

// cancelRun cancels a run: its context ends and the thread stops at its
// last checkpoint. ?action=rollback also undoes what the run did and drops
// its record (and waits for it to end); ?wait=true waits for it to end.
func (h *handler) cancelRun(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Query().Get("action")
	if action == "" {
		action = strategyInterrupt
	}
	if action != strategyInterrupt && action != strategyRollback {
		writeError(w, http.StatusUnprocessableEntity, "action must be interrupt or rollback")
		return
	}
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	if rr.ended() {
		writeError(w, http.StatusConflict, "Run is not pending or running")
		return
	}
	rn := h.runners[rr.graph]
	if action == strategyRollback {
		if err := h.canRollback(rn, []*runRecord{rr}); err != nil {
			writeErr(w, err)
			return
		}
	}
	rr.stop(action)
	if q := r.URL.Query().Get("wait"); action == strategyRollback || q == "true" || q == "1" {
		select {
		case <-rr.done:
		case <-r.Context().Done():
			return
		}
	}
	if action == strategyRollback {
		// Once begun, the rollback goes to its end, client or not.
		if err := h.rollBack(context.WithoutCancel(r.Context()), rn, rr.ThreadID, []*runRecord{rr}); err != nil {
			writeErr(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// cancelRuns is POST /runs/cancel?action=interrupt|rollback {status} or
// {thread_id, run_ids}: cancelRun for several runs at once, all or
// none checked first (an unknown run is 404 and cancels nothing).
func (h *handler) cancelRuns(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Query().Get("action")
	if action == "" {
		action = strategyInterrupt
	}
	if action != strategyInterrupt && action != strategyRollback {
		writeError(w, http.StatusUnprocessableEntity, "action must be interrupt or rollback")
		return
	}
	var req struct {
		Status   string   `json:"status"`
		ThreadID string   `json:"thread_id"`
		RunIDs   []string `json:"run_ids"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var runs []*runRecord
	h.mu.Lock()
	switch {
	case req.Status != "" && req.ThreadID == "" && len(req.RunIDs) == 0:
		if req.Status != "pending" && req.Status != "running" && req.Status != "all" {
			h.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "status must be pending, running or all")
			return
		}
		for _, rr := range h.runs {
			rr.mu.Lock()
			st := rr.status
			rr.mu.Unlock()
			if !rr.ended() && (req.Status == "all" || req.Status == st) {
				runs = append(runs, rr)
			}
		}
	case req.Status == "" && req.ThreadID != "" && len(req.RunIDs) > 0:
		for _, id := range req.RunIDs {
			rr, ok := h.runs[id]
			if !ok || rr.ThreadID != req.ThreadID {
				h.mu.Unlock()
				writeError(w, http.StatusNotFound, "Run "+id+" not found")
				return
			}
			if !rr.ended() {
				runs = append(runs, rr)
			}
		}
	default:
		h.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "give status, or thread_id and run_ids")
		return
	}
	h.mu.Unlock()
	slices.SortFunc(runs, func(a, b *runRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	byThread := map[string][]*runRecord{}
	for _, rr := range runs {
		byThread[rr.ThreadID] = append(byThread[rr.ThreadID], rr)
	}
	if action == strategyRollback {
		for _, rs := range byThread {
			if err := h.canRollback(h.runners[rs[0].graph], rs); err != nil {
				writeErr(w, err)
				return
			}
		}
	}
	for _, rr := range runs {
		rr.stop(action)
	}
	if action == strategyRollback {
		for thread, rs := range byThread {
			for _, rr := range rs {
				select {
				case <-rr.done:
				case <-r.Context().Done():
					return
				}
			}
			if err := h.rollBack(context.WithoutCancel(r.Context()), h.runners[rs[0].graph], thread, rs); err != nil {
				writeErr(w, err)
				return
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
