package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// The web pages of threads: GET /threads lists them (filtered by status
// and workflow, a page at a time), GET /threads/{id} shows one (status,
// owner and lease, its steps, its audit trail, its questions, its graph
// with where it stands) and, to an operator, forms to stop, resume or
// cancel it.

// threadStatuses are the statuses the threads page filters by.
var threadStatuses = []weft.Status{
	weft.StatusRunning, weft.StatusReady, weft.StatusInterrupted, weft.StatusStopped,
	weft.StatusFailed, weft.StatusCompleted, weft.StatusCancelled,
}

// threadPageURL is the web page of a thread.
func threadPageURL(thread string) string { return "/threads/" + url.PathEscape(thread) }

// timeText formats t for people, with its zone; "" for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("Mon 2 Jan 2006 15:04:05 MST")
}

// threadRowView is one thread in the threads list.
type threadRowView struct {
	ID, URL, Workflow, Status, Error string
	Updated, UpdatedAt, Created      string
}

// threadsView is the threads page.
type threadsView struct {
	Rows      []threadRowView
	Next      string
	Statuses  []string
	Workflows []string
	Filter    struct{ Status, Workflow string }
}

func (s *Server) threadsPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	params := r.URL.Query()
	q := checkpoint.ThreadQuery{Workflow: params.Get("workflow"), After: params.Get("after")}
	if st := params.Get("status"); st != "" {
		if !slices.Contains(threadStatuses, weft.Status(st)) {
			return errBadRequest(fmt.Sprintf("status=%q: want one of %s", st, strings.Join(statusNames(), ", ")))
		}
		q.Status = weft.Status(st)
	}
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	q.Limit = limit
	page, err := s.ib.Store().Threads(r.Context(), &q)
	if err != nil {
		return listError(err)
	}
	now := s.now()
	v := &threadsView{Statuses: statusNames(), Workflows: s.ib.Workflows()}
	v.Filter.Status, v.Filter.Workflow = string(q.Status), q.Workflow
	for _, t := range page.Threads {
		v.Rows = append(v.Rows, threadRowView{
			ID: t.ID, URL: threadPageURL(t.ID), Workflow: t.Workflow, Status: string(t.Status), Error: t.Error,
			Updated: humanDuration(now.Sub(t.UpdatedAt)) + " ago", UpdatedAt: timeText(t.UpdatedAt), Created: timeText(t.CreatedAt),
		})
	}
	if page.Next != "" {
		next := url.Values{}
		for k, vs := range params {
			next[k] = vs
		}
		next.Set("after", page.Next)
		v.Next = "/threads?" + next.Encode()
	}
	return s.render(w, http.StatusOK, "threads", "layout", s.page(r, p, "Threads", v))
}

func statusNames() []string {
	out := make([]string, len(threadStatuses))
	for i, st := range threadStatuses {
		out[i] = string(st)
	}
	return out
}

// stepView is one line of a thread's timeline.
type stepView struct {
	Superstep          int
	Node, Task, Status string
	Namespace          string
	Started, Duration  string
	Error              string
}

// entryView is one line of a thread's audit trail.
type entryView struct {
	URL, ID, Node, Reason, Kind, Status string
	Assignees                           []string
	Asked, Deadline                     string
	Answer                              string
	Author, Channel, AnsweredAt         string
	Pending                             bool
}

// graphNodeView is one node of the thread's graph, as a list.
type graphNodeView struct {
	Path, Name, Kind string
	Mark             string   // "next", "waiting", "failed" or ""
	To               []string // the nodes its edges lead to ("end" for End)
	Children         []graphNodeView
}

// threadView is the page of one thread.
type threadView struct {
	ID, Workflow, Status, Error string
	Owner, LeaseUntil           string
	StopRequested               string
	Created, Updated            string
	Checkpoint                  string
	Next                        []string
	Steps                       []stepView
	Audit                       []entryView
	Questions                   []rowView
	Mermaid                     string
	Graph                       []graphNodeView
	Marks                       weft.Marks
	State                       string
	// Operator actions: shown to principals who may operate, when the
	// thread's status allows them.
	CanOperate                    bool
	CanStop, CanResume, CanCancel bool
	// Remote: the server does not have the thread's workflow; its
	// workers (in other processes) carry out stops and resumes.
	Remote bool
	// StopNote says what happens to a running thread asked to stop.
	StopNote                      string
	StopURL, ResumeURL, CancelURL string
	Message, ActionError          string
	// The history and the state forms (webstate.go).
	editForms
}

