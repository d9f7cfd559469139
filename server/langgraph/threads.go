package langgraph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// threadMeta is what the handler keeps in memory of a thread: the Platform
// lets a thread exist (with metadata) before any run, which a weft thread
// cannot.
type threadMeta struct {
	ID        string
	Metadata  map[string]any
	CreatedAt time.Time
	// Workflow is the workflow of the thread's runs, once it has one.
	Workflow string
}

// wireInterrupt is an interrupt on the wire: exactly {id, value}.
type wireInterrupt struct {
	ID    string          `json:"id"`
	Value json.RawMessage `json:"value"`
}

// thread is a thread as the handler finds it: its metadata, its row in the
// store (nil before its first run) and its workflow (nil before too).
type thread struct {
	meta   threadMeta
	row    *checkpoint.Thread
	runner weft.Runner
}

// lookup finds thread id in memory and in the store; it fails with
// weft.ErrNotFound when neither knows it.
func (h *handler) lookup(ctx context.Context, id string) (*thread, error) {
	h.mu.Lock()
	m, known := h.threads[id]
	var t thread
	if known {
		t.meta = *m
		t.meta.Metadata = cloneMap(m.Metadata)
	}
	h.mu.Unlock()
	if !known {
		m, err := h.loadThread(ctx, id)
		if err != nil {
			return nil, err
		}
		if m != nil {
			known, t.meta = true, *m
			h.mu.Lock()
			if _, dup := h.threads[id]; !dup {
				h.threads[id] = m
			}
			h.mu.Unlock()
			t.meta.Metadata = cloneMap(m.Metadata)
		}
	}
	if h.store != nil {
		row, err := h.store.Thread(ctx, id)
		switch {
		case err == nil:
			t.row = row
		case !errors.Is(err, checkpoint.ErrNotFound):
			return nil, fmt.Errorf("thread %q: %w", id, err)
		}
	}
	if !known && t.row == nil {
		return nil, fmt.Errorf("thread %q not found: %w", id, weft.ErrNotFound)
	}
	if !known {
		t.meta = threadMeta{ID: id, CreatedAt: t.row.CreatedAt, Workflow: t.row.Workflow, Metadata: map[string]any{}}
	}
	if t.row != nil {
		t.meta.Workflow = t.row.Workflow
	}
	if t.meta.Workflow != "" {
		t.runner = h.runners[t.meta.Workflow]
		t.meta.Metadata["graph_id"] = t.meta.Workflow
		t.meta.Metadata["assistant_id"] = t.meta.Workflow
	}
	return &t, nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (h *handler) createThread(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ThreadID string         `json:"thread_id"`
		Metadata map[string]any `json:"metadata"`
		IfExists string         `json:"if_exists"`
		// Supersteps would prefill the thread's state: not supported.
		Supersteps []json.RawMessage `json:"supersteps"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if len(req.Supersteps) > 0 {
		writeError(w, http.StatusUnprocessableEntity, "supersteps are not supported: create the thread, then update its state (POST /threads/{id}/state)")
		return
	}
	if req.ThreadID == "" {
		req.ThreadID = newUUID()
	}
	if req.IfExists == "" {
		req.IfExists = "raise"
	}
	if req.IfExists != "raise" && req.IfExists != "do_nothing" {
		writeError(w, http.StatusUnprocessableEntity, "if_exists must be raise or do_nothing")
		return
	}
	if t, err := h.lookup(r.Context(), req.ThreadID); err == nil {
		if req.IfExists == "raise" {
			writeError(w, http.StatusConflict, "Thread "+req.ThreadID+" already exists")
			return
		}
		h.writeThread(w, r.Context(), t)
		return
	} else if !errors.Is(err, weft.ErrNotFound) {
		writeErr(w, err)
		return
	}
	if req.Metadata == nil {
		req.Metadata = map[string]any{}
	}
	m := &threadMeta{ID: req.ThreadID, Metadata: req.Metadata, CreatedAt: time.Now().UTC()}
	h.mu.Lock()
	if _, dup := h.threads[m.ID]; dup && req.IfExists == "raise" {
		h.mu.Unlock()
		writeError(w, http.StatusConflict, "Thread "+req.ThreadID+" already exists")
		return
	} else if !dup {
		h.threads[m.ID] = m
	}
	h.mu.Unlock()
	if err := h.saveThread(r.Context(), m); err != nil {
		h.mu.Lock()
		if h.threads[m.ID] == m {
			delete(h.threads, m.ID)
		}
		h.mu.Unlock()
		writeErr(w, err)
		return
	}
	t, err := h.lookup(r.Context(), m.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	h.writeThread(w, r.Context(), t)
}

// remember records that thread id runs workflow, keeping it in memory.
func (h *handler) remember(id, workflow string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.threads[id]
	if !ok {
		m = &threadMeta{ID: id, Metadata: map[string]any{}, CreatedAt: time.Now().UTC()}
		h.threads[id] = m
	}
	m.Workflow = workflow
}

func (h *handler) getThread(w http.ResponseWriter, r *http.Request) {
	t, err := h.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	h.writeThread(w, r.Context(), t)
}

func (h *handler) writeThread(w http.ResponseWriter, ctx context.Context, t *thread) {
	obj, err := h.threadObject(ctx, t)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// threadStatus maps weft's statuses to the Platform's idle, busy,
// interrupted and error.
func threadStatus(s weft.Status) string {
	switch s {
	case weft.StatusRunning, weft.StatusReady:
		return "busy"
	case weft.StatusInterrupted:
		return "interrupted"
	case weft.StatusFailed:
		return "error"
	}
	return "idle"
}

// threadObject is the Platform's thread object.
func (h *handler) threadObject(ctx context.Context, t *thread) (map[string]any, error) {
	obj := map[string]any{
		"thread_id":  t.meta.ID,
		"created_at": timestamp(t.meta.CreatedAt),
		"updated_at": timestamp(t.meta.CreatedAt),
		"metadata":   t.meta.Metadata,
		"status":     "idle",
		"config":     map[string]any{},
		"values":     nil,
		"interrupts": map[string][]wireInterrupt{},
	}
	if t.row != nil {
		obj["updated_at"] = timestamp(t.row.UpdatedAt)
		obj["status"] = threadStatus(t.row.Status)
	}
	if h.busy(t.meta.ID) {
		obj["status"] = "busy"
	}
	if t.row == nil || t.runner == nil {
		// Not run yet, or a workflow the handler does not serve: its
		// values need the workflow.
		return obj, nil
	}
	snap, err := t.runner.State(ctx, t.meta.ID)
	if err != nil {
		if errors.Is(err, weft.ErrNotFound) {
			return obj, nil
		}
		return nil, err
	}
	values, err := json.Marshal(snap.Values)
	if err != nil {
		return nil, fmt.Errorf("thread %q: encoding its values: %w", t.meta.ID, err)
	}
	obj["values"] = json.RawMessage(values)
	ints := map[string][]wireInterrupt{}
	for _, q := range snap.Interrupts {
		if q.Kind != weft.KindDynamic {
			continue
		}
		id := taskID(t.meta.ID, snap.Checkpoint, q.Task)
		ints[id] = append(ints[id], wireInterrupt{ID: q.ID, Value: q.Value})
	}
	obj["interrupts"] = ints
	return obj, nil
}

// taskID names a task of a checkpoint's superstep with a stable UUID.
func taskID(thread, cp, task string) string {
	sum := sha256.Sum256([]byte(thread + "\x00" + cp + "\x00" + task))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (h *handler) searchThreads(w http.ResponseWriter, r *http.Request) {
	out, q, ok := h.findThreads(w, r)
	if ok {
		writeJSON(w, http.StatusOK, page(out, q.Offset, q.Limit))
	}
}

// countThreads is POST /threads/count: how many threads the search finds
// (without paging).
func (h *handler) countThreads(w http.ResponseWriter, r *http.Request) {
	if out, _, ok := h.findThreads(w, r); ok {
		writeJSON(w, http.StatusOK, len(out))
	}
}

// threadQuery is the body of POST /threads/search and /threads/count.
type threadQuery struct {
	Status    string         `json:"status"`
	Metadata  map[string]any `json:"metadata"`
	Values    map[string]any `json:"values"`
	IDs       []string       `json:"ids"`
	Limit     int            `json:"limit"`
	Offset    int            `json:"offset"`
	SortBy    string         `json:"sort_by"`
	SortOrder string         `json:"sort_order"`
}

// findThreads are the threads a search or count asks for, newest first;
// it writes the error itself.
func (h *handler) findThreads(w http.ResponseWriter, r *http.Request) ([]map[string]any, threadQuery, bool) {
	var q threadQuery
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, q, false
	}
	switch q.Status {
	case "", "idle", "busy", "interrupted", "error":
	default:
		writeError(w, http.StatusUnprocessableEntity, "status must be idle, busy, interrupted or error")
		return nil, q, false
	}
	switch q.SortBy {
	case "":
		q.SortBy = "created_at"
	case "thread_id", "status", "created_at", "updated_at":
	default:
		writeError(w, http.StatusUnprocessableEntity, "sort_by must be thread_id, status, created_at or updated_at")
		return nil, q, false
	}
	switch q.SortOrder {
	case "":
		q.SortOrder = "desc"
	case "asc", "desc":
	default:
		writeError(w, http.StatusUnprocessableEntity, "sort_order must be asc or desc")
		return nil, q, false
	}
	ctx := r.Context()
	ids, err := h.threadIDs(ctx)
	if err != nil {
		writeErr(w, err)
		return nil, q, false
	}
	out := []map[string]any{}
	for _, id := range ids {
		if len(q.IDs) > 0 && !slices.Contains(q.IDs, id) {
			continue
		}
		t, err := h.lookup(ctx, id)
		if err != nil {
			if errors.Is(err, weft.ErrNotFound) {
				continue
			}
			writeErr(w, err)
			return nil, q, false
		}
		if !matches(t.meta.Metadata, q.Metadata) {
			continue
		}
		obj, err := h.threadObject(ctx, t)
		if err != nil {
			writeErr(w, err)
			return nil, q, false
		}
		if q.Status != "" && obj["status"] != q.Status {
			continue
		}
		if len(q.Values) > 0 {
			var values map[string]any
			if v, ok := obj["values"].(json.RawMessage); !ok || json.Unmarshal(v, &values) != nil || !matches(values, q.Values) {
				continue
			}
		}
		out = append(out, obj)
	}
	// Newest first by default, as the Platform sorts.
	slices.SortStableFunc(out, func(a, b map[string]any) int {
		c := compareStrings(a[q.SortBy].(string), b[q.SortBy].(string))
		if q.SortOrder == "desc" {
			c = -c
		}
		return c
	})
	return out, q, true
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matches reports whether metadata has every key of filter with an equal
// (JSON-equal) value.
func matches(metadata, filter map[string]any) bool {
	for k, want := range filter {
		got, ok := metadata[k]
		if !ok {
			return false
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			return false
		}
	}
	return true
}

// threadIDs lists the threads known in memory and those of the handler's
// workflows in the store.
func (h *handler) threadIDs(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	h.mu.Lock()
	for id := range h.threads {
		seen[id] = true
		ids = append(ids, id)
	}
	h.mu.Unlock()
	stored, err := h.storedThreadIDs(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range stored {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if h.store == nil {
		return ids, nil
	}
	for _, name := range h.order {
		q := &checkpoint.ThreadQuery{Workflow: name}
		for {
			p, err := h.store.Threads(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("listing threads: %w", err)
			}
			for _, t := range p.Threads {
				if !seen[t.ID] {
					seen[t.ID] = true
					ids = append(ids, t.ID)
				}
			}
			if p.Next == "" {
				break
			}
			q.After = p.Next
		}
	}
	return ids, nil
}

func (h *handler) threadState(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if t.runner == nil || t.row == nil {
		writeJSON(w, http.StatusOK, emptyState(t.meta.ID))
		return
	}
	snap, err := t.runner.State(ctx, t.meta.ID)
	h.writeState(ctx, w, t, snap, err)
}

// emptyState is the state of a thread that has not run yet.
func emptyState(id string) map[string]any {
	return map[string]any{
		"values": map[string]any{}, "next": []string{}, "tasks": []any{},
		"metadata": nil, "created_at": nil, "interrupts": []any{},
		"checkpoint":        map[string]any{"thread_id": id, "checkpoint_ns": "", "checkpoint_id": nil, "checkpoint_map": nil},
		"parent_checkpoint": nil,
	}
}

func checkpointRef(thread, id string) any {
	if id == "" {
		return nil
	}
	return map[string]any{"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": id, "checkpoint_map": nil}
}

// stateObject is the Platform's ThreadState of a snapshot. Its tasks are
// the nodes that run next, each with the questions asked at the checkpoint
// writeState answers with the state object of snap, or with err (the error
// of reading snap) or the error of building it.
func (h *handler) writeState(ctx context.Context, w http.ResponseWriter, t *thread, snap *weft.Snapshot[any], err error) {
	if err != nil {
		writeErr(w, err)
		return
	}
	obj, err := h.stateObject(ctx, t, snap)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// (kept after they are answered, as LangGraph keeps them in its history).
func (h *handler) stateObject(ctx context.Context, t *thread, snap *weft.Snapshot[any]) (map[string]any, error) {
	values, err := json.Marshal(snap.Values)
	if err != nil {
		return nil, fmt.Errorf("thread %q checkpoint %s: encoding its values: %w", t.meta.ID, snap.Checkpoint, err)
	}
	asked, err := h.askedAt(ctx, t, snap)
	if err != nil {
		return nil, err
	}
	next := snap.Next
	if next == nil {
		next = []string{}
	}
	type task struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Error      *string         `json:"error"`
		Interrupts []wireInterrupt `json:"interrupts"`
		Path       []string        `json:"path"`
		Checkpoint any             `json:"checkpoint"`
		State      any             `json:"state"`
		Result     any             `json:"result"`
	}
	tasks := []*task{}
	byName := map[string]*task{}
	add := func(name string) *task {
		if tk, ok := byName[name]; ok {
			return tk
		}
		tk := &task{ID: taskID(t.meta.ID, snap.Checkpoint, name), Name: name, Interrupts: []wireInterrupt{}, Path: []string{"__pregel_pull", name}}
		if snap.Status == weft.StatusFailed && snap.Error != "" {
			e := snap.Error
			tk.Error = &e
		}
		byName[name] = tk
		tasks = append(tasks, tk)
		return tk
	}
	for _, n := range next {
		add(n)
	}
	for _, q := range asked {
		if q.Kind != weft.KindDynamic {
			continue
		}
		name := q.Task
		if _, ok := byName[name]; !ok {
			if _, ok := byName[q.Node]; ok {
				name = q.Node
			}
		}
		tk := add(name)
		tk.Interrupts = append(tk.Interrupts, wireInterrupt{ID: q.ID, Value: q.Value})
	}
	return map[string]any{
		"values": json.RawMessage(values),
		"next":   next,
		"tasks":  tasks,
		"metadata": map[string]any{
			"source": snap.Source, "step": snap.Step, "writes": nil, "parents": map[string]any{},
			"graph_id": snap.Workflow, "thread_id": t.meta.ID,
		},
		"interrupts":        wireInterrupts(snap.Interrupts),
		"created_at":        timestamp(snap.Created),
		"checkpoint":        checkpointRef(t.meta.ID, snap.Checkpoint),
		"parent_checkpoint": checkpointRef(t.meta.ID, snap.Parent),
	}, nil
}

// askedAt returns the questions asked at the snapshot's checkpoint, in any
// status, from the store; the snapshot's pending ones if the store cannot
// say.
func (h *handler) askedAt(ctx context.Context, t *thread, snap *weft.Snapshot[any]) ([]weft.Question, error) {
	st := t.runner.Store()
	if st == nil {
		st = h.store
	}
	if st == nil || snap.Checkpoint == "" {
		return snap.Interrupts, nil
	}
	var out []weft.Question
	q := &checkpoint.InterruptQuery{ThreadID: t.meta.ID, CheckpointID: snap.Checkpoint}
	for {
		p, err := st.Interrupts(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("thread %q checkpoint %s: listing its questions: %w", t.meta.ID, snap.Checkpoint, err)
		}
		for _, rec := range p.Interrupts {
			out = append(out, weft.Question{ID: rec.ID, Thread: rec.ThreadID, Node: rec.Node, Task: rec.Task, Kind: rec.Kind, Key: rec.Key, Value: rec.Value})
		}
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	for _, pq := range snap.Interrupts {
		if !slices.ContainsFunc(out, func(q weft.Question) bool { return q.ID == pq.ID }) {
			out = append(out, pq)
		}
	}
	return out, nil
}

func (h *handler) threadHistory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var q struct {
		Limit  int `json:"limit"`
		Before *struct {
			CheckpointID string `json:"checkpoint_id"`
			Configurable *struct {
				CheckpointID string `json:"checkpoint_id"`
			} `json:"configurable"`
		} `json:"before"`
	}
	if r.Method == http.MethodPost {
		if err := decodeBody(r, &q); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
	} else if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "limit must be a number")
			return
		}
		q.Limit = n
	}
	before := r.URL.Query().Get("before")
	if q.Before != nil {
		before = q.Before.CheckpointID
		if before == "" && q.Before.Configurable != nil {
			before = q.Before.Configurable.CheckpointID
		}
	}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []map[string]any{}
	if t.runner == nil || t.row == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	for snap, err := range t.runner.History(ctx, t.meta.ID) {
		if err != nil {
			writeErr(w, err)
			return
		}
		if before != "" && snap.Checkpoint >= before {
			continue
		}
		obj, err := h.stateObject(ctx, t, snap)
		if err != nil {
			writeErr(w, err)
			return
		}
		out = append(out, obj)
		if len(out) == q.Limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// stateRef is a checkpoint as requests name it: {checkpoint_id} or the
// config form {configurable: {checkpoint_id}}.
type stateRef struct {
	CheckpointID string `json:"checkpoint_id"`
	Configurable *struct {
		CheckpointID string `json:"checkpoint_id"`
	} `json:"configurable"`
}

func (s *stateRef) id() string {
	if s == nil {
		return ""
	}
	if s.CheckpointID == "" && s.Configurable != nil {
		return s.Configurable.CheckpointID
	}
	return s.CheckpointID
}

// threadStateAt is the state at a checkpoint: GET
// /threads/{id}/state/{checkpoint} and POST /threads/{id}/state/checkpoint
// {checkpoint: {checkpoint_id}}.
func (h *handler) threadStateAt(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cp := r.PathValue("checkpoint")
	if r.Method == http.MethodPost {
		var req struct {
			Checkpoint *stateRef `json:"checkpoint"`
		}
		if err := decodeBody(r, &req); err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		if cp = req.Checkpoint.id(); cp == "" {
			writeError(w, http.StatusUnprocessableEntity, "checkpoint.checkpoint_id is required")
			return
		}
	}
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if t.runner == nil || t.row == nil {
		writeError(w, http.StatusNotFound, "Checkpoint "+cp+" not found")
		return
	}
	snap, err := t.runner.StateAt(ctx, t.meta.ID, cp)
	h.writeState(ctx, w, t, snap, err)
}

// updateState is POST /threads/{id}/state {values, as_node, checkpoint}:
// weft.Workflow.UpdateState at the head, Fork at a past checkpoint. It
// returns the new checkpoint.
func (h *handler) updateState(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req struct {
		Values       json.RawMessage `json:"values"`
		AsNode       string          `json:"as_node"`
		Checkpoint   *stateRef       `json:"checkpoint"`
		CheckpointID string          `json:"checkpoint_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if has(req.Values) && !bytes.HasPrefix(bytes.TrimSpace(req.Values), []byte("{")) {
		writeError(w, http.StatusUnprocessableEntity, "values must be an object of state fields")
		return
	}
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	rn := t.runner
	if rn == nil {
		// A thread that has not run: its graph is in its metadata, as the
		// SDK's threads.create({graphId}) puts it.
		g, _ := t.meta.Metadata["graph_id"].(string)
		if rn = h.runners[g]; rn == nil {
			writeError(w, http.StatusUnprocessableEntity, "the thread has no graph yet: run it first or create it with metadata graph_id")
			return
		}
	}
	if req.AsNode == weft.End {
		h.endThread(w, r, t, rn, req.Values)
		return
	}
	if req.AsNode != "" && !slices.ContainsFunc(rn.Shape().Nodes, func(n weft.ShapeNode) bool { return n.Name == req.AsNode }) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("as_node %q is not a node of %s", req.AsNode, rn.Name()))
		return
	}
	if h.busy(t.meta.ID) {
		writeError(w, http.StatusConflict, "Thread is busy: a run is under way")
		return
	}
	cp := req.CheckpointID
	if cp == "" {
		cp = req.Checkpoint.id()
	}
	var head string
	if t.row != nil {
		head = t.row.Head
	}
	var newCP string
	if cp != "" && cp != head {
		f, ok := rn.(weft.StateEditor)
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, noEditor)
			return
		}
		snap, err := f.ForkJSON(ctx, t.meta.ID, cp, req.Values, editOptions(r, req.AsNode)...)
		if err != nil {
			writeErr(w, err)
			return
		}
		newCP = snap.Checkpoint
	} else {
		u, ok := rn.(weft.StateEditor)
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, noEditor)
			return
		}
		snap, err := u.UpdateStateJSON(ctx, t.meta.ID, req.Values, editOptions(r, req.AsNode)...)
		if err != nil {
			writeErr(w, err)
			return
		}
		newCP = snap.Checkpoint
	}
	h.remember(t.meta.ID, rn.Name())
	writeJSON(w, http.StatusOK, map[string]any{"checkpoint": checkpointRef(t.meta.ID, newCP)})
}

