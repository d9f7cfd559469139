package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// inboxRows builds n interrupt rows for COPY: one per thread, pending,
// except every answeredEvery-th (0: none), over 20 workflows of 5 nodes,
// each assigned to one to three of 100 roles, created over 30 days from
// base, a third with a deadline.
func inboxRows(n, answeredEvery int, base time.Time) [][]any {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]any, n)
	value, schema := []byte(`{"draft":"Please review the attached text."}`), []byte(`{"type":"object"}`)
	for i := range rows {
		wf := fmt.Sprint("workflow-", rng.IntN(20))
		node := fmt.Sprint("node-", rng.IntN(5))
		assignees := make([]string, 1+rng.IntN(3))
		for j := range assignees {
			assignees[j] = fmt.Sprint("role-", rng.IntN(100))
		}
		created := base.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
		deadline := pgtype.Timestamptz{}
		if i%3 == 0 {
			deadline = pgtype.Timestamptz{Time: created.Add(24 * time.Hour), Valid: true}
		}
		status, answer, answeredAt := "pending", []byte(nil), pgtype.Timestamptz{}
		if answeredEvery > 0 && i%answeredEvery == 0 {
			status, answer, answeredAt = "answered", []byte(`{"action":"approve"}`), pgtype.Timestamptz{Time: created.Add(time.Hour), Valid: true}
		}
		thread := fmt.Sprintf("thread-%07d", i)
		rows[i] = []any{thread, "q-" + node, wf, checkpoint.FormatID(3), "", node, node, checkpoint.KindDynamic, "", int32(0), "review",
			value, schema, assignees, deadline, []byte(nil), []string(nil), status, answer, "", "", answeredAt, created, "", pgtype.Timestamptz{}}
	}
	return rows
}

// loadInbox fills s's interrupts table with inboxRows and vacuums it.
func loadInbox(tb testing.TB, s *pgstore.Store, n, answeredEvery int) {
	tb.Helper()
	ctx := context.Background()
	rows := inboxRows(n, answeredEvery, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := pgstore.CopyInterrupts(ctx, s, rows); err != nil {
		tb.Fatalf("COPY: %v", err)
	}
	// VACUUM sets the visibility map that index-only scans rely on, as
	// autovacuum does on a live database.
	for _, table := range []string{"interrupts", "interrupt_assignees"} {
		if _, err := s.Pool().Exec(ctx, "VACUUM ANALYZE "+pgx.Identifier{s.Schema(), table}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
	}
}

// inboxQueries are the first-page queries the inbox sends.
var inboxQueries = []struct {
	name string
	q    checkpoint.InterruptQuery
}{
	{"all", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Limit: 50}},
	{"workflow", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Workflow: "workflow-7", Limit: 50}},
	{"workflow+node", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Workflow: "workflow-7", Node: "node-3", Limit: 50}},
	{"node", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Node: "node-3", Limit: 50}},
	{"assignee", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"role-42"}, Limit: 50}},
	{"assignees", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"role-1", "role-2", "role-3"}, Limit: 50}},
	{"assignee+workflow", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"role-42"}, Workflow: "workflow-7", Limit: 50}},
	{"rare-assignee", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Assignees: []string{"nobody"}, Limit: 50}},
	{"older", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, CreatedBefore: time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC), Limit: 50}},
	{"due", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC), Limit: 50}},
}

// explain returns the plan of the query Interrupts sends for q.
func explain(tb testing.TB, s *pgstore.Store, q *checkpoint.InterruptQuery) string {
	tb.Helper()
	sql, args, err := pgstore.InterruptsSQL(s, q)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		tb.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestInboxUsesIndex checks that every first-page query of the pending
// inbox is served by an index, never by a sequential scan of interrupts.
// With 20,000 interrupts (every tenth answered) on PostgreSQL 15 the plans
// are (costs left out):
//
//	all:            Limit <- Index Scan using interrupts_inbox
//	workflow:       Limit <- Index Scan using interrupts_inbox_workflow, Index Cond: workflow = $1
//	workflow+node:  Limit <- Index Scan using interrupts_inbox_workflow, Index Cond: workflow = $1, Filter: node = $2
//	node:           Limit <- Index Scan using interrupts_inbox_node, Index Cond: node = $1
//	assignee(s), also rare ones:
//	                Limit <- Sort <- Nested Loop
//	                  <- Unique <- Sort <- Nested Loop
//	                       <- Function Scan on unnest r
//	                       <- Limit <- Index Only Scan using interrupt_assignees_pkey on interrupt_assignees x
//	                                     Index Cond: assignee = r.assignee
//	                  <- Index Scan using interrupts_pkey on interrupts i, Filter: status = 'pending'
//	assignee+workflow: the same with, per assignee, Limit <- Index Only Scan using
//	                interrupt_assignees_workflow, Index Cond: assignee = r.assignee AND workflow = $1
//	older:          Limit <- Index Scan using interrupts_inbox, Index Cond: created_at < $1
//	due:            Limit <- Sort <- Bitmap Heap Scan on interrupts <- Bitmap Index Scan on interrupts_due, Index Cond: deadline <= $1
//	second page:    Limit <- Index Scan using interrupts_inbox, Index Cond: ROW(created_at, id, thread_id) > ROW($1, $2, $3)
func TestInboxUsesIndex(t *testing.T) {
	s := newStore(t)
	loadInbox(t, s, 20000, 10)
	qs := append(inboxQueries[:len(inboxQueries):len(inboxQueries)], struct {
		name string
		q    checkpoint.InterruptQuery
	}{"second-page", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Limit: 50}})
	for i, c := range qs {
		t.Run(c.name, func(t *testing.T) {
			q := c.q
			if i == len(qs)-1 {
				page, err := s.Interrupts(t.Context(), &q)
				if err != nil {
					t.Fatalf("first page: %v", err)
				}
				if page.Next == "" {
					t.Fatal("first page: no next page")
				}
				q.After = page.Next
			}
			plan := explain(t, s, &q)
			t.Logf("plan:\n%s", plan)
			if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
				t.Errorf("the first page is not served by an index:\n%s", plan)
			}
		})
	}
}

