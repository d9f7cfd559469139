package langgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// The kinds of the records the handler keeps in a store that implements
// checkpoint.Records.
const (
	kindRun    = "langgraph.run"
	kindThread = "langgraph.thread"
)

// storedThread is a thread's metadata as a record keeps it.
type storedThread struct {
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"created_at"`
	Workflow  string         `json:"workflow,omitempty"`
}

// storedRun is a run record as the store keeps it: what GET .../runs/{id}
// answers, without its events or values.
type storedRun struct {
	RunID       string         `json:"run_id"`
	ThreadID    string         `json:"thread_id"`
	AssistantID string         `json:"assistant_id"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Status      string         `json:"status"`
	Metadata    map[string]any `json:"metadata"`
	Strategy    string         `json:"multitask_strategy"`
	// Modes are the names of the events the run was made with (its
	// stream modes; messages for messages-tuple).
	Modes []string `json:"stream_modes,omitempty"`
}

// saveThread writes the metadata of thread m to the store, if it keeps
// records.
func (h *handler) saveThread(ctx context.Context, m *threadMeta) error {
	if h.records == nil {
		return nil
	}
	h.mu.Lock()
	data, err := json.Marshal(storedThread{Metadata: m.Metadata, CreatedAt: m.CreatedAt, Workflow: m.Workflow})
	h.mu.Unlock()
	if err != nil {
		return fmt.Errorf("thread %q: encoding its metadata: %w", m.ID, err)
	}
	if err := h.records.PutRecord(ctx, &checkpoint.Record{Kind: kindThread, ID: m.ID, ThreadID: m.ID, Data: data}); err != nil {
		return fmt.Errorf("thread %q: saving its metadata: %w", m.ID, err)
	}
	return nil
}

// loadThread reads the metadata of thread id from the store; nil if it
// has none (or keeps no records).
func (h *handler) loadThread(ctx context.Context, id string) (*threadMeta, error) {
	if h.records == nil {
		return nil, nil
	}
	rec, err := h.records.Record(ctx, kindThread, id)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("thread %q: reading its metadata: %w", id, err)
	}
	var st storedThread
	if err := json.Unmarshal(rec.Data, &st); err != nil {
		return nil, fmt.Errorf("thread %q: decoding its metadata: %w", id, err)
	}
	if st.Metadata == nil {
		st.Metadata = map[string]any{}
	}
	return &threadMeta{ID: id, Metadata: st.Metadata, CreatedAt: st.CreatedAt, Workflow: st.Workflow}, nil
}

