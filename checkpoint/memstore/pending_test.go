package memstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// TestPendingIndex drives the store with random questions, answers,
// cancellations and deletions (threads created again under the same IDs
// included) and checks, after each step, that the pending questions the
// index serves, page by page, are those a scan of every question finds.
func TestPendingIndex(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	s := memstore.New()
	version := func(thread string) (int64, bool) {
		row, err := s.Thread(ctx, thread)
		if err != nil {
			return 0, false
		}
		return row.Version, true
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ask := func(thread string, n int) {
		v, _ := version(thread)
		qs := make([]checkpoint.InterruptRecord, n)
		for i := range qs {
			qs[i] = checkpoint.InterruptRecord{ID: fmt.Sprintf("q%d-%d", v, i), ThreadID: thread, Workflow: "w", CheckpointID: "c",
				Assignees: []string{[]string{"ann", "bob"}[rng.IntN(2)]}, Status: checkpoint.InterruptPending,
				// Questions mostly come in time order, not always.
				CreatedAt: base.Add(time.Duration(rng.IntN(1000)) * time.Second)}
		}
		row := checkpoint.Thread{ID: thread, Workflow: "w", Status: checkpoint.StatusInterrupted, Head: "c"}
		if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: row, ExpectedVersion: v, At: base, Interrupts: qs}); err != nil {
			t.Fatal(err)
		}
	}
	pendingOf := func(thread string) []checkpoint.InterruptRecord {
		page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: thread, Status: checkpoint.InterruptPending, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return page.Interrupts
	}
	check := func(step int, q checkpoint.InterruptQuery) {
		t.Helper()
		// The model: every question, listed without the status filter (a
		// scan), kept if pending and matching.
		var want []string
		all := checkpoint.InterruptQuery{Limit: 1000}
		for {
			page, err := s.Interrupts(ctx, &all)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Interrupts {
				if r.Status == checkpoint.InterruptPending && (len(q.Assignees) == 0 || slices.Contains(r.Assignees, q.Assignees[0])) {
					want = append(want, r.ThreadID+"/"+r.ID)
				}
			}
			if page.Next == "" {
				break
			}
			all.After = page.Next
		}
		var got []string
		q.Status, q.Limit = checkpoint.InterruptPending, 7
		for {
			page, err := s.Interrupts(ctx, &q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Interrupts {
				got = append(got, r.ThreadID+"/"+r.ID)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		if !slices.Equal(got, want) {
			t.Fatalf("step %d, assignees %v: index pages\n%v\nscan\n%v", step, q.Assignees, got, want)
		}
	}
	for step := range 600 {
		thread := fmt.Sprintf("t%d", rng.IntN(30))
		switch op := rng.IntN(10); {
		case op < 4:
			ask(thread, 1+rng.IntN(3))
		case op < 7:
			if ps := pendingOf(thread); len(ps) > 0 {
				r := ps[rng.IntN(len(ps))]
				_, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: thread, Answers: []checkpoint.Answer{{ThreadID: thread, InterruptID: r.ID, Value: json.RawMessage(`1`)}}})
				if err != nil {
					t.Fatal(err)
				}
			}
		case op < 9:
			if v, ok := version(thread); ok {
				row := checkpoint.Thread{ID: thread, Workflow: "w", Status: checkpoint.StatusCancelled, Head: "c"}
				if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: row, ExpectedVersion: v, At: base, Cancel: &checkpoint.Cancellation{}}); err != nil {
					t.Fatal(err)
				}
			}
		default:
			if _, ok := version(thread); ok {
				if err := s.DeleteThread(ctx, thread); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step%10 == 0 {
			check(step, checkpoint.InterruptQuery{})
			check(step, checkpoint.InterruptQuery{Assignees: []string{"ann"}})
		}
	}
}

// BenchmarkInboxFirstPage reads the first page of pending questions
// (oldest first, 50 of them) among 100,000 pending, with and without an
// assignee filter.
func BenchmarkInboxFirstPage(b *testing.B) {
	ctx := context.Background()
	s := memstore.New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		id := fmt.Sprintf("t%06d", i)
		q := checkpoint.InterruptRecord{ID: "q", ThreadID: id, Workflow: "w", CheckpointID: "c", Status: checkpoint.InterruptPending,
			Assignees: []string{fmt.Sprintf("team%d", i%10)}, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		row := checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusInterrupted, Head: "c"}
		if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: row, At: base, Interrupts: []checkpoint.InterruptRecord{q}}); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		q    checkpoint.InterruptQuery
	}{
		{"all", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Limit: 50}},
		{"assignee", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"team3"}, Limit: 50}},
		{"workflow", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Workflow: "w", Limit: 50}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := s.Interrupts(ctx, &bc.q)
				if err != nil || len(page.Interrupts) != 50 {
					b.Fatal(err, len(page.Interrupts))
				}
			}
		})
	}
}
