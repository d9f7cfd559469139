package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/worker"
)

// BenchmarkIdle measures what a worker costs while nothing is ready and
// many threads wait for a person: the process's CPU time per second, the
// statements it sends per second and, on PostgreSQL, the rows the server
// reads for it per second (pg_stat_user_tables of the store's schema). Each
// op is one second of idleness with the worker polling (the default second)
// and leading maintenance (deadlines every second); half the questions have
// a deadline a day away. The paused threads are made first, outside the
// timer. Flat means the same figures at 1,000 and 100,000 paused threads:
// no query of an idle worker scans the paused ones.
//
//	go test -run '^$' -bench Idle -benchtime 10x ./worker/
func BenchmarkIdle(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, paused := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("store=%s/paused=%d", kind, paused), func(b *testing.B) { idle(b, kind, paused) })
		}
	}
}

func idle(b *testing.B, kind string, paused int) {
	ctx := context.Background()
	var (
		store  checkpoint.Store
		count  = &pgtest.Counter{} // stays at 0 on SQLite
		rowsOf func() int64        // rows read by the server for the schema so far
	)
	switch kind {
	case "sqlite":
		s, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "idle.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		store = s
	default:
		schema := pgtest.Schema(b)
		var pool *pgxpool.Pool
		pool, count = pgtest.CountingPool(b)
		s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		store = s
		stats := pgtest.Pool(b)
		rowsOf = func() int64 {
			var n int64
			err := stats.QueryRow(ctx, `SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::bigint
				FROM pg_stat_user_tables WHERE schemaname = $1`, schema).Scan(&n)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	g := weft.NewGraph[benchJob]("idle")
	g.AddNode("ask", func(ctx context.Context, j benchJob) (benchJob, error) {
		var opts []weft.InterruptOption
		if j.N%2 == 0 {
			opts = append(opts, weft.Within(24*time.Hour, true))
		}
		_, err := weft.Interrupt[bool](ctx, "go?", opts...)
		return j, err
	})
	g.AddEdge(weft.Start, "ask")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		b.Fatal(err)
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		fail atomic.Value
	)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(paused); i = next.Add(1) - 1 {
				if _, err := wf.Run(ctx, fmt.Sprintf("p%06d", i), benchJob{N: int(i)}); err != nil {
					fail.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := fail.Load().(error); err != nil {
		b.Fatal(err)
	}
	w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{})
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	time.Sleep(2 * time.Second) // elected, first polls done
	if rowsOf != nil {
		time.Sleep(11 * time.Second) // the server's statistics of the set-up are flushed
	}
	var rows0 int64
	if rowsOf != nil {
		rows0 = rowsOf()
	}
	q0, cpu0 := count.N(), cpuTime(b)
	b.ResetTimer()
	for range b.N {
		time.Sleep(time.Second)
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	q1, cpu1 := count.N(), cpuTime(b)
	cancel()
	<-done
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1000/secs, "cpu-ms/s")
	if kind == "postgres" {
		b.ReportMetric(float64(q1-q0)/secs, "queries/s")
		time.Sleep(11 * time.Second) // an idle backend flushes its statistics within 10 s
		b.ReportMetric(float64(rowsOf()-rows0)/secs, "rows-read/s")
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
