// Package demo holds the example workflows that `weft demo` serves: small,
// deterministic stand-ins for real work (no network, no model), each
// showing one way a workflow pauses for a human.
//
//   - demo-approval: a post is drafted and an editor approves, edits or
//     rejects it (Decision, an enum answer); approved or edited posts are
//     published once (weft.Do).
//   - demo-refine: a writer drafts, a reviewer asks for edits, and the loop
//     goes on until the reviewer approves (or rejects).
//   - demo-refund: support approves refunds; a small one is approved by
//     itself after 15 minutes without an answer (weft.Within), a large one
//     goes to the finance leads after an hour (weft.Escalate).
//   - demo-agent: an agent plans tool calls and each call, a branch of a
//     fan-out (weft.Map), waits for the approval of the role that owns the
//     tool; approved calls run once.
//   - demo-long: a node that works for the number of seconds its input
//     gives (LongJob.Seconds), in small steps that honour its context,
//     between two journaled side effects (weft.Do): a thread to stop,
//     resume, hand back and take over by hand. Seed does not start it.
//
// Workflow names start with "demo-" so that they never take over the
// threads of a user's workflows in a store the weft command opens.
package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// The names of the demo workflows.
const (
	Approval = "demo-approval"
	Refine   = "demo-refine"
	Refund   = "demo-refund"
	Agent    = "demo-agent"
	Long     = "demo-long"
)

// Roles are the roles the demo's questions are assigned to.
var Roles = []string{"editors", "writers", "support", "finance-leads", "analysts", "dba", "ops"}

// Deadlines of the refund workflow.
const (
	// RefundWithin is how long a small refund waits before it is approved
	// by itself.
	RefundWithin = 15 * time.Minute
	// RefundEscalateAfter is how long a large refund waits for support
	// before it goes to the finance leads.
	RefundEscalateAfter = time.Hour
	// SmallRefund is the amount under which a refund is small.
	SmallRefund = 100.0
)

// Decision is an editor's answer: approve, edit (with the new text or the
// feedback in Text) or reject (with the reason in Text).
type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject,description=what to do with the draft"`
	Text   string `json:"text,omitempty" jsonschema:"description=the new text (edit) or the reason (reject)"`
}

// Post is the state of demo-approval.
type Post struct {
	Title  string
	Body   string
	Status string
	Note   string
	URL    string
}

// Essay is the state of demo-refine.
type Essay struct {
	Topic    string
	Draft    string
	Version  int
	Feedback []string
	Status   string
}

// RefundRequest is the state of demo-refund.
type RefundRequest struct {
	Customer  string
	Amount    float64
	Reason    string
	Approved  bool
	Note      string
	DecidedBy string
	Paid      string
}

// RefundDecision is support's answer to a refund request.
type RefundDecision struct {
	Approve bool   `json:"approve" jsonschema:"description=refund the customer"`
	Note    string `json:"note,omitempty" jsonschema:"description=a note for the customer"`
}

// ToolCall is a tool call the agent plans.
type ToolCall struct {
	Tool string `json:"tool"`
	Arg  string `json:"arg"`
}

// Task is the state of demo-agent.
type Task struct {
	Goal    string
	Calls   []ToolCall
	Results []string
	Summary string
}

// ToolApproval is the answer to one tool call.
type ToolApproval struct {
	Approve bool   `json:"approve" jsonschema:"description=let the agent run the call"`
	Note    string `json:"note,omitempty"`
}

// toolRoles maps each tool to the role that approves its calls.
var toolRoles = map[string]string{"search": "analysts", "sql": "dba", "deploy": "ops"}

// Workflows compiles the demo workflows on store, with opts after the
// store (a clock, a logger, observers).
func Workflows(store checkpoint.Store, opts ...weft.CompileOption) ([]weft.Runner, error) {
	if store == nil {
		return nil, errors.New("demo: Workflows needs a store")
	}
	opts = append([]weft.CompileOption{weft.WithStore(store)}, opts...)
	var runners []weft.Runner
	var errs []error
	add := func(r weft.Runner, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		runners = append(runners, r)
	}
	add(compile(approval(), opts))
	add(compile(refine(), opts))
	add(compile(refund(), opts))
	add(compile(agent(), opts))
	add(compile(long(), opts))
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return runners, nil
}

func compile[S any](g *weft.Graph[S], opts []weft.CompileOption) (weft.Runner, error) {
	wf, err := g.Compile(opts...)
	if err != nil {
		return nil, err
	}
	return wf.Runner(), nil
}

