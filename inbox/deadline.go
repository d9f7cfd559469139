package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// DeadlineAuthor is the author recorded with a fallback answer that
// FireDue gives when a question's deadline passes (with channel
// checkpoint.ChannelDeadline).
const DeadlineAuthor = "deadline"

// fireBatch is the page size of FireDue's query.
const fireBatch = 100

// FireDue makes one pass over the questions whose deadline has passed (by
// the inbox's clock) and are still pending, oldest first, and returns how
// many it handled:
//
//   - a question whose fallback (weft.Within) is due is answered with it,
//     by DeadlineAuthor through checkpoint.ChannelDeadline, like any
//     answer (Answer): validated, recorded once, and the thread carries on
//     (inline if the inbox has the workflow and no WithQueue; otherwise
//     the thread becomes ready, for a worker);
//   - otherwise a question with EscalateTo (weft.Escalate) is reassigned
//     to them, and its deadline becomes its fallback's (or none);
//   - a question with neither is left alone.
//
// The questions are found in the store, not kept in memory, so deadlines
// survive restarts: a new inbox on the same store fires what an old one did
// not. Several inboxes (processes) may run FireDue on one store at once:
// a question is answered once and escalated once (both are
// compare-and-sets in the store), and the others move on silently. A
// fallback that does not fit its schema is logged (once) and skipped.
//
// The error, if any, joins the failures of the pass (a store that cannot be
// read, a thread that could not be resumed); FireDue carries on past the
// failures of single questions.
func (ib *Inbox) FireDue(ctx context.Context) (int, error) {
	now := ib.now()
	// CreatedBefore bounds the pass to the questions that exist now: the
	// threads it resumes may ask new ones, which wait for the next pass.
	q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: now, CreatedBefore: now, Limit: fireBatch}
	n := 0
	var errs []error
	for {
		sp, err := ib.store.Interrupts(ctx, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("inbox: due questions: %w", err))
			break
		}
		for i := range sp.Interrupts {
			if err := ctx.Err(); err != nil {
				return n, errors.Join(append(errs, err)...)
			}
			ok, err := ib.fire(ctx, &sp.Interrupts[i], now)
			if ok {
				n++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if sp.Next == "" {
			break
		}
		q.After = sp.Next
	}
	if n > 0 || len(errs) > 0 {
		ib.log.InfoContext(ctx, "inbox: deadlines fired", "handled", n, "errors", len(errs))
	}
	return n, errors.Join(errs...)
}

// fire handles one due question. It reports whether it escalated or
// answered it. A question whose fallback is due is answered with it, even
// if it could also be escalated; one that is due for escalation first is
// reassigned, and its fallback (if any) stays due at its own time.
func (ib *Inbox) fire(ctx context.Context, rec *checkpoint.InterruptRecord, now time.Time) (bool, error) {
	switch {
	case len(rec.Fallback) > 0 && !rec.FallbackAt.After(now):
		return ib.fallback(ctx, rec)
	case len(rec.EscalateTo) > 0:
		return ib.escalate(ctx, rec)
	default:
		return false, nil
	}
}

func (ib *Inbox) escalate(ctx context.Context, rec *checkpoint.InterruptRecord) (bool, error) {
	// A compare-and-set on the deadline: of several schedulers that found
	// the question due, one escalates it.
	err := ib.store.Reassign(ctx, &checkpoint.Reassign{
		ThreadID: rec.ThreadID, InterruptID: rec.ID, ExpectedDeadline: rec.Deadline,
		Assignees: rec.EscalateTo, Deadline: rec.FallbackAt, Fallback: rec.Fallback, FallbackAt: rec.FallbackAt,
	})
	switch {
	case errors.Is(err, ErrAlreadyAnswered), errors.Is(err, ErrNotFound), errors.Is(err, weft.ErrConflict):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("inbox: escalate question %s of thread %q: %w", rec.ID, rec.ThreadID, err)
	}
	ib.log.InfoContext(ctx, "inbox: question escalated", "thread", rec.ThreadID, "question", rec.ID,
		"node", rec.Node, "from", rec.Assignees, "to", rec.EscalateTo)
	ib.fired(ctx, rec, weft.DeadlineEscalated)
	return true, nil
}

