package crashtest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

var kills = flag.Int("crash.kills", 200, "SIGKILLs per store (20 with -short)")

// The child process is this test binary run with these variables set.
const (
	envChild   = "WEFT_CRASH_CHILD"   // the child's job: "1" (crash), "answer", "resume" or "worker"
	envStore   = "WEFT_CRASH_STORE"   // sqlite:PATH or postgres:SCHEMA|URL
	envLog     = "WEFT_CRASH_LOG"     // the effect log
	envBatch   = "WEFT_CRASH_BATCH"   // the batch of threads to drive
	envThreads = "WEFT_CRASH_THREADS" // threads per batch
	// envKillPoints: "1" makes the child kill itself at chosen points too
	// (right after recording an answer, as the first node after an answer
	// starts), besides the parent's kills at random moments.
	envKillPoints = "WEFT_CRASH_KILL_POINTS"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		run := child
		switch mode {
		case "answer":
			run = answerChild
		case "resume":
			run = resumeChild
		case "worker":
			run = workerChild
		}
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Job is the workflow's state.
type Job struct {
	Steps   []string
	Receipt string
	Answer  string
}

func openStore(ctx context.Context, spec string) (checkpoint.Store, func(), error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "sqlite":
		s, err := sqlitestore.Open(ctx, rest, sqlitestore.Options{Migrate: true})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	case "postgres":
		schema, url, _ := strings.Cut(rest, "|")
		s, err := pgstore.Open(ctx, url, pgstore.Options{Schema: schema, Migrate: true})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { s.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", spec)
}

// effectLog appends lines to the shared log with one write each, which
// O_APPEND makes atomic, and which a SIGKILL cannot lose once written.
type effectLog struct {
	mu sync.Mutex
	f  *os.File
}

func (l *effectLog) add(format string, args ...any) {
	if l == nil {
		return // a process that only reads the threads
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
		panic(err)
	}
}

// killedBySignal reports whether err says the child died of SIGKILL.
func killedBySignal(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// maybeKillSelf SIGKILLs this process with probability 1/n if the parent
// asked for kills at chosen points (envKillPoints).
func maybeKillSelf(n int) {
	if os.Getenv(envKillPoints) == "1" && rand.IntN(n) == 0 {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

func jitter() { time.Sleep(time.Duration(rand.IntN(2500)) * time.Microsecond) }

func build(store checkpoint.Store, log *effectLog) (*weft.Workflow[Job], error) {
	return buildWorked(store, log, parseSlow(""), 50*time.Millisecond, 10*time.Millisecond)
}

func threadIDs(batch, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("b%d-t%d", batch, i)
	}
	return ids
}

func answerFor(thread string) string { return "yes-" + thread }

// child drives every thread of its batch to completion, whatever state the
// killed processes before it left them in.
func child() error {
	ctx := context.Background()
	store, closeStore, err := openStore(ctx, os.Getenv(envStore))
	if err != nil {
		return err
	}
	defer closeStore()
	f, err := os.OpenFile(os.Getenv(envLog), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	wf, err := build(store, &effectLog{f: f})
	if err != nil {
		return err
	}
	fmt.Println("ready") // the parent's kill timer starts now
	batch, _ := strconv.Atoi(os.Getenv(envBatch))
	n, _ := strconv.Atoi(os.Getenv(envThreads))
	todo := threadIDs(batch, n)
	deadline := time.Now().Add(time.Minute)
	for len(todo) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("threads still not completed: %v", todo)
		}
		var left []string
		for _, id := range todo {
			done, err := step(ctx, wf, store, id)
			if err != nil {
				return fmt.Errorf("thread %s: %w", id, err)
			}
			if !done {
				left = append(left, id)
			}
		}
		todo = left
	}
	return nil
}

// step moves one thread on by one call; it reports whether it completed.
func step(ctx context.Context, wf *weft.Workflow[Job], store checkpoint.Store, id string) (bool, error) {
	row, err := store.Thread(ctx, id)
	var res *weft.Result[Job]
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		res, err = wf.Run(ctx, id, Job{})
	case err != nil:
		return false, err
	case row.Status == checkpoint.StatusCompleted:
		return true, nil
	case row.Status == checkpoint.StatusInterrupted:
		snap, serr := wf.State(ctx, id)
		if serr != nil {
			return false, serr
		}
		if rand.IntN(2) == 0 {
			// Answer as a tool with only the store would (the CLI): record
			// the answers and make the thread ready, run nothing; the next
			// pass resumes it. A kill right after is a kill between the
			// answer and the commit that acts on it.
			answers := make([]checkpoint.Answer, 0, len(snap.Interrupts))
			for _, q := range snap.Interrupts {
				v, _ := json.Marshal(answerFor(id))
				answers = append(answers, checkpoint.Answer{ThreadID: id, InterruptID: q.ID, Value: v, Author: "crash-cli", Channel: checkpoint.ChannelCLI, At: time.Now()})
			}
			_, err := store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: id, Answers: answers})
			if err != nil && !errors.Is(err, checkpoint.ErrAlreadyAnswered) && !errors.Is(err, checkpoint.ErrConflict) {
				return false, err
			}
			maybeKillSelf(2)
			return false, nil
		}
		var opts []weft.RunOption
		for _, q := range snap.Interrupts {
			opts = append(opts, weft.Answer(q.ID, answerFor(id)), weft.By("crash-test", checkpoint.ChannelAPI))
		}
		// A kill as the first node after the answer starts: the answer and
		// the claim are committed, nothing after them is.
		opts = append(opts, weft.WithObserver(weft.ObserverFunc(func(_ context.Context, ev weft.Event) {
			if ev.Type == weft.EventNodeStarted {
				maybeKillSelf(3)
			}
		})))
		res, err = wf.Resume(ctx, id, opts...)
		if errors.Is(err, weft.ErrAlreadyAnswered) {
			res, err = wf.Resume(ctx, id)
		}
	default: // ready, running (a dead process's lease), stopped, failed
		res, err = wf.Resume(ctx, id)
	}
	switch {
	case errors.Is(err, weft.ErrBusy), errors.Is(err, weft.ErrConflict), errors.Is(err, weft.ErrThreadPaused):
		time.Sleep(5 * time.Millisecond) // a lease of a killed process runs out
		return false, nil
	case err != nil:
		return false, err
	}
	return res.Status == weft.StatusCompleted, nil
}

