package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// The operator's controls of a thread, shared by the API and the thread
// page: stop, resume and cancel. A thread whose workflow this server has
// is controlled through its runner: a run in this process stops at once,
// a resume runs the thread in the request. Any other thread (its workflow
// registered in another process, run by workers there) is controlled
// through the inbox's store-level Stop, Resume and Cancel: the request is
// recorded in the store, and a worker that has the workflow carries it
// out (a cancel needs none).

// Statuses of a stop's outcome (stopResponse.Status): the thread was
// running and stops at its next checkpoint, or it was ready and is
// stopped, or it waited for answers and is cancelled.
const (
	stopStopping  = "stopping"
	stopStopped   = "stopped"
	stopCancelled = "cancelled"
)

// maxReason caps the reason of a cancel.
const maxReason = 1000

// threadRow reads the thread's row; ErrNotFound (404) if it does not
// exist.
func (s *Server) threadRow(ctx context.Context, thread string) (*checkpoint.Thread, error) {
	row, err := s.ib.Store().Thread(ctx, thread)
	if err != nil {
		return nil, fmt.Errorf("thread %q: %w", thread, err)
	}
	return row, nil
}

// stop stops a thread, as POST /v1/threads/{id}/stop does, and returns
// what became of it: stopStopping, stopStopped or stopCancelled.
//
// A running thread of a workflow the server has is stopped through the
// runner, which cancels a run of this process at once (and records the
// request in the store for a run elsewhere). Everything else goes through
// the inbox's Stop: a running thread is asked to stop in the store, for
// the worker that runs it to stop at its next checkpoint; a ready one
// becomes stopped; one that waits for answers is cancelled, its questions
// withdrawn with p as who did it.
func (s *Server) stop(ctx context.Context, thread string, p Principal, channel string) (outcome string, err error) {
	before, err := s.threadRow(ctx, thread)
	if err != nil {
		return "", err
	}
	rn, local := s.ib.Runner(before.Workflow)
	if local && before.Status == weft.StatusRunning {
		if err := rn.Stop(ctx, thread); err != nil {
			return "", err
		}
		outcome = stopStopping
		if after, err := s.ib.Store().Thread(ctx, thread); err == nil && after.Status == weft.StatusCancelled {
			outcome = stopCancelled // it paused meanwhile, and the stop cancelled it
		}
		s.log.InfoContext(ctx, "weft server: stop requested", "thread", thread, "workflow", before.Workflow,
			"outcome", outcome, "by", p.Name, "channel", channel, "local", true)
		return outcome, nil
	}
	after, err := s.ib.Stop(ctx, thread, inbox.Author{Name: p.Name, Channel: channel})
	if err != nil {
		return "", err
	}
	outcome = stopStopped
	switch after.Status {
	case weft.StatusRunning:
		outcome = stopStopping
	case weft.StatusCancelled:
		outcome = stopCancelled
	}
	s.log.InfoContext(ctx, "weft server: stop requested", "thread", thread, "workflow", before.Workflow,
		"outcome", outcome, "by", p.Name, "channel", channel, "local", local)
	return outcome, nil
}

// resume carries a thread on, as POST /v1/threads/{id}/resume does. A
// thread of a workflow the server has runs in the request, until it
// pauses, completes or stops (res is its result). Any other thread is
// made ready in the store by the inbox's Resume, for a worker that has the
// workflow to carry on: queued is then true, and res.Status is ready (or
// interrupted, for a thread that waits for answers and is left so).
func (s *Server) resume(r *http.Request, thread string, p Principal, channel string) (res *weft.Result[any], queued bool, err error) {
	row, err := s.threadRow(r.Context(), thread)
	if err != nil {
		return nil, false, err
	}
	if rn, ok := s.ib.Runner(row.Workflow); ok {
		ctx, done := runContext(r)
		defer done()
		res, err := rn.Resume(ctx, thread, s.runOptions(p, channel)...)
		return res, false, err
	}
	res, err = s.ib.Resume(r.Context(), thread)
	if err != nil {
		return nil, false, err
	}
	s.log.InfoContext(r.Context(), "weft server: resume handed to the workers", "thread", thread,
		"workflow", row.Workflow, "status", res.Status, "by", p.Name, "channel", channel)
	return res, true, nil
}

// checkReason checks the reason of a cancel: required, at most maxReason
// bytes.
func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", errBadRequest("say why the thread is cancelled: the reason is recorded with its withdrawn questions")
	}
	if len(reason) > maxReason {
		return "", errBadRequest(fmt.Sprintf("the reason is longer than %d bytes", maxReason))
	}
	return reason, nil
}

// cancel ends a thread that waits (paused, ready, stopped or failed), as
// POST /v1/threads/{id}/cancel does: its pending questions are withdrawn
// with p as who did it, through channel, and reason as why. It needs no
// worker: through the runner when the server has the workflow, else
// through the inbox's store-level Cancel. A running thread is refused
// with ErrBusy (409 busy: stop it first), a completed or cancelled one
// with 409 thread_completed or thread_cancelled; a refusal changes
// nothing.
func (s *Server) cancel(ctx context.Context, thread, reason string, p Principal, channel string) error {
	row, err := s.threadRow(ctx, thread)
	if err != nil {
		return err
	}
	if rn, ok := s.ib.Runner(row.Workflow); ok {
		err = rn.Cancel(ctx, thread, reason, weft.By(p.Name, channel))
	} else {
		_, err = s.ib.Cancel(ctx, thread, reason, inbox.Author{Name: p.Name, Channel: channel})
	}
	if err != nil {
		return s.cancelError(ctx, thread, err)
	}
	s.log.InfoContext(ctx, "weft server: thread cancelled", "thread", thread, "workflow", row.Workflow,
		"reason", reason, "by", p.Name, "channel", channel)
	return nil
}

// cancelError tells apart, for a cancel refused because the thread has
// ended (weft.ErrNotRunning), a completed thread from a cancelled one.
func (s *Server) cancelError(ctx context.Context, thread string, err error) error {
	if !isNotRunning(err) {
		return err
	}
	row, rerr := s.ib.Store().Thread(ctx, thread)
	if rerr != nil {
		return err
	}
	switch row.Status {
	case weft.StatusCompleted:
		return &apiError{http.StatusConflict, CodeThreadCompleted,
			fmt.Sprintf("thread %q has completed: there is nothing to cancel", thread)}
	case weft.StatusCancelled:
		return &apiError{http.StatusConflict, CodeThreadCancelled,
			fmt.Sprintf("thread %q is cancelled already", thread)}
	}
	return err
}

// isNotRunning reports whether err is weft.ErrNotRunning and not
// ErrNotFound (which matches it too).
func isNotRunning(err error) bool {
	_, code, _ := classify(err)
	return code == CodeNotRunning
}