func approval() *weft.Graph[Post] {
	g := weft.NewGraph[Post](Approval)
	g.AddNode("draft", func(ctx context.Context, p Post) (Post, error) {
		if p.Body == "" {
			p.Body = fmt.Sprintf("%s. We are glad to announce %s; read on for what changed and why.", p.Title, strings.ToLower(p.Title))
		}
		return p, nil
	})
	g.AddNode("review", func(ctx context.Context, p Post) (Post, error) {
		d, err := weft.Interrupt[Decision](ctx, map[string]string{"title": p.Title, "body": p.Body},
			weft.Assign("editors"), weft.Reason("approve, edit or reject the post"))
		if err != nil {
			return p, err
		}
		switch d.Action {
		case "approve":
			p.Status = "approved"
		case "edit":
			if d.Text != "" {
				p.Body = d.Text
			}
			p.Status = "edited"
		case "reject":
			p.Status, p.Note = "rejected", d.Text
		}
		return p, nil
	})
	g.AddNode("publish", func(ctx context.Context, p Post) (Post, error) {
		url, err := weft.Do(ctx, "publish", func(ctx context.Context) (string, error) {
			return "https://blog.example.com/" + slug(p.Title), nil
		})
		p.URL = url
		return p, err
	})
	g.AddEdge(weft.Start, "draft").AddEdge("draft", "review")
	g.AddConditionalEdges("review", func(p Post) string {
		if p.Status == "rejected" {
			return weft.End
		}
		return "publish"
	}, "publish", weft.End)
	g.AddEdge("publish", weft.End)
	return g
}

func slug(s string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s), "-")
}

func refine() *weft.Graph[Essay] {
	g := weft.NewGraph[Essay](Refine)
	g.AddNode("write", func(ctx context.Context, e Essay) (Essay, error) {
		e.Version++
		e.Draft = fmt.Sprintf("Draft %d on %q.", e.Version, e.Topic)
		if len(e.Feedback) > 0 {
			e.Draft += " Revised for: " + strings.Join(e.Feedback, "; ") + "."
		}
		return e, nil
	})
	g.AddNode("review", func(ctx context.Context, e Essay) (Essay, error) {
		d, err := weft.Interrupt[Decision](ctx, map[string]any{"draft": e.Draft, "version": e.Version},
			weft.Assign("writers"), weft.Reason(fmt.Sprintf("review draft %d; edit sends it back with your feedback", e.Version)))
		if err != nil {
			return e, err
		}
		switch d.Action {
		case "approve":
			e.Status = "approved"
		case "edit":
			e.Status = "revising"
			e.Feedback = append(e.Feedback, cmp.Or(d.Text, "make it better"))
		case "reject":
			e.Status = "rejected"
		}
		return e, nil
	})
	g.AddEdge(weft.Start, "write").AddEdge("write", "review")
	g.AddConditionalEdges("review", func(e Essay) string {
		if e.Status == "revising" {
			return "write"
		}
		return weft.End
	}, "write", weft.End)
	return g
}

func refund() *weft.Graph[RefundRequest] {
	g := weft.NewGraph[RefundRequest](Refund)
	g.AddNode("check", func(ctx context.Context, r RefundRequest) (RefundRequest, error) {
		payload := map[string]any{"customer": r.Customer, "amount": r.Amount, "reason": r.Reason}
		opts := []weft.InterruptOption{weft.Assign("support")}
		if r.Amount < SmallRefund {
			opts = append(opts, weft.Reason("small refund: approved by itself if nobody answers in 15 minutes"),
				weft.Within(RefundWithin, RefundDecision{Approve: true, Note: "approved automatically: no answer within 15 minutes"}))
		} else {
			opts = append(opts, weft.Reason("large refund: goes to the finance leads if nobody answers in an hour"),
				weft.Escalate(RefundEscalateAfter, "finance-leads"))
		}
		d, err := weft.Interrupt[RefundDecision](ctx, payload, opts...)
		if err != nil {
			return r, err
		}
		r.Approved, r.Note = d.Approve, d.Note
		return r, nil
	})
	g.AddNode("pay", func(ctx context.Context, r RefundRequest) (RefundRequest, error) {
		ref, err := weft.Do(ctx, "pay", func(ctx context.Context) (string, error) {
			return fmt.Sprintf("refund of %.2f to %s (ref %s)", r.Amount, r.Customer, weft.EffectID(ctx)[:8]), nil
		})
		r.Paid = ref
		return r, err
	})
	g.AddEdge(weft.Start, "check")
	g.AddConditionalEdges("check", func(r RefundRequest) string {
		if r.Approved {
			return "pay"
		}
		return weft.End
	}, "pay", weft.End)
	g.AddEdge("pay", weft.End)
	return g
}