// endThread is POST /threads/{id}/state {as_node: "__end__"}, how the
// Agent Inbox ignores a thread: the values (if any) are applied, then the
// thread is cancelled (weft's Cancel: its questions withdrawn, recorded
// with the caller as the author and "ended as __end__" as the note); it
// is idle then.
func (h *handler) endThread(w http.ResponseWriter, r *http.Request, t *thread, rn weft.Runner, values json.RawMessage) {
	ctx := r.Context()
	if t.row == nil {
		writeError(w, http.StatusConflict, "the thread has not run: there is nothing to end")
		return
	}
	if h.busy(t.meta.ID) {
		writeError(w, http.StatusConflict, "Thread is busy: a run is under way")
		return
	}
	if has(values) {
		u, ok := rn.(weft.StateEditor)
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, noEditor)
			return
		}
		if _, err := u.UpdateStateJSON(ctx, t.meta.ID, values, editOptions(r, "")...); err != nil {
			writeErr(w, err)
			return
		}
	}
	switch t.row.Status {
	case weft.StatusCompleted, weft.StatusCancelled:
	default:
		if err := rn.Cancel(ctx, t.meta.ID, "ended as "+weft.End, weft.By(author(r), checkpoint.ChannelAPI)); err != nil && !errors.Is(err, weft.ErrNotRunning) {
			writeErr(w, err)
			return
		}
	}
	snap, err := rn.State(ctx, t.meta.ID)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"checkpoint": checkpointRef(t.meta.ID, snap.Checkpoint)})
}

