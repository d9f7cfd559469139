package crashtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/worker"
)

var workerKills = flag.Int("crash.workerkills", 30, "SIGKILLs of workers per store (default: 30 on SQLite, 50 on PostgreSQL; 10 with -short)")

// The lease and heartbeat of worker children: short, so that takeovers
// happen within the test; the heartbeat well inside the lease.
const (
	childLease     = 400 * time.Millisecond
	childHeartbeat = 50 * time.Millisecond
)

// envSlowNode makes the worker child's "prepare" node sleep this long (a
// Go duration): long enough for the parent to freeze the worker in it.
const envSlowNode = "WEFT_CRASH_SLOW"

// envWithin gives the workflow's question a fallback answer ("fallback")
// after this long (a Go duration).
const envWithin = "WEFT_CRASH_WITHIN"

// workerChild runs a worker over the store until it is killed, or until
// SIGTERM, when it shuts down and hands back what it runs.
func workerChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	store, closeStore, err := openStore(ctx, os.Getenv(envStore))
	if err != nil {
		return err
	}
	defer closeStore()
	f, err := os.OpenFile(os.Getenv(envLog), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	slow := parseSlow(os.Getenv(envSlowNode))
	wf, err := buildWorked(store, &effectLog{f: f}, slow, childLease, childHeartbeat)
	if err != nil {
		return err
	}
	w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 20 * time.Millisecond, Slots: 8, ShutdownTimeout: time.Second, Deadlines: 50 * time.Millisecond, LeaderTTL: time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	fmt.Println("ready")
	err = w.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// parseSlow reads envSlowNode: a duration ("3s") or a range
// ("50ms-500ms"), and returns how long each run of the slow node takes.
func parseSlow(v string) func() time.Duration {
	lo, hi, isRange := strings.Cut(v, "-")
	a, _ := time.ParseDuration(lo)
	b := a
	if isRange {
		b, _ = time.ParseDuration(hi)
	}
	return func() time.Duration {
		if b <= a {
			return a
		}
		return a + time.Duration(rand.Int64N(int64(b-a)))
	}
}

// buildWorked is the crash workflow: prepare (slow if asked), charge (a
// journaled effect, then a question), finish, on a lease with a heartbeat.
func buildWorked(store checkpoint.Store, log *effectLog, slow func() time.Duration, lease, beat time.Duration) (*weft.Workflow[Job], error) {
	within, _ := time.ParseDuration(os.Getenv(envWithin))
	g := weft.NewGraph[Job]("crash")
	g.AddNode("prepare", func(ctx context.Context, j Job) (Job, error) {
		if d := slow(); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return j, ctx.Err()
			}
		}
		jitter()
		// The effect log tells which process ran the node.
		if log != nil {
			log.add("prepare %d", os.Getpid())
		}
		j.Steps = append(j.Steps, "prepare")
		return j, nil
	})
	g.AddNode("charge", func(ctx context.Context, j Job) (Job, error) {
		jitter()
		receipt, err := weft.Do(ctx, "charge", func(ctx context.Context) (string, error) {
			id := weft.EffectID(ctx)
			log.add("start %s", id)
			jitter()
			log.add("effect %s", id)
			jitter()
			return "receipt-" + id[:8], nil
		})
		if err != nil {
			return j, err
		}
		log.add("done %s", receipt)
		opts := []weft.InterruptOption{weft.Key("confirm")}
		if within > 0 {
			opts = append(opts, weft.Within(within, "fallback"))
		}
		answer, err := weft.Interrupt[string](ctx, receipt, opts...)
		if err != nil {
			return j, err
		}
		j.Receipt, j.Answer = receipt, answer
		return j, nil
	})
	g.AddNode("finish", func(ctx context.Context, j Job) (Job, error) {
		jitter()
		j.Steps = append(j.Steps, "finish")
		return j, nil
	})
	g.AddEdge(weft.Start, "prepare").AddEdge("prepare", "charge").AddEdge("charge", "finish")
	return g.Compile(weft.WithStore(store), weft.WithLease(lease), weft.WithHeartbeat(beat))
}

// workerProc is one worker child.
type workerProc struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *syncBuilder
}

