package pgstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// chainSizes are the thread lengths of BenchmarkCheckpointHead and of the
// chain guard test.
var chainSizes = []int{10, 2000, 5000}

// growChain commits n supersteps to a new thread id of s: a list field
// that grows by one element per superstep (an Append blob on the previous
// one, after a full blob at version 1) and a small flat field rewritten
// in full at every superstep. The head's list chain is n blobs long.
func growChain(tb testing.TB, s checkpoint.Store, id string, n int) {
	tb.Helper()
	growChainFrom(tb, s, id, 1, int64(n))
}

// growChainFrom commits the supersteps from to to of growChain, to a
// thread at version from-1.
func growChainFrom(tb testing.TB, s checkpoint.Store, id string, from, to int64) {
	tb.Helper()
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for v := from; v <= to; v++ {
		list := checkpoint.Blob{Field: "list", Data: fmt.Appendf(nil, "[%d]", v)}
		if v > 1 {
			list.Base = v - 1
		}
		parent := ""
		if v > 1 {
			parent = checkpoint.FormatID(v - 1)
		}
		at := t0.Add(time.Duration(v) * time.Millisecond)
		c := &checkpoint.Commit{
			Thread: checkpoint.Thread{ID: id, Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusRunning,
				Head: checkpoint.FormatID(v)},
			ExpectedVersion: v - 1,
			At:              at,
			Checkpoint: &checkpoint.Checkpoint{
				ParentID: parent, Step: int(v), Source: checkpoint.SourceLoop, Next: []string{"step"},
				Versions: map[string]int64{"list": v, "flat": v},
				Blobs:    []checkpoint.Blob{list, {Field: "flat", Data: fmt.Appendf(nil, "step %d", v)}},
			},
		}
		if _, err := s.Commit(ctx, c); err != nil {
			tb.Fatalf("commit %d: %v", v, err)
		}
	}
}

// freshTables turns autovacuum off on the store's tables, so that they
// keep no statistics until analyze: the state of a schema that was just
// migrated and filled, before autovacuum's first ANALYZE.
func freshTables(tb testing.TB, s *pgstore.Store) {
	tb.Helper()
	for _, table := range []string{"threads", "checkpoints", "blobs"} {
		if _, err := s.Pool().Exec(context.Background(),
			"ALTER TABLE "+pgx.Identifier{s.Schema(), table}.Sanitize()+" SET (autovacuum_enabled = off)"); err != nil {
			tb.Fatal(err)
		}
	}
}

// analyze runs ANALYZE on the store's tables.
func analyze(tb testing.TB, s *pgstore.Store) {
	tb.Helper()
	for _, table := range []string{"threads", "checkpoints", "blobs"} {
		if _, err := s.Pool().Exec(context.Background(), "ANALYZE "+pgx.Identifier{s.Schema(), table}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCheckpointHead measures Checkpoint of a thread's head after n
// supersteps that each appended one element to a list field (see
// growChain), on a fresh schema whose tables have no statistics
// (stats=none, autovacuum off) and then after ANALYZE (stats=analyzed);
// id=head asks with an empty ID, id=explicit by the head's ID. The thread
// is built once per size, outside the timer.
//
//	go test -run '^$' -bench CheckpointHead -count 6 ./checkpoint/pgstore/
func BenchmarkCheckpointHead(b *testing.B) {
	for _, n := range chainSizes {
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			s := newStore(b)
			freshTables(b, s)
			growChain(b, s, "chain", n)
			for _, stats := range []string{"none", "analyzed"} {
				if stats == "analyzed" {
					analyze(b, s)
				}
				for _, id := range []string{"", checkpoint.FormatID(int64(n))} {
					name := "id=explicit"
					if id == "" {
						name = "id=head"
					}
					b.Run("stats="+stats+"/"+name, func(b *testing.B) {
						ctx := context.Background()
						b.ReportAllocs()
						for b.Loop() {
							cp, err := s.Checkpoint(ctx, "chain", "", id)
							if err != nil {
								b.Fatal(err)
							}
							if len(cp.Blobs) != n+1 {
								b.Fatalf("%d blobs, want %d", len(cp.Blobs), n+1)
							}
						}
					})
				}
			}
		})
	}
}

// BenchmarkCommitAppend measures a commit that appends one element to a
// list whose chain is already n links long (see growChain) and grows on
// with every iteration: the cost of a superstep of a long chat, folds
// included (a commit in 64 folds the chain into a pack, which rewrites
// the pack's bytes).
//
//	go test -run '^$' -bench CommitAppend -benchmem ./checkpoint/pgstore/
func BenchmarkCommitAppend(b *testing.B) {
	for _, n := range []int{10, 2000} {
		b.Run(fmt.Sprintf("chain=%d", n), func(b *testing.B) {
			s := newStore(b)
			growChain(b, s, "chain", n)
			ctx := context.Background()
			v := int64(n)
			elem := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				v++
				c := &checkpoint.Commit{
					Thread: checkpoint.Thread{ID: "chain", Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusRunning,
						Head: checkpoint.FormatID(v)},
					ExpectedVersion: v - 1,
					At:              time.Now(),
					Checkpoint: &checkpoint.Checkpoint{
						ParentID: checkpoint.FormatID(v - 1), Step: int(v), Source: checkpoint.SourceLoop, Next: []string{"step"},
						Versions: map[string]int64{"list": v, "flat": int64(n)},
						Blobs:    []checkpoint.Blob{{Field: "list", Base: v - 1, Data: elem}},
					},
				}
				if _, err := s.Commit(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