func (ib *Inbox) fallback(ctx context.Context, rec *checkpoint.InterruptRecord) (bool, error) {
	by := Author{Name: DeadlineAuthor, Channel: checkpoint.ChannelDeadline}
	var err error
	if _, ok := ib.Runner(rec.Workflow); ok && !ib.queue {
		_, err = ib.resume(ctx, rec.ThreadID, []string{rec.ID}, []json.RawMessage{rec.Fallback}, by)
	} else {
		err = ib.record(ctx, rec.ThreadID, []string{rec.ID}, []json.RawMessage{rec.Fallback}, by) // a worker runs it
	}
	switch {
	case err == nil:
		ib.log.InfoContext(ctx, "inbox: fallback answered", "thread", rec.ThreadID, "question", rec.ID, "node", rec.Node)
		ib.fired(ctx, rec, weft.DeadlineFallback)
		return true, nil
	case errors.As(err, new(*weft.AnsweredError)):
		ib.log.WarnContext(ctx, "inbox: fallback answered; the thread did not go on at once", "thread", rec.ThreadID,
			"question", rec.ID, "error", err)
		ib.fired(ctx, rec, weft.DeadlineFallback)
		return true, nil
	case errors.Is(err, ErrAlreadyAnswered), errors.Is(err, ErrUnknownInterrupt),
		errors.Is(err, ErrNotFound), errors.Is(err, weft.ErrThreadCompleted), errors.Is(err, weft.ErrThreadCancelled):
		// Someone answered first, or the thread moved on.
		return false, nil
	case errors.Is(err, ErrBusy):
		ib.log.DebugContext(ctx, "inbox: thread busy; deadline left for the next pass", "thread", rec.ThreadID, "question", rec.ID)
		return false, nil
	case errors.Is(err, ErrInvalidAnswer), errors.Is(err, weft.ErrGraphChanged), errors.Is(err, weft.ErrInterruptMismatch),
		errors.Is(err, weft.ErrWrongWorkflow):
		ib.warnOnce(ctx, rec.ThreadID+"\x00"+rec.ID, "inbox: fallback cannot be given; question left alone",
			"thread", rec.ThreadID, "question", rec.ID, "node", rec.Node, "error", err)
		return false, nil
	}
	return false, fmt.Errorf("inbox: fallback for question %s of thread %q: %w", rec.ID, rec.ThreadID, err)
}

// fired tells the monitor, if any, that rec's deadline fired.
func (ib *Inbox) fired(ctx context.Context, rec *checkpoint.InterruptRecord, action weft.DeadlineAction) {
	if ib.monitor != nil {
		ib.monitor.DeadlineFired(ctx, rec.Workflow, rec.Node, action)
	}
}

func (ib *Inbox) warnOnce(ctx context.Context, key, msg string, args ...any) {
	ib.warnMu.Lock()
	seen := ib.warned[key]
	ib.warned[key] = true
	ib.warnMu.Unlock()
	if !seen {
		ib.log.WarnContext(ctx, msg, args...)
	}
}

// RunDeadlines runs FireDue every interval until ctx ends, starting at
// once, and then returns nil. The errors of a pass are logged (WithLogger)
// and the next pass goes ahead. Any number of processes may run it on one
// store (see FireDue). It returns an error only for an interval that is not
// positive.
func (ib *Inbox) RunDeadlines(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("inbox: RunDeadlines every %v: the interval must be positive", every)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := ib.FireDue(ctx); err != nil && ctx.Err() == nil {
			ib.log.ErrorContext(ctx, "inbox: deadline pass failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
