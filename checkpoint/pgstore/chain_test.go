package pgstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// readCost is what one Checkpoint call asked of the database.
type readCost struct {
	statements, rows int64
	blobs            int
}

// TestCheckpointChainCost is the guard of reading long Append chains,
// which does not time anything: on a fresh schema without statistics
// (autovacuum off), Checkpoint of a thread's head after 10 and after 2,000
// supersteps that each appended to a list field sends the same number of
// statements, and reads no more blob rows than the fields plus the rows of
// a chain before it folds into a pack (foldAfter) plus a small constant,
// however many blobs it returns. The plan of the statement, run with
// EXPLAIN ANALYZE at 2,000, scans blobs only through its primary key and
// filters out (almost) no rows there: the rows read are the rows it visits.
func TestCheckpointChainCost(t *testing.T) {
	ctx := context.Background()
	pool, tracer := pgtest.CountingPool(t)
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: pgtest.Schema(t), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	freshTables(t, s)
	const fields, slack = 2, 2
	measure := func(id, cpID string) readCost {
		t.Helper()
		q0, r0 := tracer.N(), pgstore.BlobRowsRead(s)
		cp, err := s.Checkpoint(ctx, id, "", cpID)
		if err != nil {
			t.Fatal(err)
		}
		return readCost{tracer.N() - q0, pgstore.BlobRowsRead(s) - r0, len(cp.Blobs)}
	}
	costs := map[string]readCost{}
	for _, n := range []int{10, 2000} {
		id := fmt.Sprint("chain-", n)
		growChain(t, s, id, n)
		for _, cpID := range []string{"", checkpoint.FormatID(int64(n))} {
			c := measure(id, cpID)
			t.Logf("%d supersteps, id %q: %d statements, %d blob rows read, %d blobs", n, cpID, c.statements, c.rows, c.blobs)
			if c.blobs != n+1 {
				t.Errorf("%d supersteps: %d blobs, want %d", n, c.blobs, n+1)
			}
			if limit := int64(min(n+1, foldAfter) + fields + slack); c.rows > limit {
				t.Errorf("%d supersteps, id %q: %d blob rows read, more than %d", n, cpID, c.rows, limit)
			}
			key := fmt.Sprint(cpID == "")
			if first, ok := costs[key]; ok && first.statements != c.statements {
				t.Errorf("id %q: %d statements at %d supersteps, %d at 10", cpID, c.statements, n, first.statements)
			}
			costs[key] = c
		}
	}
	for _, head := range []bool{true, false} {
		args := []any{"chain-2000", ""}
		if !head {
			args = append(args, int64(2000))
		}
		plan := explainAnalyze(t, s, pgstore.CheckpointSQL(s, head), args...)
		if strings.Contains(plan, "Seq Scan on blobs") || strings.Contains(plan, "Bitmap Heap Scan on blobs") {
			t.Errorf("the plan scans blobs other than by its primary key:\n%s", plan)
		}
		removed := 0
		for _, m := range regexp.MustCompile(`Rows Removed by (?:Filter|Join Filter|Index Recheck): (\d+)`).FindAllStringSubmatch(plan, -1) {
			k, _ := strconv.Atoi(m[1])
			removed += k
		}
		if removed > fields+slack {
			t.Errorf("the plan visits %d rows it drops:\n%s", removed, plan)
		}
		t.Logf("head %v:\n%s", head, plan)
	}
}

// explainAnalyze runs sql under EXPLAIN ANALYZE and returns the plan.
func explainAnalyze(tb testing.TB, s *pgstore.Store, sql string, args ...any) string {
	tb.Helper()
	rows, err := s.Pool().Query(context.Background(), "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "+sql, args...)
	if err != nil {
		tb.Fatalf("EXPLAIN ANALYZE %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
