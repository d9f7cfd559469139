package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

var eventsCmd = &command{
	name:    "events",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "print a thread's step log and questions; --follow them as they come",
	help: `Events prints what happened to THREAD, one event a line, oldest first:
every node run of its step log (superstep, node, outcome, duration, error),
every question it asked and what became of it (answered, by whom and through
which channel, or withdrawn). Each line starts with the thread's version
(v12) at which it happened; times are local, with their offset from UTC. It
works for threads of any workflow.

--follow keeps watching, polling the store every --interval, and prints the
new events as they come, and each change of the thread's status, until the
thread completes or is cancelled (or Ctrl-C). It then prints the version to
read on from: --after VERSION prints only what came after it (steps recorded
and questions asked after that version, and answers given after its step).

With --json each event is one JSON object on its own line.

  weft events post-1
  weft events long-1 --follow
  weft events long-1 --follow --after 12`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var o eventsOpts
		fs.BoolVar(&o.follow, "follow", false, "keep printing new events until the thread completes or is cancelled (or Ctrl-C)")
		fs.Int64Var(&o.after, "after", 0, "print only the events after this `version` (printed by a previous run)")
		o.interval = 500 * time.Millisecond
		fs.Var((*positiveDuration)(&o.interval), "interval", "with --follow, how often to look for new events")
		return func(args []string) error { return runEvents(c, args[0], o) }
	},
}

type eventsOpts struct {
	follow   bool
	after    int64
	interval time.Duration
}

