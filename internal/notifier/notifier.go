package notifier

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// DefaultInterval is the least time between two batches of a Batcher.
const DefaultInterval = 10 * time.Millisecond

// sendTimeout bounds one batch's send.
const sendTimeout = 5 * time.Second

// Batcher gathers notices and sends them in batches; see the package
// documentation. The zero value is not usable; call New.
type Batcher struct {
	send     func(context.Context, []checkpoint.Notice) error
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	pending []checkpoint.Notice
	keys    map[key]struct{} // of pending
	running bool             // a goroutine sends
	idle    *sync.Cond       // signalled when the goroutine ends
	kick    chan struct{}    // cuts the goroutine's wait short (Flush)
	flushes int              // Flush calls waiting: the goroutine does not wait
}

// key is what gathers notices within a batch: the workflow of a ready
// notice, the thread of a stop notice, nothing of an event notice (a
// sender claims every due event, whatever its thread).
type key struct {
	kind, workflow, thread string
}

func keyOf(n checkpoint.Notice) key {
	switch n.Kind {
	case checkpoint.NoticeReady:
		return key{kind: n.Kind, workflow: n.Workflow}
	case checkpoint.NoticeEvent:
		return key{kind: n.Kind}
	}
	return key{kind: n.Kind, workflow: n.Workflow, thread: n.Thread}
}

// New returns a Batcher that sends its batches with send, at most one
// every interval (DefaultInterval if interval is not positive), logging
// the batches send fails on to log (nil: nowhere).
func New(send func(context.Context, []checkpoint.Notice) error, interval time.Duration, log *slog.Logger) *Batcher {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Batcher{send: send, interval: interval, log: log, keys: map[key]struct{}{}, kick: make(chan struct{}, 1)}
	b.idle = sync.NewCond(&b.mu)
	return b
}

// Add queues n for the next batch; it never blocks on the database. A
// notice like one already pending (a ready notice of the same workflow, a
// stop notice of the same thread) is dropped.
func (b *Batcher) Add(n checkpoint.Notice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := keyOf(n)
	if _, dup := b.keys[k]; dup {
		return
	}
	b.keys[k] = struct{}{}
	b.pending = append(b.pending, n)
	if !b.running {
		b.running = true
		go b.loop()
	}
}

// loop sends the pending notices at once, then every interval while more
// come, and ends when none came during an interval.
func (b *Batcher) loop() {
	for {
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		clear(b.keys)
		if len(batch) == 0 {
			b.running = false
			b.idle.Broadcast()
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		if err := b.send(ctx, batch); err != nil {
			b.log.Warn("notifier: notices not sent; listeners will find the work by polling", "notices", len(batch), "error", err)
		}
		cancel()
		b.mu.Lock()
		flushing := b.flushes > 0
		b.mu.Unlock()
		if flushing {
			continue
		}
		t := time.NewTimer(b.interval)
		select {
		case <-t.C:
		case <-b.kick:
			t.Stop()
		}
	}
}

// Flush sends the pending notices now, without waiting for the interval
// to pass, and waits until every notice added before it was sent (or
// failed to be), or ctx ends.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	b.flushes++
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	done := make(chan struct{})
	go func() {
		b.mu.Lock()
		for b.running {
			b.idle.Wait()
		}
		b.flushes--
		b.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
