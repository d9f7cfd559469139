package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// seed is one thread Seed starts.
type seed struct {
	workflow string
	prefix   string // thread IDs are prefix-1, prefix-2, ...
	input    any
}

var seeds = []seed{
	{Approval, "post", Post{Title: "Weft 0.1 is out"}},
	{Approval, "post", Post{Title: "Durable workflows in Go"}},
	{Refine, "essay", Essay{Topic: "why agents need an inbox"}},
	{Refund, "refund-small", RefundRequest{Customer: "ada@example.com", Amount: 42.5, Reason: "arrived damaged"}},
	{Refund, "refund-large", RefundRequest{Customer: "grace@example.com", Amount: 480, Reason: "never delivered"}},
	{Agent, "agent", Task{Goal: "launch the pricing page"}},
}

// Seed starts the demo threads, so that the inbox has questions in it, and
// returns the IDs of the threads it started. A kind of thread (by its ID
// prefix: "post", "essay", "refund-small", ...) that still has as many
// threads waiting for an answer as Seed would start is left as it is, so
// that running Seed at every start of `weft demo` tops the inbox up
// instead of filling it. New threads take the next free number
// ("post-3"). runners are the demo's (Workflows); opts go to every Run.
func Seed(ctx context.Context, runners []weft.Runner, opts ...weft.RunOption) ([]string, error) {
	byName := map[string]weft.Runner{}
	for _, r := range runners {
		byName[r.Name()] = r
	}
	want := map[string]int{}
	for _, s := range seeds {
		want[s.prefix]++
	}
	waiting := map[string]int{}
	used := map[string]int{} // highest number used per prefix
	scanned := map[string]bool{}
	var started []string
	for _, s := range seeds {
		r, ok := byName[s.workflow]
		if !ok {
			return started, fmt.Errorf("demo: Seed: no runner for workflow %s", s.workflow)
		}
		store := r.Store()
		if store == nil {
			return started, fmt.Errorf("demo: Seed: workflow %s has no store", s.workflow)
		}
		if !scanned[s.workflow] {
			scanned[s.workflow] = true
			if err := scan(ctx, store, s.workflow, waiting, used); err != nil {
				return started, err
			}
		}
		if waiting[s.prefix] >= want[s.prefix] {
			continue
		}
		in, err := json.Marshal(s.input)
		if err != nil {
			return started, fmt.Errorf("demo: Seed: %w", err)
		}
		used[s.prefix]++
		id := s.prefix + "-" + strconv.Itoa(used[s.prefix])
		if _, err := r.Run(ctx, id, in, opts...); err != nil {
			return started, fmt.Errorf("demo: Seed: start %s: %w", id, err)
		}
		waiting[s.prefix]++
		started = append(started, id)
	}
	return started, nil
}

// scan counts the threads of workflow that wait for answers, and the
// highest number used, by prefix.
func scan(ctx context.Context, store checkpoint.Store, workflow string, waiting, used map[string]int) error {
	q := &checkpoint.ThreadQuery{Workflow: workflow, Limit: 500}
	for {
		page, err := store.Threads(ctx, q)
		if err != nil {
			return fmt.Errorf("demo: Seed: threads of %s: %w", workflow, err)
		}
		for _, t := range page.Threads {
			i := strings.LastIndexByte(t.ID, '-')
			if i < 0 {
				continue
			}
			n, err := strconv.Atoi(t.ID[i+1:])
			if err != nil {
				continue
			}
			prefix := t.ID[:i]
			used[prefix] = max(used[prefix], n)
			if t.Status == checkpoint.StatusInterrupted {
				waiting[prefix]++
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}
