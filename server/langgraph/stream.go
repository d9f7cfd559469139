package langgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft"
)

// eventQueue hands a run's events from its observer to the goroutine that
// translates them. It never blocks the run: translating reads states from
// the store, which an observer must not do while the run waits for it.
type eventQueue struct {
	mu     sync.Mutex
	events []weft.Event
	wake   chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

// Observe queues e.
func (q *eventQueue) Observe(_ context.Context, e weft.Event) {
	q.mu.Lock()
	q.events = append(q.events, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns the queued events and empties the queue.
func (q *eventQueue) take() []weft.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.events
	q.events = nil
	return evs
}

// sseEvent is one event of a run's stream; its id is its index in the log.
type sseEvent struct {
	name string
	data json.RawMessage
}

// maxLog is how many events a run's log keeps; past it, the oldest are
// dropped (a reader resuming before them starts at the oldest kept).
const maxLog = 10000

// eventLog is a run's stream: every event, in order, for any number of
// readers, who may join late or come back after a disconnection
// (Last-Event-ID).
type eventLog struct {
	mu      sync.Mutex
	first   int // the id of events[0]
	events  []sseEvent
	closed  bool
	changed chan struct{} // closed and replaced at every change
	last    json.RawMessage
	// tee, if set, gets a copy of every event added (a thread's stream
	// gets its runs' events).
	tee *eventLog
	// store, if set, keeps every event too (see persist); keep writes
	// them there, in batches. Events dropped from memory are read from
	// it.
	store *eventStore
	keep  *persister
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// add appends an event (after the log is closed, it does nothing).
func (l *eventLog) add(name string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		name = "error"
		b, _ = json.Marshal(map[string]string{"error": "EncodeError", "message": err.Error()})
	}
	l.addRaw(name, b)
}

// addRaw appends an event whose data is JSON already.
func (l *eventLog) addRaw(name string, b json.RawMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if l.tee != nil {
		l.tee.addRaw(name, b)
	}
	l.events = append(l.events, sseEvent{name, b})
	if l.keep != nil {
		l.keep.add(l.first+len(l.events)-1, sseEvent{name, b})
	}
	if len(l.events) > maxLog {
		n := len(l.events) - maxLog
		l.events = append(l.events[:0:0], l.events[n:]...)
		l.first += n
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// values appends a values event unless it is the same as the last one.
func (l *eventLog) values(v json.RawMessage) {
	l.mu.Lock()
	same := bytes.Equal(v, l.last)
	l.last = v
	l.mu.Unlock()
	if !same {
		l.add("values", v)
	}
}

// teeTo copies the events of l to t, and from now on every event added.
func (l *eventLog) teeTo(t *eventLog) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		t.addRaw(e.name, e.data)
	}
	l.tee = t
}

// drop forgets the events of a closed log: a reader gets none.
func (l *eventLog) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && l.events != nil {
		l.first += len(l.events)
		l.events, l.last = nil, nil
	}
}

func (l *eventLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
	}
}

// from returns the events from id on (from the first it keeps in memory,
// whose id is first, if id is before it), the id after them, whether the
// log is closed, and a channel closed at its next change.
func (l *eventLog) from(id int) (evs []sseEvent, first, after int, closed bool, changed <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id = max(id, l.first)
	i := id - l.first
	if i > len(l.events) {
		i = len(l.events)
	}
	return l.events[i:], l.first, l.first + len(l.events), l.closed, l.changed
}

// translator turns a run's weft events into the Platform's stream events:
// values (the state after the input and after each superstep), updates
// ({node: the fields it changed}, {"__interrupt__": [...]} at a pause),
// custom (what nodes Emit), and, when the run asks for them, checkpoints,
// tasks, debug (both, wrapped), events (on_chain_start and on_chain_end
// of each node) and messages (messages-tuple: the messages nodes add to
// the state's "messages" field).
type translator struct {
	runner weft.Runner
	thread string
	log    *eventLog
	states map[string]json.RawMessage // checkpoint → values, read once
	// modes are the run's stream modes: the events of checkpoints, tasks,
	// debug and messages are made only for a run that asks for them.
	modes map[string]bool
	// stateAt is the Platform's state object of a checkpoint (the
	// payload of checkpoints events), and its step.
	stateAt func(ctx context.Context, cp string) (map[string]any, int, error)
	// tasks are the ids of the tasks under way, by task name; step is
	// the superstep they run in.
	tasks map[string]string
	step  int
}