// syncBuilder is a strings.Builder safe to read while the child writes.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWorker starts a worker child and waits until it has opened the
// store.
func startWorker(t *testing.T, spec, logPath string, env ...string) *workerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), envChild+"=worker", envStore+"="+spec, envLog+"="+logPath), env...)
	p := &workerProc{cmd: cmd, done: make(chan error, 1), stderr: &syncBuilder{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan()
		for sc.Scan() {
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	if !<-ready {
		t.Fatalf("worker child exited before it was ready: %v\n%s", <-p.done, p.stderr.String())
	}
	t.Cleanup(func() { p.kill() })
	return p
}

// kill SIGKILLs the worker (if it still runs) and waits for it.
func (p *workerProc) kill() {
	if p.cmd.Process.Kill() == nil {
		<-p.done
	}
}

// parentSide is the parent's handle on the store and the workflow, to
// submit runs, answer questions (as the CLI would, through the store) and
// read the threads.
type parentSide struct {
	t     *testing.T
	store checkpoint.Store
	wf    *weft.Workflow[Job]
}

func newParentSide(t *testing.T, spec string) *parentSide {
	store, closeStore, err := openStore(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	wf, err := buildWorked(store, nil, parseSlow(""), childLease, childHeartbeat)
	if err != nil {
		t.Fatal(err)
	}
	return &parentSide{t: t, store: store, wf: wf}
}

// answerPending answers every pending question of the threads, through
// the store: the threads become ready for a worker.
func (p *parentSide) answerPending(ctx context.Context) {
	page, err := p.store.Interrupts(ctx, &checkpoint.InterruptQuery{Workflow: "crash", Status: checkpoint.InterruptPending, Limit: 500})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, q := range page.Interrupts {
		v, _ := json.Marshal(answerFor(q.ThreadID))
		_, err := p.store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: q.ThreadID, Answers: []checkpoint.Answer{{
			ThreadID: q.ThreadID, InterruptID: q.ID, Value: v, Author: "parent", Channel: checkpoint.ChannelCLI, At: time.Now()}}})
		if err != nil && !errors.Is(err, checkpoint.ErrAlreadyAnswered) && !errors.Is(err, checkpoint.ErrConflict) {
			p.t.Fatalf("answer %s/%s: %v", q.ThreadID, q.ID, err)
		}
	}
}

// completed counts the threads that completed, failing the test on a
// thread that failed.
func (p *parentSide) completed(ctx context.Context, ids []string) int {
	n := 0
	for _, id := range ids {
		row, err := p.store.Thread(ctx, id)
		if err != nil {
			p.t.Fatal(err)
		}
		switch row.Status {
		case checkpoint.StatusCompleted:
			n++
		case checkpoint.StatusFailed:
			p.t.Fatalf("thread %s failed: %s", id, row.Error)
		}
	}
	return n
}

// until answers questions and waits for all threads to complete, up to a
// generous deadline (a bound on a broken build, not a schedule).
func (p *parentSide) until(ctx context.Context, ids []string) {
	deadline := time.Now().Add(2 * time.Minute)
	for p.completed(ctx, ids) < len(ids) {
		if time.Now().After(deadline) {
			p.t.Fatalf("threads not completed after 2 minutes")
		}
		p.answerPending(ctx)
		time.Sleep(20 * time.Millisecond)
	}
}

// check checks every thread's final state and the effect log.
func (p *parentSide) check(ctx context.Context, ids []string, logPath string) {
	effects := map[string]int{}
	for _, id := range ids {
		snap, err := p.wf.State(ctx, id)
		if err != nil {
			p.t.Fatal(err)
		}
		j := snap.Values
		if snap.Status != weft.StatusCompleted || j.Answer != answerFor(id) || strings.Join(j.Steps, ",") != "prepare,finish" || j.Receipt == "" {
			p.t.Errorf("thread %s: %s with %+v", id, snap.Status, j)
		}
		effects[j.Receipt]++
	}
	checkEffects(p.t, logPath, effects)
}

// workerCrash submits threads whose first node takes 50–500 ms (a model
// call), runs workers processes over them, and SIGKILLs a worker that
// holds running threads at a random moment, again and again (starting
// another), while answers come through the store; then lets the last
// workers finish. Every thread completes once, with its answer, each
// journaled effect ran once, and the threads of each killed worker were
// taken over (the worst takeover is logged).
func workerCrash(t *testing.T, spec string, workers, threads, kills int) {
	if testing.Short() {
		kills = 10
	}
	if *workerKills > 0 && *workerKills != 30 {
		kills = *workerKills // set on the command line
	}
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "effects.log")
	p := newParentSide(t, spec)
	ids := make([]string, threads)
	for i := range ids {
		ids[i] = fmt.Sprintf("w-%d", i)
		if _, err := p.wf.Submit(ctx, ids[i], Job{}); err != nil {
			t.Fatal(err)
		}
	}
	slow := envSlowNode + "=50ms-500ms"
	procs := make([]*workerProc, workers)
	for i := range procs {
		procs[i] = startWorker(t, spec, logPath, slow)
	}
	tk := &takeovers{since: map[string]takeover{}}
	for range kills {
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		p.answerPending(ctx)
		tk.check(t, p)
		// The victim: a worker that runs threads now, if one does.
		i := rand.IntN(len(procs))
		held := p.heldBy(ctx, ids, procs[i])
		for j := range procs {
			if h := p.heldBy(ctx, ids, procs[j]); len(h) > 0 {
				i, held = j, h
				break
			}
		}
		procs[i].kill()
		tk.killed(procs[i], held)
		procs[i] = startWorker(t, spec, logPath, slow)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for p.completed(ctx, ids) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("threads not completed after 2 minutes")
		}
		p.answerPending(ctx)
		tk.check(t, p)
		time.Sleep(20 * time.Millisecond)
	}
	tk.check(t, p)
	p.check(ctx, ids, logPath)
	t.Logf("%d worker kills over %d threads and %d workers; %d threads taken over from killed workers, the worst after %v (lease %v)",
		kills, threads, workers, tk.n, tk.worst.Round(time.Millisecond), childLease)
}

