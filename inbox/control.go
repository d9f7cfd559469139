package inbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// conflictRetries is how many times a store-level control op reads the
// thread again after losing a compare-and-set to a concurrent change (an
// answer, a claim, an edit) before it gives up with ErrConflict.
const conflictRetries = 3

// stopNote is the note recorded on the questions that Stop withdraws, as
// weft.Workflow.Stop records it.
const stopNote = "stopped"

// Stop stops a thread of any workflow, registered or not, from the store
// alone, as weft.Workflow.Stop does, so that a thread is left the same
// whichever way it was stopped:
//
//   - a running thread is asked to stop, durably (Store.RequestStop): the
//     process that runs it, here or elsewhere, stops it at its next
//     heartbeat, at its last checkpoint, and Resume carries it on. Until
//     then it is still running, with StopRequested set;
//   - a ready thread (answered, or submitted, and not picked up yet)
//     becomes stopped;
//   - a thread that waits for answers is cancelled: its pending questions
//     are withdrawn, with by as who cancelled them and "stopped" as why,
//     and its status becomes cancelled (see Cancel).
//
// A thread that is stopped, failed, completed or cancelled is refused with
// weft.ErrNotRunning and left as it is; one that does not exist is
// ErrNotFound (which matches weft.ErrNotRunning too, as Workflow.Stop's
// does). The result is the thread's row afterwards.
func (ib *Inbox) Stop(ctx context.Context, thread string, by Author) (*checkpoint.Thread, error) {
	for attempt := 0; ; attempt++ {
		row, err := ib.store.Thread(ctx, thread)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("inbox: stop thread %q: %w (%w)", thread, ErrNotRunning, err)
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: stop thread %q: %w", thread, err)
		}
		switch row.Status {
		case weft.StatusRunning, weft.StatusReady:
			after, err := ib.store.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: thread, At: ib.now()})
			if err != nil {
				return nil, fmt.Errorf("inbox: stop thread %q: %w", thread, err)
			}
			if after.Status != weft.StatusRunning && after.Status != weft.StatusStopped {
				// It paused or ended between the read and the request:
				// the request did nothing; look again.
				if attempt < conflictRetries {
					continue
				}
				return nil, fmt.Errorf("inbox: stop thread %q: it kept changing: %w", thread, ErrConflict)
			}
			ib.log.InfoContext(ctx, "inbox: stop requested", "thread", thread, "status", after.Status,
				"author", by.Name, "channel", by.channel())
			return after, nil
		case weft.StatusInterrupted:
			after, err := ib.cancelRow(ctx, row, stopNote, by)
			if errors.Is(err, ErrConflict) && attempt < conflictRetries {
				continue // answered, claimed or edited meanwhile: look again
			}
			if err != nil {
				return nil, fmt.Errorf("inbox: stop thread %q: %w", thread, err)
			}
			return after, nil
		}
		return nil, fmt.Errorf("inbox: stop thread %q: it is %s: %w", thread, row.Status, ErrNotRunning)
	}
}

// Cancel ends a thread of any workflow that waits (paused, ready, stopped
// or failed) from the store alone, as weft.Workflow.Cancel does: its
// pending questions are withdrawn, with by as who cancelled them and
// reason as why (Audit shows both), and its status becomes cancelled. The
// cancel is a checkpoint of its own, with the state as it was and who and
// why in its metadata (see weft.CancelMeta), as Workflow.Cancel writes it,
// so the history shows it even when it withdrew no question. It keeps its
// history; its program's Run starts a new turn on it, and Fork
// rewinds it. The change is one compare-and-set commit on the thread's
// version, so an answer, a claim or an edit that comes first wins and the
// thread is looked at again.
//
// A running thread is refused with ErrBusy (stop it first), a completed or
// cancelled one with weft.ErrNotRunning; a refusal changes nothing. The
// result is the thread's row afterwards.
func (ib *Inbox) Cancel(ctx context.Context, thread, reason string, by Author) (*checkpoint.Thread, error) {
	for attempt := 0; ; attempt++ {
		row, err := ib.thread(ctx, thread)
		if err != nil {
			return nil, err
		}
		switch row.Status {
		case weft.StatusRunning:
			return nil, fmt.Errorf("inbox: cancel thread %q: it is running (in %s); stop it first: %w", thread, row.Owner, ErrBusy)
		case weft.StatusCompleted, weft.StatusCancelled:
			return nil, fmt.Errorf("inbox: cancel thread %q: it is %s: %w", thread, row.Status, ErrNotRunning)
		}
		after, err := ib.cancelRow(ctx, row, reason, by)
		if errors.Is(err, ErrConflict) && attempt < conflictRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: cancel thread %q: %w", thread, err)
		}
		return after, nil
	}
}

