package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var threadTests = []test{
	{"NotFound", func(e *env) {
		_, err := e.s.Thread(e.ctx, "nope")
		wantErr(e.t, `Thread("nope")`, err, checkpoint.ErrNotFound)
	}},
	{"RoundTrip", testThreadRoundTrip},
}

// testThreadRoundTrip: every field of the row comes back as committed, with
// Version, CreatedAt and UpdatedAt set by the store.
func testThreadRoundTrip(e *env) {
	row := checkpoint.Thread{
		ID: "t1", Workflow: "review", GraphHash: "h1", Status: checkpoint.StatusRunning,
		Version: 42, Head: "caller's head", Owner: "worker-7", Epoch: 3,
		// Ignored: the store sets the lease from Commit.Lease.
		LeaseUntil: at(-100), StopRequested: at(-100),
		// Ignored: the store sets them.
		CreatedAt: at(-100), UpdatedAt: at(-100),
	}
	c1 := at(1).Add(777 * time.Microsecond)
	v, err := e.s.Commit(e.ctx, &checkpoint.Commit{Thread: row, At: c1})
	noErr(e.t, "Commit(new thread)", err)
	if v != 1 {
		e.t.Errorf("Commit(new thread) = version %d, want 1", v)
	}
	want := row
	want.Version, want.CreatedAt, want.UpdatedAt = 1, c1, c1
	checkThread(e.t, "after the first commit", e.getThread("t1"), want)

	// The second commit changes every field the caller owns; CreatedAt
	// stays the first commit's, zero times stay zero.
	row2 := checkpoint.Thread{
		ID: "t1", Workflow: "review2", GraphHash: "h2", Status: checkpoint.StatusFailed,
		Version: 7, Head: "", Error: "node x: boom", Owner: "", Epoch: 3, CreatedAt: at(50),
	}
	c2 := at(2).Add(3 * time.Microsecond)
	v, err = e.s.Commit(e.ctx, &checkpoint.Commit{Thread: row2, ExpectedVersion: 1, At: c2})
	noErr(e.t, "Commit(version 1)", err)
	if v != 2 {
		e.t.Errorf("Commit(version 1) = version %d, want 2", v)
	}
	want = row2
	want.Version, want.CreatedAt, want.UpdatedAt = 2, c1, c2
	checkThread(e.t, "after the second commit", e.getThread("t1"), want)

	// Thread IDs are compared exactly.
	for _, id := range []string{"T1", "t1 ", "t"} {
		_, err := e.s.Thread(e.ctx, id)
		wantErr(e.t, fmt.Sprintf("Thread(%q)", id), err, checkpoint.ErrNotFound)
	}
}

var threadsTests = []test{
	{"Empty", func(e *env) {
		page, err := e.s.Threads(e.ctx, &checkpoint.ThreadQuery{})
		noErr(e.t, "Threads", err)
		if len(page.Threads) != 0 || page.Next != "" {
			e.t.Errorf("Threads of an empty store = %d threads, Next %q; want none, \"\"", len(page.Threads), page.Next)
		}
	}},
	{"Filters", testThreadsFilters},
	{"Pages", testThreadsPages},
	{"DefaultLimit", testThreadsDefaultLimit},
	{"PagesWhileChanging", testThreadsPagesWhileChanging},
}

// threadSet commits one thread per (id, workflow, status), in the order
// given, and returns their rows as stored.
func (e *env) threadSet(rows ...checkpoint.Thread) map[string]checkpoint.Thread {
	e.t.Helper()
	out := make(map[string]checkpoint.Thread, len(rows))
	for i, r := range rows {
		f := e.thread(r.ID, r.Workflow)
		f.row.Status = r.Status
		f.commit(checkpoint.Commit{At: at(i)})
		out[r.ID] = *e.getThread(r.ID)
	}
	return out
}

func threadIDs(ts []checkpoint.Thread) []string {
	out := make([]string, len(ts))
	for i, th := range ts {
		out[i] = th.ID
	}
	return out
}

// testThreadsFilters: Workflow and Status filter, alone and together;
// threads come ordered by ID whatever the order they were created in.
func testThreadsFilters(e *env) {
	const (
		run = checkpoint.StatusRunning
		irq = checkpoint.StatusInterrupted
		end = checkpoint.StatusCompleted
	)
	stored := e.threadSet(
		checkpoint.Thread{ID: "m", Workflow: "a", Status: irq},
		checkpoint.Thread{ID: "b", Workflow: "b", Status: run},
		checkpoint.Thread{ID: "z", Workflow: "a", Status: run},
		checkpoint.Thread{ID: "a", Workflow: "a", Status: irq},
		checkpoint.Thread{ID: "k", Workflow: "b", Status: end},
		checkpoint.Thread{ID: "a2", Workflow: "ab", Status: irq},
		checkpoint.Thread{ID: "B", Workflow: "b", Status: irq},
		checkpoint.Thread{ID: "é", Workflow: "a", Status: irq},
	)
	for _, tc := range []struct {
		name string
		q    checkpoint.ThreadQuery
		want []string
	}{
		{"All", checkpoint.ThreadQuery{}, []string{"B", "a", "a2", "b", "k", "m", "z", "é"}},
		{"Workflow", checkpoint.ThreadQuery{Workflow: "a"}, []string{"a", "m", "z", "é"}},
		{"Status", checkpoint.ThreadQuery{Status: irq}, []string{"B", "a", "a2", "m", "é"}},
		{"WorkflowAndStatus", checkpoint.ThreadQuery{Workflow: "a", Status: run}, []string{"z"}},
		{"NoMatch", checkpoint.ThreadQuery{Workflow: "b", Status: checkpoint.StatusFailed}, nil},
		{"UnknownWorkflow", checkpoint.ThreadQuery{Workflow: "x"}, nil},
	} {
		e.run(tc.name, func(e *env) {
			page, err := e.s.Threads(e.ctx, &tc.q)
			noErr(e.t, fmt.Sprintf("Threads(%+v)", tc.q), err)
			if got := threadIDs(page.Threads); !slices.Equal(got, tc.want) {
				e.t.Errorf("Threads(%+v) = %q, want %q", tc.q, got, tc.want)
			}
			if page.Next != "" {
				e.t.Errorf("Threads(%+v).Next = %q, want \"\" (one page)", tc.q, page.Next)
			}
			for i := range page.Threads {
				got := &page.Threads[i]
				checkThread(e.t, "Threads: "+got.ID, got, stored[got.ID])
			}
		})
	}
}

