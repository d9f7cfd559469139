package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// routeTable lists every route of the server. The openapi.json document
// describes the /v1 routes; a test keeps the two in step.
func (s *Server) routeTable() []route {
	return []route{
		// JSON API.
		{pattern: "GET /v1/openapi.json", perm: permRead, h: s.openAPI},
		{pattern: "GET /v1/workflows", perm: permRead, h: s.listWorkflows},
		{pattern: "POST /v1/workflows/{name}/threads", perm: permOperate, h: s.startThread},
		{pattern: "GET /v1/threads/{id}", perm: permRead, h: s.getThread},
		{pattern: "GET /v1/threads/{id}/history", perm: permRead, h: s.getHistory},
		{pattern: "GET /v1/threads/{id}/steps", perm: permRead, h: s.getSteps},
		{pattern: "GET /v1/threads/{id}/audit", perm: permRead, h: s.getAudit},
		{pattern: "GET /v1/threads/{id}/interrupts/{interrupt}", perm: permRead, h: s.getInterrupt},
		{pattern: "POST /v1/threads/{id}/answers", perm: permAnswer, h: s.postAnswers},
		{pattern: "POST /v1/threads/{id}/resume", perm: permOperate, h: s.resumeThread},
		{pattern: "POST /v1/threads/{id}/stop", perm: permOperate, h: s.stopThread},
		{pattern: "POST /v1/threads/{id}/cancel", perm: permOperate, h: s.cancelThread},
		{pattern: "GET /v1/threads/{id}/events", perm: permRead, h: s.threadEvents},
		{pattern: "GET /v1/events", perm: permRead, h: s.allEvents},
		{pattern: "GET /v1/inbox", perm: permRead, h: s.listInbox},
		{pattern: "/v1/", perm: permPublic, h: s.apiNotFound},

		// Web inbox.
		{pattern: "GET /{$}", perm: permPublic, web: true, h: s.home},
		{pattern: "GET /login", perm: permPublic, web: true, h: s.loginPage},
		{pattern: "POST /login", perm: permPublic, web: true, h: s.login},
		{pattern: "POST /logout", perm: permPublic, web: true, h: s.logout}, // checks the session's CSRF token itself
		{pattern: "GET /inbox", perm: permRead, web: true, page: true, h: s.inboxPage},
		{pattern: "GET /inbox/rows", perm: permRead, web: true, h: s.inboxRows},
		{pattern: "GET /inbox/events", perm: permRead, web: true, h: s.allEvents}, // session auth: an EventSource cannot send a bearer token
		{pattern: "GET /inbox/{thread}/{interrupt}", perm: permRead, web: true, page: true, h: s.questionPage},
		{pattern: "POST /inbox/{thread}/{interrupt}", perm: permRead, web: true, h: s.answerForm},
		{pattern: "GET /threads", perm: permRead, web: true, page: true, h: s.threadsPage},
		{pattern: "GET /threads/{id}", perm: permRead, web: true, page: true, h: s.threadPage},
		{pattern: "POST /threads/{id}/stop", perm: permOperate, web: true, h: s.threadAction(s.webStop)},
		{pattern: "POST /threads/{id}/resume", perm: permOperate, web: true, h: s.threadAction(s.webResume)},
		{pattern: "POST /threads/{id}/cancel", perm: permOperate, web: true, h: s.threadAction(s.webCancel)},
		{pattern: "POST /threads/{id}/state", perm: permOperate, web: true, h: s.threadAction(s.webEditState)},
		{pattern: "POST /threads/{id}/fork", perm: permOperate, web: true, h: s.threadAction(s.webFork)},
		{pattern: "GET /assets/", perm: permPublic, web: true, h: s.assets},
		{pattern: "/", perm: permPublic, web: true, h: s.webNotFound},
	}
}

func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request, _ Principal) error {
	return &apiError{http.StatusNotFound, CodeNotFound, "no such route: " + r.Method + " " + r.URL.Path}
}

