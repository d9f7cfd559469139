package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

type threadsOut struct {
	Threads []threadJSON `json:"threads"`
	Next    string       `json:"next"`
}

// failing is a workflow whose node fails, run with a clock two hours
// behind, so that its thread is old.
func failing(t *testing.T, store *sqlitestore.Store, clock func() time.Time) *weft.Workflow[Ext] {
	t.Helper()
	g := weft.NewGraph[Ext]("ext-fail")
	g.AddNode("boom", func(ctx context.Context, e Ext) (Ext, error) {
		return e, errors.New("the printer\nis on fire")
	})
	g.AddEdge(weft.Start, "boom")
	wf, err := g.Compile(weft.WithStore(store), weft.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func TestThreads(t *testing.T) {
	dir := fixture(t)
	setup(t, dir, func(ctx context.Context, store *sqlitestore.Store, runners []weft.Runner) {
		old := func() time.Time { return time.Now().Add(-2 * time.Hour) }
		if _, err := failing(t, store, old).Run(ctx, "fail-1", Ext{}); err == nil {
			t.Fatal("the failing workflow did not fail")
		}
		// dead-1: running, claimed by a process that died (its lease lapsed).
		if err := runners[0].Submit(ctx, "dead-1", json.RawMessage(`{"Title":"x"}`)); err != nil {
			t.Fatal(err)
		}
		row, err := store.Thread(ctx, "dead-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Claim(ctx, &checkpoint.Claim{ThreadID: "dead-1", ExpectedVersion: row.Version, Owner: "gone", Lease: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	})
	time.Sleep(5 * time.Millisecond) // dead-1's lease lapses

	var all threadsOut
	weftIn(t, dir, "", "threads", "--json").want(t, 0).json(t, &all)
	if len(all.Threads) != 9 || all.Next != "" {
		t.Fatalf("%d threads (next %q), want 9: %+v", len(all.Threads), all.Next, all.Threads)
	}
	for i := 1; i < len(all.Threads); i++ {
		if all.Threads[i-1].ID >= all.Threads[i].ID {
			t.Errorf("threads are not ordered by ID: %s, %s", all.Threads[i-1].ID, all.Threads[i].ID)
		}
	}

	for _, tc := range []struct {
		args []string
		want []string // thread IDs
	}{
		{[]string{"--status", "failed"}, []string{"fail-1"}},
		{[]string{"--status", "running"}, []string{"dead-1"}},
		{[]string{"--workflow", "ext-review"}, []string{"ext-1"}},
		{[]string{"--workflow", "demo-refine", "--status", "interrupted"}, []string{"essay-1"}},
		{[]string{"--older-than", "1h"}, []string{"fail-1"}},
		{[]string{"--older-than", "3h"}, nil},
		{[]string{"--status", "completed"}, nil},
		{[]string{"--limit", "2"}, []string{all.Threads[0].ID, all.Threads[1].ID}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out threadsOut
			weftIn(t, dir, "", append([]string{"threads", "--json"}, tc.args...)...).want(t, 0).json(t, &out)
			var got []string
			for _, th := range out.Threads {
				got = append(got, th.ID)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("threads %v: %v, want %v", tc.args, got, tc.want)
			}
		})
	}

	var failed threadsOut
	weftIn(t, dir, "", "threads", "--status", "failed", "--json").want(t, 0).json(t, &failed)
	if f := failed.Threads[0]; f.Workflow != "ext-fail" || !strings.Contains(f.Error, "on fire") || time.Since(f.Updated) < time.Hour {
		t.Errorf("fail-1: %+v", f)
	}
	var running threadsOut
	weftIn(t, dir, "", "threads", "--status", "running", "--json").want(t, 0).json(t, &running)
	if d := running.Threads[0]; d.Owner != "gone" || !d.Lapsed || d.LeaseUntil.IsZero() {
		t.Errorf("dead-1: %+v", d)
	}

	// Text: the zone of each time, the lapsed claim, the error on one line.
	zone := time.Now().Format("-07:00")
	weftIn(t, dir, "", "threads").want(t, 0, "THREAD", "WORKFLOW", "STATUS", "OWNER", "UPDATED",
		"gone (lapsed)", "the printer is on fire", zone, "ext-fail")
	weftIn(t, dir, "", "threads", "--status", "completed").want(t, 0, "No threads match.")

	// Pages, with a filter the command applies itself.
	var seen []string
	args := []string{"threads", "--json", "--limit", "4"}
	for range 5 {
		var page threadsOut
		weftIn(t, dir, "", args...).want(t, 0).json(t, &page)
		for _, th := range page.Threads {
			seen = append(seen, th.ID)
		}
		if page.Next == "" {
			break
		}
		args = []string{"threads", "--json", "--limit", "4", "--after", page.Next}
	}
	if len(seen) != 9 {
		t.Errorf("pages gave %v, want 9 threads", seen)
	}
	weftIn(t, dir, "", "threads", "--limit", "3").want(t, 0, "More: weft threads --after ")

	weftIn(t, dir, "", "threads", "--status", "stuck").want(t, exitUsage, "want one of")
	weftIn(t, dir, "", "threads", "--limit", "0").want(t, exitUsage)
}