// takeover is a thread a killed worker held: its epoch then, and when the
// worker died.
type takeover struct {
	epoch int64
	at    time.Time
}

// takeovers tracks the threads of killed workers until another claims
// them (or they end).
type takeovers struct {
	since map[string]takeover
	worst time.Duration
	n     int
}

func (tk *takeovers) killed(w *workerProc, held map[string]int64) {
	now := time.Now()
	for id, epoch := range held {
		tk.since[id] = takeover{epoch, now}
	}
}

// check notes the tracked threads another worker claimed (a higher epoch)
// or that ended.
func (tk *takeovers) check(t *testing.T, p *parentSide) {
	for id, k := range tk.since {
		row, err := p.store.Thread(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if row.Epoch > k.epoch || row.Status == checkpoint.StatusCompleted {
			tk.worst = max(tk.worst, time.Since(k.at))
			tk.n++
			delete(tk.since, id)
		}
	}
}

// heldBy returns the threads w runs now, with their claim's epoch.
func (p *parentSide) heldBy(ctx context.Context, ids []string, w *workerProc) map[string]int64 {
	pid := ":" + strconv.Itoa(w.cmd.Process.Pid) + ":"
	held := map[string]int64{}
	for _, id := range ids {
		row, err := p.store.Thread(ctx, id)
		if err != nil {
			p.t.Fatal(err)
		}
		if row.Status == checkpoint.StatusRunning && strings.Contains(row.Owner, pid) {
			held[id] = row.Epoch
		}
	}
	return held
}

func TestWorkerCrashSQLite(t *testing.T) {
	workerCrash(t, "sqlite:"+filepath.Join(t.TempDir(), "workers.db"), 2, 24, 30)
}

func TestWorkerCrashPostgres(t *testing.T) {
	workerCrash(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t), 3, 60, 50)
}

