package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var copiesTests = []test{
	{"Inputs", testCopiesInputs},
	{"Outputs", testCopiesOutputs},
	{"AppendToOutputs", testCopiesAppend},
}

// scribble overwrites every byte of b.
func scribble(b []byte) {
	for i := range b {
		b[i] = '#'
	}
}

func scribbleStrings(s []string) {
	for i := range s {
		s[i] = "#"
	}
}

// testCopiesInputs: changing what was passed to a method after it returned
// does not change what is stored.
func testCopiesInputs(e *env) {
	f := e.thread("t1", "w")
	cp := &checkpoint.Checkpoint{
		Next: []string{"a", "b"}, Versions: map[string]int64{"x": 0, "y": 0}, Meta: map[string]string{"k": "v"},
		Blobs: []checkpoint.Blob{full("x", "xxxx"), full("y", "yyyy")},
	}
	q := fullQuestion("t1", "q")
	c := checkpoint.Commit{
		Checkpoint: cp,
		Writes:     []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(1), Task: "a", Kind: "output", Data: []byte("data")}},
		Interrupts: []checkpoint.InterruptRecord{q},
		Steps:      []checkpoint.Step{{ThreadID: "t1", Node: "a", Status: checkpoint.StepCompleted, StartedAt: at(1)}},
	}
	f.prepare(&c)
	c.Checkpoint.Versions = map[string]int64{"x": 1, "y": 1}
	if _, err := e.s.Commit(e.ctx, &c); err != nil {
		e.t.Fatalf("Commit: %v", err)
	}
	f.row = c.Thread
	f.row.Version = 1
	before := e.snapshot("t1")

	scribbleStrings(cp.Next)
	cp.Versions["x"], cp.Versions["z"] = 7, 7
	cp.Meta["k"], cp.Meta["k2"] = "#", "#"
	for _, b := range cp.Blobs {
		scribble(b.Data)
	}
	cp.Blobs[0].Field = "#"
	scribble(c.Writes[0].Data)
	c.Writes[0].Task = "#"
	r := &c.Interrupts[0]
	scribble(r.Value)
	scribble(r.Schema)
	scribble(r.Fallback)
	scribbleStrings(r.Assignees)
	scribbleStrings(r.EscalateTo)
	c.Steps[0].Node = "#"
	e.unchanged("changing a committed Commit", before, "t1")

	ws := []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(1), Task: "b", Kind: "do", Data: []byte("effect")}}
	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: ws}))
	before = e.snapshot("t1")
	scribble(ws[0].Data)
	e.unchanged("changing written PutWrites", before, "t1")

	re := checkpoint.Reassign{ThreadID: "t1", InterruptID: "q", ExpectedDeadline: e.interrupt("t1", "q").Deadline, Assignees: []string{"x", "y"}, Deadline: at(9),
		Fallback: json.RawMessage(`"fb"`), EscalateTo: []string{"z"}}
	noErr(e.t, "Reassign", e.s.Reassign(e.ctx, &re))
	before = e.snapshot("t1")
	scribbleStrings(re.Assignees)
	scribbleStrings(re.EscalateTo)
	scribble(re.Fallback)
	e.unchanged("changing a Reassign", before, "t1")

	as := []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q", Value: json.RawMessage(`"answer"`), Author: "ann", At: at(3)}}
	noErr(e.t, "Answer", e.answer(as))
	before = e.snapshot("t1")
	scribble(as[0].Value)
	e.unchanged("changing an Answer", before, "t1")
}

// testCopiesOutputs: changing what a method returned does not change what
// is stored.
func testCopiesOutputs(e *env) {
	e.richThread("t1")
	noErr(e.t, "Reassign", e.s.Reassign(e.ctx, &checkpoint.Reassign{ThreadID: "t1", InterruptID: "q1",
		Assignees: []string{"ann"}, Fallback: json.RawMessage(`1`), EscalateTo: []string{"bob"}}))
	spaces := []string{"", "sub:1"}
	before := e.snapshot("t1", spaces...)

	th := e.getThread("t1")
	th.Head, th.Version = "#", 99
	page, err := e.s.Threads(e.ctx, &checkpoint.ThreadQuery{})
	noErr(e.t, "Threads", err)
	page.Threads[0].Head = "#"

	cp := e.getCheckpoint("t1", "", "")
	scribbleStrings(cp.Next)
	cp.Versions["x"], cp.Versions["z"] = 7, 7
	cp.Meta["k"], cp.Meta["k2"] = "#", "#"
	for i := range cp.Blobs {
		scribble(cp.Blobs[i].Data)
		cp.Blobs[i].Field = "#"
	}
	hist, err := e.s.History(e.ctx, &checkpoint.HistoryQuery{ThreadID: "t1"})
	noErr(e.t, "History", err)
	for i := range hist {
		scribbleStrings(hist[i].Next)
		hist[i].Versions["x"] = 7
		hist[i].Meta["k"] = "#"
	}
	ws := e.writes("t1", "", cp.ID)
	for i := range ws {
		scribble(ws[i].Data)
	}
	for _, r := range e.interrupts(checkpoint.InterruptQuery{ThreadID: "t1"}) {
		scribble(r.Value)
		scribble(r.Schema)
		scribble(r.Fallback)
		scribble(r.Answer)
		scribbleStrings(r.Assignees)
		scribbleStrings(r.EscalateTo)
	}
	steps := e.steps("t1", 0)
	steps[0].Node = "#"
	e.unchanged("changing returned values", before, "t1", spaces...)
}