func (s *Server) threadData(ctx context.Context, id string, p Principal) (*threadView, error) {
	row, err := s.ib.Store().Thread(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("thread %q: %w", id, err)
	}
	v := &threadView{
		ID: row.ID, Workflow: row.Workflow, Status: string(row.Status), Error: row.Error,
		Owner: row.Owner, LeaseUntil: timeText(row.LeaseUntil), StopRequested: timeText(row.StopRequested),
		Created: timeText(row.CreatedAt), Updated: timeText(row.UpdatedAt), Checkpoint: row.Head,
		CanOperate: p.can(permOperate),
		StopURL:    threadPageURL(id) + "/stop", ResumeURL: threadPageURL(id) + "/resume", CancelURL: threadPageURL(id) + "/cancel",
	}
	switch row.Status {
	case weft.StatusRunning, weft.StatusReady, weft.StatusInterrupted:
		v.CanStop = true
	}
	switch row.Status {
	case weft.StatusStopped, weft.StatusFailed, weft.StatusReady:
		v.CanResume = true
	}
	switch row.Status {
	case weft.StatusInterrupted, weft.StatusReady, weft.StatusStopped, weft.StatusFailed:
		v.CanCancel = true
	}
	rn, hasRunner := s.ib.Runner(row.Workflow)
	v.Remote = !hasRunner
	if row.Status == weft.StatusRunning && !row.StopRequested.IsZero() {
		v.StopNote = "the process that runs it stops it at its next checkpoint"
		if v.Remote {
			v.StopNote = "a worker will stop it at its next checkpoint"
		}
	}
	snap, err := s.ib.State(ctx, id)
	if err == nil {
		v.Next = snap.Next
		if snap.Owner != "" {
			v.Owner = snap.Owner
		}
		if !snap.LeaseUntil.IsZero() {
			v.LeaseUntil = timeText(snap.LeaseUntil)
		}
		v.Marks.Next = slices.Clone(snap.Next)
		for _, q := range snap.Interrupts {
			if !slices.Contains(v.Marks.Waiting, q.Node) {
				v.Marks.Waiting = append(v.Marks.Waiting, q.Node)
			}
		}
		for _, t := range snap.Tasks {
			switch t.Status {
			case weft.TaskWaiting:
				if !slices.Contains(v.Marks.Waiting, t.Node) {
					v.Marks.Waiting = append(v.Marks.Waiting, t.Node)
				}
			case weft.TaskFailed:
				v.Marks.Failed = append(v.Marks.Failed, t.Node)
			}
		}
		// A node marked waiting or failed is not also "next".
		v.Marks.Next = slices.DeleteFunc(v.Marks.Next, func(n string) bool {
			return slices.Contains(v.Marks.Waiting, n) || slices.Contains(v.Marks.Failed, n)
		})
		v.State = jsonText(snap.Values)
		now := s.now()
		for _, q := range snap.Interrupts {
			it, qerr := s.ib.Question(ctx, id, q.ID)
			if qerr != nil {
				continue
			}
			v.Questions = append(v.Questions, s.rowOf(it, p, now))
		}
	} else if !errors.Is(err, weft.ErrNotFound) {
		return nil, err
	}
	var steps []weft.Step
	if hasRunner {
		steps, err = rn.Steps(ctx, id)
	} else {
		steps, err = s.ib.Store().Steps(ctx, id, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("steps of thread %q: %w", id, err)
	}
	for _, st := range steps {
		sv := stepView{Superstep: st.Superstep, Node: st.Node, Task: st.Task, Status: string(st.Status),
			Namespace: st.Namespace, Started: timeText(st.StartedAt), Duration: st.Duration.Round(time.Microsecond).String(), Error: st.Error}
		v.Steps = append(v.Steps, sv)
		// A failed thread failed in the steps from its head.
		if row.Status == weft.StatusFailed && st.Status == checkpoint.StepFailed && st.CheckpointID == row.Head &&
			st.Namespace == "" && !slices.Contains(v.Marks.Failed, st.Node) {
			v.Marks.Failed = append(v.Marks.Failed, st.Node)
		}
	}
	v.Marks.Next = slices.DeleteFunc(v.Marks.Next, func(n string) bool { return slices.Contains(v.Marks.Failed, n) })
	entries, err := s.ib.Audit(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		ev := entryView{URL: questionURL(id, e.InterruptID), ID: e.InterruptID, Node: e.Node, Reason: e.Reason, Kind: e.Kind,
			Status: string(e.Status), Assignees: e.Assignees, Asked: timeText(e.Asked), Deadline: timeText(e.Deadline),
			Author: e.Author, Channel: e.Channel, AnsweredAt: timeText(e.AnsweredAt),
			Pending: e.Status == checkpoint.InterruptPending}
		if len(e.Answer) > 0 {
			ev.Answer = valueText(e.Answer)
		}
		v.Audit = append(v.Audit, ev)
	}
	if err := s.editData(ctx, v, row, p, steps); err != nil {
		return nil, err
	}
	if hasRunner {
		shape := rn.Shape()
		v.Mermaid = shape.Mermaid(v.Marks)
		v.Graph = graphNodes(shape, "", v.Marks)
	}
	return v, nil
}

// graphNodes lists the nodes of shape, with the marked ones marked.
func graphNodes(shape weft.Shape, prefix string, m weft.Marks) []graphNodeView {
	var out []graphNodeView
	for _, n := range shape.Nodes {
		if n.Name == weft.Start || n.Name == weft.End {
			continue
		}
		path := prefix + n.Name
		g := graphNodeView{Path: path, Name: n.Name, Kind: n.Kind}
		switch {
		case slices.Contains(m.Failed, path):
			g.Mark = "failed"
		case slices.Contains(m.Waiting, path):
			g.Mark = "waiting"
		case slices.Contains(m.Next, path):
			g.Mark = "next"
		}
		for _, e := range shape.Edges {
			if e.From != n.Name {
				continue
			}
			to := e.To
			if to == weft.End {
				to = "end"
			}
			if e.Conditional {
				to += "?"
			}
			g.To = append(g.To, to)
		}
		if n.Subgraph != nil {
			g.Children = graphNodes(*n.Subgraph, path+"/", m)
		}
		out = append(out, g)
	}
	return out
}

func (s *Server) threadPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	return s.showThread(w, r, p, http.StatusOK, "", "")
}