// frozenWorker freezes (SIGSTOP) a worker inside a node, lets another
// worker take the thread over once the frozen one's lease lapsed, then
// thaws the first: it must write nothing (its claim is gone), and the
// thread ends as the second worker made it.
func frozenWorker(t *testing.T, spec string) {
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "effects.log")
	p := newParentSide(t, spec)
	if _, err := p.wf.Submit(ctx, "frozen", Job{}); err != nil {
		t.Fatal(err)
	}
	a := startWorker(t, spec, logPath, envSlowNode+"=3s")
	pidA := strconv.Itoa(a.cmd.Process.Pid)
	// Wait until A holds the thread (its owner names its pid).
	for deadline := time.Now().Add(time.Minute); ; {
		row, err := p.store.Thread(ctx, "frozen")
		if err != nil {
			t.Fatal(err)
		}
		if row.Status == checkpoint.StatusRunning && strings.Contains(row.Owner, ":"+pidA+":") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker A never claimed the thread: %+v", row)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Freeze A while it holds no lock in the database (between two of its
	// transactions, as a GC pause or a stopped VM would most often catch
	// it): a process frozen inside a transaction blocks the others' writes
	// on SQLite, and on PostgreSQL holds the thread's row, until it
	// thaws. A probe write that must fail fast at once tells which.
	for attempt := 0; ; attempt++ {
		if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		// Two probes: a write of another row (SQLite's one write lock) and
		// a claim of the thread (its row's lock on PostgreSQL).
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, lerr := p.store.Lease(pctx, &checkpoint.Lease{Name: "probe", Owner: "parent", TTL: time.Millisecond})
		_, err := p.store.Claim(pctx, &checkpoint.Claim{ThreadID: "frozen", ExpectedVersion: -1, Owner: "probe", Lease: time.Millisecond})
		cancel()
		if lerr == nil && errors.Is(err, checkpoint.ErrConflict) {
			break
		}
		if lerr != nil {
			err = lerr
		}
		if attempt == 50 {
			t.Fatalf("could not freeze worker A outside a transaction: %v", err)
		}
		if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	}
	b := startWorker(t, spec, logPath)
	// B takes the thread over once A's lease lapsed, and runs it to the
	// question; the parent answers; B completes it.
	p.until(ctx, []string{"frozen"})
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// A wakes inside prepare with its claim gone; when the node returns,
	// its run finds itself fenced out and says so.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(a.stderr.String(), "fenced out"); {
		if time.Now().After(deadline) {
			t.Fatalf("the thawed worker did not report that it was fenced out:\n%s", a.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	snap, err := p.wf.State(ctx, "frozen")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != weft.StatusCompleted || strings.Join(snap.Values.Steps, ",") != "prepare,finish" || snap.Values.Answer != answerFor("frozen") {
		t.Fatalf("after the frozen worker woke: %s %+v", snap.Status, snap.Values)
	}
	// B took it over: a second claim, and B ran prepare again.
	row, err := p.store.Thread(ctx, "frozen")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	pidB := strconv.Itoa(b.cmd.Process.Pid)
	if row.Epoch < 2 || !strings.Contains(string(log), "prepare "+pidB+"\n") {
		t.Fatalf("no takeover: epoch %d, effect log:\n%s", row.Epoch, log)
	}
	p.check(ctx, []string{"frozen"}, logPath)
	a.kill()
	b.kill()
}

func TestFrozenWorkerSQLite(t *testing.T) {
	frozenWorker(t, "sqlite:"+filepath.Join(t.TempDir(), "frozen.db"))
}

func TestFrozenWorkerPostgres(t *testing.T) {
	frozenWorker(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t))
}

// deadlineWorkers: a question whose fallback comes due while three worker
// processes run deadlines is answered once, by the deadline, and its
// thread carries on once.
func deadlineWorkers(t *testing.T, spec string) {
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "effects.log")
	t.Setenv(envWithin, "300ms") // the parent's workflow asks the same question
	p := newParentSide(t, spec)
	const threads = 6
	ids := make([]string, threads)
	for i := range ids {
		ids[i] = fmt.Sprintf("d-%d", i)
		if _, err := p.wf.Submit(ctx, ids[i], Job{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		startWorker(t, spec, logPath, envWithin+"=300ms")
	}
	deadline := time.Now().Add(2 * time.Minute)
	for p.completed(ctx, ids) < threads {
		if time.Now().After(deadline) {
			t.Fatal("threads not completed after 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range ids {
		snap, err := p.wf.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Values.Answer != "fallback" || strings.Join(snap.Values.Steps, ",") != "prepare,finish" {
			t.Errorf("thread %s: %+v", id, snap.Values)
		}
		page, err := p.store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Interrupts) != 1 || page.Interrupts[0].Channel != checkpoint.ChannelDeadline || page.Interrupts[0].Status != checkpoint.InterruptAnswered {
			t.Errorf("thread %s: questions %+v, want one answered by the deadline", id, page.Interrupts)
		}
	}
}

func TestDeadlineWorkersSQLite(t *testing.T) {
	deadlineWorkers(t, "sqlite:"+filepath.Join(t.TempDir(), "deadline.db"))
}

func TestDeadlineWorkersPostgres(t *testing.T) {
	deadlineWorkers(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t))
}

// stopElsewhere: a stop requested through the store, by a process that
// does not run the thread, stops it in the worker that does, inside its
// long node; the node's work is not committed, and a resume carries on.
func stopElsewhere(t *testing.T, spec string) {
	ctx := context.Background()
	logPath := filepath.Join(t.TempDir(), "effects.log")
	p := newParentSide(t, spec)
	if _, err := p.wf.Submit(ctx, "s", Job{}); err != nil {
		t.Fatal(err)
	}
	startWorker(t, spec, logPath, envSlowNode+"=20s")
	for deadline := time.Now().Add(time.Minute); ; {
		row, err := p.store.Thread(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		if row.Status == checkpoint.StatusRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker claimed the thread: %+v", row)
		}
		time.Sleep(5 * time.Millisecond)
	}
	asked := time.Now()
	if _, err := p.store.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: "s", At: asked}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; {
		row, err := p.store.Thread(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		if row.Status == checkpoint.StatusStopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thread did not stop: %+v", row)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(asked)
	snap, err := p.wf.State(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Values.Steps) != 0 {
		t.Errorf("the stopped node's work was kept: %+v", snap.Values)
	}
	t.Logf("stopped %v after the request (heartbeat %v; the node would have taken 20s)", took.Round(time.Millisecond), childHeartbeat)
}

func TestStopElsewhereSQLite(t *testing.T) {
	stopElsewhere(t, "sqlite:"+filepath.Join(t.TempDir(), "stop.db"))
}

func TestStopElsewherePostgres(t *testing.T) {
	stopElsewhere(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t))
}