func agent() *weft.Graph[Task] {
	g := weft.NewGraph[Task](Agent)
	g.AddNode("plan", func(ctx context.Context, t Task) (Task, error) {
		// A deterministic stand-in for a model that picks tools.
		t.Calls = []ToolCall{
			{Tool: "search", Arg: t.Goal},
			{Tool: "sql", Arg: "SELECT count(*) FROM signups WHERE week = current_week"},
			{Tool: "deploy", Arg: "staging"},
		}
		return t, nil
	})
	g.AddMap("call", weft.Map(func(t Task) []ToolCall { return t.Calls },
		func(ctx context.Context, t Task, c ToolCall) (Task, error) {
			role := toolRoles[c.Tool]
			a, err := weft.Interrupt[ToolApproval](ctx, c, weft.Assign(role), weft.Key("approve"),
				weft.Reason(fmt.Sprintf("the agent wants to run %s; %s approve it", c.Tool, role)))
			if err != nil {
				return t, err
			}
			if !a.Approve {
				t.Results = append(t.Results, fmt.Sprintf("%s: refused (%s)", c.Tool, cmp.Or(a.Note, "no reason given")))
				return t, nil
			}
			out, err := weft.Do(ctx, "run", func(ctx context.Context) (string, error) { return runTool(c), nil })
			if err != nil {
				return t, err
			}
			t.Results = append(t.Results, c.Tool+": "+out)
			return t, nil
		}))
	g.AddNode("summarize", func(ctx context.Context, t Task) (Task, error) {
		t.Summary = fmt.Sprintf("%s: %d tool calls. %s", t.Goal, len(t.Results), strings.Join(t.Results, " | "))
		return t, nil
	})
	g.AddEdge(weft.Start, "plan").AddEdge("plan", "call").AddEdge("call", "summarize").AddEdge("summarize", weft.End)
	g.Reduce("Results", weft.Append())
	return g
}

// runTool is a deterministic stand-in for the tools.
func runTool(c ToolCall) string {
	switch c.Tool {
	case "search":
		return "3 articles about " + c.Arg
	case "sql":
		return "1284 rows"
	case "deploy":
		return "deployed to " + c.Arg
	}
	return "done"
}

// LongJob is the state of demo-long.
type LongJob struct {
	// Seconds is how long the work node works (0: LongSeconds).
	Seconds float64
	// Started and Finished are the results of the node's side effects,
	// journaled with weft.Do: each is made once however often the node
	// runs (after a stop, a hand-back or a takeover).
	Started  string
	Finished string
	// Done is set by the node after work.
	Done bool
}

// LongProgress is what demo-long's work emits (weft.Emit) at every step:
// the result of its first side effect, and how far it got.
type LongProgress struct {
	Started string  `json:"started"`
	Done    float64 `json:"done"`
	Of      float64 `json:"of"`
}

// LongSeconds is how long demo-long works when its input does not say.
const LongSeconds = 30.0

// LongStep is how often demo-long's work looks at its context (and emits
// its progress).
const LongStep = 100 * time.Millisecond

func long() *weft.Graph[LongJob] {
	g := weft.NewGraph[LongJob](Long)
	g.AddNode("work", func(ctx context.Context, j LongJob) (LongJob, error) {
		seconds := j.Seconds
		if seconds <= 0 {
			seconds = LongSeconds
		}
		started, err := weft.Do(ctx, "start", func(ctx context.Context) (string, error) {
			return fmt.Sprintf("job %s started at %s", weft.EffectID(ctx)[:8], time.Now().UTC().Format(time.RFC3339)), nil
		})
		if err != nil {
			return j, err
		}
		j.Started = started
		total := time.Duration(seconds * float64(time.Second))
		t := time.NewTicker(min(LongStep, total))
		defer t.Stop()
		for begin := time.Now(); time.Since(begin) < total; {
			select {
			case <-ctx.Done():
				return j, context.Cause(ctx)
			case <-t.C:
				_ = weft.Emit(ctx, LongProgress{Started: started, Done: min(time.Since(begin), total).Seconds(), Of: seconds})
			}
		}
		finished, err := weft.Do(ctx, "finish", func(ctx context.Context) (string, error) {
			return fmt.Sprintf("job %s finished at %s", weft.EffectID(ctx)[:8], time.Now().UTC().Format(time.RFC3339)), nil
		})
		if err != nil {
			return j, err
		}
		j.Finished = finished
		return j, nil
	})
	g.AddNode("done", func(ctx context.Context, j LongJob) (LongJob, error) {
		j.Done = true
		return j, nil
	})
	g.AddEdge(weft.Start, "work").AddEdge("work", "done").AddEdge("done", weft.End)
	return g
}
