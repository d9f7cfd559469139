package weft_test

import (
	"context"
	"testing"

	"github.com/weftgraph/weft"
)

type Review struct {
	Topic    string
	Draft    string
	Feedback []string
	Status   string
}

type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
	Text   string `json:"text,omitempty"`
}

func TestSmoke(t *testing.T) {
	g := weft.NewGraph[Review]("review")
	g.AddNode("write", func(ctx context.Context, s Review) (Review, error) {
		s.Draft = "draft about " + s.Topic
		return s, nil
	})
	g.AddNode("review", func(ctx context.Context, s Review) (Review, error) {
		d, err := weft.Interrupt[Decision](ctx, map[string]any{"draft": s.Draft})
		if err != nil {
			return s, err
		}
		s.Status = d.Action
		return s, nil
	})
	g.AddEdge(weft.Start, "write").AddEdge("write", "review").AddEdge("review", weft.End)
	wf, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := wf.Run(ctx, "t1", Review{Topic: "go"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if !res.Paused() {
		t.Fatal("not paused")
	}
	q := res.Interrupts[0]
	t.Logf("schema %s", q.Schema)
	_, err = wf.Resume(ctx, "t1", weft.Answer(q.ID, Decision{Action: "nope"}))
	t.Logf("bad answer: %v", err)
	res, err = wf.Resume(ctx, "t1", weft.Answer(q.ID, Decision{Action: "approve"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	steps, _ := wf.Steps(ctx, "t1")
	for _, s := range steps {
		t.Logf("%d %s %s", s.Superstep, s.Node, s.Status)
	}
}
