package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// The JSON shapes of the command's output. Times are RFC 3339; absent
// times and lists are left out.

type questionJSON struct {
	ID          string          `json:"id"`
	Thread      string          `json:"thread"`
	Workflow    string          `json:"workflow,omitempty"`
	Node        string          `json:"node"`
	Task        string          `json:"task,omitempty"`
	Kind        string          `json:"kind"`
	Key         string          `json:"key,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Assignees   []string        `json:"assignees,omitempty"`
	Deadline    time.Time       `json:"deadline,omitzero"`
	EscalateTo  []string        `json:"escalate_to,omitempty"`
	Fallback    json.RawMessage `json:"fallback,omitempty"`
	Created     time.Time       `json:"created,omitzero"`
	Status      string          `json:"status,omitempty"`
	Answer      json.RawMessage `json:"answer,omitempty"`
	Author      string          `json:"author,omitempty"`
	Channel     string          `json:"channel,omitempty"`
	AnsweredAt  time.Time       `json:"answered_at,omitzero"`
	AnswerUsing string          `json:"answer_with,omitempty"`
}

func questionOf(q *weft.Question) questionJSON {
	return questionJSON{
		ID: q.ID, Thread: q.Thread, Node: q.Node, Task: q.Task, Kind: q.Kind, Key: q.Key, Reason: q.Reason,
		Value: nonEmpty(q.Value), Schema: nonEmpty(q.Schema), Assignees: q.Assignees, Deadline: q.Deadline, Created: q.Created,
	}
}

func itemOf(it *inbox.Item) questionJSON {
	q := questionOf(&it.Question)
	q.Workflow, q.Status = it.Workflow, string(it.Status)
	q.EscalateTo, q.Fallback = it.EscalateTo, nonEmpty(it.Fallback)
	q.Answer, q.Author, q.Channel, q.AnsweredAt = nonEmpty(it.Answer), it.Author, it.Channel, it.AnsweredAt
	return q
}

func nonEmpty(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	return m
}

type snapshotJSON struct {
	Thread     string         `json:"thread"`
	Workflow   string         `json:"workflow"`
	Status     weft.Status    `json:"status"`
	Checkpoint string         `json:"checkpoint,omitempty"`
	Parent     string         `json:"parent,omitempty"`
	Step       int            `json:"step"`
	Source     string         `json:"source,omitempty"`
	Created    time.Time      `json:"created,omitzero"`
	Next       []string       `json:"next"`
	Error      string         `json:"error,omitempty"`
	Values     any            `json:"values"`
	Questions  []questionJSON `json:"questions"`
	Subgraphs  []subgraphJSON `json:"subgraphs,omitempty"`
	// Owner names the process whose claim runs the thread, while it runs,
	// and LeaseUntil is when that claim lapses unless renewed; Epoch counts
	// the thread's claims; StopRequested is when someone asked the running
	// thread to stop (absent if nobody did).
	Owner         string    `json:"owner,omitempty"`
	LeaseUntil    time.Time `json:"lease_until,omitzero"`
	Epoch         int64     `json:"epoch"`
	StopRequested time.Time `json:"stop_requested,omitzero"`
	// Runnable says whether this command can carry the thread on (its
	// workflow is one of the demo's).
	Runnable bool `json:"runnable"`
}

type subgraphJSON struct {
	Path     string   `json:"path"`
	Workflow string   `json:"workflow"`
	Values   any      `json:"values"`
	Next     []string `json:"next"`
}

// snapshotOf is the JSON of a thread's state s, with the claim fields of
// its row (row may be nil: then the snapshot's own).
func snapshotOf(s *weft.Snapshot[any], row *checkpoint.Thread, runnable bool) snapshotJSON {
	out := snapshotJSON{
		Thread: s.Thread, Workflow: s.Workflow, Status: s.Status, Checkpoint: s.Checkpoint, Parent: s.Parent,
		Step: s.Step, Source: s.Source, Created: s.Created, Next: orEmpty(s.Next), Error: s.Error, Values: s.Values,
		Questions: []questionJSON{}, Runnable: runnable, Owner: s.Owner, LeaseUntil: s.LeaseUntil,
	}
	if row != nil {
		out.Owner, out.LeaseUntil, out.Epoch, out.StopRequested = row.Owner, row.LeaseUntil, row.Epoch, row.StopRequested
	}
	for i := range s.Interrupts {
		q := questionOf(&s.Interrupts[i])
		q.Workflow = s.Workflow
		out.Questions = append(out.Questions, q)
	}
	for _, sg := range s.Subgraphs {
		out.Subgraphs = append(out.Subgraphs, subgraphJSON{Path: sg.Path, Workflow: sg.Workflow, Values: sg.Values, Next: orEmpty(sg.Next)})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type resultJSON struct {
	Thread     string         `json:"thread"`
	Status     weft.Status    `json:"status"`
	State      any            `json:"state"`
	Questions  []questionJSON `json:"questions"`
	Checkpoint string         `json:"checkpoint,omitempty"`
}

func resultOf(r *weft.Result[any]) resultJSON {
	out := resultJSON{Thread: r.Thread, Status: r.Status, State: r.State, Questions: []questionJSON{}, Checkpoint: r.Checkpoint}
	for i := range r.Interrupts {
		out.Questions = append(out.Questions, questionOf(&r.Interrupts[i]))
	}
	return out
}

// compact returns v as one line of JSON, cut to max runes.
func compact(v json.RawMessage, max int) string {
	if len(v) == 0 {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		b.Reset()
		b.Write(v)
	}
	s := b.String()
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

// indent returns v as indented JSON, each line prefixed.
func indent(v any, prefix string) string {
	data, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		return prefix + fmt.Sprintf("%v", v)
	}
	return prefix + string(data)
}

// short formats a duration the way a person reads an age: 45s, 12m, 3h05m,
// 4d.
func short(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// due says when a question is due and what happens then.
func due(now, deadline time.Time, escalateTo []string, hasFallback bool) string {
	if deadline.IsZero() {
		return "-"
	}
	var s string
	if deadline.After(now) {
		s = "in " + short(deadline.Sub(now))
	} else {
		s = "overdue " + short(now.Sub(deadline))
	}
	switch {
	case len(escalateTo) > 0:
		s += " → " + strings.Join(escalateTo, ",")
	case hasFallback:
		s += " → fallback"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// schemaHint describes the answer a schema wants in a few words: the enum
// of each property, or the type.
func schemaHint(schema json.RawMessage) string {
	var s struct {
		Type       any                        `json:"type"`
		Enum       []any                      `json:"enum"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return compact(schema, 100)
	}
	if len(s.Enum) > 0 {
		return compact(mustJSON(s.Enum), 100)
	}
	if len(s.Properties) == 0 {
		if s.Type == nil {
			return "any JSON value"
		}
		return fmt.Sprint(s.Type)
	}
	var parts []string
	for name, raw := range sortedProps(s.Properties) {
		opt := "?"
		for _, r := range s.Required {
			if r == name {
				opt = ""
			}
		}
		parts = append(parts, fmt.Sprintf("%q%s: %s", name, opt, schemaHint(raw)))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func mustJSON(v any) json.RawMessage {
	data, _ := json.Marshal(v)
	return data
}

// sortedProps iterates a schema's properties in name order.
func sortedProps(m map[string]json.RawMessage) func(yield func(string, json.RawMessage) bool) {
	return func(yield func(string, json.RawMessage) bool) {
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if !yield(n, m[n]) {
				return
			}
		}
	}
}

// statusLine says where a result leaves its thread.
func statusLine(r *weft.Result[any]) string {
	switch r.Status {
	case weft.StatusInterrupted:
		return fmt.Sprintf("thread %s is waiting for %d question(s)", r.Thread, len(r.Interrupts))
	default:
		return fmt.Sprintf("thread %s is %s", r.Thread, r.Status)
	}
}