func (t *translator) state(ctx context.Context, cp string) json.RawMessage {
	if v, ok := t.states[cp]; ok {
		return v
	}
	snap, err := t.runner.StateAt(ctx, t.thread, cp)
	if err != nil {
		return nil
	}
	v, err := json.Marshal(snap.Values)
	if err != nil {
		return nil
	}
	t.states[cp] = v
	return v
}

func (t *translator) handle(ctx context.Context, evs []weft.Event) {
	for _, e := range evs {
		switch e.Type {
		case weft.EventRunStarted, weft.EventResumed, weft.EventStepCommitted:
			if e.Checkpoint != "" {
				if v := t.state(ctx, e.Checkpoint); v != nil {
					t.log.values(v)
				}
				t.checkpoint(ctx, e)
			}
		case weft.EventNodeStarted:
			if !strings.Contains(e.Node, "/") {
				t.taskStarted(ctx, e)
			}
		case weft.EventNodeFinished:
			if strings.Contains(e.Node, "/") {
				continue
			}
			if e.Err != "" {
				t.taskEnded(e, map[string]any{"error": e.Err}, nil)
				continue
			}
			upd, err := json.Marshal(e.Update)
			if err != nil {
				continue
			}
			base := t.state(ctx, e.Checkpoint)
			diff := changed(base, upd)
			t.log.add("updates", map[string]json.RawMessage{e.Node: diff})
			t.taskEnded(e, map[string]any{"error": nil, "result": resultPairs(diff)}, diff)
			t.messages(base, upd, e)
		case weft.EventInterrupted:
			t.log.add("updates", map[string]any{"__interrupt__": wireInterrupts(e.Questions)})
			t.interrupted(e)
		case weft.EventCustom:
			t.log.add("custom", e.Data)
		}
	}
}

// debug adds a debug event {type, timestamp, step, payload} when the run
// streams debug.
func (t *translator) debug(kind string, at time.Time, step int, payload any) {
	if t.modes["debug"] {
		t.log.add("debug", map[string]any{"type": kind, "timestamp": timestamp(at), "step": step, "payload": payload})
	}
}

// checkpoint adds the checkpoints (and debug checkpoint) event of the
// checkpoint e wrote: its state, as GET .../state/{checkpoint_id} shows it,
// with config and parent_config as LangGraph names checkpoints.
func (t *translator) checkpoint(ctx context.Context, e weft.Event) {
	if !t.modes["checkpoints"] && !t.modes["debug"] {
		return
	}
	obj, step, err := t.stateAt(ctx, e.Checkpoint)
	if err != nil {
		return
	}
	t.step = step
	payload := map[string]any{
		"config": config(obj["checkpoint"]), "parent_config": config(obj["parent_checkpoint"]),
		"values": obj["values"], "metadata": obj["metadata"], "next": obj["next"], "tasks": obj["tasks"],
	}
	if t.modes["checkpoints"] {
		t.log.add("checkpoints", payload)
	}
	t.debug("checkpoint", e.Time, step, payload)
}

// config is a checkpoint reference as LangGraph's configs name it,
// {configurable: {thread_id, checkpoint_ns, checkpoint_id}}; nil for none.
func config(ref any) any {
	m, ok := ref.(map[string]any)
	if !ok {
		return nil
	}
	return map[string]any{"configurable": map[string]any{
		"thread_id": m["thread_id"], "checkpoint_ns": "", "checkpoint_id": m["checkpoint_id"],
	}}
}