// testThreadsPages: a cursor walks every matching thread once, in order,
// Limit at a time; Next is "" on the last page.
func testThreadsPages(e *env) {
	var rows []checkpoint.Thread
	var want, wantA []string
	for i := range 23 {
		id := fmt.Sprintf("t%02d", (i*7)%23) // created out of order
		wf := "a"
		if i%3 == 0 {
			wf = "b"
		}
		rows = append(rows, checkpoint.Thread{ID: id, Workflow: wf, Status: checkpoint.StatusRunning})
	}
	e.threadSet(rows...)
	for i := range 23 {
		id := fmt.Sprintf("t%02d", i)
		want = append(want, id)
		if j := slices.IndexFunc(rows, func(r checkpoint.Thread) bool { return r.ID == id }); rows[j].Workflow == "a" {
			wantA = append(wantA, id)
		}
	}
	for _, tc := range []struct {
		name  string
		q     checkpoint.ThreadQuery
		limit int
		want  []string
	}{
		{"Limit5", checkpoint.ThreadQuery{}, 5, want},
		{"Limit1", checkpoint.ThreadQuery{}, 1, want},
		{"LimitDividesTotal", checkpoint.ThreadQuery{Workflow: "a"}, len(wantA) / 3, wantA},
		{"LimitEqualsTotal", checkpoint.ThreadQuery{}, 23, want},
		{"LimitAboveTotal", checkpoint.ThreadQuery{}, 24, want},
		{"Filtered", checkpoint.ThreadQuery{Workflow: "a"}, 4, wantA},
	} {
		e.run(tc.name, func(e *env) {
			q := tc.q
			q.Limit = tc.limit
			var got []string
			for pages := 1; ; pages++ {
				page, err := e.s.Threads(e.ctx, &q)
				noErr(e.t, fmt.Sprintf("Threads(%+v)", q), err)
				ids := threadIDs(page.Threads)
				if len(ids) > tc.limit {
					e.t.Fatalf("Threads(%+v): %d threads on one page, want at most %d", q, len(ids), tc.limit)
				}
				got = append(got, ids...)
				if page.Next == "" {
					break
				}
				if len(ids) < tc.limit {
					e.t.Errorf("Threads(%+v): a page of %d threads before the last, want %d", q, len(ids), tc.limit)
				}
				if pages > len(tc.want)+1 {
					e.t.Fatalf("Threads(%+v): more pages than threads", q)
				}
				q.After = page.Next
			}
			if !slices.Equal(got, tc.want) {
				e.t.Errorf("Threads pages of %d = %q, want %q", tc.limit, got, tc.want)
			}
		})
	}
}

// testThreadsDefaultLimit: Limit 0 means 100.
func testThreadsDefaultLimit(e *env) {
	for i := range 101 {
		f := e.thread(fmt.Sprintf("t%03d", i), "w")
		f.commit(checkpoint.Commit{})
	}
	page, err := e.s.Threads(e.ctx, &checkpoint.ThreadQuery{})
	noErr(e.t, "Threads(Limit 0)", err)
	if len(page.Threads) != 100 || page.Next == "" {
		e.t.Fatalf("Threads(Limit 0) = %d threads, Next %q; want 100 and a cursor", len(page.Threads), page.Next)
	}
	page, err = e.s.Threads(e.ctx, &checkpoint.ThreadQuery{After: page.Next})
	noErr(e.t, "Threads(second page)", err)
	if got := threadIDs(page.Threads); !slices.Equal(got, []string{"t100"}) || page.Next != "" {
		e.t.Errorf("Threads(second page) = %q, Next %q; want [t100], \"\"", got, page.Next)
	}
}

// testThreadsPagesWhileChanging: a cursor is a position: threads created or
// deleted between pages do not make the walk skip or repeat others.
func testThreadsPagesWhileChanging(e *env) {
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("t%02d", i)
		e.thread(id, "w").commit(checkpoint.Commit{})
		want = append(want, id)
	}
	q := checkpoint.ThreadQuery{Limit: 5}
	var got []string
	for pages := 0; ; pages++ {
		page, err := e.s.Threads(e.ctx, &q)
		noErr(e.t, "Threads", err)
		got = append(got, threadIDs(page.Threads)...)
		if pages == 0 {
			noErr(e.t, "DeleteThread(t02)", e.s.DeleteThread(e.ctx, "t02")) // read already
			noErr(e.t, "DeleteThread(t17)", e.s.DeleteThread(e.ctx, "t17")) // not read yet
			e.thread("t00a", "w").commit(checkpoint.Commit{})               // before the cursor
		}
		if page.Next == "" || pages > 20 {
			break
		}
		q.After = page.Next
	}
	want = slices.DeleteFunc(want, func(id string) bool { return id == "t17" })
	if !slices.Equal(got, want) {
		e.t.Errorf("Threads pages while threads come and go = %q, want %q", got, want)
	}
}
