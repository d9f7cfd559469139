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
	InterruptBefore   json.RawMessage `json:"interrupt_before"`
	InterruptAfter    json.RawMessage `json:"interrupt_after"`
	IfNotExists       string          `json:"if_not_exists"`
	OnCompletion      string          `json:"on_completion"`
	MultitaskStrategy string          `json:"multitask_strategy"`
}

// command is LangGraph's Command: resume, update and goto.
type command struct {
	Resume json.RawMessage `json:"resume"`
	Update json.RawMessage `json:"update"`
	Goto   json.RawMessage `json:"goto"`
}

// runRecord is a run as the handler keeps it, in memory.
type runRecord struct {
	ID, ThreadID, AssistantID string
	Metadata                  map[string]any
	CreatedAt                 time.Time
	cancel                    context.CancelFunc
	done                      chan struct{}

	mu        sync.Mutex
	status    string
	updatedAt time.Time
	values    json.RawMessage
	err       error
	cancelled bool
}

func (rr *runRecord) object() map[string]any {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return map[string]any{
		"run_id": rr.ID, "thread_id": rr.ThreadID, "assistant_id": rr.AssistantID,
		"created_at": timestamp(rr.CreatedAt), "updated_at": timestamp(rr.updatedAt),
		"status": rr.status, "metadata": rr.Metadata, "kwargs": map[string]any{},
		"multitask_strategy": "reject",
	}
}

func (rr *runRecord) setStatus(s string) {
	rr.mu.Lock()
	rr.status, rr.updatedAt = s, time.Now().UTC()
	rr.mu.Unlock()
}

// finish records how the run ended: "success" for a run that completed or
// paused (as the Platform reports a paused run), "interrupted" for one
// cancelled, "error" for one that failed.
func (rr *runRecord) finish(values json.RawMessage, err error) {
	rr.mu.Lock()
	rr.values, rr.err, rr.updatedAt = values, err, time.Now().UTC()
	switch {
	case rr.cancelled:
		rr.status = "interrupted"
	case err != nil:
		rr.status = "error"
	default:
		rr.status = "success"
	}
	rr.mu.Unlock()
	close(rr.done)
}

// busy reports whether a run of the handler is under way on thread id.
func (h *handler) busy(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rr := range h.runs {
		if rr.ThreadID != id {
			continue
		}
		select {
		case <-rr.done:
		default:
			return true
		}
	}
	return false
}

// prepared is a run ready to go: its thread, workflow and record.
type prepared struct {
	thread *thread
	runner weft.Runner
	req    runRequest
	record *runRecord
	author string
	// temporary: the thread was made for a stateless run and is deleted
	// after it.
	temporary bool
}

// prepare reads a run request and finds (or creates) its thread; it writes
// the error response itself and returns nil on failure.
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
	rn, ok := h.runnerOf(w, req.AssistantID)
	if !ok {
		return nil
	}
	if req.MultitaskStrategy != "" && req.MultitaskStrategy != "reject" {
		writeError(w, http.StatusUnprocessableEntity, "multitask_strategy "+req.MultitaskStrategy+" is not supported (only reject)")
		return nil
	}
	ctx := r.Context()
	p := &prepared{runner: rn, req: req, author: author(r)}
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
	// A thread running in another process is refused by weft (ErrBusy:
	// 409), which also takes over one whose owner died.
	if h.busy(id) {
		writeError(w, http.StatusConflict, "Thread is already running a task. Wait for it to finish or choose a different multitask strategy.")
		return nil
	}
	p.thread = t
	now := time.Now().UTC()
	if req.Metadata == nil {
		req.Metadata = map[string]any{}
	}
	p.record = &runRecord{
		ID: newUUID(), ThreadID: id, AssistantID: rn.Name(), Metadata: req.Metadata,
		CreatedAt: now, updatedAt: now, status: "pending", done: make(chan struct{}),
	}
	h.mu.Lock()
	h.runs[p.record.ID] = p.record
	h.pruneRuns()
	h.mu.Unlock()
	return p
}

// maxRuns is how many run records the handler keeps; past it, the records
// of the runs that ended longest ago are dropped.
const maxRuns = 10000

