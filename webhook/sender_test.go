package webhook_test

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/weftgraph/weft/webhook"
)

var discard = slog.New(slog.DiscardHandler)

// TestSenderDelivers runs a real workflow on a store with its outbox on:
// the question it asks, the answer and the failure that follows each
// reach a real HTTP receiver once, signed, with the payload a person and
// a program need.
func TestSenderDelivers(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	wf := refundWorkflow(t, store)
	rcv := newReceiver(t, nil)
	s, err := webhook.New(store, fast(rcv.hook()))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)

	res, err := wf.Run(ctx, "r-42", Refund{Amount: 250, Fail: true})
	if err != nil || !res.Paused() {
		t.Fatalf("Run = %+v, %v; want paused", res, err)
	}
	q := res.Interrupts[0]
	eventually(t, "question.asked", func() bool { p, _, _, _ := rcv.snapshot(); return len(p) == 1 })
	_, err = wf.Resume(ctx, "r-42", weft.Answer(q.ID, true), weft.By("bob", checkpoint.ChannelUI))
	if err == nil {
		t.Fatal("Resume: want the failure of pay")
	}
	eventually(t, "question.answered and thread.failed", func() bool { p, _, _, _ := rcv.snapshot(); return len(p) == 3 })

	payloads, requests, ok, bad := rcv.snapshot()
	if len(bad) > 0 || requests != 3 {
		t.Fatalf("%d requests, refused: %v; want 3, all verified", requests, bad)
	}
	for id, n := range ok {
		if n != 1 {
			t.Errorf("delivery %s acknowledged %d times", id, n)
		}
	}
	var types []string
	for _, p := range payloads {
		types = append(types, p.Event)
	}
	if want := []string{checkpoint.EventQuestionAsked, checkpoint.EventQuestionAnswered, checkpoint.EventThreadFailed}; !slices.Equal(types, want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	asked := payloads[0]
	if asked.Thread != "r-42" || asked.Workflow != "refund" || asked.Question == nil || asked.Question.ID != q.ID ||
		asked.Question.Key != "refund_approval" || asked.Question.Node != "approve" || !slices.Equal(asked.Question.Assignees, []string{"alice"}) ||
		asked.Question.Reason != "a refund over 100" {
		t.Errorf("question.asked payload = %+v (question %+v)", asked, asked.Question)
	}
	if want := "Refund approval needed on thread r-42 (assigned to alice): https://weft.example.com/app/inbox/r-42/" + q.ID; asked.Text != want {
		t.Errorf("text = %q, want %q", asked.Text, want)
	}
	if want := "https://weft.example.com/app/inbox/r-42/" + q.ID; asked.Link != want {
		t.Errorf("link = %q, want %q", asked.Link, want)
	}
	if a := payloads[1]; a.AnsweredBy != "bob" || a.Channel != checkpoint.ChannelUI || a.Text != "Refund approval on thread r-42 was answered by bob: https://weft.example.com/app/inbox/r-42/"+q.ID {
		t.Errorf("question.answered payload = %+v", a)
	}
	if f := payloads[2]; f.Question != nil || !strings.Contains(f.Error, "card declined") || f.Link != "https://weft.example.com/app/threads/r-42" ||
		!strings.HasPrefix(f.Text, "Thread r-42 (refund) failed: ") || !strings.HasSuffix(f.Text, ": https://weft.example.com/app/threads/r-42") {
		t.Errorf("thread.failed payload = %+v", f)
	}
	// Everything is recorded as delivered (just after the receiver
	// answered), and nothing is sent again.
	eventually(t, "3 events delivered in the store", func() bool {
		es, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDelivered})
		return err == nil && len(es) == 3
	})
	if n, err := s.SendDue(ctx); err != nil || n != 0 {
		t.Errorf("SendDue after delivery = %d, %v; want 0", n, err)
	}
}

