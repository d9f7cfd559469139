package weft_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// TestSubmitRun: a run recorded through the store alone, by a program
// without the workflow, is run by one that has it, through another handle
// on the store; what cannot be submitted is refused and changes nothing.
func TestSubmitRun(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		st := open(nil)
		if err := weft.SubmitRun(ctx, st, "approval", "t", json.RawMessage(`{"Draft":"mine"}`)); err != nil {
			t.Fatal(err)
		}
		row := must[*checkpoint.Thread](t)(st.Thread(ctx, "t"))
		if row.Status != weft.StatusReady || row.Workflow != "approval" || row.Head != "" {
			t.Fatalf("submitted: %+v", row)
		}
		for _, c := range []struct {
			name, workflow, thread, input string
			want                          error
		}{
			{"again while ready", "approval", "t", `{}`, weft.ErrThreadPaused},
			{"another workflow's thread", "other", "t", `{}`, weft.ErrWrongWorkflow},
			{"no workflow", "", "u", `{}`, weft.ErrInvalidInput},
			{"no thread", "approval", "", `{}`, weft.ErrInvalidInput},
			{"not JSON", "approval", "u", `{`, weft.ErrInvalidInput},
		} {
			if err := weft.SubmitRun(ctx, st, c.workflow, c.thread, json.RawMessage(c.input)); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := st.Thread(ctx, "u"); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Errorf("a refused submission left thread u: %v", err)
		}
		if after := must[*checkpoint.Thread](t)(st.Thread(ctx, "t")); after.Version != row.Version || after.Workflow != "approval" {
			t.Errorf("refusals changed thread t: %+v", after)
		}

		// The program that has the workflow, on another handle, runs it
		// with the submitted input.
		wf := approval(t, []weft.CompileOption{weft.WithStore(open(nil))}, nil)
		res := must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if res.State.Draft != "v1" {
			t.Errorf("state %+v", res.State)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, Decision{Action: "approve"})))
		wantStatus(t, res, weft.StatusCompleted, 0)

		// A new turn of the completed thread; then input that does not fit
		// the state fails the thread when the run starts, not before.
		if err := weft.SubmitRun(ctx, st, "approval", "t", nil); err != nil {
			t.Fatal(err)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if err := weft.SubmitRun(ctx, st, "approval", "bad", json.RawMessage(`{"NoSuchField":1}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := wf.Resume(ctx, "bad"); !errors.Is(err, weft.ErrInvalidInput) {
			t.Errorf("resume of bad input: %v, want ErrInvalidInput", err)
		}
		// The thread has failed, with the error, and holds no claim: no
		// worker takes it up again and again.
		bad := must[*checkpoint.Thread](t)(st.Thread(ctx, "bad"))
		if bad.Status != weft.StatusFailed || !strings.Contains(bad.Error, "NoSuchField") || bad.Owner != "" {
			t.Errorf("after a bad input: %+v", bad)
		}
		// A new turn with bad input fails the same way and keeps the head.
		if err := wf.Cancel(ctx, "t", "next turn"); err != nil {
			t.Fatal(err)
		}
		head := must[*checkpoint.Thread](t)(st.Thread(ctx, "t")) // the cancel's checkpoint
		if err := weft.SubmitRun(ctx, st, "approval", "t", json.RawMessage(`[1]`)); err != nil {
			t.Fatal(err)
		}
		if _, err := wf.Resume(ctx, "t"); !errors.Is(err, weft.ErrInvalidInput) {
			t.Errorf("resume of a bad new turn: %v, want ErrInvalidInput", err)
		}
		if after := must[*checkpoint.Thread](t)(st.Thread(ctx, "t")); after.Status != weft.StatusFailed || after.Head != head.Head || after.Owner != "" {
			t.Errorf("after a bad new turn: %+v (head was %s)", after, head.Head)
		}
	})
}

// TestSubmitAfterCancelStartsANewTurn: a thread cancelled while it waited
// still names what was next at its head; a run submitted to it starts a
// new turn from Start with the input, it does not carry on the cancelled
// superstep (whose question stays cancelled).
func TestSubmitAfterCancelStartsANewTurn(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		wf := approval(t, []weft.CompileOption{weft.WithStore(open(nil))}, nil)
		first := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		wantStatus(t, first, weft.StatusInterrupted, 1)
		if err := wf.Cancel(ctx, "t", "wrong draft"); err != nil {
			t.Fatal(err)
		}
		must[*weft.Result[Doc]](t)(wf.Submit(ctx, "t", Doc{Final: "x"}))
		res := must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if res.Interrupts[0].ID == first.Interrupts[0].ID || res.State.Final != "x" {
			t.Errorf("the new turn asks %s (the cancelled one was %s), state %+v", res.Interrupts[0].ID, first.Interrupts[0].ID, res.State)
		}
		if _, err := wf.Resume(ctx, "t", weft.Answer(first.Interrupts[0].ID, Decision{Action: "approve"})); err == nil {
			t.Error("the cancelled question took an answer")
		}
	})
}
