package pgstore_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/storetest"
	"github.com/weftgraph/weft/internal/pgtest"
)

// superstep advances a thread whose state is 1 KB in four fields of 256
// bytes: each commit changes one field, so it writes one blob row, the
// checkpoint, one step and the thread row, as a durable superstep does.
type superstep struct {
	s        checkpoint.Store
	id       string
	version  int64
	versions map[string]int64
	data     []byte
}

var fields = []string{"draft", "feedback", "status", "topic"}

func newSuperstep(tb testing.TB, s checkpoint.Store, id string) *superstep {
	tb.Helper()
	x := &superstep{s: s, id: id, versions: map[string]int64{}, data: make([]byte, 256)}
	for i := range x.data {
		x.data[i] = 'a' + byte(i%26)
	}
	// The first commit writes every field.
	c := x.commit()
	c.Checkpoint.Blobs = nil
	for _, f := range fields {
		x.versions[f] = 1
		c.Checkpoint.Blobs = append(c.Checkpoint.Blobs, checkpoint.Blob{Field: f, Version: 1, Data: x.data})
	}
	c.Checkpoint.Versions = x.versions
	if _, err := s.Commit(context.Background(), c); err != nil {
		tb.Fatal(err)
	}
	x.version = 1
	return x
}

// commit builds the next commit, changing one field.
func (x *superstep) commit() *checkpoint.Commit {
	v := x.version + 1
	f := fields[int(v)%len(fields)]
	x.versions[f] = v
	at := time.Now()
	return &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: x.id, Workflow: "bench", GraphHash: "h", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(v)},
		ExpectedVersion: x.version,
		At:              at,
		Checkpoint: &checkpoint.Checkpoint{
			ParentID: checkpoint.FormatID(x.version), Step: int(v), Source: checkpoint.SourceLoop, Next: []string{"review"},
			Versions: x.versions, Blobs: []checkpoint.Blob{{Field: f, Version: v, Data: x.data}},
		},
		Steps: []checkpoint.Step{{Superstep: int(v), CheckpointID: checkpoint.FormatID(x.version), Node: "write", Task: "write",
			Status: checkpoint.StepCompleted, StartedAt: at, Duration: time.Millisecond}},
	}
}

func (x *superstep) next(ctx context.Context) error {
	if _, err := x.s.Commit(ctx, x.commit()); err != nil {
		return err
	}
	x.version++
	return nil
}

// BenchmarkCommit is one durable superstep; compare with BenchmarkBareInsert
// (a single-row INSERT and its commit on the same pool).
//
//	go test -run '^$' -bench 'Commit$|BareInsert' -benchmem ./checkpoint/pgstore/
func BenchmarkCommit(b *testing.B) {
	s := newStore(b)
	x := newSuperstep(b, s, "bench")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := x.next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareInsert is the floor of a durable write: one single-row INSERT
// committed on its own (autocommit), on the same pool as BenchmarkCommit.
func BenchmarkBareInsert(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	table := pgx.Identifier{s.Schema(), "bare"}.Sanitize()
	if _, err := s.Pool().Exec(ctx, "CREATE TABLE "+table+" (id bigserial PRIMARY KEY, data bytea)"); err != nil {
		b.Fatal(err)
	}
	sql := "INSERT INTO " + table + " (data) VALUES ($1)"
	data := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Pool().Exec(ctx, sql, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitParallel runs 32 goroutines, each advancing its own thread
// superstep by superstep, on a pool of 32 connections, and reports
// supersteps per second.
//
//	go test -run '^$' -bench CommitParallel -benchmem ./checkpoint/pgstore/
func BenchmarkCommitParallel(b *testing.B) { commitParallel(b, pgstore.Options{}, false) }

// BenchmarkReadyCommitParallel is BenchmarkCommitParallel with commits that
// leave their thread ready for a worker (a submitted run, a thread handed
// back), which notify the listeners inside the transaction (notify=on) or
// not at all (notify=off, Options.NoNotify): the cost of NOTIFY, which
// PostgreSQL serialises across the transactions that send one.
//
//	go test -run '^$' -bench ReadyCommitParallel -benchmem ./checkpoint/pgstore/
func BenchmarkReadyCommitParallel(b *testing.B) {
	for _, off := range []bool{false, true} {
		name := "notify=on"
		if off {
			name = "notify=off"
		}
		b.Run(name, func(b *testing.B) { commitParallel(b, pgstore.Options{NoNotify: off}, true) })
	}
}

func commitParallel(b *testing.B, opts pgstore.Options, ready bool) {
	const workers = 32
	cfg, err := pgxpool.ParseConfig(pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = workers
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	opts.Schema, opts.Migrate = pgtest.Schema(b), true
	s, err := pgstore.New(context.Background(), pool, opts)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.SetParallelism((workers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := &superstep{s: s, id: fmt.Sprint("thread-", n.Add(1)), versions: map[string]int64{}, data: make([]byte, 256)}
		for _, f := range fields {
			x.versions[f] = 1
		}
		ctx := context.Background()
		for pb.Next() {
			c := x.commit()
			if ready {
				c.Thread.Status = checkpoint.StatusReady
			}
			if _, err := x.s.Commit(ctx, c); err != nil {
				b.Error(err)
				return
			}
			x.version++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "supersteps/s")
}

// BenchmarkInboxFirstPage loads 1,000,000 pending interrupts (one per
// paused thread) into a schema of its own with COPY, then measures the
// first page of 50 of the inbox queries and reports their 99th percentile.
// The load takes a minute or so and the schema is dropped at the end; it
// only runs with -bench, and not with -short.
//
//	go test -run '^$' -bench InboxFirstPage -benchmem -timeout 30m ./checkpoint/pgstore/
func BenchmarkInboxFirstPage(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1,000,000 rows")
	}
	s := newStore(b)
	start := time.Now()
	loadInbox(b, s, 1_000_000, 0)
	b.Logf("loaded 1,000,000 interrupts in %v", time.Since(start).Round(time.Millisecond))
	for _, c := range inboxQueries {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			q := c.q
			var lat []time.Duration
			for b.Loop() {
				t := time.Now()
				page, err := s.Interrupts(ctx, &q)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
				if len(page.Interrupts) == 0 && c.name != "rare-assignee" {
					b.Fatal("empty page")
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
		})
	}
}

// BenchmarkStore runs the workloads every store runs (storetest.Bench), so
// that its figures compare with memstore's and sqlitestore's.
//
//	go test -run '^$' -bench BenchmarkStore -benchmem ./checkpoint/pgstore/
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) checkpoint.Store { return newStore(b) })
}