// TestDueQueryReadsOnlyDue checks that the query of the deadline pass
// (every second, in the worker that leads maintenance: the pending
// questions due now and created before now) reads the due questions
// through interrupts_due and nothing else, with table statistics and
// without: an idle worker must not read every paused thread's question
// once a second. Of 20,000 questions asked before now (a third with a
// deadline, one in fifty of those due), the due ones are read; walking the
// inbox index instead visits and drops the thousands of others. That is
// what the generic plan of the bare query did (13,225 rows dropped here;
// on a worker's own tables, BenchmarkIdle in package worker, every pending
// question once a second): the query now reads the due questions in a
// materialised CTE, whatever the statistics and the kind of plan.
func TestDueQueryReadsOnlyDue(t *testing.T) {
	// stats: when the table was analysed: after the load, never, or when
	// it held only its first 20 questions (autovacuum analyses a young
	// table early and then seldom).
	for _, stats := range []string{"fresh", "none", "stale"} {
		t.Run(stats, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			rows := inboxRows(20000, 10, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			// Every question was asked before now (2025-02-05); of those with a
			// deadline, one in 50 is due, the others a month away.
			for i, r := range rows {
				if d := r[14].(pgtype.Timestamptz); d.Valid && i%150 != 3 {
					r[14] = pgtype.Timestamptz{Time: d.Time.Add(60 * 24 * time.Hour), Valid: true}
				}
			}
			analyze := func() {
				if _, err := s.Pool().Exec(ctx, "ANALYZE "+pgx.Identifier{s.Schema(), "interrupts"}.Sanitize()); err != nil {
					t.Fatal(err)
				}
			}
			first := 0
			if stats == "stale" {
				first = 20
				if _, err := pgstore.CopyInterrupts(ctx, s, rows[:first]); err != nil {
					t.Fatalf("COPY: %v", err)
				}
				analyze()
			}
			if _, err := pgstore.CopyInterrupts(ctx, s, rows[first:]); err != nil {
				t.Fatalf("COPY: %v", err)
			}
			if stats == "fresh" {
				analyze()
			}
			now := time.Date(2025, 2, 5, 0, 0, 0, 0, time.UTC)
			q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: now, CreatedBefore: now, Limit: 100}
			sql, args, err := pgstore.InterruptsSQL(s, q)
			if err != nil {
				t.Fatal(err)
			}
			// The pass runs as a prepared statement, so after a few runs
			// PostgreSQL may plan it once for any parameters (a generic
			// plan, which guesses a third of the rows for each range):
			// check both kinds of plan.
			eachPlan(t, s, sql, args, func(mode, plan string) {
				if !strings.Contains(plan, "interrupts_due") {
					t.Errorf("%s: the due questions are not read through interrupts_due:\n%s", mode, plan)
				}
				if n := droppedRows(plan); n > 100 {
					t.Errorf("%s: the plan visits %d rows it drops:\n%s", mode, n, plan)
				}
			})
			page, err := s.Interrupts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, r := range rows {
				if d := r[14].(pgtype.Timestamptz); d.Valid && !d.Time.After(now) && r[17] == "pending" && r[22].(time.Time).Before(now) {
					want++
				}
			}
			if want == 0 || len(page.Interrupts) != min(want, 100) {
				t.Errorf("the pass reads %d due questions, want %d", len(page.Interrupts), min(want, 100))
			}
		})
	}
}

// eachPlan checks the plan of sql for args with check, planned for args
// (force_custom_plan) and once for any arguments (force_generic_plan, as
// PostgreSQL may plan a statement pgx prepared after a few runs).
func eachPlan(t *testing.T, s *pgstore.Store, sql string, args []any, check func(mode, plan string)) {
	t.Helper()
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		plan := explainPlan(t, s, mode, sql, args...)
		t.Logf("%s:\n%s", mode, plan)
		check(mode, plan)
	}
}

