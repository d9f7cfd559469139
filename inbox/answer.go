package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

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
// exactly once with by as its author, and, if the thread waits for nothing
// else, the thread runs until it completes or pauses again. The result is
// the thread's after that run.
//
// Refusals leave the thread exactly as it was: ErrInvalidAnswer (the value
// does not fit the schema), ErrAlreadyAnswered (answered before, by anyone,
// or cancelled), ErrUnknownInterrupt (the thread never asked it),
// ErrNotFound (no such thread), ErrUnknownWorkflow (its workflow is not
// registered). A thread that is busy at that instant (weft.ErrBusy: someone
// else is resuming it) is tried again a few times (WithBusyRetry) before
// ErrBusy is returned. Any other error comes from running the thread after
// the answer was recorded (a node that failed, say): the answer stands.
func (ib *Inbox) Answer(ctx context.Context, thread, id string, value json.RawMessage, by Author) (*weft.Result[any], error) {
	return ib.resume(ctx, thread, []string{id}, []json.RawMessage{value}, by)
}

// AnswerMany answers several questions of one thread at once (the
// questions of parallel branches, say): all are recorded or none, and the
// thread runs once, when it waits for nothing else. answers maps question
// IDs to values. Errors are those of Answer; an empty map is
// ErrInvalidAnswer.
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

	wait := ib.backoff
	for attempt := 0; ; attempt++ {
		res, err := r.Resume(ctx, thread, opts...)
		if err == nil {
			ib.log.InfoContext(ctx, "inbox: answered", "thread", thread, "questions", ids,
				"author", by.Name, "channel", channel, "status", res.Status)
			return res, nil
		}
		if errors.Is(err, weft.ErrBusy) && attempt < ib.retries {
			ib.log.DebugContext(ctx, "inbox: thread busy, retrying", "thread", thread, "attempt", attempt+1, "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("inbox: answer to thread %q: %w (%w)", thread, err, ErrBusy)
			}
			wait *= 2
			continue
		}
		if errors.Is(err, weft.ErrThreadCompleted) {
			err = ib.explain(ctx, thread, ids, err)
		}
		return res, fmt.Errorf("inbox: answer to thread %q: %w", thread, err)
	}
}

// explain turns the ErrThreadCompleted of a Resume with answers into what
// the answerer needs to know: that the questions were answered (or
// cancelled) before, or never asked.
func (ib *Inbox) explain(ctx context.Context, thread string, ids []string, err error) error {
	for _, id := range ids {
		rec, gerr := ib.interrupt(ctx, thread, id)
		switch {
		case gerr == nil && rec.Status != checkpoint.InterruptPending:
			return fmt.Errorf("question %s is %s: %w (%w)", id, rec.Status, ErrAlreadyAnswered, err)
		case errors.Is(gerr, ErrNotFound):
			return fmt.Errorf("thread %q never asked %s: %w (%w)", thread, id, ErrUnknownInterrupt, err)
		}
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Record records an answer to the question id of thread without running
// the thread: the answer is validated against the question's stored
// schema and recorded exactly once, and the thread carries on when its
// program next resumes it (a weft.Workflow's Resume with no answers, or
// an Answer through an inbox that has its workflow). It works for any
// workflow, registered or not, and is how a tool that only has the store
// (the weft command) answers for programs it cannot run.
//
// Errors: ErrInvalidAnswer, ErrAlreadyAnswered, ErrNotFound (no such thread
// or question).
func (ib *Inbox) Record(ctx context.Context, thread, id string, value json.RawMessage, by Author) error {
	rec, err := ib.interrupt(ctx, thread, id)
	if err != nil {
		return err
	}
	if rec.Status != checkpoint.InterruptPending {
		return fmt.Errorf("inbox: question %s of thread %q is %s: %w", id, thread, rec.Status, ErrAlreadyAnswered)
	}
	if value == nil {
		value = json.RawMessage("null")
	}
	if err := weft.ValidateAnswer(rec.Schema, value); err != nil {
		return fmt.Errorf("inbox: answer to %s (node %s): %w: %w", id, rec.Node, ErrInvalidAnswer, err)
	}
	channel := by.channel()
	var compact json.RawMessage
	if compact, err = json.Marshal(value); err != nil {
		return fmt.Errorf("inbox: answer to %s: %w: %w", id, ErrInvalidAnswer, err)
	}
	err = ib.store.Answer(ctx, []checkpoint.Answer{{
		ThreadID: thread, InterruptID: id, Value: compact, Author: by.Name, Channel: channel, At: ib.now(),
	}})
	if err != nil {
		return fmt.Errorf("inbox: answer to %s of thread %q: %w", id, thread, err)
	}
	ib.log.InfoContext(ctx, "inbox: answer recorded", "thread", thread, "question", id, "author", by.Name, "channel", channel)
	return nil
}