// taskStarted adds the tasks event of a task that started: {id, name,
// input, triggers, interrupts}.
func (t *translator) taskStarted(ctx context.Context, e weft.Event) {
	if !t.modes["tasks"] && !t.modes["debug"] && !t.modes["events"] {
		return
	}
	name := e.Task
	if name == "" {
		name = e.Node
	}
	id := taskID(t.thread, e.Checkpoint, name)
	t.tasks[name] = id
	payload := map[string]any{
		"id": id, "name": e.Node, "input": t.state(ctx, e.Checkpoint),
		"triggers": []string{"branch:to:" + e.Node}, "interrupts": []wireInterrupt{},
	}
	if t.modes["tasks"] {
		t.log.add("tasks", payload)
	}
	t.debug("task", e.Time, t.step+1, payload)
	t.chainEvent("on_chain_start", e, id, map[string]any{"input": payload["input"]})
}

// chainEvent adds an events event, as LangChain's astream_events (v2)
// reports a node: on_chain_start {data: {input}}, on_chain_end {data:
// {output}} (the fields it changed), with the task id as run_id.
func (t *translator) chainEvent(kind string, e weft.Event, id string, data map[string]any) {
	if !t.modes["events"] {
		return
	}
	t.log.add("events", map[string]any{
		"event": kind, "name": e.Node, "run_id": id, "data": data, "parent_ids": []string{},
		"tags": []string{fmt.Sprintf("graph:step:%d", t.step+1)},
		"metadata": map[string]any{
			"langgraph_node": e.Node, "langgraph_step": t.step + 1, "langgraph_triggers": []string{"branch:to:" + e.Node},
			"langgraph_path": []string{"__pregel_pull", e.Node}, "langgraph_checkpoint_ns": "", "thread_id": t.thread,
		},
	})
}

// taskEnded adds the tasks event of a task that ended: {id, name,
// interrupts} with result (its writes, [[field, value], ...]) or error;
// and the on_chain_end event of one that wrote output.
func (t *translator) taskEnded(e weft.Event, fields map[string]any, output json.RawMessage) {
	if !t.modes["tasks"] && !t.modes["debug"] && !t.modes["events"] {
		return
	}
	name := e.Task
	if name == "" {
		name = e.Node
	}
	payload := map[string]any{"id": t.taskOf(name, e.Checkpoint), "name": e.Node, "interrupts": []wireInterrupt{}}
	for k, v := range fields {
		payload[k] = v
	}
	if t.modes["tasks"] {
		t.log.add("tasks", payload)
	}
	t.debug("task_result", e.Time, t.step+1, payload)
	if output != nil {
		t.chainEvent("on_chain_end", e, payload["id"].(string), map[string]any{"output": output})
	}
}

// interrupted adds a task result with its interrupts for each task that
// asked the questions of e.
func (t *translator) interrupted(e weft.Event) {
	if !t.modes["tasks"] && !t.modes["debug"] {
		return
	}
	var order []string
	byTask := map[string][]weft.Question{}
	node := map[string]string{}
	for _, q := range e.Questions {
		if q.Kind != weft.KindDynamic {
			continue
		}
		if _, ok := byTask[q.Task]; !ok {
			order = append(order, q.Task)
			node[q.Task] = q.Node
		}
		byTask[q.Task] = append(byTask[q.Task], q)
	}
	for _, task := range order {
		payload := map[string]any{
			"id": t.taskOf(task, e.Checkpoint), "name": node[task], "error": nil,
			"result": [][2]any{}, "interrupts": wireInterrupts(byTask[task]),
		}
		if t.modes["tasks"] {
			t.log.add("tasks", payload)
		}
		t.debug("task_result", e.Time, t.step+1, payload)
	}
}

// taskOf is the id of the task named name, as its start named it.
func (t *translator) taskOf(name, cp string) string {
	if id, ok := t.tasks[name]; ok {
		return id
	}
	return taskID(t.thread, cp, name)
}