// eventJSON is one event of a thread: a step, a question asked, answered
// or withdrawn, or a change of the thread's status.
type eventJSON struct {
	// Seq is the thread's version at which the event happened: a step's
	// commit, the checkpoint a question was asked at, the thread's version
	// when a status change was seen. --after takes it.
	Seq  int64     `json:"seq"`
	Kind string    `json:"kind"` // step, asked, answered, cancelled, status
	At   time.Time `json:"at"`

	// Steps.
	Superstep int     `json:"superstep,omitempty"`
	Namespace string  `json:"namespace,omitempty"`
	Node      string  `json:"node,omitempty"`
	Task      string  `json:"task,omitempty"`
	Outcome   string  `json:"outcome,omitempty"`
	Duration  float64 `json:"duration_ms,omitempty"`
	Error     string  `json:"error,omitempty"`

	// Questions.
	Question  string          `json:"question,omitempty"`
	Key       string          `json:"key,omitempty"`
	Assignees []string        `json:"assignees,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Answer    json.RawMessage `json:"answer,omitempty"`
	Author    string          `json:"author,omitempty"`
	Channel   string          `json:"channel,omitempty"`
	Note      string          `json:"note,omitempty"`

	// Status changes.
	Status weft.Status `json:"status,omitempty"`
}

// eventReader reads a thread's events from the store, remembering what it
// has given, so that each call returns only the new ones.
type eventReader struct {
	store  checkpoint.Store
	thread string
	after  int64     // steps and questions asked at or before it are given
	since  time.Time // answers given before it are given
	seen   map[string]checkpoint.InterruptStatus
}

func newEventReader(ctx context.Context, store checkpoint.Store, thread string, after int64) (*eventReader, error) {
	r := &eventReader{store: store, thread: thread, after: after, seen: make(map[string]checkpoint.InterruptStatus)}
	if after > 0 {
		// Answers count as given once given after the last step up to
		// version after.
		steps, err := store.Steps(ctx, thread, 0)
		if err != nil {
			return nil, err
		}
		for _, st := range steps {
			if st.Version <= after {
				r.since = later(r.since, st.StartedAt.Add(st.Duration))
			}
		}
	}
	return r, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// next returns the events since the previous call, in order.
func (r *eventReader) next(ctx context.Context) ([]eventJSON, error) {
	steps, err := r.store.Steps(ctx, r.thread, r.after)
	if err != nil {
		return nil, err
	}
	var evs []eventJSON
	for _, st := range steps {
		evs = append(evs, eventJSON{Seq: st.Version, Kind: "step", At: st.StartedAt, Superstep: st.Superstep,
			Namespace: st.Namespace, Node: st.Node, Task: st.Task, Outcome: string(st.Status),
			Duration: float64(st.Duration) / float64(time.Millisecond), Error: st.Error})
	}
	q := checkpoint.InterruptQuery{ThreadID: r.thread, Limit: 500}
	for {
		page, err := r.store.Interrupts(ctx, &q)
		if err != nil {
			return nil, err
		}
		for i := range page.Interrupts {
			evs = append(evs, r.question(&page.Interrupts[i])...)
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	slices.SortStableFunc(evs, func(a, b eventJSON) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]), a.At.Compare(b.At))
	})
	for _, e := range evs {
		if e.Kind == "step" {
			r.after = max(r.after, e.Seq)
		}
	}
	return evs, nil
}

// kindRank orders the events of one version: the steps of a commit before
// the questions it records, and those before their answers.
var kindRank = map[string]int{"step": 0, "asked": 1, "answered": 2, "cancelled": 2, "status": 3}

// question returns the events of q not given yet.
func (r *eventReader) question(q *checkpoint.InterruptRecord) []eventJSON {
	// A question is recorded by the commit after the checkpoint it was
	// asked at (the one that records the node's step too).
	asked, err := checkpoint.ParseID(q.CheckpointID)
	if err != nil {
		asked = 0
	}
	asked++
	prev, known := r.seen[q.ID]
	if known && prev == q.Status {
		return nil
	}
	r.seen[q.ID] = q.Status
	var evs []eventJSON
	if !known && asked > r.after {
		evs = append(evs, eventJSON{Seq: asked, Kind: "asked", At: q.CreatedAt, Node: q.Node, Task: q.Task,
			Question: q.ID, Key: q.Key, Assignees: q.Assignees, Value: nonEmpty(q.Value)})
	}
	if q.Status == checkpoint.InterruptPending {
		return evs
	}
	if !known && asked <= r.after && !q.AnsweredAt.After(r.since) {
		return evs // settled before the version read on from
	}
	kind := "answered"
	if q.Status == checkpoint.InterruptCancelled {
		kind = "cancelled"
	}
	return append(evs, eventJSON{Seq: asked, Kind: kind, At: q.AnsweredAt, Node: q.Node, Task: q.Task, Question: q.ID,
		Key: q.Key, Answer: nonEmpty(q.Answer), Author: q.Author, Channel: q.Channel, Note: q.Note})
}

func runEvents(c *cli, thread string, o eventsOpts) error {
	if o.after < 0 {
		return usagef("--after %d: want a version, 0 or more", o.after)
	}
	store, err := c.openStore(false)
	if err != nil {
		return err
	}
	row, err := store.Thread(c.ctx, thread)
	if err != nil {
		return fmt.Errorf("thread %q: %w", thread, err)
	}
	r, err := newEventReader(c.ctx, store, thread, o.after)
	if err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "thread %s (%s), %s at version %d\n", thread, row.Workflow, row.Status, row.Version)
	}
	status := row.Status
	for {
		evs, err := r.next(c.ctx)
		if err != nil {
			if o.follow && c.ctx.Err() != nil {
				break
			}
			return err
		}
		for _, e := range evs {
			if err := c.printEvent(&e); err != nil {
				return err
			}
		}
		if !o.follow {
			break
		}
		row, err := store.Thread(c.ctx, thread)
		if err != nil {
			if c.ctx.Err() != nil {
				break
			}
			return fmt.Errorf("thread %q: %w", thread, err)
		}
		if row.Status != status {
			status = row.Status
			e := eventJSON{Seq: row.Version, Kind: "status", At: row.UpdatedAt, Status: row.Status, Error: row.Error}
			if err := c.printEvent(&e); err != nil {
				return err
			}
		}
		if status == weft.StatusCompleted || status == weft.StatusCancelled {
			// The steps of the last commit are in: read them once more.
			evs, err := r.next(c.ctx)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if err := c.printEvent(&e); err != nil {
					return err
				}
			}
			break
		}
		t := time.NewTimer(o.interval)
		select {
		case <-c.ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if c.ctx.Err() != nil {
			break
		}
	}
	// The version to read on from is that of the last step read: a
	// question asked or a status seen later may be newer than steps not
	// read yet, and must not make them skipped.
	if !c.json {
		fmt.Fprintf(c.stdout, "To read on: weft events %s --after %d%s\n", shellQuote(thread), r.after, storeFlag(c))
	}
	return nil // Ctrl-C ends a --follow: not a failure
}

// printEvent prints one event: a line of text, or of JSON with --json.
func (c *cli) printEvent(e *eventJSON) error {
	if c.json {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", data)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v%-4d %s  ", e.Seq, stamp(e.At))
	node := e.Node
	if e.Task != "" && e.Task != e.Node {
		node += " (" + e.Task + ")"
	}
	switch e.Kind {
	case "step":
		fmt.Fprintf(&b, "step %d  %s  %s  %s", e.Superstep, node, e.Outcome, time.Duration(e.Duration*float64(time.Millisecond)).Round(time.Microsecond))
		if e.Namespace != "" {
			fmt.Fprintf(&b, "  in %s", e.Namespace)
		}
		if e.Error != "" {
			fmt.Fprintf(&b, "  error: %s", oneLine(e.Error, 200))
		}
	case "asked":
		fmt.Fprintf(&b, "asked %s  node %s", e.Question, node)
		if e.Key != "" {
			fmt.Fprintf(&b, "  key %s", e.Key)
		}
		if len(e.Assignees) > 0 {
			fmt.Fprintf(&b, "  assigned %s", strings.Join(e.Assignees, ","))
		}
		if len(e.Value) > 0 {
			fmt.Fprintf(&b, "  %s", compact(e.Value, 80))
		}
	case "answered":
		fmt.Fprintf(&b, "answered %s  by %s via %s: %s", e.Question, orDash(e.Author), orDash(e.Channel), compact(e.Answer, 80))
	case "cancelled":
		fmt.Fprintf(&b, "withdrew %s  by %s via %s", e.Question, orDash(e.Author), orDash(e.Channel))
		if e.Note != "" {
			fmt.Fprintf(&b, ": %s", oneLine(e.Note, 80))
		}
	case "status":
		fmt.Fprintf(&b, "thread %s", e.Status)
		if e.Error != "" {
			fmt.Fprintf(&b, ": %s", oneLine(e.Error, 200))
		}
	}
	_, err := fmt.Fprintln(c.stdout, b.String())
	return err
}