// pruneRuns drops the oldest records of ended runs past maxRuns. h.mu is
// held.
func (h *handler) pruneRuns() {
	if len(h.runs) <= maxRuns {
		return
	}
	var ended []*runRecord
	for _, rr := range h.runs {
		select {
		case <-rr.done:
			ended = append(ended, rr)
		default:
		}
	}
	slices.SortFunc(ended, func(a, b *runRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, rr := range ended[:min(len(ended), len(h.runs)-maxRuns)] {
		delete(h.runs, rr.ID)
	}
}

// execute runs p to its end (or pause) and returns the thread's values as
// the Platform's runs.wait returns them: with "__interrupt__" when paused.
func (h *handler) execute(ctx context.Context, p *prepared, extra ...weft.RunOption) (json.RawMessage, error) {
	p.record.setStatus("running")
	id := p.thread.meta.ID
	h.remember(id, p.runner.Name())
	opts := []weft.RunOption{weft.By(p.author, checkpoint.ChannelAPI)}
	opts = append(opts, extra...)
	bps, err := breakpoints(p.runner, p.req)
	if err != nil {
		return nil, err
	}
	opts = append(opts, bps...)
	res, err := h.start(ctx, p, opts)
	if p.temporary {
		defer h.discard(context.WithoutCancel(ctx), p)
	}
	if err != nil {
		return nil, err
	}
	return resultValues(res)
}

// discard deletes the thread of a stateless run and forgets it.
func (h *handler) discard(ctx context.Context, p *prepared) {
	_ = p.runner.Delete(ctx, p.thread.meta.ID)
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
	noInput := len(p.req.Input) == 0 || string(p.req.Input) == "null"
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
// weft.GoTo.
func (h *handler) commandOptions(ctx context.Context, p *prepared, c *command) ([]weft.RunOption, error) {
	var opts []weft.RunOption
	if len(c.Resume) > 0 {
		answers, err := h.byID(ctx, p, c.Resume)
		if err != nil {
			return nil, err
		}
		if answers != nil {
			for id, v := range answers {
				opts = append(opts, weft.Answer(id, v))
			}
		} else {
			opts = append(opts, weft.Reply(c.Resume))
		}
	}
	if len(c.Update) > 0 && string(c.Update) != "null" {
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
	if len(c.Goto) > 0 && string(c.Goto) != "null" {
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

// byID returns resume as answers keyed by question ID when it is an object
// whose keys are all IDs of questions the thread waits for; nil otherwise.
func (h *handler) byID(ctx context.Context, p *prepared, resume json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimSpace(resume), []byte("{")) || json.Unmarshal(resume, &m) != nil || len(m) == 0 {
		return nil, nil
	}
	snap, err := p.runner.State(ctx, p.thread.meta.ID)
	if err != nil {
		return nil, err
	}
	for k := range m {
		if !slices.ContainsFunc(snap.Interrupts, func(q weft.Question) bool { return q.ID == k }) {
			return nil, nil
		}
	}
	return m, nil
}

// breakpoints are the run's interrupt_before and interrupt_after ("*" for
// every node).
func breakpoints(rn weft.Runner, req runRequest) ([]weft.RunOption, error) {
	var opts []weft.RunOption
	for i, raw := range []json.RawMessage{req.InterruptBefore, req.InterruptAfter} {
		if len(raw) == 0 || string(raw) == "null" {
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
	ints := []wireInterrupt{}
	for _, q := range qs {
		if q.Kind == weft.KindDynamic {
			ints = append(ints, wireInterrupt{ID: q.ID, Value: q.Value})
		}
	}
	b, _ := json.Marshal(ints)
	m["__interrupt__"] = b
	return json.Marshal(m)
}

func (h *handler) waitRun(w http.ResponseWriter, r *http.Request) {
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	values, err := h.execute(r.Context(), p)
	p.record.finish(values, err)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Location", "/threads/"+p.thread.meta.ID+"/runs/"+p.record.ID)
	writeJSON(w, http.StatusOK, values)
}

func (h *handler) backgroundRun(w http.ResponseWriter, r *http.Request) {
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	ctx, cancel := context.WithCancel(h.base)
	p.record.cancel = cancel
	go func() {
		defer cancel()
		values, err := h.execute(ctx, p)
		p.record.finish(values, err)
	}()
	w.Header().Set("Content-Location", "/threads/"+p.thread.meta.ID+"/runs/"+p.record.ID)
	writeJSON(w, http.StatusOK, p.record.object())
}

// record finds run id of thread, writing 404 if there is none.
func (h *handler) record(w http.ResponseWriter, r *http.Request) *runRecord {
	h.mu.Lock()
	rr, ok := h.runs[r.PathValue("run")]
	h.mu.Unlock()
	if !ok || rr.ThreadID != r.PathValue("id") {
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
	h.mu.Lock()
	var rs []*runRecord
	for _, rr := range h.runs {
		if rr.ThreadID == id {
			rs = append(rs, rr)
		}
	}
	h.mu.Unlock()
	slices.SortFunc(rs, func(a, b *runRecord) int { return b.CreatedAt.Compare(a.CreatedAt) })
	out := []map[string]any{}
	for _, rr := range rs {
		out = append(out, rr.object())
	}
	writeJSON(w, http.StatusOK, out)
}

// joinRun waits for the run to end and returns the thread's values.
func (h *handler) joinRun(w http.ResponseWriter, r *http.Request) {
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	select {
	case <-rr.done:
	case <-r.Context().Done():
		return
	}
	rr.mu.Lock()
	values, err := rr.values, rr.err
	rr.mu.Unlock()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, values)
}

// cancelRun cancels a background run (its context ends: the thread stops at
// its last checkpoint); ?wait=true waits for it to end.
func (h *handler) cancelRun(w http.ResponseWriter, r *http.Request) {
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	select {
	case <-rr.done:
		writeError(w, http.StatusConflict, "Run is not pending or running")
		return
	default:
	}
	rr.mu.Lock()
	rr.cancelled = true
	cancel := rr.cancel
	rr.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if q := r.URL.Query().Get("wait"); q == "true" || q == "1" {
		select {
		case <-rr.done:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
