package webhook_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/webhook"
)

// TestEscalatedThenFallback: a question that nobody answers is escalated
// at its deadline and answered by its fallback at the next; each step
// reaches the receiver as its event, in order, once.
func TestEscalatedThenFallback(t *testing.T) {
	ctx := t.Context()
	store := memstore.New(memstore.WithOutbox())
	g := weft.NewGraph[Refund]("refund")
	g.AddNode("approve", func(ctx context.Context, s Refund) (Refund, error) {
		ok, err := weft.Interrupt[bool](ctx, nil, weft.Key("refund_approval"), weft.Assign("alice"),
			weft.Escalate(time.Hour, "finance-leads"), weft.Within(2*time.Hour, false))
		s.Approved = ok
		return s, err
	})
	g.AddEdge(weft.Start, "approve")
	g.AddEdge("approve", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Run(ctx, "r-9", Refund{Amount: 900}); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Now().Add(90 * time.Minute).UnixNano())
	ib := inbox.New(store, []weft.Runner{wf.Runner()}, inbox.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }), inbox.WithLogger(discard))

	rcv := newReceiver(t, nil)
	cfg := fast(rcv.hook())
	cfg.DeadlineWindow = -1 // no deadline.near here
	s, err := webhook.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pass := func() {
		t.Helper()
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	if n, err := ib.FireDue(ctx); err != nil || n != 1 {
		t.Fatalf("FireDue at +90m = %d, %v; want the escalation", n, err)
	}
	pass()
	clock.Store(time.Now().Add(3 * time.Hour).UnixNano())
	if n, err := ib.FireDue(ctx); err != nil || n != 1 {
		t.Fatalf("FireDue at +3h = %d, %v; want the fallback", n, err)
	}
	pass()

	payloads, _, ok, bad := rcv.snapshot()
	var got []string
	for _, p := range payloads {
		got = append(got, p.Event)
		if ok[p.ID] != 1 {
			t.Errorf("%s delivered %d times", p.Event, ok[p.ID])
		}
	}
	if want := []string{checkpoint.EventQuestionAsked, checkpoint.EventQuestionEscalated, checkpoint.EventQuestionAnswered}; !slices.Equal(got, want) || len(bad) > 0 {
		t.Fatalf("events = %v (refused %v), want %v", got, bad, want)
	}
	esc, ans := payloads[1], payloads[2]
	if esc.Text != "Refund approval on thread r-9 was escalated to finance-leads: "+esc.Link || esc.Link == "" || !slices.Equal(esc.Question.Assignees, []string{"finance-leads"}) {
		t.Errorf("question.escalated = %+v (question %+v)", esc, esc.Question)
	}
	if ans.Channel != checkpoint.ChannelDeadline || ans.Text != "Refund approval on thread r-9 was answered by its deadline's fallback: "+ans.Link || ans.Link == "" {
		t.Errorf("question.answered = %+v", ans)
	}
}

// brokenInbox is a store whose Interrupts fails: the sender cannot look
// for deadlines.
type brokenInbox struct{ *memstore.Store }

func (brokenInbox) Interrupts(context.Context, *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	return nil, errors.New("the inbox is down")
}

// TestDeadlineScanFailsDeliveryGoesOn: a store that cannot list deadlines
// is reported, and the events that wait are delivered all the same.
func TestDeadlineScanFailsDeliveryGoesOn(t *testing.T) {
	ctx := t.Context()
	mem := memstore.New(memstore.WithOutbox())
	if _, err := refundWorkflow(t, mem).Run(ctx, "r", Refund{}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	s, err := webhook.New(brokenInbox{mem}, fast(rcv.hook()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.SendDue(ctx)
	if err == nil || !strings.Contains(err.Error(), "the inbox is down") || n != 1 {
		t.Fatalf("SendDue = %d, %v; want 1 event sent and the inbox's error", n, err)
	}
	if payloads, _, _, _ := rcv.snapshot(); len(payloads) != 1 {
		t.Errorf("%d deliveries, want 1", len(payloads))
	}
}
