package weft_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

type chatState struct {
	Messages []string
	Turns    int
}

// TestTurnCostDoesNotGrow is the guard of a long chat's cost that times
// nothing: one turn (State, then Resume with the user's message, through
// the assistant's reply to the next question) sends as many statements at
// turn 150 as at turn 5, on PostgreSQL, whether the workflow has the
// thread's head decoded already (the same handle) or not (a new handle, as
// another process would be). With the plans the store's tests check
// (TestHeadQuestionsReadOnlyTheHead, TestCheckpointChainCost), the same
// statements read the same rows, but the Append chain of a cold read. A
// warm turn is measured after a warm one: a turn made through another
// handle leaves this handle's decoded head stale, which costs a read.
func TestTurnCostDoesNotGrow(t *testing.T) {
	ctx := context.Background()
	pool, count := pgtest.CountingPool(t)
	store, err := pgstore.New(ctx, pool, pgstore.Options{Schema: pgtest.Schema(t), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	compile := func() *weft.Workflow[chatState] {
		g := weft.NewGraph[chatState]("chat")
		g.AddNode("user", func(ctx context.Context, c chatState) (chatState, error) {
			in, err := weft.Interrupt[string](ctx, "your turn", weft.Key("user_input"))
			c.Messages = append(c.Messages, in)
			return c, err
		})
		g.AddNode("reply", func(ctx context.Context, c chatState) (chatState, error) {
			c.Turns++
			c.Messages = append(c.Messages, fmt.Sprint("reply ", c.Turns))
			return c, nil
		})
		g.AddEdge(weft.Start, "user").AddEdge("user", "reply").AddEdge("reply", "user")
		wf, err := g.Compile(weft.WithStore(store))
		if err != nil {
			t.Fatal(err)
		}
		return wf
	}
	wf := compile()
	if _, err := wf.Run(ctx, "chat", chatState{}); err != nil {
		t.Fatal(err)
	}
	turn := func(wf *weft.Workflow[chatState], n int) int64 {
		t.Helper()
		before := count.N()
		snap, err := wf.State(ctx, "chat")
		if err != nil || len(snap.Interrupts) != 1 {
			t.Fatalf("turn %d: State = %+v, %v", n, snap, err)
		}
		res, err := wf.Resume(ctx, "chat", weft.Answer(snap.Interrupts[0].ID, fmt.Sprint("message ", n)))
		if err != nil || !res.Paused() || len(res.State.Messages) != 2*n {
			t.Fatalf("turn %d: Resume = %+v, %v", n, res, err)
		}
		return count.N() - before
	}
	cost := map[string]map[int]int64{"warm": {}, "cold": {}}
	for n := 1; n <= 150; n++ {
		switch n {
		case 5, 150:
			cost["warm"][n] = turn(wf, n)
		case 7, 148:
			cost["cold"][n] = turn(compile(), n)
		default:
			turn(wf, n)
		}
	}
	t.Logf("statements per turn: %v", cost)
	if w := cost["warm"]; w[5] != w[150] {
		t.Errorf("a turn on a warm handle sends %d statements at turn 5, %d at turn 150", w[5], w[150])
	}
	if c := cost["cold"]; c[7] != c[148] {
		t.Errorf("a turn on a cold handle sends %d statements at turn 7, %d at turn 148", c[7], c[148])
	}
}
