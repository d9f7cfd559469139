package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/inbox"
)

// Error codes of the API, in the "code" field of an error response.
const (
	CodeBadRequest      = "bad_request"       // 400: malformed JSON, parameter or form
	CodeInvalidInput    = "invalid_input"     // 400: the input does not fit the workflow's state
	CodeInvalidAnswer   = "invalid_answer"    // 400: the answer does not fit the question's schema
	CodeUnauthorized    = "unauthorized"      // 401: no or unknown token
	CodeForbidden       = "forbidden"         // 403: the principal's roles do not allow the request
	CodeNotAssignee     = "not_assignee"      // 403: the question is assigned to others
	CodeCSRF            = "csrf"              // 403: a web form without a valid CSRF token
	CodeNotFound        = "not_found"         // 404: no such thread or route
	CodeUnknownWorkflow = "unknown_workflow"  // 404: no such workflow in the inbox
	CodeUnknownQuestion = "unknown_interrupt" // 404: the thread never asked that question
	CodeAlreadyAnswered = "already_answered"  // 409: the question was answered (or cancelled) before
	CodeBusy            = "busy"              // 409: the thread is running
	CodeConflict        = "conflict"          // 409: another run advanced the thread first
	CodeThreadPaused    = "thread_paused"     // 409: start of a thread that waits; answer or resume it
	CodeThreadCompleted = "thread_completed"  // 409: resume of a completed thread
	CodeThreadCancelled = "thread_cancelled"  // 409: resume of a cancelled thread
	CodeNotRunning      = "not_running"       // 409: stop of a thread that is stopped, failed or has ended
	CodeGraphChanged    = "graph_changed"     // 409: the thread waits in a node the workflow lost
	CodeWrongWorkflow   = "wrong_workflow"    // 409: the thread belongs to another workflow
	CodeCannotEdit      = "cannot_edit"       // 422: the server cannot edit the thread's state (no weft.StateEditor for its workflow)
	CodeTooLarge        = "too_large"         // 413: the body exceeds the limit (WithMaxBody)
	CodeInternal        = "internal"          // 500: anything else; the details are logged
)

// apiError is an error with the status and code it is reported with.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errBadRequest(msg string) error { return &apiError{http.StatusBadRequest, CodeBadRequest, msg} }

// classify returns the status and code err is reported with; ok is false
// for errors that are not the client's (500).
func classify(err error) (status int, code string, ok bool) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code, true
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, CodeTooLarge, true
	case errors.Is(err, weft.ErrInvalidAnswer):
		return http.StatusBadRequest, CodeInvalidAnswer, true
	case errors.Is(err, weft.ErrInvalidInput):
		return http.StatusBadRequest, CodeInvalidInput, true
	case errors.Is(err, inbox.ErrUnknownWorkflow):
		return http.StatusNotFound, CodeUnknownWorkflow, true
	case errors.Is(err, weft.ErrUnknownInterrupt):
		return http.StatusNotFound, CodeUnknownQuestion, true
	case errors.Is(err, weft.ErrNotFound):
		return http.StatusNotFound, CodeNotFound, true
	case errors.Is(err, weft.ErrAlreadyAnswered):
		return http.StatusConflict, CodeAlreadyAnswered, true
	case errors.Is(err, weft.ErrBusy):
		return http.StatusConflict, CodeBusy, true
	case errors.Is(err, weft.ErrConflict):
		return http.StatusConflict, CodeConflict, true
	case errors.Is(err, weft.ErrThreadPaused):
		return http.StatusConflict, CodeThreadPaused, true
	case errors.Is(err, weft.ErrThreadCompleted):
		return http.StatusConflict, CodeThreadCompleted, true
	case errors.Is(err, weft.ErrThreadCancelled):
		return http.StatusConflict, CodeThreadCancelled, true
	case errors.Is(err, weft.ErrNotRunning):
		return http.StatusConflict, CodeNotRunning, true
	case errors.Is(err, weft.ErrGraphChanged):
		return http.StatusConflict, CodeGraphChanged, true
	case errors.Is(err, weft.ErrWrongWorkflow):
		return http.StatusConflict, CodeWrongWorkflow, true
	}
	return http.StatusInternalServerError, CodeInternal, false
}

// report classifies err for its response. Errors that are not the
// client's are logged and reported without detail. ok is false when the
// client went away, and nothing is to be written.
func (s *Server) report(r *http.Request, err error) (status int, code, msg string, ok bool) {
	status, code, clients := classify(err)
	if clients {
		return status, code, err.Error(), true
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return 0, "", "", false
	}
	s.log.ErrorContext(r.Context(), "weft server: request failed",
		"method", r.Method, "path", r.URL.Path, "error", err)
	return status, code, "internal error", true
}

// writeError reports err as JSON (see report).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, ok := s.report(r, err)
	if !ok {
		return
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="weft"`)
	}
	writeJSON(w, status, errorJSON{Error: msg, Code: code})
}