// showThread renders the thread page, with a message (what an action did)
// or an error (why it was refused).
func (s *Server) showThread(w http.ResponseWriter, r *http.Request, p Principal, status int, msg, errMsg string) error {
	v, err := s.threadData(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	if msg == "" {
		msg = actionMessage(r.URL.Query().Get("done"), v)
	}
	if r.Method == http.MethodPost {
		v.keepForm(r)
	}
	v.Message, v.ActionError = msg, errMsg
	return s.render(w, status, "thread", "layout", s.page(r, p, "Thread "+v.ID, v))
}

// threadAction runs an operator's action from the thread page and shows
// the page again: after a redirect, with a message of what was done (do
// returns its key, see actionMessage), when it was done; with the reason
// and the status it is reported with through the API when it was refused.
func (s *Server) threadAction(do func(r *http.Request, thread string, p Principal) (done string, err error)) func(http.ResponseWriter, *http.Request, Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p Principal) error {
		thread := r.PathValue("id")
		if _, err := s.threadRow(r.Context(), thread); err != nil {
			return err
		}
		done, err := do(r, thread, p)
		if err != nil {
			status, _, ok := classify(err)
			if !ok {
				if _, failed := s.failedRun(r, thread); !failed {
					return err
				}
				status = http.StatusOK // a resume that ran and failed in a node: the page shows it
			}
			return s.showThread(w, r, p, status, "", err.Error())
		}
		http.Redirect(w, r, threadPageURL(thread)+"?done="+done, http.StatusSeeOther)
		return nil
	}
}

// The keys of what an action did, in the thread page's ?done=.
const (
	doneStopping   = "stopping"       // a running thread stops at its next checkpoint
	doneStopped    = "stopped"        // a ready thread is stopped
	doneStopCancel = "stop-cancelled" // a thread that waited for answers is cancelled
	doneResumed    = "resume"         // resumed here
	doneReady      = "ready"          // made ready, for a worker
	doneCancelled  = "cancel"         // cancelled
)

// actionMessage says in words what the action done did to the thread v;
// "" for an unknown key.
func actionMessage(done string, v *threadView) string {
	switch done {
	case doneStopping:
		if v.Remote {
			return "Stop requested: a worker will stop it at its next checkpoint."
		}
		return "Stop requested: the process that runs it stops it at its next checkpoint."
	case doneStopped:
		return "Stopped: no run had it yet. Resume carries it on."
	case doneStopCancel:
		return "The thread waited for answers, so stopping it cancelled it: its questions are withdrawn."
	case doneResumed:
		return "Resumed."
	case doneReady:
		return fmt.Sprintf("Resume requested: the thread is ready, and a worker that has workflow %q will carry it on from its last checkpoint.", v.Workflow)
	case doneCancelled:
		return "Cancelled."
	}
	return editMessage(done, v)
}

func (s *Server) webStop(r *http.Request, thread string, p Principal) (string, error) {
	outcome, err := s.stop(r.Context(), thread, p, checkpoint.ChannelUI)
	switch outcome {
	case stopStopping:
		return doneStopping, err
	case stopCancelled:
		return doneStopCancel, err
	}
	return doneStopped, err
}

func (s *Server) webResume(r *http.Request, thread string, p Principal) (string, error) {
	res, queued, err := s.resume(r, thread, p, checkpoint.ChannelUI)
	switch {
	case queued && res.Status == weft.StatusReady:
		return doneReady, nil
	case queued:
		return "", &apiError{http.StatusConflict, CodeThreadPaused, "The thread waits for answers: answer its questions to carry it on."}
	case answeredBusy(err):
		return doneResumed, nil
	case errors.Is(err, weft.ErrThreadCancelled):
		return "", &apiError{http.StatusConflict, CodeConflict, "The thread is cancelled: it cannot be resumed. (" + err.Error() + ")"}
	}
	return doneResumed, err
}

func (s *Server) webCancel(r *http.Request, thread string, p Principal) (string, error) {
	reason, err := checkReason(r.PostForm.Get("reason"))
	if err != nil {
		return "", err
	}
	return doneCancelled, s.cancel(r.Context(), thread, reason, p, checkpoint.ChannelUI)
}
