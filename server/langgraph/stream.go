package langgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/weftgraph/weft"
)

// eventQueue hands a run's events from its observer to the goroutine that
// writes the stream. It never blocks the run: the stream reads states from
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

// sseWriter writes Server-Sent Events, numbering them from 0.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	n  int
}

func (s *sseWriter) event(name string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "EncodeError", "message": err.Error()})
		name = "error"
	}
	fmt.Fprintf(s.w, "event: %s\ndata: %s\nid: %d\n\n", name, b, s.n)
	s.n++
	_ = s.rc.Flush()
}

// streamModes parses stream_mode: a string or a list ("values" by default).
func streamModes(raw json.RawMessage) (map[string]bool, error) {
	modes := map[string]bool{}
	if len(raw) == 0 || string(raw) == "null" {
		modes["values"] = true
		return modes, nil
	}
	var one string
	var many []string
	if err := json.Unmarshal(raw, &one); err == nil {
		many = []string{one}
	} else if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("stream_mode must be a string or a list of strings: %w", errInvalid)
	}
	for _, m := range many {
		switch m {
		case "values", "updates", "custom":
			modes[m] = true
		default:
			return nil, fmt.Errorf("stream_mode %q is not supported (values, updates, custom): %w", m, errInvalid)
		}
	}
	return modes, nil
}

// streamRun runs on a thread and streams what it does: metadata, then
// values (the state after the input and after each superstep) and updates
// (what each node changed, {node: fields}), then end.
func (h *handler) streamRun(w http.ResponseWriter, r *http.Request) {
	// Check stream_mode before the run is recorded.
	var peek struct {
		StreamMode json.RawMessage `json:"stream_mode"`
	}
	body, err := readAll(r)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &peek); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid JSON body: "+err.Error())
			return
		}
	}
	modes, err := streamModes(peek.StreamMode)
	if err != nil {
		writeErr(w, err)
		return
	}
	r.Body = readCloser{bytes.NewReader(body)}
	p := h.prepare(w, r)
	if p == nil {
		return
	}
	ctx := r.Context()
	q := newEventQueue()
	type outcome struct {
		values json.RawMessage
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		values, err := h.execute(ctx, p, weft.WithObserver(q))
		p.record.finish(values, err)
		done <- outcome{values, err}
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Location", "/threads/"+p.thread.meta.ID+"/runs/"+p.record.ID)
	w.WriteHeader(http.StatusOK)
	sse := &sseWriter{w: w, rc: http.NewResponseController(w)}
	sse.event("metadata", map[string]any{"run_id": p.record.ID, "attempt": 1})

	id := p.thread.meta.ID
	states := map[string]json.RawMessage{} // checkpoint → values, read once
	state := func(cp string) json.RawMessage {
		if v, ok := states[cp]; ok {
			return v
		}
		snap, err := p.runner.StateAt(ctx, id, cp)
		if err != nil {
			return nil
		}
		v, err := json.Marshal(snap.Values)
		if err != nil {
			return nil
		}
		states[cp] = v
		return v
	}
	var last json.RawMessage // the last values sent
	sendValues := func(v json.RawMessage) {
		if v != nil && modes["values"] && !bytes.Equal(v, last) {
			sse.event("values", v)
			last = v
		}
	}
	handle := func(e weft.Event) {
		switch e.Type {
		case weft.EventRunStarted, weft.EventResumed, weft.EventStepCommitted:
			if e.Checkpoint != "" {
				sendValues(state(e.Checkpoint))
			}
		case weft.EventNodeFinished:
			if !modes["updates"] || e.Err != "" || strings.Contains(e.Node, "/") {
				return
			}
			upd, err := json.Marshal(e.Update)
			if err != nil {
				return
			}
			sse.event("updates", map[string]json.RawMessage{e.Node: changed(state(e.Checkpoint), upd)})
		case weft.EventInterrupted:
			if modes["updates"] {
				ints := []wireInterrupt{}
				for _, qn := range e.Questions {
					if qn.Kind == weft.KindDynamic {
						ints = append(ints, wireInterrupt{ID: qn.ID, Value: qn.Value})
					}
				}
				sse.event("updates", map[string]any{"__interrupt__": ints})
			}
		case weft.EventCustom:
			if modes["custom"] {
				sse.event("custom", e.Data)
			}
		}
	}
	for {
		select {
		case <-q.wake:
			for _, e := range q.take() {
				handle(e)
			}
		case out := <-done:
			for _, e := range q.take() {
				handle(e)
			}
			if out.err != nil {
				sse.event("error", map[string]any{"error": errorName(out.err), "message": out.err.Error()})
			} else {
				sendValues(out.values)
			}
			sse.event("end", nil)
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