// resultPairs are a node's changed fields as LangGraph's task results list
// its writes: [[field, value], ...], in field order.
func resultPairs(diff json.RawMessage) [][2]any {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(diff, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := [][2]any{}
	for _, k := range keys {
		out = append(out, [2]any{k, m[k]})
	}
	return out
}

// messages adds a messages event [message, metadata] for each message a
// node added to the state's "messages" field (a list: the elements past
// those it had before the node), as LangGraph's messages-tuple mode
// reports the messages nodes return.
func (t *translator) messages(base, upd json.RawMessage, e weft.Event) {
	if !t.modes["messages"] {
		return
	}
	var before, after struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(upd, &after) != nil || len(after.Messages) == 0 {
		return
	}
	_ = json.Unmarshal(base, &before)
	start := len(before.Messages)
	if start > len(after.Messages) || !slices.EqualFunc(before.Messages, after.Messages[:start], jsonEqual) {
		start = 0 // rewritten, not appended to: every message is new
	}
	for _, m := range after.Messages[start:] {
		t.log.add("messages", []any{m, map[string]any{
			"langgraph_node": e.Node, "langgraph_step": t.step + 1, "langgraph_checkpoint_ns": "",
			"langgraph_triggers": []string{"branch:to:" + e.Node}, "thread_id": t.thread,
		}})
	}
}

// streamModes parses stream_mode: a string or a list ("values" by default).
func streamModes(raw json.RawMessage) (map[string]bool, error) {
	if !has(raw) {
		return map[string]bool{"values": true}, nil
	}
	var one string
	var many []string
	if err := json.Unmarshal(raw, &one); err == nil {
		many = []string{one}
	} else if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("stream_mode must be a string or a list of strings: %w", errInvalid)
	}
	return modeSet(many)
}

// modeSet is the set of stream modes names asks for. messages-tuple is
// kept as "messages", the name of its events; the Platform's messages
// mode (LLM tokens, deprecated for messages-tuple) is refused (422): weft
// has no LLM calls to stream.
func modeSet(names []string) (map[string]bool, error) {
	modes := map[string]bool{}
	for _, m := range names {
		switch m {
		case "values", "updates", "custom", "checkpoints", "tasks", "debug":
			modes[m] = true
		case "messages-tuple":
			modes["messages"] = true
		case "events":
			modes[m] = true
		case "messages":
			return nil, fmt.Errorf("stream_mode %q is not supported: weft streams no LLM tokens; messages-tuple streams the messages nodes add to the state's messages field: %w", m, errInvalid)
		default:
			return nil, fmt.Errorf("stream_mode %q is not one of the Platform's (values, updates, custom, messages-tuple, checkpoints, tasks, debug, events; messages is not supported): %w", m, errInvalid)
		}
	}
	if len(modes) == 0 {
		modes["values"] = true
	}
	return modes, nil
}

// streamRun starts a run and streams what it does (see serveLog).
func (h *handler) streamRun(w http.ResponseWriter, r *http.Request) {
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	h.launch(p)
	loc := "/threads/" + p.record.ThreadID + "/runs/" + p.record.ID
	w.Header().Set("Content-Location", loc)
	if p.req.StreamResumable {
		// Where the SDK reconnects, with Last-Event-ID.
		w.Header().Set("Location", loc+"/stream")
	}
	h.serveLog(w, r, p.record, 0, p.record.modes, p.req.OnDisconnect != "continue")
}

// joinStream streams a run's events from the one after Last-Event-ID (from
// the first without it, -1 included): the log of every run is kept, so any
// run's stream can be joined or resumed, stream_resumable or not.
func (h *handler) joinStream(w http.ResponseWriter, r *http.Request) {
	rr := h.record(w, r)
	if rr == nil {
		return
	}
	from := 0
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "Last-Event-ID must be an event id")
			return
		}
		from = max(n+1, 0)
	}
	modes := rr.modes
	if names := r.URL.Query()["stream_mode"]; len(names) > 0 {
		var list []string
		for _, n := range names {
			var many []string
			if json.Unmarshal([]byte(n), &many) == nil {
				list = append(list, many...)
			} else {
				list = append(list, strings.Split(n, ",")...)
			}
		}
		m, err := modeSet(list)
		if err != nil {
			writeErr(w, err)
			return
		}
		modes = m
	}
	q := r.URL.Query().Get("cancel_on_disconnect")
	h.serveLog(w, r, rr, from, modes, q == "true" || q == "1")
}

