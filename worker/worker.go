package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/leadership"
	"github.com/weftgraph/weft/internal/maintenance"
)

// Defaults of Config.
const (
	DefaultSlots           = 100
	DefaultPoll            = time.Second
	DefaultDeadlines       = time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultLeaderTTL is how long the maintenance lease lasts without a
	// renewal (see Config.LeaderTTL).
	DefaultLeaderTTL = 30 * time.Second
)

// Config configures a Worker. The zero value is the default for every
// field.
type Config struct {
	// Slots caps how many threads the worker runs at once (DefaultSlots,
	// 100). A thread holds a slot while a node of it runs, not while it
	// waits for a person. Past the cap the worker claims nothing: ready
	// threads wait in the store for a free slot, here or elsewhere.
	Slots int
	// WorkflowSlots caps, per workflow name, how many of the worker's
	// slots that workflow's threads may hold (a limit of this process,
	// not of the deployment).
	WorkflowSlots map[string]int
	// Poll is how often the worker looks for ready threads when nothing
	// told it about any (DefaultPoll, 1s). With a store that notifies
	// (PostgreSQL) the worker hears of new work at once and the poll is a
	// fallback; without one (SQLite, memstore), it is how long ready work
	// may wait.
	Poll time.Duration
	// NoListen makes the worker poll only, even on a store that notifies
	// (behind a connection pooler that breaks LISTEN, such as PgBouncer in
	// transaction mode).
	NoListen bool
	// Deadlines is how often the worker that leads maintenance fires due
	// deadlines (DefaultDeadlines, 1s); negative: never (another process
	// does it).
	Deadlines time.Duration
	// Retention, if set, is pruned by the leading worker every
	// RetentionEvery (default 1h).
	Retention      *checkpoint.Prune
	RetentionEvery time.Duration
	// LeaderTTL is how long the maintenance lease lasts without a renewal
	// (DefaultLeaderTTL): how long deadlines may go unfired after the
	// leader dies.
	LeaderTTL time.Duration
	// ShutdownTimeout is how long Run waits, once its context ends, for
	// the threads it runs to finish or pause (DefaultShutdownTimeout,
	// 30s); those still running then are handed back: they stop at their
	// last checkpoint, ready for any worker.
	ShutdownTimeout time.Duration
	// RunOptions are given to every run the worker makes (an observer
	// that streams their events, a step limit).
	RunOptions []weft.RunOption
	// Logger logs claims, takeovers, failures and shutdown (default: none).
	Logger *slog.Logger
	// Monitor, if set, is told of the worker's claims, takeovers and lost
	// claims, and of the deadlines its maintenance fires (for metrics:
	// package github.com/weftgraph/weft/otel implements it).
	Monitor weft.Monitor
}

// Worker runs the ready threads of the workflows it has, taken from the
// store; see the package documentation.
type Worker struct {
	store   checkpoint.Store
	runners map[string]weft.Runner
	cfg     Config
	log     *slog.Logger
	inbox   *inbox.Inbox

	wake chan struct{}

	mu      sync.Mutex
	running map[string]string // thread -> workflow
	byFlow  map[string]int
	wg      sync.WaitGroup
}