// cancelRow commits row as cancelled, withdrawing its pending questions,
// if its version is still row.Version (ErrConflict otherwise).
func (ib *Inbox) cancelRow(ctx context.Context, row *checkpoint.Thread, reason string, by Author) (*checkpoint.Thread, error) {
	at := ib.now()
	next := *row
	next.Status, next.Error = weft.StatusCancelled, ""
	c := &checkpoint.Commit{
		Thread:          next,
		ExpectedVersion: row.Version,
		At:              at,
		Cancel:          &checkpoint.Cancellation{Author: by.Name, Channel: by.channel(), At: at, Note: reason},
	}
	if row.Head != "" {
		// The cancel is a checkpoint of its own, with the head's state, as
		// weft.Workflow.Cancel writes it: the history shows who cancelled
		// the thread and why, even when no question was withdrawn.
		head, err := ib.store.Checkpoint(ctx, row.ID, "", row.Head)
		if err != nil {
			return nil, err
		}
		id := checkpoint.FormatID(row.Version + 1)
		c.Checkpoint = &checkpoint.Checkpoint{
			ThreadID: row.ID, ID: id, ParentID: head.ID, Step: head.Step + 1, Source: checkpoint.SourceCancel,
			Next: head.Next, Versions: head.Versions, Meta: weft.CancelMeta(by.Name, by.channel(), reason), CreatedAt: at,
		}
		c.Thread.Head = id
		c.VerifyBlobs = true // the head's blobs: a concurrent Prune keeps them, but say so
	}
	if _, err := ib.store.Commit(ctx, c); err != nil {
		return nil, err
	}
	ib.log.InfoContext(ctx, "inbox: thread cancelled", "thread", row.ID, "reason", reason,
		"author", by.Name, "channel", by.channel())
	return ib.thread(ctx, row.ID)
}

// Resume carries a stopped or failed thread of any workflow on. If the
// inbox has the thread's workflow and runs threads inline (no WithQueue),
// it runs it here with the runner's Resume, until it completes, pauses or
// stops, and returns where it got (a failed superstep runs again; a ready
// thread is carried on too). Otherwise it makes the thread ready in the
// store (one compare-and-set commit on its version), for any worker that
// has the workflow to carry on, and the result has weft.StatusReady; a
// thread that is ready already is left so.
//
// A thread that waits for answers is left as it is, and the result has
// weft.StatusInterrupted (answer its questions; a breakpoint is passed by
// answering it, with null). A running thread is ErrBusy, a completed one
// weft.ErrThreadCompleted, a cancelled one weft.ErrThreadCancelled, one
// that does not exist ErrNotFound; a refusal changes nothing.
func (ib *Inbox) Resume(ctx context.Context, thread string) (*weft.Result[any], error) {
	for attempt := 0; ; attempt++ {
		row, err := ib.thread(ctx, thread)
		if err != nil {
			return nil, err
		}
		switch row.Status {
		case weft.StatusRunning:
			return nil, fmt.Errorf("inbox: resume thread %q: it is running (in %s): %w", thread, row.Owner, ErrBusy)
		case weft.StatusCompleted:
			return nil, fmt.Errorf("inbox: resume thread %q: %w", thread, weft.ErrThreadCompleted)
		case weft.StatusCancelled:
			return nil, fmt.Errorf("inbox: resume thread %q: %w", thread, weft.ErrThreadCancelled)
		}
		if r, ok := ib.Runner(row.Workflow); ok && !ib.queue {
			res, err := r.Resume(ctx, thread, ib.runOpts...)
			if err != nil {
				return res, fmt.Errorf("inbox: resume thread %q: %w", thread, err)
			}
			ib.log.InfoContext(ctx, "inbox: resumed", "thread", thread, "status", res.Status)
			return res, nil
		}
		switch row.Status {
		case weft.StatusInterrupted:
			return &weft.Result[any]{Thread: thread, Status: weft.StatusInterrupted, Checkpoint: row.Head}, nil
		case weft.StatusReady:
			return &weft.Result[any]{Thread: thread, Status: weft.StatusReady, Checkpoint: row.Head}, nil
		}
		next := *row
		next.Status, next.Error = weft.StatusReady, ""
		_, err = ib.store.Commit(ctx, &checkpoint.Commit{Thread: next, ExpectedVersion: row.Version, At: ib.now()})
		if errors.Is(err, ErrConflict) && attempt < conflictRetries {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inbox: resume thread %q: %w", thread, err)
		}
		ib.log.InfoContext(ctx, "inbox: thread made ready", "thread", thread, "was", row.Status)
		return &weft.Result[any]{Thread: thread, Status: weft.StatusReady, Checkpoint: row.Head}, nil
	}
}