// heartbeat is how often a stream with nothing to send writes a comment.
const heartbeat = 15 * time.Second

// serveLog writes the run's events from id from on as Server-Sent Events:
// metadata {run_id, attempt} first, then values, updates and custom as
// modes ask, an error event {error, message} if the run fails; the stream
// closes when the run ends. A client that goes away cancels the run if
// cancelOnDisconnect.
func (h *handler) serveLog(w http.ResponseWriter, r *http.Request, rr *runRecord, from int, modes map[string]bool, cancelOnDisconnect bool) {
	// A run stored without its modes (by an earlier version) keeps all.
	keep := func(name string) bool { return name == "metadata" || name == "error" || modes == nil || modes[name] }
	if rr.stored && h.records != nil {
		// A run of no process here: its events are in the store.
		h.writeStoredRun(w, r, rr, from, keep)
		return
	}
	gone := func() {
		if cancelOnDisconnect {
			rr.stop(strategyInterrupt)
		}
	}
	writeLog(w, r, rr.log, from, keep, gone)
}

// startEvents begins a response of Server-Sent Events.
func startEvents(w http.ResponseWriter) *http.ResponseController {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	return rc
}

// writeLog writes the events of log from id from on that keep keeps, as
// Server-Sent Events, until the log is closed or the client goes away
// (then it calls gone).
func writeLog(w http.ResponseWriter, r *http.Request, log *eventLog, from int, keep func(name string) bool, gone func()) {
	rc := startEvents(w)
	// A comment line now and then keeps proxies from closing a quiet
	// stream. No blank line follows it: the SDK's decoder would dispatch
	// an empty event.
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	next := from
	for {
		evs, first, after, closed, changed := log.from(next)
		if next < first && log.store != nil {
			// Dropped from memory (or written by an earlier process):
			// read from the store, once what is queued is written.
			_ = log.flush()
			old, _, _ := log.store.load(r.Context(), next, first)
			for _, e := range old {
				if keep(e.name) {
					fmt.Fprintf(w, "event: %s\ndata: %s\nid: %d\n\n", e.name, e.data, e.id)
				}
			}
			_ = rc.Flush()
		}
		for i, e := range evs {
			if keep(e.name) {
				fmt.Fprintf(w, "event: %s\ndata: %s\nid: %d\n\n", e.name, e.data, after-len(evs)+i)
			}
		}
		if len(evs) > 0 {
			_ = rc.Flush()
		}
		next = after
		if closed {
			return
		}
		select {
		case <-changed:
		case <-beat.C:
			fmt.Fprint(w, ": heartbeat\n")
			_ = rc.Flush()
		case <-r.Context().Done():
			gone()
			return
		}
	}
}

// errorName is the error's kind as the Platform's error events name it.
func errorName(err error) string {
	switch errorCode(err) {
	case http.StatusNotFound:
		return "NotFoundError"
	case http.StatusConflict:
		return "ConflictError"
	case http.StatusUnprocessableEntity:
		return "ValidationError"
	}
	return "RunError"
}

// changed returns the fields of the JSON object upd that differ from base:
// what a node wrote ({} if nothing).
func changed(base, upd json.RawMessage) json.RawMessage {
	var b, u map[string]json.RawMessage
	_ = json.Unmarshal(base, &b)
	if err := json.Unmarshal(upd, &u); err != nil {
		return upd
	}
	out := map[string]json.RawMessage{}
	for k, v := range u {
		if old, ok := b[k]; !ok || !jsonEqual(old, v) {
			out[k] = v
		}
	}
	res, _ := json.Marshal(out)
	return res
}

func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
