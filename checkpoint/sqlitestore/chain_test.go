package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// TestCheckpointChainCost is the guard of reading long Append chains,
// which does not time anything: Checkpoint of a thread's head after 10
// and after 2,000 supersteps that each appended to a list field runs the
// same number of statements, returns every blob of the chain, and scans a
// bounded number of blob rows, whatever the length of the chain: at most
// foldAfter for the list (its pack and the links above it) and one per
// other field, plus a small constant. TestBlobsQueryPlan checks that
// those rows are all SQLite visits.
func TestCheckpointChainCost(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "chain.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const fields, slack = 2, 2
	type cost struct {
		statements, rows int64
	}
	first := map[bool]cost{}
	for _, n := range []int{10, 2000} {
		id := fmt.Sprint("chain-", n)
		growChain(t, s, id, n)
		for _, cpID := range []string{"", checkpoint.FormatID(int64(n))} {
			q0, r0 := s.counts.statements.Load(), s.counts.blobRows.Load()
			cp, err := s.Checkpoint(ctx, id, "", cpID)
			if err != nil {
				t.Fatal(err)
			}
			c := cost{s.counts.statements.Load() - q0, s.counts.blobRows.Load() - r0}
			t.Logf("%d supersteps, id %q: %d statements, %d blob rows read, %d blobs", n, cpID, c.statements, c.rows, len(cp.Blobs))
			if len(cp.Blobs) != n+1 {
				t.Errorf("%d supersteps: %d blobs, want %d", n, len(cp.Blobs), n+1)
			}
			if limit := int64(min(n, foldAfter) + fields + slack); c.rows > limit {
				t.Errorf("%d supersteps, id %q: %d blob rows read, more than %d", n, cpID, c.rows, limit)
			}
			if f, ok := first[cpID == ""]; ok && f.statements != c.statements {
				t.Errorf("id %q: %d statements at %d supersteps, %d at 10", cpID, c.statements, n, f.statements)
			}
			first[cpID == ""] = c
		}
	}
}

// TestBlobsQueryPlan checks with EXPLAIN QUERY PLAN that qBlobs finds
// each field's head row by one seek of the primary key (the first row at
// or above the version asked for, from the index alone, then the row by
// its rowid) and reads the chain below it as one range of the key,
// (thread_id, namespace, field) and the versions from the root to the
// head: it visits only the field's rows in that range, never the thread's
// other blobs. The insert and VerifyBlobs find the row that holds a
// version by the same seek.
func TestBlobsQueryPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "plan.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	growChain(t, s, "t", 50)
	const (
		seek  = "SEARCH p USING COVERING INDEX sqlite_autoindex_blobs_1 (thread_id=? AND namespace=? AND field=? AND version>?)"
		rowid = "SEARCH b USING INTEGER PRIMARY KEY (rowid=?)"
	)
	plan := explain(t, s, qBlobs, []any{`{"list":50,"flat":50}`, "t", ""})
	for _, want := range []string{
		"SCAN json_each", rowid, seek,
		"SEARCH b USING INDEX sqlite_autoindex_blobs_1 (thread_id=? AND namespace=? AND field=? AND version>? AND version<?)",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "SCAN b") || strings.Contains(plan, "SCAN p") || strings.Contains(plan, "TEMP") {
		t.Errorf("the plan scans or sorts:\n%s", plan)
	}
	t.Log(plan)
	// The insert finds the row that holds an Append blob's base by one
	// seek of its key.
	plan = explain(t, s, qInsertAppend, []any{"t", "", "list", 51, 50, nil})
	if !strings.Contains(plan, "SEARCH p USING INDEX sqlite_autoindex_blobs_1 (thread_id=? AND namespace=? AND field=? AND version>?)") ||
		strings.Contains(plan, "TEMP") {
		t.Errorf("the insert does not look the base up by its key:\n%s", plan)
	}
	plan = explain(t, s, qMissingBlob, []any{`{"list":50,"flat":50}`, "t", "", 51})
	if !strings.Contains(plan, rowid) || !strings.Contains(plan, seek) || strings.Contains(plan, "TEMP") {
		t.Errorf("VerifyBlobs does not look the blobs up by their key:\n%s", plan)
	}
}
