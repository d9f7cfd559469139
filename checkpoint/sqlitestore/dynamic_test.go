package sqlitestore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// TestDynamicStatements queries the inbox with more distinct query texts
// than the store keeps prepared (an assignee list of each length from 1 to
// 100), twice: every query answers the same both times, prepared or not,
// and a query after Close fails instead of using a closed statement.
func TestDynamicStatements(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var recs []checkpoint.InterruptRecord
	for i := range 5 {
		recs = append(recs, checkpoint.InterruptRecord{ID: fmt.Sprintf("q%d", i), Node: "n",
			Assignees: []string{fmt.Sprintf("p%02d", i*20)}, CreatedAt: t0})
	}
	if _, err := s.Commit(ctx, &checkpoint.Commit{At: t0, Interrupts: recs,
		Thread: checkpoint.Thread{ID: "t", Status: checkpoint.StatusInterrupted}}); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		for n := 1; n <= 100; n++ {
			var who []string
			for i := range n {
				who = append(who, fmt.Sprintf("p%02d", i))
			}
			page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: who})
			if err != nil {
				t.Fatalf("round %d, %d assignees: %v", round, n, err)
			}
			want := min((n+19)/20, 5) // p00 is q0's, p20 q1's, ...
			if len(page.Interrupts) != want {
				t.Fatalf("round %d, %d assignees: %d questions, want %d", round, n, len(page.Interrupts), want)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"p00"}}); err == nil {
		t.Fatal("Interrupts after Close succeeded")
	}
}
