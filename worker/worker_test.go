package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/worker"
)

type Job struct {
	Name     string
	Approved bool
	Steps    []string
}

// flow: work -> approve (asks) -> done. hooks lets tests block or count.
type hooks struct {
	work    func(ctx context.Context, s Job) error
	workRun atomic.Int32
	effects atomic.Int32
}

func flow(t *testing.T, store checkpoint.Store, owner string, h *hooks, opts ...weft.CompileOption) *weft.Workflow[Job] {
	t.Helper()
	g := weft.NewGraph[Job]("job")
	g.AddNode("work", func(ctx context.Context, s Job) (Job, error) {
		h.workRun.Add(1)
		if _, err := weft.Do(ctx, "effect", func(ctx context.Context) (int, error) { h.effects.Add(1); return 1, nil }); err != nil {
			return s, err
		}
		if h.work != nil {
			if err := h.work(ctx, s); err != nil {
				return s, err
			}
		}
		s.Steps = append(s.Steps, "work:"+owner)
		return s, nil
	})
	g.AddNode("approve", func(ctx context.Context, s Job) (Job, error) {
		ok, err := weft.Interrupt[bool](ctx, s.Name, weft.Within(time.Hour, true))
		s.Approved = ok
		return s, err
	})
	g.AddNode("done", func(ctx context.Context, s Job) (Job, error) { s.Steps = append(s.Steps, "done:"+owner); return s, nil })
	g.AddEdge(weft.Start, "work").AddEdge("work", "approve").AddEdge("approve", "done")
	wf, err := g.Compile(append([]weft.CompileOption{weft.WithStore(store), weft.WithOwner(owner)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// startWorker runs a worker until the test ends (or stop is called).
func startWorker(t *testing.T, store checkpoint.Store, cfg worker.Config, runners ...weft.Runner) (stop func()) {
	t.Helper()
	w, err := worker.New(store, runners, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls until cond holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func status(t *testing.T, store checkpoint.Store, thread string) checkpoint.Status {
	t.Helper()
	row, err := store.Thread(context.Background(), thread)
	if err != nil {
		return ""
	}
	return row.Status
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fast = worker.Config{Poll: 5 * time.Millisecond, Deadlines: -1}

// TestSubmitAnswerElsewhereComplete: a submitted run, and an answer given
// by a process without the workflow (the inbox's Record), are carried on
// by the worker.
func TestSubmitAnswerElsewhereComplete(t *testing.T) {
	store := memstore.New()
	h := &hooks{}
	wf := flow(t, store, "w1", h)
	startWorker(t, store, fast, wf.Runner())
	ctx := t.Context()
	res, err := wf.Submit(ctx, "t1", Job{Name: "a"})
	if err != nil || res.Status != weft.StatusReady {
		t.Fatalf("submit: %v %+v", err, res)
	}
	waitFor(t, "the pause", func() bool { return status(t, store, "t1") == weft.StatusInterrupted })
	snap, err := wf.State(ctx, "t1")
	if err != nil || len(snap.Interrupts) != 1 {
		t.Fatalf("state: %v %+v", err, snap)
	}
	ib := inbox.New(store, nil) // has no workflow: records only
	if err := ib.Record(ctx, "t1", snap.Interrupts[0].ID, json.RawMessage(`true`), inbox.Author{Name: "ann", Channel: "cli"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "completion", func() bool { return status(t, store, "t1") == weft.StatusCompleted })
	snap, _ = wf.State(ctx, "t1")
	if !snap.Values.Approved || fmt.Sprint(snap.Values.Steps) != "[work:w1 done:w1]" || h.effects.Load() != 1 {
		t.Fatalf("end %+v, effects %d", snap.Values, h.effects.Load())
	}
}

// TestTakeoverAfterTheLeaseLapses: a worker that stops renewing (frozen)
// loses its thread to another; the frozen one, when it wakes, writes
// nothing.
func TestTakeoverAfterTheLeaseLapses(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	store := memstore.New(memstore.WithClock(clock))
	freeze, thaw := make(chan struct{}), make(chan struct{})
	var frozenOnce atomic.Bool
	h := &hooks{work: func(ctx context.Context, s Job) error {
		if frozenOnce.CompareAndSwap(false, true) {
			close(freeze)
			<-thaw
		}
		return nil
	}}
	opts := []weft.CompileOption{weft.WithClock(clock), weft.WithLease(30 * time.Second), weft.WithHeartbeat(25 * time.Second)}
	// A is frozen: its heartbeat must not beat within the test either. (A
	// real 25 s beat renews A's lease on the fake clock, past the jump
	// below, if B takes longer than that to look: under a loaded CI, it
	// once did.) So A's lease is 2 h, renewed hourly.
	a := flow(t, store, "A", h, append(opts, weft.WithLease(2*time.Hour), weft.WithHeartbeat(time.Hour))...)
	b := flow(t, store, "B", h, opts...)
	var logA syncBuffer
	monA, monB := &monitor{}, &monitor{}
	cfgA, cfgB := fast, fast
	cfgA.Logger = slog.New(slog.NewTextHandler(&logA, nil))
	cfgA.Monitor, cfgB.Monitor = monA, monB
	startWorker(t, store, cfgA, a.Runner())
	if _, err := a.Submit(t.Context(), "t", Job{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	<-freeze
	startWorker(t, store, cfgB, b.Runner())
	now.Add(int64(2*time.Hour + time.Second)) // A's lease lapses: it is presumed dead
	waitFor(t, "B's takeover and pause", func() bool { return status(t, store, "t") == weft.StatusInterrupted })
	close(thaw)
	snap, err := b.State(t.Context(), "t")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A fenced out", func() bool { return strings.Contains(logA.String(), "fenced out") })
	again, _ := b.State(t.Context(), "t")
	if fmt.Sprint(snap.Values.Steps) != "[work:B]" || fmt.Sprint(again.Values.Steps) != "[work:B]" || again.Checkpoint != snap.Checkpoint {
		t.Fatalf("after the takeover: %+v then %+v", snap.Values, again.Values)
	}
	if h.effects.Load() != 1 {
		t.Fatalf("the effect ran %d times", h.effects.Load())
	}
	waitFor(t, "A's monitor told of the lost claim", func() bool { return len(monA.get()) >= 2 })
	if got, want := monA.get(), []string{"claimed job", "lost job"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("A's monitor: %q, want %q", got, want)
	}
	if got, want := monB.get(), []string{"claimed job takeover"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("B's monitor: %q, want %q", got, want)
	}
}

// monitor records what a weft.Monitor is told.
type monitor struct {
	mu  sync.Mutex
	log []string
}

func (m *monitor) add(s string) {
	m.mu.Lock()
	m.log = append(m.log, s)
	m.mu.Unlock()
}

func (m *monitor) get() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.log...)
}

func (m *monitor) Claimed(_ context.Context, workflow string, takeover bool) {
	if takeover {
		m.add("claimed " + workflow + " takeover")
		return
	}
	m.add("claimed " + workflow)
}

func (m *monitor) ClaimLost(_ context.Context, workflow string) { m.add("lost " + workflow) }

func (m *monitor) Answered(_ context.Context, workflow, node, channel string, waited time.Duration) {
	m.add(fmt.Sprintf("answered %s %s %s", workflow, node, channel))
}

func (m *monitor) DeadlineFired(_ context.Context, workflow, node string, action weft.DeadlineAction) {
	m.add(fmt.Sprintf("deadline %s %s %s", workflow, node, action))
}

// TestStopFromAnotherProcess: a stop requested in the store reaches the
// worker that runs the thread at its next heartbeat.
func TestStopFromAnotherProcess(t *testing.T) {
	store := memstore.New()
	started := make(chan struct{})
	h := &hooks{work: func(ctx context.Context, s Job) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}}
	wf := flow(t, store, "w", h, weft.WithHeartbeat(10*time.Millisecond), weft.WithLease(time.Second))
	startWorker(t, store, fast, wf.Runner())
	if _, err := wf.Submit(t.Context(), "t", Job{}); err != nil {
		t.Fatal(err)
	}
	<-started
	other := flow(t, store, "elsewhere", &hooks{}) // another process's view
	if err := other.Stop(t.Context(), "t"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stop", func() bool { return status(t, store, "t") == weft.StatusStopped })
}

// TestShutdownHandsBack: a worker that shuts down while a node runs hands
// the thread back; another worker finishes it.
func TestShutdownHandsBack(t *testing.T) {
	store := memstore.New()
	var first atomic.Bool
	started := make(chan struct{})
	h := &hooks{work: func(ctx context.Context, s Job) error {
		if first.CompareAndSwap(false, true) {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
	a := flow(t, store, "A", h)
	cfg := fast
	cfg.ShutdownTimeout = time.Millisecond
	stopA := startWorker(t, store, cfg, a.Runner())
	if _, err := a.Submit(t.Context(), "t", Job{}); err != nil {
		t.Fatal(err)
	}
	<-started
	stopA()
	if s := status(t, store, "t"); s != weft.StatusReady {
		t.Fatalf("after shutdown: %s", s)
	}
	b := flow(t, store, "B", h)
	startWorker(t, store, fast, b.Runner())
	waitFor(t, "B's pause", func() bool { return status(t, store, "t") == weft.StatusInterrupted })
	if h.effects.Load() != 1 {
		t.Fatalf("effects %d", h.effects.Load())
	}
}

// TestSlots: a worker never runs more threads at once than its slots.
func TestSlots(t *testing.T) {
	store := memstore.New()
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	h := &hooks{work: func(ctx context.Context, s Job) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		return nil
	}}
	wf := flow(t, store, "w", h)
	cfg := fast
	cfg.Slots = 2
	startWorker(t, store, cfg, wf.Runner())
	for i := range 6 {
		if _, err := wf.Submit(t.Context(), fmt.Sprint("t", i), Job{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two running", func() bool { return inFlight.Load() == 2 })
	close(release)
	waitFor(t, "all paused", func() bool {
		for i := range 6 {
			if status(t, store, fmt.Sprint("t", i)) != weft.StatusInterrupted {
				return false
			}
		}
		return true
	})
	if most.Load() != 2 {
		t.Fatalf("at most %d at once, want 2", most.Load())
	}
}

// TestDeadlineFiresOnce: with three workers, a due fallback answers the
// question once and the thread continues once.
func TestDeadlineFiresOnce(t *testing.T) {
	store := memstore.New()
	h := &hooks{}
	var runners []*weft.Workflow[Job]
	for i := range 3 {
		g := weft.NewGraph[Job]("due")
		g.AddNode("ask", func(ctx context.Context, s Job) (Job, error) {
			ok, err := weft.Interrupt[bool](ctx, "ok?", weft.Within(time.Millisecond, true))
			s.Approved = ok
			if err == nil {
				h.effects.Add(1)
			}
			return s, err
		})
		g.AddEdge(weft.Start, "ask")
		wf, err := g.Compile(weft.WithStore(store), weft.WithOwner(fmt.Sprint("w", i)))
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, wf)
	}
	if _, err := runners[0].Run(t.Context(), "t", Job{}); err != nil {
		t.Fatal(err)
	}
	mon := &monitor{}
	for _, wf := range runners {
		cfg := fast
		cfg.Deadlines = 2 * time.Millisecond
		cfg.LeaderTTL = 50 * time.Millisecond
		cfg.Monitor = mon
		startWorker(t, store, cfg, wf.Runner())
	}
	waitFor(t, "the fallback", func() bool { return status(t, store, "t") == weft.StatusCompleted })
	var fired []string
	waitFor(t, "the monitor told of the deadline", func() bool {
		fired = fired[:0]
		for _, s := range mon.get() {
			if strings.HasPrefix(s, "deadline") {
				fired = append(fired, s)
			}
		}
		return len(fired) > 0
	})
	if want := []string{"deadline due ask fallback"}; fmt.Sprint(fired) != fmt.Sprint(want) {
		t.Errorf("the monitor was told %q, want %q", fired, want)
	}
	page, err := store.Interrupts(t.Context(), &checkpoint.InterruptQuery{ThreadID: "t"})
	if err != nil || len(page.Interrupts) != 1 || page.Interrupts[0].Author != inbox.DeadlineAuthor || h.effects.Load() != 1 {
		t.Fatalf("questions %+v, continued %d times", page, h.effects.Load())
	}
}
