package sqlitestore

// The target of the store: a durable superstep commit costs at most twice a
// bare single-row insert on the same kind of database. Compare
//
//	go test -run '^$' -bench 'Commit$|BareInsert' -benchmem ./checkpoint/sqlitestore/
//
// Both write through the same write connection (WAL, synchronous=FULL,
// BEGIN IMMEDIATE, foreign keys on), so the difference is what a superstep
// writes beyond one row.

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/storetest"
)

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkCommit measures one durable superstep commit: a 1 KB state in
// four 256-byte fields of which one changed, so one blob row, the
// checkpoint row, one step row and the thread's update, in one transaction.
func BenchmarkCommit(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	const fields, size = 4, 256
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	thread := checkpoint.Thread{ID: "bench", Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusRunning}
	versions := make(map[string]int64, fields)
	first := &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Next: []string{"step"}, Versions: versions}
	for i := range fields {
		name := fmt.Sprintf("field%d", i)
		versions[name] = 1
		first.Blobs = append(first.Blobs, checkpoint.Blob{Field: name, Data: payload(size, i)})
	}
	thread.Head = checkpoint.FormatID(1)
	v, err := s.Commit(ctx, &checkpoint.Commit{Thread: thread, At: t0, Checkpoint: first})
	if err != nil {
		b.Fatal(err)
	}
	data := payload(size, 7)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		next := v + 1
		at := t0.Add(time.Duration(next) * time.Millisecond)
		field := fmt.Sprintf("field%d", i%fields)
		versions[field] = next
		thread.Head = checkpoint.FormatID(next)
		c := &checkpoint.Commit{
			Thread:          thread,
			ExpectedVersion: v,
			At:              at,
			Checkpoint: &checkpoint.Checkpoint{
				ParentID: checkpoint.FormatID(v), Step: int(next), Source: checkpoint.SourceLoop,
				Next: []string{"step"}, Versions: versions,
				Blobs: []checkpoint.Blob{{Field: field, Data: data}},
			},
			Steps: []checkpoint.Step{{Superstep: int(next), CheckpointID: checkpoint.FormatID(v), Node: "step", Task: "step",
				Status: checkpoint.StepCompleted, StartedAt: at, Duration: time.Millisecond}},
		}
		if v, err = s.Commit(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareInsert measures the floor: one 256-byte row inserted in its
// own transaction through the store's write connection.
func BenchmarkBareInsert(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE bare (id INTEGER PRIMARY KEY, data BLOB)`); err != nil {
		b.Fatal(err)
	}
	data := payload(256, 7)
	b.ReportAllocs()
	for b.Loop() {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bare (data) VALUES (?)`, data); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStore runs the shared store benchmarks.
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) checkpoint.Store { return openBench(b) })
}

func payload(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + (i+seed)%26)
	}
	return p
}

// BenchmarkOutbox: what the outbox costs a pause and an answer.
//
//	go test -run '^$' -bench Outbox -benchmem ./checkpoint/sqlitestore/
func BenchmarkOutbox(b *testing.B) {
	storetest.BenchOutbox(b, func(b *testing.B, outbox bool) checkpoint.Store {
		s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Migrate: true, Outbox: outbox})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
