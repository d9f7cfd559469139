package weft_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

type Task struct {
	Name  string
	Score float64
}

type Board struct {
	Title string
	Tasks []Task
}

func TestUnencodableStateNamesTheField(t *testing.T) {
	g := weft.NewGraph[Board]("board")
	g.AddNode("score", func(ctx context.Context, b Board) (Board, error) {
		b.Tasks = append(b.Tasks[:len(b.Tasks):len(b.Tasks)], Task{Name: "bad", Score: math.NaN()})
		return b, nil
	})
	g.AddEdge(weft.Start, "score")
	wf := must[*weft.Workflow[Board]](t)(g.Compile(weft.WithStore(memstore.New())))
	_, err := wf.Run(ctx, "b", Board{Title: "t", Tasks: []Task{{Name: "a"}, {Name: "b"}, {Name: "c"}}})
	var ee *weft.EncodeError
	if !errors.As(err, &ee) || ee.Path != "Board.Tasks[3].Score" {
		t.Fatalf("error = %v, want an EncodeError at Board.Tasks[3].Score", err)
	}
}

func TestResumeWithChangedGraph(t *testing.T) {
	store := memstore.New()
	v1 := approval(t, []weft.CompileOption{weft.WithStore(store)}, nil)
	res := must[*weft.Result[Doc]](t)(v1.Run(ctx, "g", Doc{}))
	wantStatus(t, res, weft.StatusInterrupted, 1)

	// Version 2 of the graph lost the node the thread waits in.
	g := weft.NewGraph[Doc]("approval")
	g.AddNode("write", func(ctx context.Context, s Doc) (Doc, error) { return s, nil })
	g.AddNode("publish", func(ctx context.Context, s Doc) (Doc, error) { return s, nil })
	g.AddEdge(weft.Start, "write").AddEdge("write", "publish")
	v2 := must[*weft.Workflow[Doc]](t)(g.Compile(weft.WithStore(store)))
	_, err := v2.Resume(ctx, "g", weft.Answer(res.Interrupts[0].ID, Decision{Action: "approve"}))
	wantErr(t, err, weft.ErrGraphChanged)
	snap := must[*weft.Snapshot[Doc]](t)(v1.State(ctx, "g"))
	if snap.Status != weft.StatusInterrupted || len(snap.Interrupts) != 1 {
		t.Fatalf("after a refused resume: %s with %d questions", snap.Status, len(snap.Interrupts))
	}

	// A graph that still has the node (a new edge elsewhere) resumes.
	g3 := weft.NewGraph[Doc]("approval")
	g3.AddNode("write", func(ctx context.Context, s Doc) (Doc, error) { return s, nil })
	g3.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
		d, err := weft.Interrupt[Decision](ctx, map[string]string{"draft": s.Draft},
			weft.Reason("needs sign-off"), weft.Assign("editors"))
		if err != nil {
			return s, err
		}
		s.Final = d.Action
		return s, nil
	})
	g3.AddEdge(weft.Start, "write").AddEdge("write", "review")
	v3 := must[*weft.Workflow[Doc]](t)(g3.Compile(weft.WithStore(store)))
	res = must[*weft.Result[Doc]](t)(v3.Resume(ctx, "g", weft.Answer(res.Interrupts[0].ID, Decision{Action: "approve"})))
	if res.Status != weft.StatusCompleted || res.State.Final != "approve" {
		t.Fatalf("resume on a compatible graph: %s %+v", res.Status, res.State)
	}
}
