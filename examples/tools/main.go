// Command tools is an agent whose model asks for three tool calls in one
// turn. Each call is a branch of a fan-out (weft.Map) that asks a human to
// approve it; the calls are approved or rejected one by one, the approved
// ones run exactly once (weft.Do), and the model sees the results.
//
// The model is a deterministic stand-in: no network.
//
//	go run ./examples/tools
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// Call is a tool call the model asks for.
type Call struct {
	Tool string `json:"tool"`
	Arg  string `json:"arg"`
}

// Turn is the agent's state.
type Turn struct {
	Question string
	Calls    []Call
	Results  []string
	Answer   string
}

// Approval is the human's answer to one call.
type Approval struct {
	Approve bool   `json:"approve"`
	Why     string `json:"why,omitempty"`
}

// executed counts how often each tool really ran, estimated how often its
// cost was estimated (an API call worth doing once).
// Branches run in parallel, hence the lock.
var (
	mu                  sync.Mutex
	executed, estimated = map[string]int{}, map[string]int{}
)

func count(m map[string]int, key string) {
	mu.Lock()
	defer mu.Unlock()
	m[key]++
}

func execute(c Call) string {
	count(executed, c.Tool+" "+c.Arg)
	switch c.Tool {
	case "weather":
		return "sunny in " + c.Arg
	case "calendar":
		return "free on " + c.Arg
	default:
		return "sent to " + c.Arg
	}
}

func build() (*weft.Workflow[Turn], error) {
	g := weft.NewGraph[Turn]("tools")
	g.AddNode("model", func(ctx context.Context, t Turn) (Turn, error) {
		t.Calls = []Call{{"weather", "Lisbon"}, {"calendar", "Friday"}, {"email", "boss@example.com"}}
		return t, nil
	})
	g.AddMap("call", weft.Map(func(t Turn) []Call { return t.Calls },
		func(ctx context.Context, t Turn, c Call) (Turn, error) {
			// Code before an Interrupt runs again when the branch resumes;
			// Do makes its effect happen once.
			cost, err := weft.Do(ctx, "estimate", func(ctx context.Context) (int, error) {
				count(estimated, c.Tool)
				return len(c.Arg), nil
			})
			if err != nil {
				return t, err
			}
			a, err := weft.Interrupt[Approval](ctx, map[string]any{"call": c, "cost": cost}, weft.Key(c.Tool), weft.Reason("run this tool?"))
			if err != nil {
				return t, err
			}
			if !a.Approve {
				t.Results = append(t.Results, fmt.Sprintf("%s: rejected (%s)", c.Tool, a.Why))
				return t, nil
			}
			out, err := weft.Do(ctx, "execute", func(ctx context.Context) (string, error) { return execute(c), nil })
			if err != nil {
				return t, err
			}
			t.Results = append(t.Results, c.Tool+": "+out)
			return t, nil
		}))
	g.AddNode("answer", func(ctx context.Context, t Turn) (Turn, error) {
		sort.Strings(t.Results)
		t.Answer = "Based on " + strings.Join(t.Results, "; ")
		return t, nil
	})
	g.AddEdge(weft.Start, "model").AddEdge("model", "call").AddEdge("call", "answer")
	g.Reduce("Results", weft.Append())
	return g.Compile(weft.WithStore(memstore.New()))
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	res, err := wf.Run(ctx, "trip", Turn{Question: "plan my Friday in Lisbon"})
	if err != nil {
		return err
	}
	byTool := map[string]weft.Question{}
	for _, q := range res.Interrupts {
		fmt.Fprintf(w, "asks %s (%s): %s\n", q.Task, q.Key, q.Value)
		byTool[q.Key] = q
	}
	// The answers come one at a time, in any order; each resume runs only
	// what became ready.
	answers := []struct {
		tool string
		a    Approval
	}{
		{"email", Approval{Approve: false, Why: "not on a Friday"}},
		{"weather", Approval{Approve: true}},
		{"calendar", Approval{Approve: true}},
	}
	for _, x := range answers {
		res, err = wf.Resume(ctx, "trip", weft.Answer(byTool[x.tool].ID, x.a))
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "answered %s: %s, %d questions left\n", x.tool, res.Status, len(res.Interrupts))
	}
	fmt.Fprintln(w, res.State.Answer)
	fmt.Fprintln(w, "ran: weather", executed["weather Lisbon"], "calendar", executed["calendar Friday"], "email", executed["email boss@example.com"])
	fmt.Fprintln(w, "estimated: weather", estimated["weather"], "calendar", estimated["calendar"], "email", estimated["email"])
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