// patchThread is PATCH /threads/{id} {metadata}: the metadata is merged
// into the thread's (kept in memory).
func (h *handler) patchThread(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	t, err := h.lookup(r.Context(), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	h.mu.Lock()
	m, ok := h.threads[t.meta.ID]
	if !ok {
		m = &threadMeta{ID: t.meta.ID, Metadata: map[string]any{}, CreatedAt: t.meta.CreatedAt, Workflow: t.meta.Workflow}
		h.threads[t.meta.ID] = m
	}
	old := cloneMap(m.Metadata)
	for k, v := range req.Metadata {
		m.Metadata[k] = v
	}
	h.mu.Unlock()
	if err := h.saveThread(r.Context(), m); err != nil {
		h.mu.Lock()
		m.Metadata = old
		h.mu.Unlock()
		writeErr(w, err)
		return
	}
	h.getThread(w, r)
}

// deleteThread is DELETE /threads/{id}: the thread, its checkpoints,
// questions and run records are deleted. A thread with a run under way is
// refused (409): cancel the run first.
func (h *handler) deleteThread(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if h.busy(t.meta.ID) {
		writeError(w, http.StatusConflict, "Thread is busy: cancel its runs first")
		return
	}
	if t.row != nil {
		rn := t.runner
		if rn == nil {
			writeError(w, http.StatusConflict, fmt.Sprintf("thread %s belongs to graph %s, which this server does not have", t.meta.ID, t.row.Workflow))
			return
		}
		if err := rn.Delete(ctx, t.meta.ID); err != nil && !errors.Is(err, weft.ErrNotFound) {
			writeErr(w, err)
			return
		}
	}
	h.mu.Lock()
	log := h.dropThreadStream(t.meta.ID)
	h.mu.Unlock()
	if log != nil {
		log.stopPersisting() // before its records are deleted
	}
	if err := h.forgetThread(ctx, t.meta.ID); err != nil {
		writeErr(w, err)
		return
	}
	h.mu.Lock()
	delete(h.threads, t.meta.ID)
	for id, rr := range h.runs {
		if rr.ThreadID == t.meta.ID {
			delete(h.runs, id)
		}
	}
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// copyThread is POST /threads/{id}/copy: a new thread with the source's
// metadata and its checkpoints (copyHistory): the same history, state,
// status and questions. A source whose history was pruned is copied as
// its current values instead, that run the same nodes next (made with
// UpdateState as the node before them): that copy's history starts at the
// copy, and the questions the source waits for are asked again when it
// runs.
func (h *handler) copyThread(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.lookup(ctx, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	id := newUUID()
	meta := cloneMap(t.meta.Metadata)
	if t.runner != nil && t.row != nil && h.busy(t.meta.ID) {
		writeError(w, http.StatusConflict, "Thread is busy: a run is under way")
		return
	}
	copied := false
	if t.runner != nil && t.row != nil {
		st := t.runner.Store()
		if st == nil {
			st = h.store
		}
		err := copyHistory(ctx, st, t.meta.ID, id)
		if err != nil && !errors.Is(err, errPruned) {
			writeErr(w, err)
			return
		}
		copied = err == nil
	}
	if t.runner != nil && t.row != nil && !copied {
		// A pruned history: the copy starts at the source's state.
		u, ok := t.runner.(weft.StateEditor)
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, noEditor)
			return
		}
		snap, err := t.runner.State(ctx, t.meta.ID)
		if err != nil {
			writeErr(w, err)
			return
		}
		values, err := json.Marshal(snap.Values)
		if err != nil {
			writeErr(w, fmt.Errorf("thread %q: encoding its values: %w", t.meta.ID, err))
			return
		}
		if _, err := u.UpdateStateJSON(ctx, id, values, editOptions(r, before(t.runner.Shape(), snap.Next))...); err != nil {
			writeErr(w, err)
			return
		}
	}
	m := &threadMeta{ID: id, Metadata: meta, CreatedAt: time.Now().UTC(), Workflow: t.meta.Workflow}
	h.mu.Lock()
	h.threads[id] = m
	h.mu.Unlock()
	if err := h.saveThread(ctx, m); err != nil {
		writeErr(w, err)
		return
	}
	nt, err := h.lookup(ctx, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	h.writeThread(w, ctx, nt)
}

// before returns a node whose edges lead to exactly the nodes of next ("",
// the start, if next is empty or the nodes follow Start; the last node
// before End if next is empty).
func before(s weft.Shape, next []string) string {
	targets := map[string][]string{}
	for _, e := range s.Edges {
		targets[e.From] = append(targets[e.From], e.To)
	}
	want := slices.Clone(next)
	if len(want) == 0 {
		want = []string{weft.End}
	}
	slices.Sort(want)
	for _, n := range s.Nodes {
		got := slices.Clone(targets[n.Name])
		slices.Sort(got)
		if slices.Equal(got, want) {
			return n.Name
		}
	}
	return ""
}
