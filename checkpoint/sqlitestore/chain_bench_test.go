package sqlitestore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
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
	ctx := context.Background()
	for v := int64(1); v <= int64(n); v++ {
		if _, err := s.Commit(ctx, chainCommit(id, v)); err != nil {
			tb.Fatalf("commit %d: %v", v, err)
		}
	}
}

// chainCommit returns the commit of version v of growChain's thread id.
func chainCommit(id string, v int64) *checkpoint.Commit {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	list := checkpoint.Blob{Field: "list", Data: fmt.Appendf(nil, "[%d]", v)}
	if v > 1 {
		list.Base = v - 1
	}
	parent := ""
	if v > 1 {
		parent = checkpoint.FormatID(v - 1)
	}
	at := t0.Add(time.Duration(v) * time.Millisecond)
	return &checkpoint.Commit{
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
}

// BenchmarkCheckpointHead measures Checkpoint of a thread's head after n
// supersteps that each appended one element to a list field (see
// growChain): id=head asks for it with an empty ID, id=explicit by its ID.
// The thread is built once per size, outside the timer.
//
//	go test -run '^$' -bench CheckpointHead -count 6 ./checkpoint/sqlitestore/
func BenchmarkCheckpointHead(b *testing.B) {
	for _, n := range chainSizes {
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			s := openBench(b)
			growChain(b, s, "chain", n)
			for _, id := range []string{"", checkpoint.FormatID(int64(n))} {
				name := "id=explicit"
				if id == "" {
					name = "id=head"
				}
				b.Run(name, func(b *testing.B) {
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
		})
	}
}

// BenchmarkBlobScanFloor is the floor under BenchmarkCheckpointHead: one
// bare SELECT of the thread's blobs (every row Checkpoint returns, and no
// other) scanned into checkpoint.Blob values, on the same read pool,
// without the checkpoint row, the JSON of its versions or the chain walk.
//
//	go test -run '^$' -bench 'CheckpointHead|BlobScanFloor' -count 6 ./checkpoint/sqlitestore/
func BenchmarkBlobScanFloor(b *testing.B) {
	for _, n := range chainSizes {
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			s := openBench(b)
			growChain(b, s, "chain", n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rows, err := s.read.QueryContext(ctx, `SELECT field, version, base, data FROM blobs
					WHERE thread_id = ?1 AND namespace = '' AND (field = 'list' OR field = 'flat' AND version = ?2)`, "chain", n)
				if err != nil {
					b.Fatal(err)
				}
				var out []checkpoint.Blob
				for rows.Next() {
					var bl checkpoint.Blob
					if err := rows.Scan(&bl.Field, &bl.Version, &bl.Base, &bl.Data); err != nil {
						b.Fatal(err)
					}
					out = append(out, bl)
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				if len(out) != n+1 {
					b.Fatalf("%d rows, want %d", len(out), n+1)
				}
			}
		})
	}
}

// BenchmarkAppendCommit measures a superstep commit that appends one
// element to the list of growChain's thread after n supersteps: the cost
// of a commit on a long chain, with the folds of the chain (one commit in
// foldAfter rewrites the chain's pack) spread over the commits.
//
//	go test -run '^$' -bench AppendCommit -benchmem -count 6 ./checkpoint/sqlitestore/
func BenchmarkAppendCommit(b *testing.B) {
	for _, n := range []int{10, 2000} {
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			s := openBench(b)
			growChain(b, s, "chain", n)
			ctx := context.Background()
			v := int64(n)
			b.ReportAllocs()
			for b.Loop() {
				v++
				if _, err := s.Commit(ctx, chainCommit("chain", v)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