// runContext is the context of the runs a request makes. A synchronous
// run is waited for by its request, but its thread is durable: a client
// that goes away, or a server that closes its connections at shutdown,
// hands the run back at its last checkpoint (weft.ErrHandedBack: the
// thread is left ready, answers recorded before stand), for a worker or a
// later resume to carry on. done releases the context.
func runContext(r *http.Request) (ctx context.Context, done func()) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	stop := context.AfterFunc(r.Context(), func() { cancel(weft.ErrHandedBack) })
	return ctx, func() { stop(); cancel(nil) }
}

// wantWait reads whether the client waits for the run: the body's "wait"
// field when set, else the query parameter wait, else true.
func wantWait(r *http.Request, body *bool) (bool, error) {
	if body != nil {
		return *body, nil
	}
	v := r.URL.Query().Get("wait")
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errBadRequest(fmt.Sprintf("wait=%q: want true or false", v))
	}
	return b, nil
}

func (s *Server) runOptions(p Principal, channel string) []weft.RunOption {
	return []weft.RunOption{weft.By(p.Name, channel), weft.WithObserver(s.feed)}
}

// threadRunner returns the runner of the thread's workflow.
func (s *Server) threadRunner(ctx context.Context, thread string) (weft.Runner, error) {
	row, err := s.ib.Store().Thread(ctx, thread)
	if err != nil {
		return nil, fmt.Errorf("thread %q: %w", thread, err)
	}
	r, ok := s.ib.Runner(row.Workflow)
	if !ok {
		return nil, fmt.Errorf("thread %q belongs to workflow %q, which this server does not run: %w",
			thread, row.Workflow, inbox.ErrUnknownWorkflow)
	}
	return r, nil
}