// New returns a worker that runs the threads of runners kept in store.
// Every runner must keep its threads in store.
func New(store checkpoint.Store, runners []weft.Runner, cfg Config) (*Worker, error) {
	if store == nil {
		return nil, errors.New("worker: New without a store")
	}
	if len(runners) == 0 {
		return nil, errors.New("worker: New without workflows")
	}
	w := &Worker{store: store, runners: map[string]weft.Runner{}, cfg: cfg, log: cfg.Logger,
		wake: make(chan struct{}, 1), running: map[string]string{}, byFlow: map[string]int{}}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for _, r := range runners {
		if _, dup := w.runners[r.Name()]; dup {
			return nil, fmt.Errorf("worker: workflow %q given twice", r.Name())
		}
		w.runners[r.Name()] = r
	}
	w.cfg.Slots = pick(w.cfg.Slots, DefaultSlots)
	w.cfg.Poll = pick(w.cfg.Poll, DefaultPoll)
	w.cfg.Deadlines = pick(w.cfg.Deadlines, DefaultDeadlines)
	w.cfg.RetentionEvery = pick(w.cfg.RetentionEvery, time.Hour)
	w.cfg.LeaderTTL = pick(w.cfg.LeaderTTL, DefaultLeaderTTL)
	w.cfg.ShutdownTimeout = pick(w.cfg.ShutdownTimeout, DefaultShutdownTimeout)
	opts := []inbox.Option{inbox.WithQueue(), inbox.WithLogger(w.log)}
	if cfg.Monitor != nil {
		opts = append(opts, inbox.WithMonitor(cfg.Monitor))
	}
	w.inbox = inbox.New(store, runners, opts...)
	return w, nil
}

func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Running returns the threads the worker runs now, sorted.
func (w *Worker) Running() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.running))
	for id := range w.running {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Wake makes the worker look for ready threads now (the same process made
// some ready and need not wait for the poll).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run runs ready threads until ctx ends, then shuts down: it claims no
// more, waits up to Config.ShutdownTimeout for the threads it runs, hands
// back those still running, and returns nil once they have stopped (an
// error only if it could not start).
func (w *Worker) Run(ctx context.Context) error {
	// Runs outlive ctx until the shutdown timeout: a node in the middle
	// of a model call should get to finish.
	runCtx, handBack := context.WithCancelCause(context.WithoutCancel(ctx))
	defer handBack(nil)
	var side sync.WaitGroup
	if n, ok := w.store.(checkpoint.Notifier); ok && !w.cfg.NoListen {
		side.Add(1)
		go func() { defer side.Done(); w.listen(ctx, n) }()
	}
	if w.cfg.Deadlines > 0 || w.cfg.Retention != nil {
		side.Add(1)
		go func() { defer side.Done(); w.maintain(ctx) }()
	}
	w.log.InfoContext(ctx, "worker: started", "workflows", w.names(), "slots", w.cfg.Slots)
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		more, err := w.claim(ctx, runCtx)
		if err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "worker: claiming ready threads", "error", err)
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-poll.C:
		}
	}
	w.log.InfoContext(runCtx, "worker: shutting down", "running", len(w.Running()))
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.InfoContext(runCtx, "worker: handing back threads still running", "threads", w.Running())
		handBack(weft.ErrHandedBack)
		<-done
	}
	side.Wait()
	return nil
}

func (w *Worker) names() []string {
	names := make([]string, 0, len(w.runners))
	for n := range w.runners {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// claim claims as many ready threads as there are free slots and starts
// them; more reports whether it filled every free slot (more work may
// wait).
func (w *Worker) claim(ctx, runCtx context.Context) (more bool, err error) {
	// One ClaimReady per owner and per limited workflow; the others share
	// one.
	type batch struct {
		owner string
		lease time.Duration
		flows []string
		limit int
	}
	w.mu.Lock()
	free := w.cfg.Slots - len(w.running)
	var batches []batch
	shared := map[string]*batch{}
	for _, name := range w.names() {
		r := w.runners[name]
		if lim, ok := w.cfg.WorkflowSlots[name]; ok {
			if n := min(free, lim-w.byFlow[name]); n > 0 {
				batches = append(batches, batch{owner: r.Owner(), lease: r.Lease(), flows: []string{name}, limit: n})
			}
			continue
		}
		b := shared[r.Owner()]
		if b == nil {
			b = &batch{owner: r.Owner(), lease: r.Lease()}
			shared[r.Owner()] = b
		}
		b.flows = append(b.flows, name)
		b.lease = max(b.lease, r.Lease())
	}
	w.mu.Unlock()
	for _, b := range shared {
		b.limit = free
		batches = append(batches, *b)
	}
	if free <= 0 {
		return false, nil
	}
	claimed := 0
	for _, b := range batches {
		n := min(b.limit, free-claimed)
		if n <= 0 {
			break
		}
		rows, err := w.store.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: b.owner, Lease: b.lease, Workflows: b.flows, Limit: n})
		if err != nil {
			return false, err
		}
		for _, row := range rows {
			w.start(runCtx, row)
		}
		claimed += len(rows)
		if len(rows) == n {
			more = true
		}
	}
	return more && claimed < free, nil
}