// TestSenderReceiverFailsThenRecovers: a receiver that answers 500 three
// times gets the event again with backoff, and once it recovers the event
// is delivered exactly once and never again.
func TestSenderReceiverFailsThenRecovers(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	wf := refundWorkflow(t, store)
	rcv := newReceiver(t, func(n int) (int, http.Header) {
		if n <= 3 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusNoContent, nil
	})
	s, err := webhook.New(store, fast(rcv.hook()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Run(ctx, "r-1", Refund{Amount: 300}); err != nil {
		t.Fatal(err)
	}
	run(t, s)
	eventually(t, "the delivery after 3 failures", func() bool {
		es, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDelivered})
		return err == nil && len(es) == 1
	})
	payloads, requests, ok, bad := rcv.snapshot()
	if len(bad) > 0 || requests != 4 || len(payloads) != 1 || ok[payloads[0].ID] != 1 {
		t.Fatalf("requests %d, acknowledged %v, refused %v; want 4 requests, one acknowledged once", requests, ok, bad)
	}
	e, _ := store.Events(ctx, nil)
	if e[0].Attempts != 3 || e[0].LastError == "" || !strings.Contains(e[0].LastError, "500") {
		t.Errorf("delivered event: %d attempts, last error %q; want 3 and a 500", e[0].Attempts, e[0].LastError)
	}
	if strings.Contains(e[0].LastError, "/hook") {
		t.Errorf("the recorded error shows the hook's path (which may hold credentials): %q", e[0].LastError)
	}
	for range 3 {
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, requests2, _, _ := rcv.snapshot(); requests2 != requests {
		t.Errorf("%d requests after delivery, want none", requests2-requests)
	}
}

// TestSenderRetryAfter: a 429 or 503 with Retry-After puts the next
// attempt that far away instead of the backoff.
func TestSenderRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		header string
		atLeast,
		atMost time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "1800", 29 * time.Minute, 31 * time.Minute},
		{"503 date", http.StatusServiceUnavailable, time.Now().Add(45 * time.Minute).UTC().Format(http.TimeFormat), 40 * time.Minute, 46 * time.Minute},
		{"capped at MaxBackoff", http.StatusTooManyRequests, "86400", 59 * time.Minute, 61 * time.Minute},
		{"500 ignores it", http.StatusInternalServerError, "1800", 0, 2 * time.Second},
		{"429 without it backs off", http.StatusTooManyRequests, "", 0, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			store := memstore.New(memstore.WithOutbox())
			if _, err := refundWorkflow(t, store).Run(ctx, "r", Refund{}); err != nil {
				t.Fatal(err)
			}
			rcv := newReceiver(t, func(int) (int, http.Header) {
				h := http.Header{}
				if tc.header != "" {
					h.Set("Retry-After", tc.header)
				}
				return tc.code, h
			})
			cfg := fast(rcv.hook())
			cfg.MinBackoff, cfg.MaxBackoff = time.Second, time.Hour
			s, err := webhook.New(store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			if n, err := s.SendDue(ctx); err != nil || n != 1 {
				t.Fatalf("SendDue = %d, %v", n, err)
			}
			e, _ := store.Events(ctx, nil)
			wait := e[0].NextAttempt.Sub(before)
			if e[0].Attempts != 1 || wait < tc.atLeast || wait > tc.atMost+time.Since(before) {
				t.Errorf("next attempt in %v after %d attempts, want between %v and %v", wait, e[0].Attempts, tc.atLeast, tc.atMost)
			}
		})
	}
}

// TestSenderGivesUp: after MaxAttempts failures the event is dead, never
// sent again, and the sender says so in its log.
func TestSenderGivesUp(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	if _, err := refundWorkflow(t, store).Run(ctx, "r", Refund{}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, func(int) (int, http.Header) { return http.StatusBadGateway, nil })
	var logs syncBuffer
	cfg := fast(rcv.hook())
	cfg.MaxAttempts, cfg.Logger = 3, slog.New(slog.NewTextHandler(&logs, nil))
	s, err := webhook.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	eventually(t, "the event given up", func() bool {
		es, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDead})
		return err == nil && len(es) == 1
	})
	_, requests, _, _ := rcv.snapshot()
	if requests != 3 {
		t.Errorf("%d requests, want 3 (MaxAttempts)", requests)
	}
	if !strings.Contains(logs.String(), "giving up") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("log lacks the error of giving up:\n%s", logs.String())
	}
}

// TestSenderHooks: each hook gets the events it asks for; when one of two
// receivers fails, the retry goes to it alone.
func TestSenderHooks(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	wf := refundWorkflow(t, store)
	all := newReceiver(t, nil)
	flaky := newReceiver(t, func(n int) (int, http.Header) {
		if n == 1 {
			return http.StatusInternalServerError, nil
		}
		return http.StatusOK, nil
	})
	alice := newReceiver(t, nil)
	bob := newReceiver(t, nil)
	failures := newReceiver(t, nil)
	other := newReceiver(t, nil)
	hooks := []webhook.Hook{all.hook(), flaky.hook(), alice.hook(), bob.hook(), failures.hook(), other.hook()}
	hooks[1].Events = []string{checkpoint.EventQuestionAsked}
	hooks[2].Assignees = []string{"alice"}
	hooks[3].Assignees = []string{"bob"}
	hooks[4].Events = []string{checkpoint.EventThreadFailed}
	hooks[5].Workflows = []string{"not-refund"}
	s, err := webhook.New(store, fast(hooks...))
	if err != nil {
		t.Fatal(err)
	}
	res, err := wf.Run(ctx, "r", Refund{Fail: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Resume(ctx, "r", weft.Answer(res.Interrupts[0].ID, false)); err == nil {
		t.Fatal("want a failure")
	}
	run(t, s)
	eventually(t, "every event delivered", func() bool {
		es, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventPending})
		return err == nil && len(es) == 0
	})
	for _, tc := range []struct {
		name string
		r    *receiver
		want []string
	}{
		{"all", all, []string{"question.asked", "question.answered", "thread.failed"}},
		{"flaky, asked only", flaky, []string{"question.asked"}},
		{"alice's", alice, []string{"question.asked", "question.answered"}},
		{"bob's", bob, nil},
		{"failures", failures, []string{"thread.failed"}},
		{"another workflow", other, nil},
	} {
		payloads, _, ok, bad := tc.r.snapshot()
		var got []string
		for _, p := range payloads {
			got = append(got, p.Event)
			if ok[p.ID] != 1 {
				t.Errorf("%s: %s acknowledged %d times", tc.name, p.Event, ok[p.ID])
			}
		}
		if !slices.Equal(got, tc.want) || len(bad) > 0 {
			t.Errorf("%s received %v (refused %v), want %v", tc.name, got, bad, tc.want)
		}
	}
}