// recordsOf walks the records q selects, page after page, in ID order.
// An error ends the walk, yielded with a nil record; so does a break.
func recordsOf(ctx context.Context, rs checkpoint.Records, q checkpoint.RecordQuery) iter.Seq2[*checkpoint.Record, error] {
	return func(yield func(*checkpoint.Record, error) bool) {
		for {
			p, err := rs.Records(ctx, &q)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range p.Records {
				if !yield(&p.Records[i], nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			q.After = p.Next
		}
	}
}

// storedThreadIDs lists the threads whose metadata the store keeps.
func (h *handler) storedThreadIDs(ctx context.Context) ([]string, error) {
	if h.records == nil {
		return nil, nil
	}
	var ids []string
	for rec, err := range recordsOf(ctx, h.records, checkpoint.RecordQuery{Kind: kindThread, Limit: 1000}) {
		if err != nil {
			return nil, fmt.Errorf("listing threads: %w", err)
		}
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

// saveRun writes the record of rr to the store, if it keeps records,
// with status (rr's own if "") as of at (rr's if zero).
func (h *handler) saveRun(ctx context.Context, rr *runRecord, status string, at time.Time) error {
	if h.records == nil || rr.ephemeral {
		return nil
	}
	rr.mu.Lock()
	sr := storedRun{
		RunID: rr.ID, ThreadID: rr.ThreadID, AssistantID: rr.AssistantID, CreatedAt: rr.CreatedAt,
		UpdatedAt: rr.updatedAt, Status: rr.status, Metadata: rr.Metadata, Strategy: rr.Strategy,
	}
	for m := range rr.modes {
		sr.Modes = append(sr.Modes, m)
	}
	slices.Sort(sr.Modes)
	if status != "" {
		sr.Status, sr.UpdatedAt = status, at
	}
	data, err := json.Marshal(sr)
	rr.mu.Unlock()
	if err != nil {
		return fmt.Errorf("run %s: encoding its record: %w", rr.ID, err)
	}
	if err := h.records.PutRecord(ctx, &checkpoint.Record{Kind: kindRun, ID: rr.ID, ThreadID: rr.ThreadID, Data: data}); err != nil {
		return fmt.Errorf("run %s: saving its record: %w", rr.ID, err)
	}
	return nil
}

// forgetRun deletes the stored record of run rr, if any, and its events.
func (h *handler) forgetRun(ctx context.Context, rr *runRecord) error {
	if h.records == nil {
		return nil
	}
	if err := h.forgetRunEvents(ctx, rr); err != nil {
		return fmt.Errorf("run %s: %w", rr.ID, err)
	}
	if err := h.records.DeleteRecord(ctx, kindRun, rr.ID); err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
		return fmt.Errorf("run %s: deleting its record: %w", rr.ID, err)
	}
	return nil
}

// forgetThread deletes the stored records of thread id: its metadata and
// its runs.
func (h *handler) forgetThread(ctx context.Context, id string) error {
	if h.records == nil {
		return nil
	}
	if _, err := h.records.DeleteRecords(ctx, id); err != nil {
		return fmt.Errorf("thread %q: deleting its records: %w", id, err)
	}
	return nil
}

// endedRun is a run record read from the store: a run of an earlier
// process (or one this handler dropped from memory), ended as far as this
// handler is concerned, without events.
func endedRun(rec *checkpoint.Record) (*runRecord, error) {
	var sr storedRun
	if err := json.Unmarshal(rec.Data, &sr); err != nil {
		return nil, fmt.Errorf("run %s: decoding its record: %w", rec.ID, err)
	}
	if sr.Metadata == nil {
		sr.Metadata = map[string]any{}
	}
	rr := &runRecord{
		ID: sr.RunID, ThreadID: sr.ThreadID, AssistantID: sr.AssistantID, Metadata: sr.Metadata,
		CreatedAt: sr.CreatedAt, Strategy: sr.Strategy, log: newEventLog(), done: make(chan struct{}),
		status: sr.Status, updatedAt: sr.UpdatedAt, stored: true,
		ctx: context.Background(), cancel: func() {},
	}
	if sr.Modes != nil {
		rr.modes = map[string]bool{}
		for _, m := range sr.Modes {
			rr.modes[m] = true
		}
	}
	rr.log.close()
	close(rr.done)
	return rr, nil
}

// storedRun finds run id in the store (nil if it is not there).
func (h *handler) storedRun(ctx context.Context, id string) (*runRecord, error) {
	if h.records == nil {
		return nil, nil
	}
	rec, err := h.records.Record(ctx, kindRun, id)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: reading its record: %w", id, err)
	}
	rr, err := endedRun(rec)
	if err != nil {
		return nil, err
	}
	h.settle(ctx, rr)
	return rr, nil
}

// settle gives a stored run that its record says is pending or running,
// but that no process runs any more (this handler's runs are in memory,
// not read from the store), the status its thread tells: a process that
// died in the middle of the run left the record as it was. A run whose
// thread is running (in another process, or taken over) keeps its
// status; one whose thread is paused is interrupted, done is a success,
// and anything else (failed, stopped, cancelled, never started) an error.
// The settled status is written back, so that every process reports the
// same one.
func (h *handler) settle(ctx context.Context, rr *runRecord) {
	if status, ok := h.settled(ctx, rr); ok {
		rr.status = status
		_ = h.saveRun(ctx, rr, status, time.Now())
	}
}

// settled is the status settle gives rr, and whether it changes it.
func (h *handler) settled(ctx context.Context, rr *runRecord) (string, bool) {
	if rr.status != "pending" && rr.status != "running" {
		return "", false
	}
	row, err := h.store.Thread(ctx, rr.ThreadID)
	if err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
		return "", false // unknown: leave it
	}
	status := "error"
	if err == nil {
		switch row.Status {
		case checkpoint.StatusRunning, checkpoint.StatusReady:
			return "", false
		case checkpoint.StatusInterrupted:
			status = "interrupted"
		case checkpoint.StatusCompleted:
			if rr.status == "running" && !row.UpdatedAt.Before(rr.CreatedAt) {
				status = "success"
			}
		}
	}
	return status, true
}

// rawRun reads run id from the store as it is stored, unsettled (nil if
// it is not there).
func (h *handler) rawRun(ctx context.Context, id string) (*runRecord, error) {
	rec, err := h.records.Record(ctx, kindRun, id)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: reading its record: %w", id, err)
	}
	return endedRun(rec)
}

// storedRuns lists the runs of thread the store keeps, as stored (settle
// those this handler does not run).
func (h *handler) storedRuns(ctx context.Context, thread string) ([]*runRecord, error) {
	if h.records == nil {
		return nil, nil
	}
	var out []*runRecord
	for rec, err := range recordsOf(ctx, h.records, checkpoint.RecordQuery{Kind: kindRun, ThreadID: thread, Limit: 1000}) {
		if err != nil {
			return nil, fmt.Errorf("thread %q: listing its runs: %w", thread, err)
		}
		rr, err := endedRun(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, rr)
	}
	return out, nil
}

// saveQuietly saves the record of rr as the run goes on (running, then
// ended: status, as of at; rr's own status if ""). A failure to write it
// does not stop the run: the record in memory is right, and the stored
// one stays as it last was.
func (h *handler) saveQuietly(rr *runRecord, status string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rr.ctx), 10*time.Second)
	defer cancel()
	_ = h.saveRun(ctx, rr, status, at)
}
