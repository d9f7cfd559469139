package weft_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// Edited is a state with JSON names, a field that is not stored and one
// that JSON does not see.
type Edited struct {
	Title  string            `json:"title"`
	Tags   []string          `json:"tags,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Count  int
	Cache  string `json:"cache" weft:"-"`
	Secret string `json:"-"`
}

func editedWorkflow(t *testing.T) *weft.Workflow[Edited] {
	t.Helper()
	return editedWorkflowIn(t, memstore.New())
}

func editedWorkflowIn(t *testing.T, st checkpoint.Store) *weft.Workflow[Edited] {
	t.Helper()
	g := weft.NewGraph[Edited]("edited")
	g.AddNode("a", func(_ context.Context, s Edited) (Edited, error) { s.Count++; return s, nil })
	g.AddNode("b", func(_ context.Context, s Edited) (Edited, error) { s.Count += 10; return s, nil })
	g.AddEdge(weft.Start, "a").AddEdge("a", "b")
	return must[*weft.Workflow[Edited]](t)(g.Compile(weft.WithStore(st), weft.InterruptBefore("b")))
}

func TestStateEditorUpdateStateJSON(t *testing.T) {
	start := Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}}
	tests := []struct {
		name    string
		patch   string
		want    Edited // the state afterwards (Count is 1 after a)
		wrote   bool   // a new checkpoint was written
		invalid bool   // refused with ErrInvalidInput
	}{
		{name: "one field", patch: `{"title":"final"}`, want: Edited{Title: "final", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 1}, wrote: true},
		{name: "Go name of an untagged field", patch: `{"Count":5}`, want: Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 5}, wrote: true},
		{name: "name in another case", patch: `{"TITLE":"up"}`, want: Edited{Title: "up", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 1}, wrote: true},
		{name: "a list is replaced", patch: `{"tags":["y","z"]}`, want: Edited{Title: "draft", Tags: []string{"y", "z"}, Labels: map[string]string{"k": "v"}, Count: 1}, wrote: true},
		{name: "a map is replaced, not merged", patch: `{"labels":{"n":"m"}}`, want: Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"n": "m"}, Count: 1}, wrote: true},
		{name: "null clears a field", patch: `{"tags":null}`, want: Edited{Title: "draft", Labels: map[string]string{"k": "v"}, Count: 1}, wrote: true},
		{name: "empty object", patch: `{}`, want: Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 1}},
		{name: "empty", patch: ``, want: Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 1}},
		{name: "null", patch: `null`, want: Edited{Title: "draft", Tags: []string{"x"}, Labels: map[string]string{"k": "v"}, Count: 1}},
		{name: "unknown field", patch: `{"title":"final","nope":1}`, invalid: true},
		{name: "wrong type", patch: `{"title":3}`, invalid: true},
		{name: "wrong type in a list", patch: `{"tags":[1]}`, invalid: true},
		{name: "not stored", patch: `{"cache":"c"}`, invalid: true},
		{name: "hidden from JSON", patch: `{"Secret":"s"}`, invalid: true},
		{name: "an array", patch: `["title"]`, invalid: true},
		{name: "a string", patch: `"title"`, invalid: true},
		{name: "not JSON", patch: `{title:`, invalid: true},
		{name: "two values", patch: `{"title":"a"} {"title":"b"}`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf := editedWorkflow(t)
			before := must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", start))
			ed, ok := wf.Runner().(weft.StateEditor)
			if !ok {
				t.Fatal("Workflow.Runner is not a StateEditor")
			}
			snap, err := ed.UpdateStateJSON(ctx, "t", json.RawMessage(tt.patch), weft.By("ana", checkpoint.ChannelUI), weft.Note("typo"))
			if tt.invalid {
				wantErr(t, err, weft.ErrInvalidInput)
				if snap != nil {
					t.Fatalf("refused patch returned %+v", snap)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			after := must[*weft.Snapshot[Edited]](t)(wf.State(ctx, "t"))
			if (after.Checkpoint != before.Checkpoint) != tt.wrote {
				t.Fatalf("head %s → %s; want a new checkpoint: %v", before.Checkpoint, after.Checkpoint, tt.wrote)
			}
			want := tt.want
			if tt.invalid {
				want = before.State
			}
			if !reflect.DeepEqual(after.Values, want) {
				t.Fatalf("state = %+v, want %+v", after.Values, want)
			}
			if !tt.wrote {
				return
			}
			if snap.Checkpoint != after.Checkpoint || snap.Source != checkpoint.SourceUpdate {
				t.Fatalf("snapshot %s (%s), head %s", snap.Checkpoint, snap.Source, after.Checkpoint)
			}
			if after.Author != "ana" || after.Channel != checkpoint.ChannelUI || after.Note != "typo" {
				t.Fatalf("author %q channel %q note %q, want ana, ui, typo", after.Author, after.Channel, after.Note)
			}
			if got, ok := snap.Values.(Edited); !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("snapshot values = %#v", snap.Values)
			}
			// The edited thread carries on from the breakpoint.
			res := must[*weft.Result[Edited]](t)(wf.Resume(ctx, "t"))
			if res.Status != weft.StatusCompleted {
				t.Fatalf("resume: %s", res.Status)
			}
		})
	}
}

func TestStateEditorForkJSON(t *testing.T) {
	tests := []struct {
		name    string
		patch   string
		title   string
		invalid bool
	}{
		{name: "unchanged", patch: ``, title: "draft"},
		{name: "empty object", patch: `{}`, title: "draft"},
		{name: "edited", patch: `{"title":"again"}`, title: "again"},
		{name: "unknown field", patch: `{"titel":"again"}`, invalid: true},
		{name: "wrong type", patch: `{"Count":"many"}`, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf := editedWorkflow(t)
			must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", Edited{Title: "draft"}))
			must[*weft.Result[Edited]](t)(wf.Resume(ctx, "t"))
			var first *weft.Snapshot[Edited] // the input checkpoint
			for s, err := range wf.History(ctx, "t") {
				if err != nil {
					t.Fatal(err)
				}
				first = s
			}
			head := must[*weft.Snapshot[Edited]](t)(wf.State(ctx, "t"))
			ed := wf.Runner().(weft.StateEditor)
			snap, err := ed.ForkJSON(ctx, "t", first.Checkpoint, json.RawMessage(tt.patch), weft.By("bo", checkpoint.ChannelAPI))
			after := must[*weft.Snapshot[Edited]](t)(wf.State(ctx, "t"))
			if tt.invalid {
				wantErr(t, err, weft.ErrInvalidInput)
				if after.Checkpoint != head.Checkpoint {
					t.Fatalf("a refused fork moved the head %s → %s", head.Checkpoint, after.Checkpoint)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if snap.Source != checkpoint.SourceFork || snap.Parent != first.Checkpoint || after.Checkpoint != snap.Checkpoint {
				t.Fatalf("fork snapshot %+v; head %s", snap, after.Checkpoint)
			}
			if after.Values.Title != tt.title || after.Values.Count != 0 || after.Author != "bo" {
				t.Fatalf("forked state %+v by %q", after.Values, after.Author)
			}
			res := must[*weft.Result[Edited]](t)(wf.Resume(ctx, "t")) // a runs again, b waits behind its breakpoint
			if res.State.Count != 1 || res.State.Title != tt.title {
				t.Fatalf("after the fork: %+v", res.State)
			}
		})
	}
}

func TestStateEditorRefusals(t *testing.T) {
	wf := editedWorkflow(t)
	ed := wf.Runner().(weft.StateEditor)
	_, err := ed.ForkJSON(ctx, "none", "000000000001", nil)
	wantErr(t, err, weft.ErrNotFound)
	must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", Edited{}))
	_, err = ed.ForkJSON(ctx, "t", "999999999999", json.RawMessage(`{"title":"x"}`))
	wantErr(t, err, weft.ErrNotFound)

	// A map state sets keys; any other non-struct state has no fields.
	gm := weft.NewGraph[map[string]int]("m")
	gm.AddNode("a", func(_ context.Context, s map[string]int) (map[string]int, error) { return s, nil })
	gm.AddEdge(weft.Start, "a")
	wm := must[*weft.Workflow[map[string]int]](t)(gm.Compile(weft.WithStore(memstore.New()), weft.InterruptBefore("a")))
	must[*weft.Result[map[string]int]](t)(wm.Run(ctx, "t", map[string]int{"a": 1}))
	em := wm.Runner().(weft.StateEditor)
	must[*weft.Snapshot[any]](t)(em.UpdateStateJSON(ctx, "t", json.RawMessage(`{"b":2}`)))
	if s := must[*weft.Snapshot[map[string]int]](t)(wm.State(ctx, "t")); fmt.Sprint(s.Values) != "map[a:1 b:2]" {
		t.Fatalf("map state = %v", s.Values)
	}
	_, err = em.UpdateStateJSON(ctx, "t", json.RawMessage(`{"b":"two"}`))
	wantErr(t, err, weft.ErrInvalidInput)

	gs := weft.NewGraph[string]("s")
	gs.AddNode("a", func(_ context.Context, s string) (string, error) { return s, nil })
	gs.AddEdge(weft.Start, "a")
	ws := must[*weft.Workflow[string]](t)(gs.Compile(weft.WithStore(memstore.New()), weft.InterruptBefore("a")))
	must[*weft.Result[string]](t)(ws.Run(ctx, "t", "x"))
	_, err = ws.Runner().(weft.StateEditor).UpdateStateJSON(ctx, "t", json.RawMessage(`{"a":1}`))
	if err == nil || !strings.Contains(err.Error(), "no fields") {
		t.Fatalf("patch of a string state: %v", err)
	}
	wantErr(t, err, weft.ErrInvalidInput)
}

// By on UpdateState records the author in the checkpoint, which History
// shows; without it there is none.
func TestUpdateStateByRecordsAuthor(t *testing.T) {
	st := memstore.New()
	wf := editedWorkflowIn(t, st)
	must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", Edited{}))
	must[*weft.Snapshot[Edited]](t)(wf.UpdateState(ctx, "t", func(s Edited) Edited { s.Title = "1"; return s }))
	must[*weft.Snapshot[Edited]](t)(wf.UpdateState(ctx, "t", func(s Edited) Edited { s.Title = "2"; return s }, weft.By("cy", "")))
	var authors []string
	for s, err := range wf.Runner().History(ctx, "t") {
		if err != nil {
			t.Fatal(err)
		}
		authors = append(authors, s.Source+":"+s.Author+"/"+s.Channel)
	}
	if got := strings.Join(authors, " "); got != "update:cy/api update:/ loop:/ input:/" {
		t.Fatalf("history = %s", got)
	}
	cps := must[[]checkpoint.Checkpoint](t)(st.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"}))
	if cps[0].Meta["updated_by"] != "cy" {
		t.Fatalf("checkpoint meta = %v", cps[0].Meta)
	}
}