// TestDeadlineNear: a question whose deadline falls in the window is
// announced once, however many passes and senders look at it.
func TestDeadlineNear(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	g := weft.NewGraph[Refund]("refund")
	g.AddNode("approve", func(ctx context.Context, s Refund) (Refund, error) {
		_, err := weft.Interrupt[bool](ctx, nil, weft.Key("refund_approval"), weft.Assign("alice"), weft.Within(30*time.Minute, true))
		return s, err
	})
	g.AddNode("later", func(ctx context.Context, s Refund) (Refund, error) {
		_, err := weft.Interrupt[bool](ctx, nil, weft.Key("audit"), weft.Within(48*time.Hour, true))
		return s, err
	})
	g.AddEdge(weft.Start, "approve")
	g.AddEdge(weft.Start, "later")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Run(ctx, "r-7", Refund{}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	hook := rcv.hook()
	hook.Events = []string{checkpoint.EventDeadlineNear}
	var senders []*webhook.Sender
	for range 2 {
		s, err := webhook.New(store, fast(hook))
		if err != nil {
			t.Fatal(err)
		}
		senders = append(senders, s)
	}
	for range 3 {
		for _, s := range senders {
			if _, err := s.SendDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	payloads, _, _, bad := rcv.snapshot()
	if len(payloads) != 1 || len(bad) > 0 {
		t.Fatalf("deadline.near deliveries = %+v (refused %v), want 1", payloads, bad)
	}
	p := payloads[0]
	if p.Question == nil || p.Question.Key != "refund_approval" || p.Question.Deadline == nil ||
		!strings.HasPrefix(p.Text, "Refund approval on thread r-7 is due ") || !strings.HasSuffix(p.Text, " (assigned to alice): "+p.Link) || p.Link == "" {
		t.Errorf("deadline.near payload = %+v", p)
	}
}

func TestNewRefuses(t *testing.T) {
	good := webhook.Hook{URL: "https://hooks.example.com/x", Secret: secret}
	on := memstore.New(memstore.WithOutbox())
	for _, tc := range []struct {
		name  string
		store checkpoint.Store
		hooks []webhook.Hook
		want  error
	}{
		{"outbox off", memstore.New(), []webhook.Hook{good}, checkpoint.ErrOutboxOff},
		{"no hooks", on, nil, nil},
		{"short secret", on, []webhook.Hook{{URL: good.URL, Secret: "short"}}, nil},
		{"no secret", on, []webhook.Hook{{URL: good.URL}}, nil},
		{"not http", on, []webhook.Hook{{URL: "ftp://example.com/x", Secret: secret}}, nil},
		{"relative", on, []webhook.Hook{{URL: "/x", Secret: secret}}, nil},
		{"unknown event", on, []webhook.Hook{{URL: good.URL, Secret: secret, Events: []string{"question.deleted"}}}, nil},
		{"same hook twice", on, []webhook.Hook{good, good}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := webhook.New(tc.store, webhook.Config{Hooks: tc.hooks})
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("New: %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "/x") {
				t.Errorf("the error shows the hook's path: %v", err)
			}
		})
	}
}

// TestSenderStopsCleanly: a sender stopped while a receiver hangs hands
// the event back, so another sender delivers it without waiting for the
// lease.
func TestSenderStopsCleanly(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	if _, err := refundWorkflow(t, store).Run(ctx, "r", Refund{}); err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := newReceiver(t, func(n int) (int, http.Header) {
		if n == 1 {
			entered <- struct{}{}
			<-hang
		}
		return http.StatusOK, nil
	})
	defer close(hang)
	cfg := fast(slow.hook())
	cfg.Lease = time.Hour
	s1, err := webhook.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s1)
	<-entered
	stop()
	eventually(t, "the event handed back", func() bool {
		es, err := store.Events(ctx, nil)
		return err == nil && es[0].Attempts == 1
	})
	fresh := newReceiver(t, nil)
	s2, err := webhook.New(store, fast(fresh.hook()))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s2.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("SendDue of a second sender = %d, %v; want the event handed back", n, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
