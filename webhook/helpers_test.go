package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/webhook"
)

const secret = "test-secret-of-32-bytes-0123456"

// receiver is a real HTTP receiver that verifies signatures and counts
// deliveries by their Weft-Delivery header.
type receiver struct {
	srv *httptest.Server
	// status decides the response to request n (from 1); nil means 200.
	status func(n int) (int, http.Header)

	mu       sync.Mutex
	requests int
	ok       map[string]int // 2xx responses by delivery
	payloads []webhook.Payload
	bad      []string // what failed verification
}

func newReceiver(t testing.TB, status func(n int) (int, http.Header)) *receiver {
	t.Helper()
	r := &receiver{status: status, ok: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := webhook.VerifyRequest(req, secret, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	n := r.requests
	if err != nil {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		r.bad = append(r.bad, "body: "+err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if p.ID != req.Header.Get(webhook.DeliveryHeader) || p.Event != req.Header.Get(webhook.EventHeader) {
		r.bad = append(r.bad, fmt.Sprintf("headers %q, %q for payload %q, %q", req.Header.Get(webhook.DeliveryHeader), req.Header.Get(webhook.EventHeader), p.ID, p.Event))
	}
	code := http.StatusOK
	if r.status != nil {
		var h http.Header
		code, h = r.status(n)
		for k, v := range h {
			w.Header()[k] = v
		}
	}
	if code >= 200 && code < 300 {
		r.ok[p.ID]++
		r.payloads = append(r.payloads, p)
	}
	w.WriteHeader(code)
}

// snapshot returns what the receiver got: payloads acknowledged, requests.
func (r *receiver) snapshot() ([]webhook.Payload, int, map[string]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ok := make(map[string]int, len(r.ok))
	for k, v := range r.ok {
		ok[k] = v
	}
	return append([]webhook.Payload(nil), r.payloads...), r.requests, ok, append([]string(nil), r.bad...)
}

// hook is a hook to the receiver.
func (r *receiver) hook() webhook.Hook { return webhook.Hook{URL: r.srv.URL + "/hook", Secret: secret} }

// eventually polls cond until it holds, for a generous while.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// run runs s until the test ends, and waits for it to return.
func run(t testing.TB, s *webhook.Sender) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return cancel
}

// fast is a config that polls and backs off quickly.
func fast(hooks ...webhook.Hook) webhook.Config {
	return webhook.Config{Hooks: hooks, Poll: 5 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		PublicURL: "https://weft.example.com/app/", Logger: discard}
}

// Refund is the state of the refund workflow of the tests.
type Refund struct {
	Amount   int
	Approved bool
	Fail     bool
}

// refundWorkflow asks alice to approve a refund, then fails if asked to.
func refundWorkflow(t testing.TB, store checkpoint.Store) *weft.Workflow[Refund] {
	t.Helper()
	g := weft.NewGraph[Refund]("refund")
	g.AddNode("approve", func(ctx context.Context, s Refund) (Refund, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]int{"amount": s.Amount}, weft.Key("refund_approval"),
			weft.Reason("a refund over 100"), weft.Assign("alice"))
		if err != nil {
			return s, err
		}
		s.Approved = ok
		return s, nil
	})
	g.AddNode("pay", func(ctx context.Context, s Refund) (Refund, error) {
		if s.Fail {
			return s, errors.New("card declined")
		}
		return s, nil
	})
	g.AddEdge(weft.Start, "approve")
	g.AddEdge("approve", "pay")
	g.AddEdge("pay", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}
