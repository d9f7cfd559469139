// Command fromlanggraph is LangGraph's human-in-the-loop tutorial written
// with weft, call for call (see docs/from-langgraph.md):
//
//   - a tool-calling agent fans out over its tool calls (Send → Map),
//   - a node asks a human to approve each call (interrupt → weft.Interrupt
//     with a Key),
//   - the graph is resumed with Command(resume=...) → Resume with
//     weft.Answers (by key) or weft.Reply (the single pending question),
//   - update_state → UpdateState, get_state → State, get_state_history →
//     History, and a checkpointer → a Store (here SQLite, in a temporary
//     file).
//
// Run it with
//
//	go run ./examples/fromlanggraph
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

// State is the graph's state (LangGraph's TypedDict). Results has a
// reducer (Annotated[list, operator.add] → Graph.Reduce with weft.Append).
type State struct {
	Task    string
	Calls   []string
	Results []string
	Summary string
}

func graph() *weft.Graph[State] {
	g := weft.NewGraph[State]("agent")
	g.AddNode("plan", func(ctx context.Context, s State) (State, error) {
		s.Calls = []string{"search", "email"}
		return s, nil
	})
	// Send("tool", call) for each call → a Map node: one branch per call.
	g.AddMap("tool", weft.Map(func(s State) []string { return s.Calls },
		func(ctx context.Context, s State, call string) (State, error) {
			// interrupt({...}) → Interrupt, typed; the key names the
			// question for Command(resume={key: value}).
			ok, err := weft.Interrupt[bool](ctx, map[string]string{"tool": call, "task": s.Task}, weft.Key("approve-"+call))
			if err != nil {
				return s, err
			}
			if ok {
				s.Results = append(s.Results, call+": done")
			} else {
				s.Results = append(s.Results, call+": refused")
			}
			return s, nil
		}))
	g.Reduce("Results", weft.Append())
	g.AddNode("summarize", func(ctx context.Context, s State) (State, error) {
		r := slices.Clone(s.Results)
		slices.Sort(r)
		s.Summary = fmt.Sprint(r)
		return s, nil
	})
	g.AddEdge(weft.Start, "plan").AddEdge("plan", "tool").AddEdge("tool", "summarize")
	return g
}

func run(ctx context.Context, out io.Writer, dir string) error {
	// checkpointer=SqliteSaver(...) → WithStore(sqlitestore.Open(...)).
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "agent.db"), sqlitestore.Options{Migrate: true})
	if err != nil {
		return err
	}
	defer store.Close()
	wf, err := graph().Compile(weft.WithStore(store))
	if err != nil {
		return err
	}
	// graph.invoke(input, config={"thread_id": "1"}) → Run(ctx, "1", input).
	res, err := wf.Run(ctx, "1", State{Task: "book a flight"})
	if err != nil {
		return err
	}
	for _, q := range res.Interrupts {
		fmt.Fprintf(out, "paused: %s asks %s\n", q.Node, q.Key)
	}
	// Command(resume={"approve-search": True}) → Answers by key: the
	// other branch keeps waiting.
	res, err = wf.Resume(ctx, "1", weft.Answers(map[string]any{"approve-search": true}))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after one answer: %s, %d question left\n", res.Status, len(res.Interrupts))
	// update_state(config, {"task": ...}) → UpdateState. The pending
	// question is asked again; the answered branch's result is kept only
	// if it had finished — here its output is dropped and it asks again.
	if _, err := wf.UpdateState(ctx, "1", func(s State) State { s.Task = "book a train"; return s }); err != nil {
		return err
	}
	res, err = wf.Resume(ctx, "1")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after the edit: %s, %d questions\n", res.Status, len(res.Interrupts))
	res, err = wf.Resume(ctx, "1", weft.Answers(map[string]any{"approve-search": true, "approve-email": false}))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s\n", res.Status, res.State.Summary)
	// get_state_history(config) → History, newest first.
	n := 0
	for snap, err := range wf.History(ctx, "1") {
		if err != nil {
			return err
		}
		if n == 0 {
			fmt.Fprintf(out, "history: newest %s (step %d)", snap.Source, snap.Step)
		}
		n++
	}
	fmt.Fprintf(out, ", %d checkpoints\n", n)
	return nil
}

func main() {
	dir, err := os.MkdirTemp("", "fromlanggraph")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), os.Stdout, dir); err != nil {
		log.Fatal(err)
	}
}