// crash kills children of this test binary at random moments until it has
// killed enough of them, then lets one finish, and checks every thread.
func crash(t *testing.T, spec string) {
	n := *kills
	if testing.Short() {
		n = 20
	}
	const threads = 4
	dir := t.TempDir()
	logPath := filepath.Join(dir, "effects.log")
	pointKills := 0
	run := func(batch int, kill bool) (killed bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"=1", envStore+"="+spec, envLog+"="+logPath,
			envBatch+"="+strconv.Itoa(batch), envThreads+"="+strconv.Itoa(threads))
		if kill && batch%2 == 1 {
			cmd.Env = append(cmd.Env, envKillPoints+"=1")
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kills are timed from when the child has opened the store, so they
		// land while it works rather than while it starts.
		ready := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			if sc.Scan() {
				close(ready)
			}
			for sc.Scan() {
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var timeout <-chan time.Time
		if kill {
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("child of batch %d exited before it was ready: %v\n%s", batch, err, stderr.String())
			}
			timeout = time.After(time.Duration(rand.IntN(60)) * time.Millisecond)
		} else {
			timeout = time.After(2 * time.Minute)
		}
		select {
		case err := <-done:
			if killedBySignal(err) && kill {
				pointKills++ // it killed itself at a chosen point
				return true
			}
			if err != nil {
				t.Fatalf("child of batch %d: %v\n%s", batch, err, stderr.String())
			}
			return false
		case <-timeout:
			if !kill {
				t.Fatalf("child of batch %d did not finish", batch)
			}
			err := cmd.Process.Kill()              // SIGKILL
			if errors.Is(err, os.ErrProcessDone) { // it finished first
				err := <-done
				if killedBySignal(err) {
					pointKills++ // it killed itself at a chosen point
					return true
				}
				if err != nil {
					t.Fatalf("child of batch %d: %v\n%s", batch, err, stderr.String())
				}
				return false
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err == nil {
				return false // it finished before the signal landed
			}
			return true
		}
	}
	batch, killed := 0, 0
	for killed < n {
		if run(batch, true) {
			killed++
		} else {
			batch++ // it finished its threads: the next children get new ones
		}
	}
	run(batch, false)
	t.Logf("%d kills (%d at chosen points: after an answer, before the commit acting on it) over %d batches of %d threads", killed, pointKills, batch+1, threads)

	ctx := context.Background()
	store, closeStore, err := openStore(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	wf, err := build(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	effects := map[string]int{}
	for b := 0; b <= batch; b++ {
		for _, id := range threadIDs(b, threads) {
			snap, err := wf.State(ctx, id)
			if err != nil {
				t.Fatalf("thread %s: %v", id, err)
			}
			j := snap.Values
			if snap.Status != weft.StatusCompleted || j.Answer != answerFor(id) ||
				strings.Join(j.Steps, ",") != "prepare,finish" || j.Receipt == "" {
				t.Errorf("thread %s: %s with %+v", id, snap.Status, j)
			}
			effects[j.Receipt]++
		}
	}
	checkEffects(t, logPath, effects)
}

// checkEffects reads the effect log: no effect may start again after its
// result was journaled (its "done" line), and the effect system must have
// seen exactly one distinct effect per thread.
func checkEffects(t *testing.T, path string, receipts map[string]int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	journaled := map[string]bool{} // receipt prefix of effect IDs
	distinct := map[string]bool{}
	starts, repeats := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, id, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "start":
			starts++
			if journaled["receipt-"+id[:8]] {
				t.Errorf("effect %s started again after its result was journaled", id)
			}
			if distinct[id] {
				repeats++
			}
		case "effect":
			distinct[id] = true
		case "done":
			journaled[id] = true
		}
	}
	if len(distinct) != len(receipts) {
		t.Errorf("%d distinct effects for %d threads", len(distinct), len(receipts))
	}
	for r, n := range receipts {
		if n != 1 {
			t.Errorf("receipt %s belongs to %d threads", r, n)
		}
	}
	t.Logf("%d effect attempts for %d effects (%d retried after a kill before the journal write)", starts, len(distinct), repeats)
}

func TestCrashSQLite(t *testing.T) {
	crash(t, "sqlite:"+filepath.Join(t.TempDir(), "crash.db"))
}

func TestCrashPostgres(t *testing.T) {
	url := pgtest.URL(t)
	crash(t, "postgres:"+pgtest.Schema(t)+"|"+url)
}
