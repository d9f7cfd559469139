package notifier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// recorder is a send function that hands each batch to the test and may
// hold the sender until released.
type recorder struct {
	mu      sync.Mutex
	batches [][]checkpoint.Notice
	got     chan int      // the number of the batch just sent
	hold    chan struct{} // if not nil, each send waits for a value
	fail    error         // returned by every send
}

func newRecorder() *recorder { return &recorder{got: make(chan int, 100)} }

func (r *recorder) send(ctx context.Context, batch []checkpoint.Notice) error {
	if r.hold != nil {
		<-r.hold
	}
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(batch))
	n := len(r.batches)
	r.mu.Unlock()
	r.got <- n
	return r.fail
}

func (r *recorder) batch(i int) []checkpoint.Notice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.batches[i]
}

func ready(flow, thread string) checkpoint.Notice {
	return checkpoint.Notice{Kind: checkpoint.NoticeReady, Workflow: flow, Thread: thread}
}

func event(flow, thread string) checkpoint.Notice {
	return checkpoint.Notice{Kind: checkpoint.NoticeEvent, Workflow: flow, Thread: thread}
}

func stop(flow, thread string) checkpoint.Notice {
	return checkpoint.Notice{Kind: checkpoint.NoticeStop, Workflow: flow, Thread: thread}
}

func TestFirstNoticeGoesAtOnce(t *testing.T) {
	r := newRecorder()
	b := New(r.send, time.Hour, nil) // an interval no test waits for
	b.Add(ready("review", "t1"))
	if n := <-r.got; n != 1 {
		t.Fatalf("batch %d first", n)
	}
	if got := r.batch(0); !slices.Equal(got, []checkpoint.Notice{ready("review", "t1")}) {
		t.Errorf("first batch %v", got)
	}
}

// TestGathering holds the first batch in its send while more notices come,
// then checks what the second batch holds.
func TestGathering(t *testing.T) {
	cases := []struct {
		name string
		add  []checkpoint.Notice
		want []checkpoint.Notice
	}{
		{"ready notices gather per workflow",
			[]checkpoint.Notice{ready("a", "t1"), ready("a", "t2"), ready("b", "t3"), ready("a", "t4")},
			[]checkpoint.Notice{ready("a", "t1"), ready("b", "t3")}},
		{"stop notices stay per thread",
			[]checkpoint.Notice{stop("a", "t1"), stop("a", "t2"), stop("a", "t1")},
			[]checkpoint.Notice{stop("a", "t1"), stop("a", "t2")}},
		{"event notices gather into one",
			[]checkpoint.Notice{event("a", "t1"), event("b", "t2"), ready("a", "t1"), event("a", "t3")},
			[]checkpoint.Notice{event("a", "t1"), ready("a", "t1")}},
		{"kinds do not gather together",
			[]checkpoint.Notice{ready("a", "t1"), stop("a", "t1"), ready("a", "t1")},
			[]checkpoint.Notice{ready("a", "t1"), stop("a", "t1")}},
		{"many writes, one batch",
			func() []checkpoint.Notice {
				var ns []checkpoint.Notice
				for i := range 1000 {
					ns = append(ns, ready(fmt.Sprint("w", i%3), fmt.Sprint("t", i)))
				}
				return ns
			}(),
			[]checkpoint.Notice{ready("w0", "t0"), ready("w1", "t1"), ready("w2", "t2")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRecorder()
			r.hold = make(chan struct{})
			b := New(r.send, time.Millisecond, nil)
			b.Add(ready("first", "t0"))
			// The first batch is taken (its send waits) before the others
			// are added: wait until the sender has emptied the queue.
			waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.pending) == 0 })
			for _, n := range c.add {
				b.Add(n)
			}
			r.hold <- struct{}{}
			<-r.got
			r.hold <- struct{}{}
			<-r.got
			if got := r.batch(1); !slices.Equal(got, c.want) {
				t.Errorf("second batch %v, want %v", got, c.want)
			}
			close(r.hold)
			if err := b.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(r.batches) != 2 {
				t.Errorf("%d batches, want 2", len(r.batches))
			}
		})
	}
}

func TestFlushWaitsForPending(t *testing.T) {
	r := newRecorder()
	b := New(r.send, time.Millisecond, nil)
	for i := range 50 {
		b.Add(stop("a", fmt.Sprint("t", i)))
	}
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, batch := range r.batches {
		sent += len(batch)
	}
	if sent != 50 {
		t.Errorf("%d notices sent by Flush's return, want 50", sent)
	}
	// Idle again: a new notice starts a new sender.
	b.Add(ready("a", "again"))
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if last := r.batches[len(r.batches)-1]; !slices.Equal(last, []checkpoint.Notice{ready("a", "again")}) {
		t.Errorf("last batch %v", last)
	}
}

// TestFlushDoesNotWaitForTheInterval: with an interval no test waits for,
// the notices that come after the first go out when Flush is called.
func TestFlushDoesNotWaitForTheInterval(t *testing.T) {
	r := newRecorder()
	b := New(r.send, time.Hour, nil)
	b.Add(ready("a", "t1"))
	<-r.got
	b.Add(ready("b", "t2"))
	b.Add(ready("b", "t3"))
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(r.batches) != 2 || !slices.Equal(r.batches[1], []checkpoint.Notice{ready("b", "t2")}) {
		t.Errorf("batches %v", r.batches)
	}
}

func TestFlushGivesUpWithItsContext(t *testing.T) {
	r := newRecorder()
	r.hold = make(chan struct{})
	defer close(r.hold)
	b := New(r.send, time.Millisecond, nil)
	b.Add(ready("a", "t"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Flush with an ended context: %v", err)
	}
}

func TestFailedSendDoesNotStopTheNext(t *testing.T) {
	r := newRecorder()
	r.fail = errors.New("connection refused")
	b := New(r.send, time.Millisecond, nil)
	b.Add(ready("a", "t1"))
	<-r.got
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.Add(ready("a", "t2"))
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(r.batches) != 2 {
		t.Errorf("%d batches after a failed one, want 2", len(r.batches))
	}
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
	}
}
