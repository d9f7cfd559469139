package webhook_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/webhook"
)

// BenchmarkAskToDelivered measures, on PostgreSQL, the time from a
// workflow's Run that asks a question (its commit included) to the
// question.asked request reaching a real HTTP receiver, with the writer
// and the sender on stores of their own as two processes would be:
//
//   - wake: the sender listens (a poll of an hour, so every delivery is
//     woken by a notice);
//   - poll=1s: the sender polls only (NoListen), at DefaultPoll; each
//     question is asked at a random moment of the poll's period (the
//     wait before it is not timed), as questions come.
//
// ns/op is the mean; p50-ms and max-ms are from Run's return (the commit)
// to the request.
//
//	WEFT_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres \
//	  go test ./webhook -run '^$' -bench AskToDelivered -benchtime 20x
func BenchmarkAskToDelivered(b *testing.B) {
	for _, c := range []struct {
		name     string
		poll     time.Duration
		noListen bool
	}{
		{"wake", time.Hour, false},
		{"poll=1s", webhook.DefaultPoll, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			writer, senderStore := pgPair(b, pgstore.Options{})
			wf := refundWorkflow(b, writer)
			got := make(chan time.Time, 1)
			rcv := newReceiver(b, func(int) (int, http.Header) { got <- time.Now(); return http.StatusOK, nil })
			cfg := fast(rcv.hook())
			cfg.Poll, cfg.NoListen = c.poll, c.noListen
			var logs *logBuffer
			cfg.Logger, logs = debugLogger()
			s, err := webhook.New(senderStore, cfg)
			if err != nil {
				b.Fatal(err)
			}
			run(b, s)
			if !c.noListen {
				eventually(b, "the sender listening", func() bool { return logs.contains(listening) })
			}
			ctx := b.Context()
			var after []time.Duration
			i := 0
			for b.Loop() {
				if c.noListen {
					// A question comes at any moment of the poll's period.
					b.StopTimer()
					time.Sleep(rand.N(c.poll))
					b.StartTimer()
				}
				res, err := wf.Run(ctx, fmt.Sprint("r-", i), Refund{Amount: 500})
				if err != nil || !res.Paused() {
					b.Fatalf("Run = %+v, %v", res, err)
				}
				committed := time.Now()
				after = append(after, (<-got).Sub(committed))
				i++
			}
			slices.Sort(after)
			b.ReportMetric(float64(after[len(after)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(after[len(after)-1])/1e6, "max-ms")
		})
	}
}
