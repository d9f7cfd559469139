package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// BenchmarkAnswerToRunning measures how long after a client sends an
// answer (POST /v1/threads/{id}/answers) the next node starts running:
// the request, authentication, the assignee check, validation, the
// exactly-once record and the resume. Each iteration answers a fresh
// paused thread; starting it is not timed.
//
//	go test -run '^$' -bench AnswerToRunning -benchtime 2000x ./server/
func BenchmarkAnswerToRunning(b *testing.B) {
	b.Run("memstore", func(b *testing.B) { benchAnswer(b, memstore.New()) })
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchAnswer(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st, err := pgstore.Open(context.Background(), pgtest.URL(b), pgstore.Options{Schema: pgtest.Schema(b), Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		benchAnswer(b, st)
	})
}

func benchAnswer(b *testing.B, store checkpoint.Store) {
	e := newEnvStore(b, store)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		thread := fmt.Sprintf("b%d", i)
		i++
		res := e.start("review", thread, Review{Topic: thread})
		body := fmt.Sprintf(`{"answers": {%q: {"action": "approve"}}}`, res.Interrupts[0].ID)
		b.StartTimer()
		sent := time.Now()
		r, data := e.do("POST", "/v1/threads/"+thread+"/answers", "ann-token-for-tests", body)
		if r.StatusCode != http.StatusOK {
			b.Fatalf("answer: %d %s", r.StatusCode, data)
		}
		select {
		case at := <-e.hooks.published:
			lat = append(lat, at.Sub(sent))
		case <-time.After(10 * time.Second):
			b.Fatal("the next node did not start")
		}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(lat)), "ns/answer-to-running")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "median-ns/answer-to-running")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns/answer-to-running")
}

// BenchmarkInboxPage renders the first page of the web inbox (50 rows)
// with 10,000 pending questions in the store.
//
//	go test -run '^$' -bench InboxPage ./server/
func BenchmarkInboxPage(b *testing.B) {
	e := newEnv(b)
	rn, _ := e.ib.Runner("review")
	ctx := context.Background()
	for i := range 10_000 {
		if _, err := rn.Run(ctx, fmt.Sprintf("p%05d", i), []byte(`{"topic": "bench"}`)); err != nil {
			b.Fatal(err)
		}
	}
	br := e.browser()
	br.login("ann-token-for-tests")
	for b.Loop() {
		res, page := br.get("/inbox")
		if res.StatusCode != http.StatusOK || strings.Count(page, `<tr class="row"`) != 50 {
			b.Fatalf("inbox: %d, %d rows", res.StatusCode, strings.Count(page, `<tr class="row"`))
		}
	}
}