// start runs one claimed thread.
func (w *Worker) start(ctx context.Context, row checkpoint.Thread) {
	r := w.runners[row.Workflow]
	w.mu.Lock()
	w.running[row.ID] = row.Workflow
	w.byFlow[row.Workflow]++
	w.mu.Unlock()
	w.log.InfoContext(ctx, "worker: claimed", "thread", row.ID, "workflow", row.Workflow, "epoch", row.Epoch,
		"takeover", row.TakenOver)
	if m := w.cfg.Monitor; m != nil {
		m.Claimed(ctx, row.Workflow, row.TakenOver)
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			w.mu.Lock()
			delete(w.running, row.ID)
			w.byFlow[row.Workflow]--
			w.mu.Unlock()
			w.Wake() // a slot is free
		}()
		res, err := r.Continue(ctx, row, w.cfg.RunOptions...)
		switch {
		case errors.Is(err, weft.ErrClaimLost):
			w.log.WarnContext(ctx, "worker: fenced out: another process took the thread over", "thread", row.ID, "error", err)
			if m := w.cfg.Monitor; m != nil {
				m.ClaimLost(ctx, row.Workflow)
			}
		case err != nil:
			w.log.WarnContext(ctx, "worker: run failed", "thread", row.ID, "workflow", row.Workflow, "error", err)
		default:
			w.log.InfoContext(ctx, "worker: run ended", "thread", row.ID, "workflow", row.Workflow, "status", res.Status)
		}
	}()
}

// listen wakes the worker when the store says a thread is ready, and stops
// the threads it runs that are asked to stop, until ctx ends; if the
// connection fails it listens again after a poll interval.
func (w *Worker) listen(ctx context.Context, n checkpoint.Notifier) {
	for ctx.Err() == nil {
		err := n.Listen(ctx, func(nt checkpoint.Notice) {
			switch nt.Kind {
			case checkpoint.NoticeReady:
				if _, ok := w.runners[nt.Workflow]; ok {
					w.Wake()
				}
			case checkpoint.NoticeStop:
				w.mu.Lock()
				flow, ok := w.running[nt.Thread]
				w.mu.Unlock()
				if ok {
					_ = w.runners[flow].Stop(ctx, nt.Thread)
				}
			}
		})
		if ctx.Err() != nil {
			return
		}
		w.log.WarnContext(ctx, "worker: listening for notices; polling meanwhile", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(w.cfg.Poll):
		}
	}
}

// maintain takes part in the election of the process that fires due
// deadlines and prunes history.
func (w *Worker) maintain(ctx context.Context) {
	owner := ""
	for _, r := range w.runners {
		owner = r.Owner()
		break
	}
	e := &leadership.Elector{Store: w.store, Name: "weft.maintenance", Owner: owner, TTL: w.cfg.LeaderTTL, Logger: w.log}
	e.Run(ctx, func(ctx context.Context) {
		var services []maintenance.Service
		if w.cfg.Deadlines > 0 {
			services = append(services, maintenance.Service{Name: "deadlines", Every: w.cfg.Deadlines, Do: func(ctx context.Context) error {
				_, err := w.inbox.FireDue(ctx)
				return err
			}})
		}
		if p := w.cfg.Retention; p != nil {
			services = append(services, maintenance.Service{Name: "retention", Every: w.cfg.RetentionEvery, Do: func(ctx context.Context) error {
				n, err := w.store.Prune(ctx, p)
				if n > 0 {
					w.log.InfoContext(ctx, "worker: pruned", "checkpoints", n)
				}
				return err
			}})
		}
		maintenance.Run(ctx, w.log, services...)
	})
}
