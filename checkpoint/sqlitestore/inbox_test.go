package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// TestInboxAgainstMemstore fills this store and memstore with the same
// random interrupts (several per thread, equal creation times, overlapping
// assignees, answered and cancelled ones, deadlines or not) and checks that
// random queries, read page by page, return the same interrupts in the same
// order from both: the SQL of every query shape (index ranges, merged
// assignee ranges, cursors) against the plain Go of memstore.
func TestInboxAgainstMemstore(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	sql, mem := open(t), memstore.New()
	stores := []checkpoint.Store{sql, mem}
	people := []string{"ann", "bob", "cy", "role:legal", "role:ops"}
	pick := func(from []string, max int) []string {
		var out []string
		for _, p := range from {
			if rng.IntN(len(from)) < max {
				out = append(out, p)
			}
		}
		return out
	}
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

	const threads = 30
	for th := range threads {
		id := fmt.Sprintf("t%02d", th)
		wf := fmt.Sprintf("w%d", rng.IntN(3))
		var version int64
		commit := func(c checkpoint.Commit) {
			c.Thread = checkpoint.Thread{ID: id, Workflow: wf, Status: checkpoint.StatusInterrupted}
			c.ExpectedVersion = version
			c.At = at(int(version))
			for _, s := range stores {
				if _, err := s.Commit(ctx, &c); err != nil {
					t.Fatalf("Commit(%s, %d): %v", id, version, err)
				}
			}
			version++
		}
		for round := range 1 + rng.IntN(3) {
			var recs []checkpoint.InterruptRecord
			for q := range 1 + rng.IntN(4) {
				r := checkpoint.InterruptRecord{
					ID:        fmt.Sprintf("q%d", rng.IntN(6)*10+q), // the same IDs in many threads
					Workflow:  wf,
					Node:      fmt.Sprintf("n%d", rng.IntN(3)),
					Assignees: pick(people, 2),
					CreatedAt: at(rng.IntN(20)), // many equal times
				}
				if rng.IntN(2) == 0 {
					r.Deadline = at(rng.IntN(40))
				}
				if !slices.ContainsFunc(recs, func(o checkpoint.InterruptRecord) bool { return o.ID == r.ID }) {
					recs = append(recs, r)
				}
			}
			c := checkpoint.Commit{Interrupts: recs}
			if round > 0 {
				c.Cancel = &checkpoint.Cancellation{Author: "engine", Channel: checkpoint.ChannelEngine, At: at(int(version)), Note: "asked again"}
			}
			commit(c)
			for _, r := range recs {
				if rng.IntN(3) == 0 {
					a := &checkpoint.AnswerRequest{ThreadID: id,
						Answers: []checkpoint.Answer{{ThreadID: id, InterruptID: r.ID, Value: []byte(`1`), Author: "x", At: at(50)}}}
					// A question asked again keeps its row, which may be
					// answered already: both stores must say the same.
					r1, e1 := sql.Answer(ctx, a)
					r2, e2 := mem.Answer(ctx, a)
					if (e1 == nil) != (e2 == nil) || (e2 != nil && !errors.Is(e1, checkpoint.ErrAlreadyAnswered)) {
						t.Fatalf("Answer(%s, %s): sqlitestore %v, memstore %v", id, r.ID, e1, e2)
					}
					if e1 == nil {
						if r1.Thread.Version != r2.Thread.Version || r1.Thread.Status != r2.Thread.Status {
							t.Fatalf("Answer(%s, %s): sqlitestore %+v, memstore %+v", id, r.ID, r1.Thread, r2.Thread)
						}
						version = r1.Thread.Version // the thread became ready
					}
				}
			}
		}
	}

	statuses := []checkpoint.InterruptStatus{"", checkpoint.InterruptPending, checkpoint.InterruptAnswered, checkpoint.InterruptCancelled}
	queries := 200
	if testing.Short() || raceEnabled {
		queries = 40 // the race detector slows SQLite down forty times
	}
	for n := range queries {
		q := checkpoint.InterruptQuery{Status: statuses[rng.IntN(len(statuses))], Limit: 2 + rng.IntN(9)}
		if n%5 != 0 {
			q.Status = checkpoint.InterruptPending // mostly the inbox
		}
		if rng.IntN(3) == 0 {
			q.Workflow = fmt.Sprintf("w%d", rng.IntN(3))
		}
		if rng.IntN(4) == 0 {
			q.Node = fmt.Sprintf("n%d", rng.IntN(3))
		}
		if rng.IntN(2) == 0 {
			q.Assignees = pick(append(people, "nobody"), 3)
		}
		if rng.IntN(4) == 0 {
			q.CreatedBefore = at(rng.IntN(22))
		}
		if rng.IntN(5) == 0 {
			q.DueBefore = at(rng.IntN(42))
		}
		if rng.IntN(8) == 0 {
			q.ThreadID = fmt.Sprintf("t%02d", rng.IntN(threads))
		}
		if rng.IntN(10) == 0 {
			q.ID = fmt.Sprintf("q%d", rng.IntN(6)*10)
		}
		got, want := readAll(t, sql, q), readAll(t, mem, q)
		if !slices.Equal(got, want) {
			t.Fatalf("Interrupts(%+v):\nsqlitestore %q\nmemstore    %q", q, got, want)
		}
	}

	// More assignees than the store merges: it filters and sorts instead.
	many := slices.Clone(people)
	for i := range 60 {
		many = append(many, fmt.Sprintf("user%d", i))
	}
	for _, q := range []checkpoint.InterruptQuery{
		{Status: checkpoint.InterruptPending, Assignees: many, Limit: 7},
		{Status: checkpoint.InterruptAnswered, Assignees: many[3:], Workflow: "w1", Limit: 3},
	} {
		got, want := readAll(t, sql, q), readAll(t, mem, q)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("Interrupts(%d assignees):\nsqlitestore %q\nmemstore    %q", len(q.Assignees), got, want)
		}
	}
}

// readAll returns "thread/id status" of every interrupt q matches, following
// pages.
func readAll(t *testing.T, s checkpoint.Store, q checkpoint.InterruptQuery) []string {
	t.Helper()
	var out []string
	for range 1000 {
		page, err := s.Interrupts(context.Background(), &q)
		if err != nil {
			t.Fatalf("%T.Interrupts(%+v): %v", s, q, err)
		}
		if len(page.Interrupts) > q.Limit {
			t.Fatalf("%T.Interrupts(%+v): %d on a page", s, q, len(page.Interrupts))
		}
		for _, r := range page.Interrupts {
			out = append(out, r.ThreadID+"/"+r.ID+" "+string(r.Status))
		}
		if page.Next == "" {
			return out
		}
		q.After = page.Next
	}
	t.Fatalf("%T.Interrupts(%+v): too many pages", s, q)
	return nil
}
