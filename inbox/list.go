package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// Page sizes of List.
const (
	// DefaultLimit is the page size of a Query whose Limit is 0.
	DefaultLimit = 50
	// MaxLimit caps Query.Limit.
	MaxLimit = 500
)

// Query selects pending questions for List. Zero fields do not filter;
// the filters that are set must all match.
type Query struct {
	// Workflow keeps the questions of threads of this workflow.
	Workflow string
	// Node keeps the questions asked by this node path ("review",
	// "outer/inner/review"), exactly.
	Node string
	// Thread keeps the questions of one thread.
	Thread string
	// Assignees keeps the questions assigned to at least one of them
	// (principal names or roles). Questions assigned to nobody, which
	// anyone may answer, are not kept by this filter.
	Assignees []string
	// OlderThan keeps the questions asked at least this long ago (by the
	// inbox's clock); 0 or less does not filter.
	OlderThan time.Duration
	// After is the cursor of the page to read: Page.Next of the previous
	// page, "" for the first. Cursors are the store's and opaque.
	After string
	// Limit caps the page: 0 means DefaultLimit, and more than MaxLimit
	// means MaxLimit.
	Limit int
}

// Item is a question as the inbox shows it: the question a thread asks,
// its workflow, and, once answered, the answer with who gave it.
type Item struct {
	weft.Question
	// Workflow is the name of the thread's workflow.
	Workflow string
	// Status is pending, answered, or cancelled (the thread moved on
	// without an answer).
	Status checkpoint.InterruptStatus
	// Answer is the answer as JSON, who gave it (Author), through which
	// channel (checkpoint.ChannelAPI, ChannelUI, ChannelCLI,
	// ChannelResolver, ChannelDeadline) and when.
	Answer     json.RawMessage
	Author     string
	Channel    string
	AnsweredAt time.Time
	// EscalateTo are the principals or roles the question goes to when its
	// Deadline passes (weft.Escalate).
	EscalateTo []string
	// HasFallback says that the question has a fallback answer
	// (weft.Within), given at its Deadline if nobody answers sooner (so
	// never when Deadline is zero: an escalated question keeps its
	// fallback but has no deadline).
	HasFallback bool
	// Fallback is that answer as JSON.
	Fallback json.RawMessage
}

// MayAnswer reports whether one of who (a principal's name and roles) is
// among the question's assignees, or the question is assigned to nobody.
func (it *Item) MayAnswer(who ...string) bool {
	if len(it.Assignees) == 0 {
		return true
	}
	for _, w := range who {
		if slices.Contains(it.Assignees, w) {
			return true
		}
	}
	return false
}

// Page is one page of List. Next is the cursor of the next page (for
// Query.After); "" on the last page.
type Page struct {
	Items []Item
	Next  string
}

// Detail is one question with the current state of its thread.
type Detail struct {
	Item
	// State is the thread's current state, what it runs next and the
	// questions it waits for (see Inbox.State).
	State *weft.Snapshot[any]
}

// List returns a page of pending questions across threads, oldest first,
// that match q. Pages are read with cursors: pass Page.Next as q.After for
// the next one. It reads the store's interrupt index only, so it works for
// any workflow, registered or not.
func (ib *Inbox) List(ctx context.Context, q Query) (*Page, error) {
	sq := &checkpoint.InterruptQuery{
		Workflow:  q.Workflow,
		Node:      q.Node,
		ThreadID:  q.Thread,
		Status:    checkpoint.InterruptPending,
		Assignees: q.Assignees,
		After:     q.After,
		Limit:     q.Limit,
	}
	switch {
	case sq.Limit <= 0:
		sq.Limit = DefaultLimit
	case sq.Limit > MaxLimit:
		sq.Limit = MaxLimit
	}
	if q.OlderThan > 0 {
		sq.CreatedBefore = ib.now().Add(-q.OlderThan)
	}
	sp, err := ib.store.Interrupts(ctx, sq)
	if err != nil {
		return nil, fmt.Errorf("inbox: list: %w", err)
	}
	page := &Page{Items: make([]Item, len(sp.Interrupts)), Next: sp.Next}
	for i := range sp.Interrupts {
		page.Items[i] = itemOf(&sp.Interrupts[i])
	}
	return page, nil
}

// Get returns the question id of thread, in any status, with the thread's
// current state. A thread or question that does not exist is ErrNotFound.
func (ib *Inbox) Get(ctx context.Context, thread, id string) (*Detail, error) {
	rec, err := ib.interrupt(ctx, thread, id)
	if err != nil {
		return nil, err
	}
	state, err := ib.State(ctx, thread)
	if err != nil {
		return nil, err
	}
	return &Detail{Item: itemOf(rec), State: state}, nil
}

// Question returns one question of a thread, in any status, without the
// thread's state (see Get); ErrNotFound if the thread never asked it.
func (ib *Inbox) Question(ctx context.Context, thread, id string) (*Item, error) {
	rec, err := ib.interrupt(ctx, thread, id)
	if err != nil {
		return nil, err
	}
	it := itemOf(rec)
	return &it, nil
}

