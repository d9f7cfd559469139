package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/webhook"
)

// logBuffer is an io.Writer for a slog handler that tests read while the
// sender writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// debugLogger logs everything, at debug level too, to a logBuffer.
func debugLogger() (*slog.Logger, *logBuffer) {
	l := &logBuffer{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// listening is the message a sender logs (debug) once its listen is in
// effect.
const listening = "webhook: listening for notices"

// pgPair opens two stores on one fresh schema, as two processes would: a
// writer (the workflow's) and the sender's. writerOpts are the writer's
// options besides the schema and the outbox.
func pgPair(t testing.TB, writerOpts pgstore.Options) (writer, sender *pgstore.Store) {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t)
	writerOpts.Schema, writerOpts.Migrate, writerOpts.Outbox = schema, true, true
	w, err := pgstore.New(ctx, pool, writerOpts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); s.Close() })
	return w, s
}

// askAndAnswer asks n questions on wf one after the other, waiting after
// each until the receiver acknowledged one more event, then answers them
// the same way, and checks that the receiver got 2n events, each once, in
// the order they happened.
func askAndAnswer(t *testing.T, wf *weft.Workflow[Refund], rcv *receiver, n int) {
	t.Helper()
	ctx := t.Context()
	delivered := func(k int) func() bool {
		return func() bool { p, _, _, _ := rcv.snapshot(); return len(p) >= k }
	}
	questions := make([]string, n)
	for i := range n {
		res, err := wf.Run(ctx, fmt.Sprint("r-", i), Refund{Amount: 200 + i})
		if err != nil || !res.Paused() {
			t.Fatalf("Run = %+v, %v; want paused", res, err)
		}
		questions[i] = res.Interrupts[0].ID
		eventually(t, fmt.Sprintf("question.asked of r-%d delivered", i), delivered(i+1))
	}
	for i := range n {
		if _, err := wf.Resume(ctx, fmt.Sprint("r-", i), weft.Answer(questions[i], true), weft.By("bob", checkpoint.ChannelUI)); err != nil {
			t.Fatal(err)
		}
		eventually(t, fmt.Sprintf("question.answered of r-%d delivered", i), delivered(n+i+1))
	}
	payloads, requests, ok, bad := rcv.snapshot()
	if len(bad) > 0 || requests != 2*n || len(ok) != 2*n {
		t.Fatalf("%d requests, %d distinct, refused %v; want %d of %d, all verified", requests, len(ok), bad, 2*n, 2*n)
	}
	for id, c := range ok {
		if c != 1 {
			t.Errorf("event %s delivered %d times", id, c)
		}
	}
	var got, want []string
	for _, p := range payloads {
		got = append(got, p.Event+" "+p.Thread)
	}
	for _, typ := range []string{checkpoint.EventQuestionAsked, checkpoint.EventQuestionAnswered} {
		for i := range n {
			want = append(want, fmt.Sprint(typ, " r-", i))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries\n%v\nwant\n%v", got, want)
	}
}

// TestWakeUpOnPostgres: with a poll of an hour, the sender (its own Store,
// as another process would be) still delivers every question asked and
// every answer, because the writing store notifies after each commit that
// records events and the sender listens. Only its first pass and the one
// that follows its listen taking effect are not woken by an event: the
// ten events that come after are delivered by notices alone.
func TestWakeUpOnPostgres(t *testing.T) {
	writer, senderStore := pgPair(t, pgstore.Options{})
	wf := refundWorkflow(t, writer)
	rcv := newReceiver(t, nil)
	cfg := fast(rcv.hook())
	cfg.Poll = time.Hour
	var logs *logBuffer
	cfg.Logger, logs = debugLogger()
	s, err := webhook.New(senderStore, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	eventually(t, "the sender listening", func() bool { return logs.contains(listening) })
	askAndAnswer(t, wf, rcv, 5)
}

// TestPollingWhenTheStoreDoesNotNotify: a writer with NoNotify sends no
// notice; the sender listens in vain and delivers by polling, every event
// once, in order.
func TestPollingWhenTheStoreDoesNotNotify(t *testing.T) {
	writer, senderStore := pgPair(t, pgstore.Options{NoNotify: true})
	wf := refundWorkflow(t, writer)
	rcv := newReceiver(t, nil)
	cfg := fast(rcv.hook())
	cfg.Poll = 20 * time.Millisecond
	s, err := webhook.New(senderStore, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	askAndAnswer(t, wf, rcv, 3)
}

// TestPollOnly: with Config.NoListen the sender never listens (behind
// PgBouncer in transaction mode) and delivers by polling alone.
func TestPollOnly(t *testing.T) {
	writer, senderStore := pgPair(t, pgstore.Options{})
	wf := refundWorkflow(t, writer)
	rcv := newReceiver(t, nil)
	cfg := fast(rcv.hook())
	cfg.Poll, cfg.NoListen = 20*time.Millisecond, true
	var logs *logBuffer
	cfg.Logger, logs = debugLogger()
	s, err := webhook.New(senderStore, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	askAndAnswer(t, wf, rcv, 3)
	if logs.contains(listening) {
		t.Error("a sender with NoListen listened")
	}
	var n int
	if err := senderStore.Pool().QueryRow(t.Context(),
		`SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'`, senderStore.Channel()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d connections listen on %s, want none", n, senderStore.Channel())
	}
}

// TestWakeSameProcess: on a store that does not notify, Wake makes a
// sender polled hourly look at once.
func TestWakeSameProcess(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	wf := refundWorkflow(t, store)
	rcv := newReceiver(t, func(int) (int, http.Header) { return http.StatusOK, nil })
	cfg := fast(rcv.hook())
	cfg.Poll = time.Hour
	s, err := webhook.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	for i := range 3 {
		if _, err := wf.Run(ctx, fmt.Sprint("r-", i), Refund{Amount: 300}); err != nil {
			t.Fatal(err)
		}
		s.Wake()
		eventually(t, "delivered after Wake", func() bool { p, _, _, _ := rcv.snapshot(); return len(p) == i+1 })
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriterWithoutOutboxIsReported: a writer that opened its store
// without the outbox, before the sender's process opened its own with the
// outbox on, still has every question it asks delivered (by polling: it
// does not know it records events, so it does not notify).
func TestWriterWithoutOutboxIsReported(t *testing.T) {
	ctx := t.Context()
	pool := pgtest.Pool(t)
	schema := pgtest.Schema(t)
	writer, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	senderStore, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	wf := refundWorkflow(t, writer)
	rcv := newReceiver(t, nil)
	cfg := fast(rcv.hook())
	cfg.Poll = 20 * time.Millisecond
	s, err := webhook.New(senderStore, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	askAndAnswer(t, wf, rcv, 3)
}