// testCopiesAppend: the slices of one returned value do not share spare
// room: appending to one does not change another.
func testCopiesAppend(e *env) {
	f := e.thread("t1", "w")
	f.cp("", "", 0, map[string]int64{"a": 0, "b": 0, "c": 0}, full("a", "aaaa"), full("b", "bbbb"), full("c", "cccc"))
	q := fullQuestion("t1", "q")
	f.commit(checkpoint.Commit{
		Writes: []checkpoint.PendingWrite{
			{CheckpointID: f.row.Head, Task: "a", Kind: "output", Data: []byte("w1")},
			{CheckpointID: f.row.Head, Task: "b", Kind: "output", Data: []byte("w2")},
		},
		Interrupts: []checkpoint.InterruptRecord{q},
	})
	noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: "t1", InterruptID: "q", Value: json.RawMessage(`"ans"`), At: at(5)}}))

	cp := e.getCheckpoint("t1", "", "")
	want := blobSet(cp.Blobs)
	for i := range cp.Blobs {
		_ = append(cp.Blobs[i].Data, "####"...)
	}
	if got := blobSet(cp.Blobs); got != want {
		e.t.Errorf("appending to returned blobs changed others:\ngot\n\t%s\nwant\n\t%s", got, want)
	}
	ws := e.writes("t1", "", f.row.Head)
	wantWs := fmt.Sprint(ws)
	for i := range ws {
		_ = append(ws[i].Data, "####"...)
	}
	if got := fmt.Sprint(ws); got != wantWs {
		e.t.Errorf("appending to returned writes changed others: got %s, want %s", got, wantWs)
	}
	r := e.interrupt("t1", "q")
	wantR := renderInterrupt(r)
	_ = append(r.Value, "####"...)
	_ = append(r.Schema, "####"...)
	_ = append(r.Fallback, "####"...)
	_ = append(r.Assignees, "#", "#")
	if got := renderInterrupt(r); got != wantR {
		e.t.Errorf("appending to a returned interrupt's fields changed others:\ngot  %s\nwant %s", got, wantR)
	}
}

var contextTests = []test{
	{"Canceled", testContextCanceled},
}

// testContextCanceled: every method called with a canceled context returns
// an error wrapping context.Canceled, and changes nothing.
func testContextCanceled(e *env) {
	f, spaces := e.richThread("t1")
	before := e.snapshot("t1", spaces...)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	next := checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{ParentID: f.row.Head, Versions: map[string]int64{"x": 3}, Blobs: []checkpoint.Blob{full("x", "3")}},
		Cancel: &checkpoint.Cancellation{}, Steps: []checkpoint.Step{{ThreadID: "t1", Node: "n", Status: checkpoint.StepCompleted, StartedAt: at(3)}}}
	f.prepare(&next)
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Thread", func(ctx context.Context) error { _, err := e.s.Thread(ctx, "t1"); return err }},
		{"Threads", func(ctx context.Context) error { _, err := e.s.Threads(ctx, &checkpoint.ThreadQuery{}); return err }},
		{"Commit", func(ctx context.Context) error { _, err := e.s.Commit(ctx, &next); return err }},
		{"CommitNewThread", func(ctx context.Context) error {
			_, err := e.s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "new", Status: checkpoint.StatusRunning}, At: at(1)})
			return err
		}},
		{"PutWrites", func(ctx context.Context) error {
			return e.s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: []checkpoint.PendingWrite{{Task: "z", Kind: "do"}}})
		}},
		{"Checkpoint", func(ctx context.Context) error { _, err := e.s.Checkpoint(ctx, "t1", "", ""); return err }},
		{"History", func(ctx context.Context) error {
			_, err := e.s.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t1"})
			return err
		}},
		{"PendingWrites", func(ctx context.Context) error { _, err := e.s.PendingWrites(ctx, "t1", "", f.row.Head); return err }},
		{"Interrupts", func(ctx context.Context) error {
			_, err := e.s.Interrupts(ctx, &checkpoint.InterruptQuery{})
			return err
		}},
		{"Answer", func(ctx context.Context) error {
			return e.answerCtx(ctx, []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q1", Value: json.RawMessage(`1`), At: at(3)}})
		}},
		{"Reassign", func(ctx context.Context) error {
			return e.s.Reassign(ctx, &checkpoint.Reassign{ThreadID: "t1", InterruptID: "q1", Assignees: []string{"x"}})
		}},
		{"Steps", func(ctx context.Context) error { _, err := e.s.Steps(ctx, "t1", 0); return err }},
		{"DeleteThread", func(ctx context.Context) error { return e.s.DeleteThread(ctx, "t1") }},
		{"Prune", func(ctx context.Context) error {
			_, err := e.s.Prune(ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: 1})
			return err
		}},
	} {
		e.run(tc.name, func(e *env) {
			err := tc.call(ctx)
			if !errors.Is(err, context.Canceled) {
				e.t.Errorf("%s with a canceled context: error %v, want one wrapping context.Canceled", tc.name, err)
			}
			e.unchanged(tc.name+" with a canceled context", before, "t1", spaces...)
		})
	}
	if _, err := e.s.Thread(e.ctx, "new"); !errors.Is(err, checkpoint.ErrNotFound) {
		e.t.Errorf("Thread(new) after a canceled Commit: error %v, want ErrNotFound", err)
	}
	// A context whose deadline passed is done too.
	dctx, dcancel := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
	defer dcancel()
	if _, err := e.s.Thread(dctx, "t1"); !errors.Is(err, context.DeadlineExceeded) {
		e.t.Errorf("Thread with an expired deadline: error %v, want one wrapping context.DeadlineExceeded", err)
	}
}
