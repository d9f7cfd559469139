package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// TestInboxQueryPlans checks with EXPLAIN QUERY PLAN that the first page of
// the inbox is read from an index in inbox order: no table scan, no sort
// (no temp b-tree for ORDER BY), so it costs the same at a million pending
// interrupts as at ten. The simplest of them, the inbox of everyone, is
//
//	SELECT i.thread_id, i.id, ... FROM interrupts i
//	WHERE i.status = ?
//	ORDER BY i.created_at, i.id, i.thread_id LIMIT ?
//
// read from interrupts_inbox (status, created_at, id, thread_id). See
// interruptsQuery for the others.
func TestInboxQueryPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	pending := checkpoint.InterruptPending
	cases := []struct {
		name string
		q    checkpoint.InterruptQuery
		// want must all appear in the plan; inbox says the query is
		// an inbox page: no sort, the cursor an index range.
		want  []string
		inbox bool
	}{
		{"Inbox", checkpoint.InterruptQuery{Status: pending}, []string{"USING INDEX interrupts_inbox (status=?"}, true},
		{"Workflow", checkpoint.InterruptQuery{Status: pending, Workflow: "w"}, []string{"USING INDEX interrupts_inbox_workflow (status=? AND workflow=?"}, true},
		{"WorkflowNode", checkpoint.InterruptQuery{Status: pending, Workflow: "w", Node: "n"}, []string{"USING INDEX interrupts_inbox_workflow (status=? AND workflow=?"}, true},
		{"Node", checkpoint.InterruptQuery{Status: pending, Node: "n"}, []string{"USING INDEX interrupts_inbox (status=?"}, true},
		{"Age", checkpoint.InterruptQuery{Status: pending, CreatedBefore: now}, []string{"USING INDEX interrupts_inbox (status=?", "created_at<?)"}, true},
		{"Answered", checkpoint.InterruptQuery{Status: checkpoint.InterruptAnswered, Workflow: "w"}, []string{"USING INDEX interrupts_inbox_workflow (status=? AND workflow=?"}, true},
		{"Assignee", checkpoint.InterruptQuery{Status: pending, Assignees: []string{"ann"}}, []string{"SEARCH a USING PRIMARY KEY (assignee=? AND status=?"}, true},
		{"Assignees", checkpoint.InterruptQuery{Status: pending, Assignees: []string{"ann", "role:legal", "bob"}}, []string{"MERGE (UNION)", "SEARCH a USING PRIMARY KEY (assignee=? AND status=?"}, true},
		{"AssigneesWorkflowAge", checkpoint.InterruptQuery{Status: pending, Assignees: []string{"ann", "bob"}, Workflow: "w", CreatedBefore: now}, []string{"MERGE (UNION)", "SEARCH a USING PRIMARY KEY (assignee=? AND status=?", "created_at<?)"}, true},
		// Not the inbox: the few due interrupts, and one thread's, sorted.
		{"Due", checkpoint.InterruptQuery{Status: pending, DueBefore: now}, []string{"USING INDEX interrupts_due (status=? AND deadline<?)", "TEMP B-TREE"}, false},
		{"Thread", checkpoint.InterruptQuery{ThreadID: "t", Status: pending}, []string{"(thread_id=?)", "TEMP B-TREE"}, false},
		{"ThreadAssignees", checkpoint.InterruptQuery{ThreadID: "t", Assignees: []string{"ann"}}, []string{"(thread_id=?)", "TEMP B-TREE"}, false},
		// The questions of a thread's head (every Resume and State): a
		// range of that checkpoint's, not a read of all the thread's.
		{"ThreadCheckpoint", checkpoint.InterruptQuery{ThreadID: "t", CheckpointID: "c"}, []string{"USING INDEX interrupts_checkpoint (thread_id=? AND checkpoint_id=?)"}, false},
		{"OneInterrupt", checkpoint.InterruptQuery{ThreadID: "t", ID: "q"}, []string{"sqlite_autoindex_interrupts_1 (thread_id=? AND id=?)"}, false},
	}
	for _, c := range cases {
		for _, page := range []string{"First", "Next"} {
			t.Run(c.name+"/"+page, func(t *testing.T) {
				var after *checkpoint.InterruptCursor
				if page == "Next" {
					after = &checkpoint.InterruptCursor{CreatedAt: decodeTime(1), ID: "q", ThreadID: "t"}
				}
				query, args := interruptsQuery(&c.q, after, 101)
				plan := explain(t, s, query, args)
				for _, w := range c.want {
					if !strings.Contains(plan, w) {
						t.Errorf("the plan lacks %q:\n%s", w, plan)
					}
				}
				for _, line := range strings.Split(plan, "\n") {
					if strings.HasPrefix(line, "SCAN i") || strings.HasPrefix(line, "SCAN a") {
						t.Errorf("the plan scans a table:\n%s", plan)
					}
				}
				if !c.inbox {
					return
				}
				if strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("the plan sorts:\n%s", plan)
				}
				if after != nil && !strings.Contains(plan, ">(?,?,?)") {
					t.Errorf("the cursor is not an index range:\n%s", plan)
				}
			})
		}
	}
}

// explain returns the plan of query, one step a line.
func explain(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestParseMigrations(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 || ms[0].version != 1 || ms[0].name != "init" {
		t.Fatalf("embedded migrations: %+v, %v", ms, err)
	}
	bad := []fstest.MapFS{
		{"m/0002_second.sql": {}},                         // a gap
		{"m/0001_a.sql": {}, "m/0001_b.sql": {}},          // twice
		{"m/1_init.sql": {}},                              // not NNNN
		{"m/0001_Init.sql": {}},                           // not lower case
		{"m/0001_init.txt": {}},                           // not .sql
		{"m/0001_init.sql": {}, "m/notes.md": {}},         // a stray file
		{"m/0001_init.sql": {}, "m/0003_third.sql": {}},   // a gap later
		{"m/0001_init.sql/x": {}},                         // a directory
		{"other/0001_init.sql": {Data: []byte("SELECT")}}, // none in m
	}
	for _, fsys := range bad {
		if ms, err := parseMigrations(fsys, "m"); err == nil {
			t.Errorf("parseMigrations(%v) = %+v, want an error", fsys, ms)
		}
	}
	ok := fstest.MapFS{"m/0001_init.sql": {Data: []byte("A")}, "m/0002_more_things.sql": {Data: []byte("B")}}
	ms, err = parseMigrations(ok, "m")
	if err != nil || len(ms) != 2 || ms[1].version != 2 || ms[1].name != "more_things" || ms[1].sql != "B" {
		t.Fatalf("parseMigrations = %+v, %v", ms, err)
	}
}

// TestClaimReadyQueryPlan checks with EXPLAIN QUERY PLAN that ClaimReady
// finds the threads it claims from the partial index threads_claimable
// (the ready and running threads, by workflow and age), not by scanning
// threads: the threads that ended, most of them in time, cost nothing.
// The claimable threads of the workflows (a range of the index each) are
// then sorted by age.
func TestClaimReadyQueryPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, workflows := range []string{`["w"]`, `["w1","w2","w3"]`} {
		t.Run(workflows, func(t *testing.T) {
			plan := explain(t, s, qClaimable, []any{workflows, int64(0), 10})
			if !strings.Contains(plan, "USING INDEX threads_claimable (workflow=?") {
				t.Errorf("the plan does not use threads_claimable:\n%s", plan)
			}
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(line, "SCAN threads") {
					t.Errorf("the plan scans threads:\n%s", plan)
				}
			}
			t.Log(plan)
		})
	}
}
