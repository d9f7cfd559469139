package weft_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
)

type shapeState struct {
	Items []int
	Done  bool
}

func shapeGraph(t testing.TB) *weft.Workflow[shapeState] {
	inner := weft.NewGraph[shapeState]("inner")
	inner.AddNode("review", func(ctx context.Context, s shapeState) (shapeState, error) { return s, nil })
	inner.AddEdge(weft.Start, "review")
	child, err := inner.Compile()
	if err != nil {
		t.Fatal(err)
	}
	g := weft.NewGraph[shapeState]("outer")
	g.AddNode("plan", func(ctx context.Context, s shapeState) (shapeState, error) { return s, nil }, weft.Destinations("done"))
	g.AddMap("work", weft.Map(func(s shapeState) []int { return s.Items }, func(ctx context.Context, s shapeState, i int) (shapeState, error) { return s, nil }))
	g.AddSubgraph("check", weft.Subgraph(child, func(s shapeState) shapeState { return s }, func(s, c shapeState) shapeState { return s }))
	g.AddNode("done", func(ctx context.Context, s shapeState) (shapeState, error) { s.Done = true; return s, nil })
	g.AddEdge(weft.Start, "plan").AddEdge("plan", "work").AddEdge("work", "check")
	g.AddConditionalEdges("check", func(s shapeState) string { return "done" }, "done", weft.End)
	wf, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestShape: the shape lists nodes in the order added, with their kinds,
// and every edge, conditional ones marked; Mermaid draws it.
func TestShape(t *testing.T) {
	sh := shapeGraph(t).Shape()
	var nodes []string
	for _, n := range sh.Nodes {
		nodes = append(nodes, n.Name+":"+n.Kind)
	}
	if got := strings.Join(nodes, " "); got != "plan:node work:map check:subgraph done:node" {
		t.Errorf("nodes %s", got)
	}
	var edges []string
	for _, e := range sh.Edges {
		arrow := "->"
		if e.Conditional {
			arrow = "~>"
		}
		edges = append(edges, e.From+arrow+e.To)
	}
	want := "__start__->plan plan->work plan~>done work->check check~>done check~>__end__ done->__end__"
	if got := strings.Join(edges, " "); got != want {
		t.Errorf("edges\n%s\nwant\n%s", got, want)
	}
	if sh.Nodes[2].Subgraph == nil || sh.Nodes[2].Subgraph.Nodes[0].Name != "review" {
		t.Errorf("subgraph shape %+v", sh.Nodes[2].Subgraph)
	}
	m := sh.Mermaid(weft.Marks{Waiting: []string{"check/review"}, Next: []string{"done"}})
	for _, part := range []string{
		"flowchart TD\n",
		`n_plan["plan"]`, `n_work[["work"]]`, `subgraph n_check ["check"]`, `n_check_2f_review["review"]`,
		"s_ --> n_plan", "n_plan -.-> n_done", "s_check_2f_ --> n_check_2f_review", "n_check_2f_review --> e_check_2f_",
		"class n_check_2f_review waiting", "class n_done next",
	} {
		if !strings.Contains(m, part) {
			t.Errorf("Mermaid lacks %q:\n%s", part, m)
		}
	}
}

// Example draws a graph as Mermaid text, marking where a thread waits.
func ExampleShape_Mermaid() {
	g := weft.NewGraph[shapeState]("review")
	g.AddNode("draft", func(ctx context.Context, s shapeState) (shapeState, error) { return s, nil })
	g.AddNode("approve", func(ctx context.Context, s shapeState) (shapeState, error) { return s, nil })
	g.AddEdge(weft.Start, "draft").AddEdge("draft", "approve")
	wf, _ := g.Compile()
	fmt.Print(wf.Shape().Mermaid(weft.Marks{Waiting: []string{"approve"}}))
	// Output:
	// flowchart TD
	//   s_([start])
	//   e_([end])
	//   n_draft["draft"]
	//   n_approve["approve"]
	//   s_ --> n_draft
	//   n_draft --> n_approve
	//   n_approve --> e_
	//   classDef next fill:#dbeafe,stroke:#1d4ed8
	//   classDef waiting fill:#fef3c7,stroke:#b45309,stroke-width:2px
	//   classDef failed fill:#fee2e2,stroke:#b91c1c,stroke-width:2px
	//   class n_approve waiting
}
