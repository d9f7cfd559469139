package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Entry is one line of a thread's audit trail: a question, and what became
// of it.
type Entry struct {
	InterruptID string
	// Node is the path of the node that asked; Task the task within its
	// superstep ("tools#2" for a Map branch).
	Node string
	Task string
	// Kind is weft.KindDynamic, KindBefore or KindAfter.
	Kind   string
	Reason string
	// Value is the payload shown with the question (JSON).
	Value     json.RawMessage
	Assignees []string
	// Asked is when the question was asked; Deadline when it was due (zero
	// for none, or after an escalation).
	Asked    time.Time
	Deadline time.Time
	// Status is pending, answered or cancelled.
	Status checkpoint.InterruptStatus
	// Answer, Author, Channel and AnsweredAt record the answer: its value,
	// who gave it, through which channel, and when.
	Answer     json.RawMessage
	Author     string
	Channel    string
	AnsweredAt time.Time
}

// Audit returns every question the thread ever asked, in any status, in
// the order asked (by creation time, then ID), with its answer and who gave
// it. The store keeps questions when it prunes checkpoints, so the trail
// survives pruning; it goes with the thread when the thread is deleted.
// A thread that does not exist is ErrNotFound.
func (ib *Inbox) Audit(ctx context.Context, thread string) ([]Entry, error) {
	if _, err := ib.thread(ctx, thread); err != nil {
		return nil, err
	}
	var out []Entry
	q := &checkpoint.InterruptQuery{ThreadID: thread, Limit: MaxLimit}
	for {
		sp, err := ib.store.Interrupts(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("inbox: audit of thread %q: %w", thread, err)
		}
		for i := range sp.Interrupts {
			r := &sp.Interrupts[i]
			out = append(out, Entry{
				InterruptID: r.ID, Node: r.Node, Task: r.Task, Kind: r.Kind, Reason: r.Reason, Value: r.Value,
				Assignees: r.Assignees, Asked: r.CreatedAt, Deadline: r.Deadline, Status: r.Status,
				Answer: r.Answer, Author: r.Author, Channel: r.Channel, AnsweredAt: r.AnsweredAt,
			})
		}
		if sp.Next == "" {
			return out, nil
		}
		q.After = sp.Next
	}
}
