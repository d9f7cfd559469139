package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/webhook"
)

// The environment of a child sender (see TestMain).
const (
	envChild = "WEFT_WEBHOOK_CHILD" // the SQLite file the child sends from
	envHook  = "WEFT_WEBHOOK_URL"   // the receiver
)

func TestMain(m *testing.M) {
	if path := os.Getenv(envChild); path != "" {
		if err := childSender(path, os.Getenv(envHook)); err != nil {
			fmt.Fprintln(os.Stderr, "webhook child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childSender runs a sender on the store at path until it is killed.
func childSender(path, url string) error {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Outbox: true})
	if err != nil {
		return err
	}
	cfg := fast(webhook.Hook{URL: url, Secret: secret})
	cfg.Batch, cfg.Lease, cfg.Owner = 4, 2*time.Second, "child"
	s, err := webhook.New(store, cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// TestSenderKilled kills a sender process (SIGKILL) while it waits for a
// receiver in the middle of a batch, then lets another sender finish: no
// event is lost, and none that the store had recorded as delivered (after
// the receiver's acknowledgement) is sent again. The event that was in
// flight is sent again: delivery is at least once, and a receiver
// de-duplicates by Weft-Delivery.
func TestSenderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "weft.db")
	store, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Migrate: true, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	wf := refundWorkflow(t, store)
	const n, block = 30, 10
	for i := range n {
		if _, err := wf.Run(ctx, "r-"+strconv.Itoa(i), Refund{Amount: i}); err != nil {
			t.Fatal(err)
		}
	}

	// The receiver counts every verified delivery it is sent, and holds
	// the block-th request until the child is dead.
	var mu sync.Mutex
	received := map[string]int{}
	requests := 0
	blocked := make(chan string, 1)
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := webhook.VerifyRequest(r, secret, 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(webhook.DeliveryHeader)
		mu.Lock()
		received[id]++
		requests++
		n := requests
		mu.Unlock()
		if n == block {
			blocked <- id
			<-release
		}
	}))
	defer rcv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+path, envHook+"="+rcv.URL)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var inFlight string
	select {
	case inFlight = <-blocked:
	case err := <-exited:
		t.Fatalf("the child exited before the %dth request: %v\n%s", block, err, out.String())
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no %dth request from the child\n%s", block, out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err == nil {
		t.Fatal("the child exited normally; want killed")
	}
	close(release)

	// What the store recorded as delivered when the child died.
	before, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDelivered, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < block-1 {
		t.Fatalf("%d events delivered before the kill, want at least %d (the requests acknowledged before the blocked one)", len(before), block-1)
	}
	for _, e := range before {
		if e.ID == inFlight {
			t.Fatalf("the event in flight at the kill is recorded as delivered")
		}
	}

	// Another sender finishes, once the dead one's lease lapses.
	s, err := webhook.New(store, fast(webhook.Hook{URL: rcv.URL, Secret: secret}))
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	eventually(t, "every event delivered", func() bool {
		es, err := store.Events(ctx, &checkpoint.EventQuery{Status: checkpoint.EventDelivered, Limit: n})
		return err == nil && len(es) == n
	})
	all, err := store.Events(ctx, &checkpoint.EventQuery{Limit: n + 1})
	if err != nil || len(all) != n {
		t.Fatalf("%d events, %v; want %d", len(all), err, n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range all {
		if received[e.ID] == 0 {
			t.Errorf("event %s (thread %s) never reached the receiver", e.ID, e.ThreadID)
		}
	}
	for _, e := range before {
		if received[e.ID] != 1 {
			t.Errorf("event %s, delivered before the kill, reached the receiver %d times", e.ID, received[e.ID])
		}
	}
	if received[inFlight] != 2 {
		t.Errorf("the event in flight at the kill reached the receiver %d times, want 2 (once before, once after)", received[inFlight])
	}
	dup := 0
	for _, c := range received {
		dup += c - 1
	}
	if len(received) != n || dup > 4 {
		t.Errorf("%d distinct deliveries, %d repeated; want %d, and no more repeats than one claimed batch (4)", len(received), dup, n)
	}
}
