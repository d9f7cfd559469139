// Package inbox is the human side of weft without HTTP: the questions that
// paused threads wait for, across every thread of a store, answered by
// people (or by deadlines) with an audit trail. The server package puts it
// on the web and the weft command on the command line; a program may use it
// directly.
//
//	ib := inbox.New(store, []weft.Runner{review.Runner(), refund.Runner()})
//	page, err := ib.List(ctx, inbox.Query{Assignees: []string{"editors"}})
//	...
//	res, err := ib.Answer(ctx, it.Thread, it.ID, json.RawMessage(`{"action":"approve"}`),
//		inbox.Author{Name: "ann", Channel: checkpoint.ChannelUI})
//
// # Listing
//
// List reads the store's interrupt index (checkpoint.Store.Interrupts): the
// pending questions of every thread, oldest first, filtered by workflow,
// node, thread, assignee and age, a page at a time with the store's cursor.
// It never loads a thread, so it costs the same with ten paused threads or
// a million on an indexed SQL store, and it shows the questions of every
// workflow in the store, registered or not. Get shows one question, in any
// status, with its thread's current state; Audit lists every question a
// thread asked, with who answered, through which channel and when.
//
// # Answering
//
// Answer hands the answer to the runner of the thread's workflow
// (weft.Runner.Resume with weft.Answer and weft.By), so an answer through
// the inbox is exactly an answer through the API: validated against the
// question's stored JSON schema (ErrInvalidAnswer, and nothing is recorded),
// recorded once with a compare-and-set on the question's status
// (ErrAlreadyAnswered for the second of two reviewers), and the thread
// carries on in the caller's goroutine until it completes or pauses again.
// The runners are registered by workflow name (New, Register); a thread
// whose workflow has no runner here is ErrUnknownWorkflow. An answer to a
// thread that is running at that instant (elsewhere, or in this process)
// is recorded all the same, and the running owner carries on with it: the
// error is then a *weft.AnsweredError wrapping ErrBusy, and nothing needs
// to be tried again. AnswerMany records the answers to several questions of one
// thread all or none, and runs the thread once.
//
// Record is the answer for a tool that has the store but not the program:
// it validates and records the answer in the store without running
// anything, and the thread carries on when its own program next resumes
// it (weft's Resume continues a thread whose questions were answered
// behind its back, as after a crash).
//
// # Stopping, cancelling and resuming
//
// Stop, Cancel and Resume control a thread of any workflow, registered or
// not, from the store alone, the way Record answers without the program;
// what they leave is what weft.Workflow's Stop, Cancel and Resume leave, so
// a thread is the same whichever way it was stopped:
//
//   - Stop asks a running thread to stop (Store.RequestStop): the process
//     that runs it, here or in any other process, stops it at its next
//     heartbeat, at its last checkpoint; until then the thread is running
//     with StopRequested set. A ready thread (answered or submitted, not
//     picked up yet) becomes stopped at once. A thread that waits for
//     answers is cancelled, as Cancel does, with "stopped" as the note.
//     Stop of a thread that is stopped, failed or has ended is
//     ErrNotRunning.
//   - Cancel ends a thread that waits (paused, ready, stopped or failed):
//     its pending questions are withdrawn with who did it, through which
//     channel and why (Audit shows it), and its status becomes cancelled.
//     A running thread is ErrBusy (stop it first), an ended one
//     ErrNotRunning.
//   - Resume carries a stopped or failed thread on: inline, with the
//     runner's Resume, when the inbox has the workflow and runs threads
//     inline; otherwise (WithQueue, or a workflow the inbox does not have)
//     it makes the thread ready, for any worker that has the workflow
//     (package worker) or the program's next Resume.
//
// Each is a compare-and-set on the thread's version, retried a few times
// when an answer, a claim or an edit comes first (ErrConflict if the thread
// keeps changing); a refusal changes nothing.
//
// # Deadlines
//
// Questions asked with weft.Within (a fallback answer) or weft.Escalate
// (people to reassign to) carry a deadline in the store. FireDue makes one
// pass over the pending questions that are due (Store.Interrupts with
// DueBefore now): a question with EscalateTo is reassigned to them and its
// deadline cleared; otherwise one with a fallback is answered with it, by
// DeadlineAuthor through checkpoint.ChannelDeadline, through Resume like any
// answer, so the thread continues; a question with neither is left alone.
// RunDeadlines runs FireDue on a ticker.
//
// Nothing about deadlines is kept in memory: a process that restarts, or
// another process on the same store, finds the due questions in the store.
// Any number of processes may run deadlines on one store at once; the
// answer's compare-and-set makes one of them win, and the others see
// ErrAlreadyAnswered (or a busy or completed thread) and move on without
// an error. Escalation re-reads the question before it reassigns it, so
// it is reassigned once as a rule; two schedulers that do race on it
// reassign it to the same people.
//
// Fallbacks need the thread's workflow (the thread must run); a fallback
// for a workflow the inbox does not have is left for an inbox that has it
// (and logged once). Escalation needs only the store. Time comes from
// WithClock (time.Now by default); give the workflows the same clock
// (weft.WithClock), since they stamp the questions' creation times and
// deadlines.
//
// # Decisions
//
//   - Errors are weft's sentinels, re-exported under the same values
//     (ErrNotFound is checkpoint.ErrNotFound), plus ErrUnknownWorkflow.
//   - Stop of a thread that does not exist is ErrNotFound and matches
//     ErrNotRunning too, as weft.Workflow.Stop's error does.
//   - Query.Assignees keeps questions assigned to one of the names given;
//     questions assigned to nobody (anyone may answer) are listed without
//     that filter. Item.MayAnswer is the check for "may this principal,
//     with these roles, answer".
//   - The default page is DefaultLimit (50) questions, and no page is
//     larger than MaxLimit (500). Cursors are the store's; one the store
//     refuses is ErrInvalidCursor (checkpoint.ErrBadCursor: a client's
//     mistake, not a failure).
//   - An answer whose thread fails after the answer was recorded returns
//     the node's error: the answer stands, and Audit shows it.
//   - Get and State of a thread whose workflow is not registered read the
//     store alone: Values is then the state's fields as JSON
//     (map[string]json.RawMessage) when they are stored as JSON.
package inbox