// interrupt loads one interrupt record; ErrNotFound if it does not exist.
func (ib *Inbox) interrupt(ctx context.Context, thread, id string) (*checkpoint.InterruptRecord, error) {
	if thread == "" || id == "" {
		return nil, fmt.Errorf("inbox: question %q of thread %q: %w", id, thread, ErrNotFound)
	}
	sp, err := ib.store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: thread, ID: id, Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("inbox: question %s of thread %q: %w", id, thread, err)
	}
	if len(sp.Interrupts) == 0 {
		return nil, fmt.Errorf("inbox: thread %q has no question %s: %w", thread, id, ErrNotFound)
	}
	return &sp.Interrupts[0], nil
}

// State returns the thread's current state. For a registered workflow it is
// the runner's State, with Values of the workflow's state type. For a
// thread of a workflow the inbox does not have, it is read from the store
// alone: everything but Subgraphs is set, and Values is a
// map[string]json.RawMessage of the state's fields when the store holds
// them as JSON (weft's default codec), nil otherwise.
func (ib *Inbox) State(ctx context.Context, thread string) (*weft.Snapshot[any], error) {
	row, r, err := ib.runnerOf(ctx, thread)
	switch {
	case err == nil:
		s, err := r.State(ctx, thread)
		if err != nil {
			return nil, fmt.Errorf("inbox: state of thread %q: %w", thread, err)
		}
		return s, nil
	case !errors.Is(err, ErrUnknownWorkflow):
		return nil, err
	}
	snap := &weft.Snapshot[any]{Thread: row.ID, Workflow: row.Workflow, Status: row.Status, Error: row.Error}
	if row.Head == "" {
		return snap, nil
	}
	cp, err := ib.store.Checkpoint(ctx, thread, "", row.Head)
	if err != nil {
		return nil, fmt.Errorf("inbox: state of thread %q: %w", thread, err)
	}
	snap.Checkpoint, snap.Parent, snap.Step, snap.Source, snap.Created = cp.ID, cp.ParentID, cp.Step, cp.Source, cp.CreatedAt
	snap.Next = slices.Clone(cp.Next)
	if v := jsonFields(cp); v != nil {
		snap.Values = v
	}
	sp, err := ib.store.Interrupts(ctx, &checkpoint.InterruptQuery{
		ThreadID: thread, CheckpointID: cp.ID, Status: checkpoint.InterruptPending, Limit: MaxLimit,
	})
	if err != nil {
		return nil, fmt.Errorf("inbox: state of thread %q: %w", thread, err)
	}
	for i := range sp.Interrupts {
		snap.Interrupts = append(snap.Interrupts, questionOf(&sp.Interrupts[i]))
	}
	return snap, nil
}

// jsonFields rebuilds a checkpoint's state as JSON fields without its Go
// type: each field's blob, and for a list stored as appends, its chain of
// blobs concatenated. It returns nil if a blob is not JSON.
func jsonFields(cp *checkpoint.Checkpoint) map[string]json.RawMessage {
	type key struct {
		field   string
		version int64
	}
	blobs := make(map[key]*checkpoint.Blob, len(cp.Blobs))
	for i := range cp.Blobs {
		b := &cp.Blobs[i]
		blobs[key{b.Field, b.Version}] = b
	}
	out := make(map[string]json.RawMessage, len(cp.Versions))
	for field, version := range cp.Versions {
		var tail []json.RawMessage
		for depth := 0; ; depth++ {
			b := blobs[key{field, version}]
			if b == nil || depth > len(cp.Blobs) || !json.Valid(b.Data) {
				return nil
			}
			if !b.Appends() {
				if tail == nil {
					out[field] = json.RawMessage(bytes.Clone(b.Data))
					break
				}
				var base []json.RawMessage
				if err := json.Unmarshal(b.Data, &base); err != nil {
					return nil
				}
				raw, err := json.Marshal(append(base, tail...))
				if err != nil {
					return nil
				}
				out[field] = raw
				break
			}
			var elems []json.RawMessage
			if err := json.Unmarshal(b.Data, &elems); err != nil {
				return nil
			}
			tail = append(elems, tail...)
			version = b.Base
		}
	}
	return out
}

func questionOf(r *checkpoint.InterruptRecord) weft.Question {
	return weft.Question{
		ID: r.ID, Thread: r.ThreadID, Node: r.Node, Task: r.Task, Kind: r.Kind, Key: r.Key,
		Value: r.Value, Schema: r.Schema, Reason: r.Reason, Assignees: r.Assignees,
		Deadline: r.Deadline, Created: r.CreatedAt,
	}
}

func itemOf(r *checkpoint.InterruptRecord) Item {
	return Item{
		Question: questionOf(r), Workflow: r.Workflow, Status: r.Status,
		Answer: r.Answer, Author: r.Author, Channel: r.Channel, AnsweredAt: r.AnsweredAt,
		EscalateTo: r.EscalateTo, HasFallback: len(r.Fallback) > 0, Fallback: r.Fallback,
	}
}