// droppedRows is the sum of the rows an EXPLAIN ANALYZE plan says its
// filters removed: rows it visited for nothing.
func droppedRows(plan string) int {
	removed := 0
	for _, line := range strings.Split(plan, "\n") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "Rows Removed by Filter: %d", &n); err == nil {
			removed += n
		}
	}
	return removed
}

// explainPlan runs sql as a prepared statement under EXPLAIN ANALYZE, in a
// transaction it rolls back (so a statement that writes changes nothing),
// with plan_cache_mode set to mode: force_custom_plan plans it for args,
// force_generic_plan once for any arguments, as PostgreSQL may do for a
// statement prepared by pgx after a few runs. It returns the plan.
func explainPlan(tb testing.TB, s *pgstore.Store, mode, sql string, args ...any) string {
	tb.Helper()
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // nothing to keep
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "PREPARE weft_explain AS "+sql); err != nil {
		tb.Fatalf("PREPARE %s: %v", sql, err)
	}
	defer tx.Exec(ctx, "DEALLOCATE weft_explain") //nolint:errcheck // the rollback ends the session's use of it
	// EXECUTE takes no bind parameters: the arguments go in as literals.
	params := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			params[i] = quoteLiteral(v)
		case []string:
			params[i] = quoteLiteral("{" + strings.Join(v, ",") + "}")
		case time.Time:
			params[i] = quoteLiteral(v.Format(time.RFC3339Nano))
		default:
			params[i] = fmt.Sprint(v)
		}
	}
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE weft_explain("+strings.Join(params, ", ")+")")
	if err != nil {
		tb.Fatalf("EXPLAIN ANALYZE %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestHeadQuestionsReadOnlyTheHead: the questions of a thread's head, which
// every Resume and State read, are a range of that checkpoint's in
// interrupts_checkpoint, not a read of every question the thread was ever
// asked (a chat asks one a turn): of 2,000 questions of one thread, at
// 2,000 checkpoints, the plan visits the head's one, with statistics and
// without, as a custom and as a generic plan.
func TestHeadQuestionsReadOnlyTheHead(t *testing.T) {
	for _, stats := range []string{"fresh", "none"} {
		t.Run(stats, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			rows := inboxRows(2000, 2, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			for i, r := range rows {
				r[0], r[1], r[3] = "chat", fmt.Sprint("q-", i), checkpoint.FormatID(int64(i+1))
			}
			if _, err := pgstore.CopyInterrupts(ctx, s, rows); err != nil {
				t.Fatalf("COPY: %v", err)
			}
			if stats == "fresh" {
				if _, err := s.Pool().Exec(ctx, "ANALYZE "+pgx.Identifier{s.Schema(), "interrupts"}.Sanitize()); err != nil {
					t.Fatal(err)
				}
			}
			q := &checkpoint.InterruptQuery{ThreadID: "chat", CheckpointID: checkpoint.FormatID(1999), Limit: 1000}
			sql, args, err := pgstore.InterruptsSQL(s, q)
			if err != nil {
				t.Fatal(err)
			}
			eachPlan(t, s, sql, args, func(mode, plan string) {
				if !strings.Contains(plan, "interrupts_checkpoint") {
					t.Errorf("%s: the head's questions are not read through interrupts_checkpoint:\n%s", mode, plan)
				}
				if n := droppedRows(plan); n > 10 {
					t.Errorf("%s: the plan visits %d rows it drops:\n%s", mode, n, plan)
				}
			})
			page, err := s.Interrupts(ctx, q)
			if err != nil || len(page.Interrupts) != 1 || page.Interrupts[0].ID != "q-1998" {
				t.Fatalf("the head's questions: %+v, %v", page, err)
			}
		})
	}
}

// TestDueQueryManyDue: when more than a thousand questions are due, the
// deadline pass does not sort them all for each page (that took 40 ms a
// page at a million pending, 11,000 due): it leaves the plan to the
// planner, and the pages come in inbox order, every due question once.
func TestDueQueryManyDue(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	rows := inboxRows(6000, 10, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := pgstore.CopyInterrupts(ctx, s, rows); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) // every deadline has passed
	want := 0
	for _, r := range rows {
		if r[14].(pgtype.Timestamptz).Valid && r[17] == "pending" {
			want++
		}
	}
	if want <= 1000 {
		t.Fatalf("only %d due: the test needs more than 1,000", want)
	}
	q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: now, CreatedBefore: now, Limit: 100}
	if sql, _, err := pgstore.InterruptsSQL(s, q); err != nil || strings.Contains(sql, "MATERIALIZED") {
		t.Fatalf("with %d due the query sorts them all (or fails: %v):\n%s", want, err, sql)
	}
	seen, last := map[string]bool{}, time.Time{}
	for {
		page, err := s.Interrupts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Interrupts {
			if seen[r.ThreadID] || r.CreatedAt.Before(last) || r.Deadline.After(now) {
				t.Fatalf("question %s/%s out of order, twice, or not due", r.ThreadID, r.ID)
			}
			seen[r.ThreadID], last = true, r.CreatedAt
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if len(seen) != want {
		t.Errorf("%d due questions read, want %d", len(seen), want)
	}
}