// writeRun reports the outcome of a run. A run that failed in a node is
// reported as a result with status "failed" and the error: the request
// itself (an answer, say) was carried out.
//
// A result with status ready (a submitted run, answers only recorded) and
// answers recorded to a thread that runs elsewhere (a *weft.AnsweredError
// wrapping weft.ErrBusy: the run that has the thread carries on with them)
// are reported with 202 and the thread's status: the request was carried
// out, and the thread goes on without this request.
func (s *Server) writeRun(w http.ResponseWriter, r *http.Request, thread string, res *weft.Result[any], err error) error {
	if err == nil {
		if res.Status == weft.StatusReady {
			return s.writeAccepted(w, r, thread, res.Status)
		}
		writeJSON(w, http.StatusOK, resultOf(res))
		return nil
	}
	if answeredBusy(err) {
		return s.writeAccepted(w, r, thread, weft.StatusRunning)
	}
	if _, _, ok := classify(err); ok {
		return err
	}
	row, failed := s.failedRun(r, thread)
	if !failed {
		return err
	}
	ctx := r.Context()
	out := resultJSON{Thread: thread, Status: weft.StatusFailed, Interrupts: []questionJSON{}, Checkpoint: row.Head, Error: err.Error()}
	if snap, serr := s.ib.State(ctx, thread); serr == nil {
		out.State, out.Interrupts = snap.Values, questionsOf(snap.Interrupts)
	}
	s.log.InfoContext(ctx, "weft server: run failed", "thread", thread, "error", err)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// answeredBusy reports whether err says that answers were recorded to a
// thread that runs elsewhere, which carries on with them: for the caller,
// a success.
func answeredBusy(err error) bool {
	var ae *weft.AnsweredError
	return errors.As(err, &ae) && errors.Is(ae.Err, weft.ErrBusy)
}

// writeAccepted answers 202 with the thread's current status (status when
// it cannot be read) and a Location of the thread: the request was
// carried out, and the thread goes on elsewhere (a worker, another
// process, another request).
func (s *Server) writeAccepted(w http.ResponseWriter, r *http.Request, thread string, status weft.Status) error {
	return s.writeThread(w, r, thread, status, http.StatusAccepted)
}

// writeThread answers code with the thread's current state, status
// (status when it cannot be read), questions and checkpoint, as a result,
// and a Location of the thread.
func (s *Server) writeThread(w http.ResponseWriter, r *http.Request, thread string, status weft.Status, code int) error {
	out := resultJSON{Thread: thread, Status: status, Interrupts: []questionJSON{}}
	if snap, err := s.ib.State(r.Context(), thread); err == nil {
		out.Status, out.State, out.Interrupts, out.Checkpoint = snap.Status, snap.Values, questionsOf(snap.Interrupts), snap.Checkpoint
	}
	w.Header().Set("Location", threadURL(thread))
	writeJSON(w, code, out)
	return nil
}

// threadURL is the API's URL of a thread.
func threadURL(thread string) string { return "/v1/threads/" + url.PathEscape(thread) }

// failedRun reports whether the thread failed, with its row: whether an
// error that classify does not know came from running the thread after
// the request was carried out.
func (s *Server) failedRun(r *http.Request, thread string) (*checkpoint.Thread, bool) {
	row, err := s.ib.Store().Thread(r.Context(), thread)
	if err != nil || row.Status != weft.StatusFailed {
		return nil, false
	}
	return row, true
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request, _ Principal) error {
	out := []workflowJSON{}
	for _, name := range s.ib.Workflows() {
		if rn, ok := s.ib.Runner(name); ok {
			out = append(out, workflowJSON{Name: name, InputSchema: rawOrNull(rn.InputSchema())})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// maxThreadID caps the length of thread IDs the API accepts.
const maxThreadID = 256

// checkThreadID checks the ID of a thread to create: at most maxThreadID
// bytes of UTF-8, no control characters, no "/" (IDs are path segments of
// the API's and the web inbox's URLs, and of files that tools may name
// after them), and not "." or "..", which URLs and paths resolve away.
func checkThreadID(id string) error {
	switch {
	case len(id) > maxThreadID:
		return errBadRequest(fmt.Sprintf("thread ID longer than %d bytes", maxThreadID))
	case id == "." || id == "..":
		return errBadRequest(fmt.Sprintf("thread ID %q is not allowed: it names a directory in URLs and paths", id))
	case !utf8.ValidString(id):
		return errBadRequest("thread ID is not valid UTF-8")
	case strings.ContainsFunc(id, unicode.IsControl):
		return errBadRequest("thread ID contains control characters")
	case strings.Contains(id, "/"):
		return errBadRequest(fmt.Sprintf("thread ID %q contains \"/\"; use another separator", id))
	}
	return nil
}

func newThreadID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "t-" + hex.EncodeToString(b)
}

func (s *Server) startThread(w http.ResponseWriter, r *http.Request, p Principal) error {
	name := r.PathValue("name")
	rn, ok := s.ib.Runner(name)
	if !ok {
		return &apiError{http.StatusNotFound, CodeUnknownWorkflow, fmt.Sprintf("no workflow %q", name)}
	}
	var req startRequest
	if err := s.readJSON(w, r, &req, true); err != nil {
		return err
	}
	if req.Thread == "" {
		req.Thread = newThreadID()
	}
	if err := checkThreadID(req.Thread); err != nil {
		return err
	}
	wait, err := wantWait(r, req.Wait)
	if err != nil {
		return err
	}
	if !wait {
		if err := rn.Submit(r.Context(), req.Thread, req.Input); err != nil {
			return err
		}
		s.log.InfoContext(r.Context(), "weft server: thread submitted", "thread", req.Thread, "workflow", name, "by", p.Name)
		return s.writeAccepted(w, r, req.Thread, weft.StatusReady)
	}
	ctx, done := runContext(r)
	defer done()
	res, err := rn.Run(ctx, req.Thread, req.Input, s.runOptions(p, checkpoint.ChannelAPI)...)
	return s.writeRun(w, r, req.Thread, res, err)
}

func (s *Server) getThread(w http.ResponseWriter, r *http.Request, _ Principal) error {
	thread := r.PathValue("id")
	var snap *weft.Snapshot[any]
	var err error
	if cp := r.URL.Query().Get("checkpoint"); cp != "" {
		var rn weft.Runner
		if rn, err = s.threadRunner(r.Context(), thread); err != nil {
			return err
		}
		snap, err = rn.StateAt(r.Context(), thread, cp)
	} else {
		snap, err = s.ib.State(r.Context(), thread)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, snapshotOf(snap))
	return nil
}

// queryInt reads an integer query parameter in [lo, hi]; def when absent.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errBadRequest(fmt.Sprintf("%s=%q: want an integer from %d to %d", name, v, lo, hi))
	}
	return n, nil
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request, _ Principal) error {
	thread := r.PathValue("id")
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	rn, err := s.threadRunner(r.Context(), thread)
	if err != nil {
		return err
	}
	out := []*snapshotJSON{}
	for snap, err := range rn.History(r.Context(), thread) {
		if err != nil {
			return err
		}
		out = append(out, snapshotOf(snap))
		if len(out) == limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getSteps(w http.ResponseWriter, r *http.Request, _ Principal) error {
	thread := r.PathValue("id")
	steps, err := s.ib.Store().Steps(r.Context(), thread, 0)
	if err == nil && len(steps) == 0 {
		_, err = s.ib.Store().Thread(r.Context(), thread) // no steps, or no thread?
	}
	if err != nil {
		return fmt.Errorf("steps of thread %q: %w", thread, err)
	}
	out := make([]stepJSON, len(steps))
	for i, st := range steps {
		out[i] = stepOf(st)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, _ Principal) error {
	entries, err := s.ib.Audit(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]entryJSON, len(entries))
	for i, e := range entries {
		out[i] = entryOf(e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getInterrupt(w http.ResponseWriter, r *http.Request, _ Principal) error {
	d, err := s.ib.Get(r.Context(), r.PathValue("id"), r.PathValue("interrupt"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, detailJSON{itemJSON: itemOf(&d.Item), State: snapshotOf(d.State)})
	return nil
}

// checkAnswerable finds the question and checks that p may answer it.
func (s *Server) checkAnswerable(ctx context.Context, thread, id string, p Principal) (*inbox.Item, error) {
	d, err := s.ib.Question(ctx, thread, id)
	if err != nil {
		if errors.Is(err, weft.ErrNotFound) {
			if _, terr := s.ib.Store().Thread(ctx, thread); terr == nil {
				return nil, fmt.Errorf("thread %q never asked %q: %w", thread, id, weft.ErrUnknownInterrupt)
			}
		}
		return nil, err
	}
	if !p.mayAnswer(d.Assignees) {
		return nil, errNotAssignee(p, d.Assignees)
	}
	if d.Status != checkpoint.InterruptPending {
		by := ""
		if d.Author != "" {
			by = " by " + d.Author
		}
		return nil, fmt.Errorf("question %s is %s%s: %w", id, d.Status, by, weft.ErrAlreadyAnswered)
	}
	return d, nil
}

func (s *Server) postAnswers(w http.ResponseWriter, r *http.Request, p Principal) error {
	thread := r.PathValue("id")
	var req answersRequest
	if err := s.readJSON(w, r, &req, false); err != nil {
		return err
	}
	if len(req.Answers) == 0 {
		return errBadRequest(`no answers: want {"answers": {"<interrupt id>": <value>}}`)
	}
	wait, err := wantWait(r, req.Wait)
	if err != nil {
		return err
	}
	for id := range req.Answers {
		if _, err := s.checkAnswerable(r.Context(), thread, id, p); err != nil {
			return err
		}
	}
	ctx, done := runContext(r)
	defer done()
	res, err := s.answerer(wait).AnswerMany(ctx, thread, req.Answers, inbox.Author{Name: p.Name, Channel: checkpoint.ChannelAPI})
	err = s.answerError(r.Context(), thread, slices.Collect(maps.Keys(req.Answers)), p, err)
	return s.writeRun(w, r, thread, res, err)
}

// answerer is the inbox that answers: the server's, which runs the thread
// on, unless the server queues (WithQueue) or the client does not wait;
// then one that only records the answers and makes the thread ready.
func (s *Server) answerer(wait bool) *inbox.Inbox {
	if s.queue || !wait {
		return s.recorder
	}
	return s.ib
}

// answerError turns a refusal of answers because the thread was busy,
// with nothing recorded, into ErrAlreadyAnswered when one of the
// questions was decided meanwhile: of many concurrent answers, the ones
// that lose learn that they lost, not that they should try again. Other
// errors are returned as they are.
func (s *Server) answerError(ctx context.Context, thread string, ids []string, p Principal, err error) error {
	if err == nil || !errors.Is(err, weft.ErrBusy) || answeredBusy(err) {
		return err
	}
	for _, id := range ids {
		if _, cerr := s.checkAnswerable(ctx, thread, id, p); errors.Is(cerr, weft.ErrAlreadyAnswered) {
			return cerr
		}
	}
	return err
}

func (s *Server) resumeThread(w http.ResponseWriter, r *http.Request, p Principal) error {
	thread := r.PathValue("id")
	var req struct{}
	if err := s.readJSON(w, r, &req, true); err != nil {
		return err
	}
	res, queued, err := s.resume(r, thread, p, checkpoint.ChannelAPI)
	if queued {
		if res.Status == weft.StatusReady {
			return s.writeAccepted(w, r, thread, res.Status)
		}
		return s.writeThread(w, r, thread, res.Status, http.StatusOK)
	}
	if res == nil && err != nil {
		if _, _, ok := classify(err); ok {
			return err
		}
	}
	return s.writeRun(w, r, thread, res, err)
}

func (s *Server) stopThread(w http.ResponseWriter, r *http.Request, p Principal) error {
	thread := r.PathValue("id")
	var req struct{}
	if err := s.readJSON(w, r, &req, true); err != nil {
		return err
	}
	outcome, err := s.stop(r.Context(), thread, p, checkpoint.ChannelAPI)
	if err != nil {
		return err
	}
	w.Header().Set("Location", threadURL(thread))
	writeJSON(w, http.StatusAccepted, stopResponse{Thread: thread, Status: outcome})
	return nil
}

func (s *Server) cancelThread(w http.ResponseWriter, r *http.Request, p Principal) error {
	thread := r.PathValue("id")
	var req cancelRequest
	if err := s.readJSON(w, r, &req, false); err != nil {
		return err
	}
	reason, err := checkReason(req.Reason)
	if err != nil {
		return err
	}
	if err := s.cancel(r.Context(), thread, reason, p, checkpoint.ChannelAPI); err != nil {
		return err
	}
	return s.writeThread(w, r, thread, weft.StatusCancelled, http.StatusOK)
}

// inboxQuery reads the query parameters of an inbox listing.
func inboxQuery(r *http.Request) (inbox.Query, error) {
	v := r.URL.Query()
	q := inbox.Query{
		Workflow: v.Get("workflow"), Node: v.Get("node"), Thread: v.Get("thread"),
		After: v.Get("after"),
	}
	for _, a := range v["assignee"] {
		if a != "" {
			q.Assignees = append(q.Assignees, a)
		}
	}
	if ot := v.Get("older_than"); ot != "" {
		d, err := time.ParseDuration(ot)
		if err != nil || d < 0 {
			return q, errBadRequest(fmt.Sprintf("older_than=%q: want a duration such as 90s, 30m or 24h", ot))
		}
		q.OlderThan = d
	}
	limit, err := queryInt(r, "limit", inbox.DefaultLimit, 1, inbox.MaxLimit)
	if err != nil {
		return q, err
	}
	q.Limit = limit
	return q, nil
}

func (s *Server) listInbox(w http.ResponseWriter, r *http.Request, _ Principal) error {
	q, err := inboxQuery(r)
	if err != nil {
		return err
	}
	page, err := s.ib.List(r.Context(), q)
	if err != nil {
		return listError(err)
	}
	out := pageJSON{Items: make([]itemJSON, len(page.Items)), Next: page.Next}
	for i := range page.Items {
		out.Items[i] = itemOf(&page.Items[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listError reports a malformed cursor as the client's error.
func listError(err error) error {
	if errors.Is(err, checkpoint.ErrBadCursor) {
		return errBadRequest("invalid after cursor: " + err.Error())
	}
	return err
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ Principal) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
	return nil
}
