package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// Author is who gives an answer and through which channel: a principal's
// name and checkpoint.ChannelAPI, ChannelUI or ChannelCLI (ChannelAPI when
// empty). Both are recorded with the answer and shown by Audit.
type Author struct {
	Name    string
	Channel string
}

// channel is the channel recorded with the answer.
func (a Author) channel() string {
	if a.Channel == "" {
		return checkpoint.ChannelAPI
	}
	return a.Channel
}

// Answer answers the question id of thread with value (JSON; nil is JSON
// null) and carries the thread on, as its workflow's Resume does: the
// answer is validated against the question's stored schema, recorded
// exactly once with by as its author, and the thread claimed in the same
// step and run (inline) until it completes or pauses again; the result is
// the thread's after that run. With WithQueue the inbox only records the
// answer and makes the thread ready, for a worker to run; the result then
// has weft.StatusReady.
//
// Refusals record nothing and leave the thread as it was:
// ErrInvalidAnswer (the value does not fit the schema), ErrAlreadyAnswered
// (answered before, by anyone, or cancelled, or the thread moved past the
// question), ErrUnknownInterrupt (the thread never asked it), ErrNotFound
// (no such thread), ErrUnknownWorkflow (its workflow is not registered, and
// the inbox runs threads inline). Once the answer is recorded, an error
// comes as a *weft.AnsweredError: the answer stands, and its Err says what
// happened next (a node that failed; ErrBusy: the thread runs elsewhere,
// which carries on with the answer).
func (ib *Inbox) Answer(ctx context.Context, thread, id string, value json.RawMessage, by Author) (*weft.Result[any], error) {
	return ib.resume(ctx, thread, []string{id}, []json.RawMessage{value}, by)
}

// AnswerMany answers several questions of one thread at once (the
// questions of parallel branches, say): all are recorded or none, and the
// thread runs once. answers maps question IDs to values. Errors are those
// of Answer; an empty map is ErrInvalidAnswer.
func (ib *Inbox) AnswerMany(ctx context.Context, thread string, answers map[string]json.RawMessage, by Author) (*weft.Result[any], error) {
	if len(answers) == 0 {
		return nil, fmt.Errorf("inbox: thread %q: no answers given: %w", thread, ErrInvalidAnswer)
	}
	ids := make([]string, 0, len(answers))
	for id := range answers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	values := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		values[i] = answers[id]
	}
	return ib.resume(ctx, thread, ids, values, by)
}

func (ib *Inbox) resume(ctx context.Context, thread string, ids []string, values []json.RawMessage, by Author) (*weft.Result[any], error) {
	for i := range values {
		if values[i] == nil {
			values[i] = json.RawMessage("null")
		}
		if !utf8.Valid(values[i]) {
			return nil, fmt.Errorf("inbox: answer to %s: not valid UTF-8: %w", ids[i], ErrInvalidAnswer)
		}
	}
	if ib.queue {
		if err := ib.record(ctx, thread, ids, values, by); err != nil {
			return nil, err
		}
		return &weft.Result[any]{Thread: thread, Status: weft.StatusReady}, nil
	}
	_, r, err := ib.runnerOf(ctx, thread)
	if err != nil {
		return nil, err
	}
	channel := by.channel()
	opts := make([]weft.RunOption, 0, len(ids)+1+len(ib.runOpts))
	for i, id := range ids {
		opts = append(opts, weft.Answer(id, values[i]))
	}
	opts = append(opts, weft.By(by.Name, channel))
	opts = append(opts, ib.runOpts...)
	res, err := r.Resume(ctx, thread, opts...)
	if err != nil {
		if errors.As(err, new(*weft.AnsweredError)) {
			ib.log.InfoContext(ctx, "inbox: answered; the run after it did not finish", "thread", thread, "questions", ids,
				"author", by.Name, "channel", channel, "error", err)
		}
		return res, fmt.Errorf("inbox: answer to thread %q: %w", thread, err)
	}
	ib.log.InfoContext(ctx, "inbox: answered", "thread", thread, "questions", ids,
		"author", by.Name, "channel", channel, "status", res.Status)
	return res, nil
}

// Record records an answer to the question id of thread without running
// the thread: the answer is validated against the question's stored
// schema and recorded exactly once, and the thread becomes ready in the
// same step, for whoever runs ready threads (a worker, or the next Resume)
// to carry on. It works for any workflow, registered or not, and is how a
// tool that only has the store (the weft command) answers for programs it
// cannot run.
//
// Errors: ErrInvalidAnswer, ErrAlreadyAnswered, ErrNotFound (no such thread
// or question).
func (ib *Inbox) Record(ctx context.Context, thread, id string, value json.RawMessage, by Author) error {
	if value == nil {
		value = json.RawMessage("null")
	}
	if !utf8.Valid(value) {
		return fmt.Errorf("inbox: answer to %s: not valid UTF-8: %w", id, ErrInvalidAnswer)
	}
	return ib.record(ctx, thread, []string{id}, []json.RawMessage{value}, by)
}

// record validates and records answers to questions of one thread, all or
// none, making the thread ready.
func (ib *Inbox) record(ctx context.Context, thread string, ids []string, values []json.RawMessage, by Author) error {
	channel := by.channel()
	answers := make([]checkpoint.Answer, len(ids))
	var recs []*checkpoint.InterruptRecord // for the monitor
	if ib.monitor != nil {
		recs = make([]*checkpoint.InterruptRecord, len(ids))
	}
	at := ib.now()
	for i, id := range ids {
		rec, err := ib.interrupt(ctx, thread, id)
		if err != nil {
			return err
		}
		if recs != nil {
			recs[i] = rec
		}
		if rec.Status != checkpoint.InterruptPending {
			return fmt.Errorf("inbox: question %s of thread %q is %s: %w", id, thread, rec.Status, ErrAlreadyAnswered)
		}
		if err := weft.ValidateAnswer(rec.Schema, values[i]); err != nil {
			return fmt.Errorf("inbox: answer to %s (node %s): %w: %w", id, rec.Node, ErrInvalidAnswer, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, values[i]); err != nil {
			return fmt.Errorf("inbox: answer to %s: %w: %w", id, ErrInvalidAnswer, err)
		}
		answers[i] = checkpoint.Answer{ThreadID: thread, InterruptID: id, Value: compact.Bytes(), Author: by.Name, Channel: channel, At: at}
	}
	if _, err := ib.store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: thread, Answers: answers}); err != nil {
		return fmt.Errorf("inbox: answer to %s of thread %q: %w", strings.Join(ids, ", "), thread, err)
	}
	ib.log.InfoContext(ctx, "inbox: answer recorded", "thread", thread, "questions", ids, "author", by.Name, "channel", channel)
	if recs != nil {
		for _, rec := range recs {
			ib.monitor.Answered(ctx, rec.Workflow, rec.Node, channel, at.Sub(rec.CreatedAt))
		}
	}
	return nil
}
