package crashtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/internal/pgtest"
)

// Two processes race on one thread. Each child reports what its goroutines
// got as one JSON line on stdout.
const (
	envThread = "WEFT_RACE_THREAD"
	envID     = "WEFT_RACE_INTERRUPT"
	envAt     = "WEFT_RACE_AT" // unix nanoseconds when every goroutine goes
	envName   = "WEFT_RACE_NAME"
)

type tally struct {
	OK, AlreadyAnswered, Busy, Conflict, Completed int
	Other                                          []string
}

func (t *tally) add(err error) {
	switch {
	case err == nil:
		t.OK++
	case errors.Is(err, weft.ErrAlreadyAnswered):
		t.AlreadyAnswered++
	case errors.Is(err, weft.ErrBusy):
		t.Busy++
	case errors.Is(err, weft.ErrConflict):
		t.Conflict++
	case errors.Is(err, weft.ErrThreadCompleted):
		t.Completed++
	default:
		t.Other = append(t.Other, err.Error())
	}
}

func waitUntil() {
	at, _ := strconv.ParseInt(os.Getenv(envAt), 10, 64)
	time.Sleep(time.Until(time.Unix(0, at)))
}

// raceWorkflow counts its node's runs in the state and in a log of effects.
func raceWorkflow(store checkpoint.Store) (*weft.Workflow[Job], error) {
	g := weft.NewGraph[Job]("race")
	g.AddNode("ask", func(ctx context.Context, j Job) (Job, error) {
		a, err := weft.Interrupt[string](ctx, "who?")
		if err != nil {
			return j, err
		}
		j.Answer = a
		return j, nil
	})
	g.AddNode("work", func(ctx context.Context, j Job) (Job, error) {
		time.Sleep(20 * time.Millisecond) // long enough for the other process to try
		j.Steps = append(j.Steps, "work")
		return j, nil
	})
	g.AddEdge(weft.Start, "ask").AddEdge("ask", "work")
	return g.Compile(weft.WithStore(store), weft.WithLease(time.Minute))
}

// answerChild: 25 goroutines answer the same interrupt in the store at the
// same instant.
func answerChild() error {
	ctx := context.Background()
	store, closeStore, err := openStore(ctx, os.Getenv(envStore))
	if err != nil {
		return err
	}
	defer closeStore()
	thread, id, name := os.Getenv(envThread), os.Getenv(envID), os.Getenv(envName)
	var mu sync.Mutex
	var t tally
	var wg sync.WaitGroup
	for g := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitUntil()
			value, _ := json.Marshal(fmt.Sprintf("%s-%d", name, g))
			_, err := store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: thread, Answers: []checkpoint.Answer{{ThreadID: thread, InterruptID: id, Value: value,
				Author: fmt.Sprintf("%s-%d", name, g), Channel: checkpoint.ChannelAPI, At: time.Now()}}})
			mu.Lock()
			t.add(err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(t)
}

// resumeChild: Resume the thread at the same instant as the other process.
func resumeChild() error {
	ctx := context.Background()
	store, closeStore, err := openStore(ctx, os.Getenv(envStore))
	if err != nil {
		return err
	}
	defer closeStore()
	wf, err := raceWorkflow(store)
	if err != nil {
		return err
	}
	waitUntil()
	var t tally
	_, err = wf.Resume(ctx, os.Getenv(envThread))
	t.add(err)
	return json.NewEncoder(os.Stdout).Encode(t)
}

// twoProcesses runs two children in mode with env and returns their tallies.
func twoProcesses(t *testing.T, mode, spec string, env ...string) [2]tally {
	at := strconv.FormatInt(time.Now().Add(1500*time.Millisecond).UnixNano(), 10)
	var out [2]tally
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), envChild+"="+mode, envStore+"="+spec, envAt+"="+at,
				envName+"=p"+strconv.Itoa(i)), env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			b, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v\n%s", i, err, stderr.String())
				return
			}
			if err := json.Unmarshal(b, &out[i]); err != nil {
				t.Errorf("child %d said %q: %v", i, b, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

func pausedThread(t *testing.T, spec string) (*weft.Workflow[Job], checkpoint.Store, string) {
	ctx := context.Background()
	store, closeStore, err := openStore(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	wf, err := raceWorkflow(store)
	if err != nil {
		t.Fatal(err)
	}
	res, err := wf.Run(ctx, "race", Job{})
	if err != nil || !res.Paused() {
		t.Fatalf("run: %v, %+v", err, res)
	}
	return wf, store, res.Interrupts[0].ID
}

func raceAnswers(t *testing.T, spec string) {
	_, store, id := pausedThread(t, spec)
	tallies := twoProcesses(t, "answer", spec, envThread+"=race", envID+"="+id)
	sum := tallies[0].OK + tallies[1].OK
	if sum != 1 || tallies[0].AlreadyAnswered+tallies[1].AlreadyAnswered != 49 ||
		len(tallies[0].Other)+len(tallies[1].Other) > 0 {
		t.Fatalf("50 answers in two processes: %+v", tallies)
	}
	page, err := store.Interrupts(context.Background(), &checkpoint.InterruptQuery{ThreadID: "race", ID: id})
	if err != nil {
		t.Fatal(err)
	}
	rec := page.Interrupts[0]
	var value string
	if err := json.Unmarshal(rec.Answer, &value); err != nil || value != rec.Author {
		t.Fatalf("recorded answer %s by %s: the winner's value and author must match", rec.Answer, rec.Author)
	}
}

func raceResumes(t *testing.T, spec string) {
	ctx := context.Background()
	wf, store, id := pausedThread(t, spec)
	if _, err := store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "race", Answers: []checkpoint.Answer{{
		ThreadID: "race", InterruptID: id, Value: json.RawMessage(`"ann"`), Author: "ann", Channel: "api", At: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	// The invariant, whatever the schedule: exactly one resume carries the
	// thread on; the other finds it running (busy, or a lost claim race)
	// or, if it starts late, completed. The node after the answer runs
	// once.
	tallies := twoProcesses(t, "resume", spec, envThread+"=race")
	ok := tallies[0].OK + tallies[1].OK
	other := tallies[0].Busy + tallies[1].Busy + tallies[0].Conflict + tallies[1].Conflict + tallies[0].Completed + tallies[1].Completed
	if ok != 1 || other != 1 || len(tallies[0].Other)+len(tallies[1].Other) > 0 {
		t.Fatalf("two resumes: %+v", tallies)
	}
	snap, err := wf.State(ctx, "race")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != weft.StatusCompleted || snap.Values.Answer != "ann" || strings.Join(snap.Values.Steps, ",") != "work" {
		t.Fatalf("state after two resumes: %s %+v", snap.Status, snap.Values)
	}
}

func TestTwoProcessesAnswerSQLite(t *testing.T) {
	raceAnswers(t, "sqlite:"+filepath.Join(t.TempDir(), "race.db"))
}

func TestTwoProcessesAnswerPostgres(t *testing.T) {
	raceAnswers(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t))
}

func TestTwoProcessesResumeSQLite(t *testing.T) {
	raceResumes(t, "sqlite:"+filepath.Join(t.TempDir(), "race.db"))
}

func TestTwoProcessesResumePostgres(t *testing.T) {
	raceResumes(t, "postgres:"+pgtest.Schema(t)+"|"+pgtest.URL(t))
}
