package server

import (
	"encoding/json"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// The JSON shapes of the API. They are documented in openapi.json; keep the
// two in step.

type questionJSON struct {
	ID        string          `json:"id"`
	Thread    string          `json:"thread"`
	Node      string          `json:"node"`
	Task      string          `json:"task,omitempty"`
	Kind      string          `json:"kind"`
	Key       string          `json:"key,omitempty"`
	Value     json.RawMessage `json:"value"`
	Schema    json.RawMessage `json:"schema,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Assignees []string        `json:"assignees,omitempty"`
	Deadline  time.Time       `json:"deadline,omitzero"`
	Created   time.Time       `json:"created,omitzero"`
}

func questionOf(q weft.Question) questionJSON {
	return questionJSON{
		ID: q.ID, Thread: q.Thread, Node: q.Node, Task: q.Task, Kind: q.Kind, Key: q.Key,
		Value: rawOrNull(q.Value), Schema: nonEmpty(q.Schema), Reason: q.Reason, Assignees: q.Assignees,
		Deadline: q.Deadline, Created: q.Created,
	}
}

func questionsOf(qs []weft.Question) []questionJSON {
	out := make([]questionJSON, len(qs))
	for i, q := range qs {
		out[i] = questionOf(q)
	}
	return out
}

// rawOrNull returns raw, or null when it is empty.
func rawOrNull(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// nonEmpty returns raw, or nil (left out) when it is empty.
func nonEmpty(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

type itemJSON struct {
	questionJSON
	Workflow    string                     `json:"workflow"`
	Status      checkpoint.InterruptStatus `json:"status"`
	Answer      json.RawMessage            `json:"answer,omitempty"`
	Author      string                     `json:"author,omitempty"`
	Channel     string                     `json:"channel,omitempty"`
	AnsweredAt  time.Time                  `json:"answered_at,omitzero"`
	EscalateTo  []string                   `json:"escalate_to,omitempty"`
	HasFallback bool                       `json:"has_fallback"`
	Fallback    json.RawMessage            `json:"fallback,omitempty"`
}

func itemOf(it *inbox.Item) itemJSON {
	return itemJSON{
		questionJSON: questionOf(it.Question), Workflow: it.Workflow, Status: it.Status,
		Answer: nonEmpty(it.Answer), Author: it.Author, Channel: it.Channel, AnsweredAt: it.AnsweredAt,
		EscalateTo: it.EscalateTo, HasFallback: it.HasFallback, Fallback: nonEmpty(it.Fallback),
	}
}

type pageJSON struct {
	Items []itemJSON `json:"items"`
	Next  string     `json:"next,omitempty"`
}

type detailJSON struct {
	itemJSON
	State *snapshotJSON `json:"state,omitempty"`
}

type resultJSON struct {
	Thread     string         `json:"thread"`
	Status     weft.Status    `json:"status"`
	State      any            `json:"state"`
	Interrupts []questionJSON `json:"interrupts"`
	Checkpoint string         `json:"checkpoint,omitempty"`
	Error      string         `json:"error,omitempty"`
}

func resultOf(res *weft.Result[any]) resultJSON {
	return resultJSON{
		Thread: res.Thread, Status: res.Status, State: res.State,
		Interrupts: questionsOf(res.Interrupts), Checkpoint: res.Checkpoint,
	}
}

type snapshotJSON struct {
	Thread     string         `json:"thread"`
	Workflow   string         `json:"workflow"`
	Status     weft.Status    `json:"status"`
	Values     any            `json:"values"`
	Next       []string       `json:"next"`
	Interrupts []questionJSON `json:"interrupts"`
	Checkpoint string         `json:"checkpoint"`
	Parent     string         `json:"parent,omitempty"`
	Step       int            `json:"step"`
	Source     string         `json:"source,omitempty"`
	Created    time.Time      `json:"created,omitzero"`
	Author     string         `json:"author,omitempty"`
	Channel    string         `json:"channel,omitempty"`
	Note       string         `json:"note,omitempty"`
	Error      string         `json:"error,omitempty"`
	Subgraphs  []subgraphJSON `json:"subgraphs,omitempty"`
}

type subgraphJSON struct {
	Path       string   `json:"path"`
	Workflow   string   `json:"workflow"`
	Values     any      `json:"values"`
	Next       []string `json:"next"`
	Checkpoint string   `json:"checkpoint"`
	Namespace  string   `json:"namespace"`
}

func snapshotOf(s *weft.Snapshot[any]) *snapshotJSON {
	if s == nil {
		return nil
	}
	out := &snapshotJSON{
		Thread: s.Thread, Workflow: s.Workflow, Status: s.Status, Values: s.Values, Next: nonNil(s.Next),
		Interrupts: questionsOf(s.Interrupts), Checkpoint: s.Checkpoint, Parent: s.Parent, Step: s.Step,
		Source: s.Source, Created: s.Created, Author: s.Author, Channel: s.Channel, Note: s.Note, Error: s.Error,
	}
	for _, sg := range s.Subgraphs {
		out.Subgraphs = append(out.Subgraphs, subgraphJSON{
			Path: sg.Path, Workflow: sg.Workflow, Values: sg.Values, Next: nonNil(sg.Next),
			Checkpoint: sg.Checkpoint, Namespace: sg.Namespace,
		})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type stepJSON struct {
	Superstep  int                   `json:"superstep"`
	Namespace  string                `json:"namespace,omitempty"`
	Version    int64                 `json:"version"`
	Checkpoint string                `json:"checkpoint"`
	Node       string                `json:"node"`
	Task       string                `json:"task"`
	Status     checkpoint.StepStatus `json:"status"`
	StartedAt  time.Time             `json:"started_at,omitzero"`
	DurationMS float64               `json:"duration_ms"`
	Error      string                `json:"error,omitempty"`
}

func stepOf(s weft.Step) stepJSON {
	return stepJSON{
		Superstep: s.Superstep, Namespace: s.Namespace, Version: s.Version, Checkpoint: s.CheckpointID,
		Node: s.Node, Task: s.Task, Status: s.Status, StartedAt: s.StartedAt,
		DurationMS: float64(s.Duration) / float64(time.Millisecond), Error: s.Error,
	}
}

type entryJSON struct {
	InterruptID string                     `json:"interrupt_id"`
	Node        string                     `json:"node"`
	Task        string                     `json:"task,omitempty"`
	Kind        string                     `json:"kind"`
	Reason      string                     `json:"reason,omitempty"`
	Assignees   []string                   `json:"assignees,omitempty"`
	Asked       time.Time                  `json:"asked,omitzero"`
	Deadline    time.Time                  `json:"deadline,omitzero"`
	Status      checkpoint.InterruptStatus `json:"status"`
	Answer      json.RawMessage            `json:"answer,omitempty"`
	Author      string                     `json:"author,omitempty"`
	Channel     string                     `json:"channel,omitempty"`
	AnsweredAt  time.Time                  `json:"answered_at,omitzero"`
}

func entryOf(e inbox.Entry) entryJSON {
	return entryJSON{
		InterruptID: e.InterruptID, Node: e.Node, Task: e.Task, Kind: e.Kind, Reason: e.Reason,
		Assignees: e.Assignees, Asked: e.Asked, Deadline: e.Deadline, Status: e.Status,
		Answer: nonEmpty(e.Answer), Author: e.Author, Channel: e.Channel, AnsweredAt: e.AnsweredAt,
	}
}

type workflowJSON struct {
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type errorJSON struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// startRequest is the body of POST /v1/workflows/{name}/threads.
type startRequest struct {
	Thread string          `json:"thread"`
	Input  json.RawMessage `json:"input"`
	Wait   *bool           `json:"wait"`
}

// answersRequest is the body of POST /v1/threads/{id}/answers.
type answersRequest struct {
	Answers map[string]json.RawMessage `json:"answers"`
	Wait    *bool                      `json:"wait"`
}

// cancelRequest is the body of POST /v1/threads/{id}/cancel.
type cancelRequest struct {
	Reason string `json:"reason"`
}

// stopResponse is the body of POST /v1/threads/{id}/stop's 202: what
// became of the thread. Status is "stopping" (it was running, and stops
// at its next checkpoint, in whichever process runs it), "stopped" (it
// was ready: no run had it yet) or "cancelled" (it waited for answers).
type stopResponse struct {
	Thread string `json:"thread"`
	Status string `json:"status"`
}
