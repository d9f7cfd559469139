package webhook_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/webhook"
)

// TestTwoSendersOnePostgres runs two senders, each on its own Store, on
// one PostgreSQL schema: every event reaches the receiver exactly once
// (FOR UPDATE SKIP LOCKED and the claim's lease keep them apart).
func TestTwoSendersOnePostgres(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t)
	a, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	wf := refundWorkflow(t, a)
	const n = 40
	for i := range n {
		if _, err := wf.Run(ctx, "r-"+strconv.Itoa(i), Refund{Amount: i}); err != nil {
			t.Fatal(err)
		}
	}
	rcv := newReceiver(t, func(int) (int, http.Header) { return http.StatusAccepted, nil })
	for i, store := range []*pgstore.Store{a, b} {
		cfg := fast(rcv.hook())
		cfg.Batch, cfg.Owner = 3, "sender-"+strconv.Itoa(i)
		s, err := webhook.New(store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		run(t, s)
	}
	eventually(t, "every event delivered", func() bool {
		es, err := a.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDelivered, Limit: n})
		return err == nil && len(es) == n
	})
	_, requests, ok, bad := rcv.snapshot()
	if len(bad) > 0 || requests != n || len(ok) != n {
		t.Fatalf("%d requests, %d distinct, refused %v; want %d of %d", requests, len(ok), bad, n, n)
	}
	for id, c := range ok {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
}
