package weft_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
)

// trace renders events as "type[:node]" in order, checking that their
// sequence numbers count from 1 without gaps and that each carries the
// thread.
func trace(t *testing.T, thread string, events []weft.Event) string {
	t.Helper()
	var parts []string
	for i, e := range events {
		if e.Seq != int64(i+1) || e.Thread != thread || e.Time.IsZero() {
			t.Fatalf("event %d: seq %d thread %q time %v", i, e.Seq, e.Thread, e.Time)
		}
		p := string(e.Type)
		if e.Node != "" {
			p += ":" + e.Node
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func streamed(t *testing.T, seq func(func(weft.Event, error) bool)) []weft.Event {
	t.Helper()
	var events []weft.Event
	for e, err := range seq {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		events = append(events, e)
	}
	return events
}

func TestStreamPauseAndResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Doc]("stream")
		g.AddNode("write", func(ctx context.Context, s Doc) (Doc, error) {
			for _, tok := range []string{"he", "llo"} {
				if err := weft.Emit(ctx, tok); err != nil {
					return s, err
				}
				s.Draft += tok
			}
			return s, nil
		})
		g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
			ok, err := weft.Interrupt[bool](ctx, s.Draft, weft.Reason("confidence low"))
			if err != nil {
				return s, err
			}
			if ok {
				s.Final = s.Draft
			}
			return s, nil
		})
		g.AddEdge(weft.Start, "write").AddEdge("write", "review")
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))

		events := streamed(t, wf.Stream(ctx, "s", Doc{}))
		want := "run_started node_started:write custom:write custom:write node_finished:write step_committed node_started:review interrupted"
		if got := trace(t, "s", events); got != want {
			t.Fatalf("events:\n got %s\nwant %s", got, want)
		}
		if events[2].Data != "he" || events[4].Update.(Doc).Draft != "hello" {
			t.Fatalf("custom %v, update %+v", events[2].Data, events[4].Update)
		}
		last := events[len(events)-1]
		if len(last.Questions) != 1 || last.Questions[0].Reason != "confidence low" || string(last.Questions[0].Value) != `"hello"` {
			t.Fatalf("interrupted event = %+v", last)
		}
		events = streamed(t, wf.StreamResume(ctx, "s", weft.Answer(last.Questions[0].ID, true), weft.By("ann", "ui")))
		want = "answered:review resumed node_started:review node_finished:review step_committed completed"
		if got := trace(t, "s", events); got != want {
			t.Fatalf("events:\n got %s\nwant %s", got, want)
		}
		if a := events[0].Answer; a.Author != "ann" || a.Channel != "ui" || string(a.Value) != "true" {
			t.Fatalf("answered = %+v", a)
		}
	})
}

func TestStreamBreakStopsTheThread(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Doc]("stream-break")
		g.AddNode("a", func(ctx context.Context, s Doc) (Doc, error) { s.Runs++; return s, nil })
		g.AddNode("b", func(ctx context.Context, s Doc) (Doc, error) { s.Runs++; return s, nil })
		g.AddEdge(weft.Start, "a").AddEdge("a", "b")
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
		for e, err := range wf.Stream(ctx, "b", Doc{}) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Type == weft.EventStepCommitted {
				break
			}
		}
		snap := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "b"))
		if snap.Status != weft.StatusStopped {
			t.Fatalf("after break: status %s", snap.Status)
		}
		res := must[*weft.Result[Doc]](t)(wf.Resume(ctx, "b"))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.Runs != 2 {
			t.Fatalf("runs = %d", res.State.Runs)
		}
	})
}

func TestSlowConsumerLosesNothing(t *testing.T) {
	g := weft.NewGraph[Doc]("slow")
	g.AddNode("emit", func(ctx context.Context, s Doc) (Doc, error) {
		for i := range 50 {
			if err := weft.Emit(ctx, i); err != nil {
				return s, err
			}
		}
		return s, nil
	})
	g.AddEdge(weft.Start, "emit")
	wf := must[*weft.Workflow[Doc]](t)(g.Compile())
	next := 0
	for e, err := range wf.Stream(ctx, "slow", Doc{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == weft.EventCustom {
			if e.Data != next {
				t.Fatalf("custom event %v, want %d", e.Data, next)
			}
			next++
			time.Sleep(100 * time.Microsecond)
		}
	}
	if next != 50 {
		t.Fatalf("%d custom events, want 50", next)
	}
}

func TestStreamReturnsTheRunError(t *testing.T) {
	wf := approval(t, nil, nil)
	must[*weft.Result[Doc]](t)(wf.Run(ctx, "p", Doc{}))
	var last error
	for _, err := range wf.Stream(ctx, "p", Doc{}) {
		last = err
	}
	wantErr(t, last, weft.ErrThreadPaused)
}

func TestLogObserver(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	wf := approval(t, []weft.CompileOption{weft.WithObserver(weft.LogObserver(l))}, nil)
	res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "log", Doc{}))
	must[*weft.Result[Doc]](t)(wf.Resume(ctx, "log", weft.Answer(res.Interrupts[0].ID, Decision{Action: "approve"}), weft.By("bob", "cli")))
	out := buf.String()
	for _, want := range []string{"weft: run_started", "weft: interrupted", "questions=[" + res.Interrupts[0].ID + "]", "author=bob", "weft: completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "node_started") {
		t.Errorf("node events logged at Info:\n%s", out)
	}
}

func TestStreamParallelBranchesAndSubgraphs(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var counts sync.Map
		wf := nested(t, opts, &counts)
		events := streamed(t, wf.Stream(ctx, "ps", Outer{Topic: "go"}))
		got := trace(t, "ps", events)
		for _, want := range []string{"node_started:middle", "node_started:side", "node_finished:side",
			"node_started:middle/prepare", "node_started:middle/inner/review", "step_committed:middle/inner"} {
			if !strings.Contains(got+" ", want+" ") {
				t.Fatalf("events lack %s:\n%s", want, got)
			}
		}
		if last := events[len(events)-1]; last.Type != weft.EventInterrupted || last.Questions[0].Node != "middle/inner/review" {
			t.Fatalf("last event = %+v", last)
		}
	})
}

func TestStreamLoopPanicPropagates(t *testing.T) {
	wf := approval(t, nil, nil)
	defer func() {
		if p := recover(); p != "consumer bug" {
			t.Fatalf("recovered %v, want the loop body's panic", p)
		}
		snap := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "panic"))
		if snap.Status != weft.StatusStopped {
			t.Fatalf("thread after the consumer panicked: %s", snap.Status)
		}
	}()
	for e := range wf.Stream(ctx, "panic", Doc{}) {
		if e.Type == weft.EventNodeStarted {
			panic("consumer bug")
		}
	}
}
