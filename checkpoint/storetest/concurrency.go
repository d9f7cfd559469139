package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var concurrencyTests = []test{
	{"CommitRace", testCommitRace},
	{"AnswerRace", testAnswerRace},
	{"CommitsOnDifferentThreads", testCommitsOnDifferentThreads},
	{"AnswersVersusCancelPending", testAnswersVersusCancel},
	{"PutWritesVersusCommit", testPutWritesVersusCommit},
	{"ClaimReadyDisjoint", testClaimReadyDisjoint},
	{"ClaimRace", testClaimRace},
}

// race runs f(i) for i in [0, n) on n goroutines released at once and
// returns their errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// oneWinner returns the index of the one call of a race that succeeded. It
// fails the test unless exactly one did and every other call (a what)
// returned an error wrapping lost.
func oneWinner(t *testing.T, what string, errs []error, lost error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("%ss %d and %d both succeeded", what, winner, i)
			}
			winner = i
		case !errors.Is(err, lost):
			t.Errorf("%s %d: error %v, want nil or one wrapping %q", what, i, err, lost)
		}
	}
	if winner < 0 {
		t.Fatalf("no %s succeeded", what)
	}
	return winner
}

// testCommitRace: of 20 commits that expect the same version, exactly one
// wins, the others get ErrConflict, and the thread holds only the winner's
// commit.
func testCommitRace(e *env) {
	const n = 20
	f, spaces := e.richThread("t1")
	commits := make([]checkpoint.Commit, n)
	for i := range commits {
		g := *f
		g.row.Owner = fmt.Sprintf("g%02d", i)
		c := checkpoint.Commit{
			Cancel: &checkpoint.Cancellation{},
			Checkpoint: &checkpoint.Checkpoint{ParentID: f.row.Head, Step: 1, Source: checkpoint.SourceLoop,
				Versions: map[string]int64{"x": 3, "list": 3}, Meta: map[string]string{"by": g.row.Owner},
				Blobs: []checkpoint.Blob{full("x", g.row.Owner), appends("list", 1, `["`+g.row.Owner+`"]`)}},
			Writes:     []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(3), Task: "t", Kind: "output", Data: []byte(g.row.Owner)}},
			Interrupts: []checkpoint.InterruptRecord{question("t1", "q-"+g.row.Owner, checkpoint.FormatID(3), 3)},
			Steps:      []checkpoint.Step{{ThreadID: "t1", Superstep: 1, Node: g.row.Owner, Status: checkpoint.StepCompleted, StartedAt: at(3)}},
		}
		g.prepare(&c)
		commits[i] = c
	}
	errs := race(n, func(i int) error {
		_, err := e.s.Commit(e.ctx, &commits[i])
		return err
	})
	winner := oneWinner(e.t, "commit", errs, checkpoint.ErrConflict)

	// The store holds what the winner alone would have left: replay it on
	// a fresh store and compare.
	w := newEnv(e.t, e.newStore)
	w.richThread("t1")
	_, err := w.s.Commit(w.ctx, &commits[winner])
	noErr(e.t, "replaying the winner", err)
	if got, want := e.snapshot("t1", spaces...), w.snapshot("t1", spaces...); got != want {
		e.t.Errorf("after the race:\n%s\nwant (the winner's commit alone):\n%s", got, want)
	}
}

// testAnswerRace: of 50 answers to one question, exactly one is recorded;
// the others get ErrAlreadyAnswered.
func testAnswerRace(e *env) {
	const n = 50
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("t1", "q", "", 1), question("t1", "other", "", 1)}})
	errs := race(n, func(i int) error {
		return e.answer([]checkpoint.Answer{{ThreadID: "t1", InterruptID: "q",
			Value: json.RawMessage(fmt.Sprint(i)), Author: fmt.Sprintf("user%02d", i), Channel: checkpoint.ChannelAPI, At: at(2 + i)}})
	})
	winner := oneWinner(e.t, "answer", errs, checkpoint.ErrAlreadyAnswered)
	r := e.interrupt("t1", "q")
	d := differ{e.t, "the raced interrupt"}
	eq(d, "Status", r.Status, checkpoint.InterruptAnswered)
	eq(d, "Author", r.Author, fmt.Sprintf("user%02d", winner))
	d.json("Answer", r.Answer, []byte(fmt.Sprint(winner)))
	d.time("AnsweredAt", r.AnsweredAt, at(2+winner))
	if o := e.interrupt("t1", "other"); o.Status != checkpoint.InterruptPending {
		e.t.Errorf("the other interrupt is %s, want pending", o.Status)
	}
}

// testCommitsOnDifferentThreads: commits on different threads do not
// conflict.
func testCommitsOnDifferentThreads(e *env) {
	const n, each = 20, 5
	errs := race(n, func(i int) error {
		id := fmt.Sprintf("t%02d", i)
		parent := ""
		for v := int64(1); v <= each; v++ {
			cpID := checkpoint.FormatID(v)
			_, err := e.s.Commit(e.ctx, &checkpoint.Commit{
				Thread:          checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusRunning, Head: cpID},
				ExpectedVersion: v - 1, At: at(int(v)),
				Checkpoint: &checkpoint.Checkpoint{ThreadID: id, ID: cpID, ParentID: parent, Step: int(v), CreatedAt: at(int(v)),
					Versions: map[string]int64{"x": v}, Blobs: []checkpoint.Blob{{Field: "x", Version: v, Data: []byte(id)}}},
				Interrupts: []checkpoint.InterruptRecord{question(id, fmt.Sprintf("q%d", v), cpID, int(v))},
				Steps:      []checkpoint.Step{{ThreadID: id, Superstep: int(v), Node: "n", Status: checkpoint.StepCompleted, StartedAt: at(int(v))}},
			})
			if err != nil {
				return fmt.Errorf("thread %s, commit %d: %w", id, v, err)
			}
			parent = cpID
		}
		return nil
	})
	for _, err := range errs {
		noErr(e.t, "concurrent commits", err)
	}
	page, err := e.s.Threads(e.ctx, &checkpoint.ThreadQuery{})
	noErr(e.t, "Threads", err)
	if len(page.Threads) != n {
		e.t.Fatalf("Threads = %d, want %d", len(page.Threads), n)
	}
	for _, th := range page.Threads {
		if th.Version != each {
			e.t.Errorf("thread %s at version %d, want %d", th.ID, th.Version, each)
		}
		if hist := e.history(checkpoint.HistoryQuery{ThreadID: th.ID}); len(hist) != each {
			e.t.Errorf("thread %s: %d checkpoints, want %d", th.ID, len(hist), each)
		}
		if st := e.steps(th.ID, 0); len(st) != each {
			e.t.Errorf("thread %s: %d steps, want %d", th.ID, len(st), each)
		}
	}
	if rs := e.interrupts(checkpoint.InterruptQuery{}); len(rs) != n*each || slices.ContainsFunc(rs, func(r checkpoint.InterruptRecord) bool { return r.Status != checkpoint.InterruptPending }) {
		e.t.Errorf("Interrupts = %d, want %d pending", len(rs), n*each)
	}
}

// testAnswersVersusCancelPending: answers racing a commit that cancels the
// pending interrupts: each question ends answered if and only if its answer
// succeeded, cancelled otherwise.
func testAnswersVersusCancel(e *env) {
	const n = 10
	f := e.thread("t1", "w")
	var qs []checkpoint.InterruptRecord
	for i := range n {
		qs = append(qs, question("t1", fmt.Sprintf("q%d", i), "", 1))
	}
	f.commit(checkpoint.Commit{Interrupts: qs})
	c := checkpoint.Commit{Cancel: &checkpoint.Cancellation{}}
	f.prepare(&c)
	errs := race(n+1, func(i int) error {
		if i == n {
			_, err := e.s.Commit(e.ctx, &c)
			return err
		}
		return e.answer([]checkpoint.Answer{{ThreadID: "t1", InterruptID: qs[i].ID, Value: json.RawMessage(`1`), Author: "u", At: at(2)}})
	})
	noErr(e.t, "Commit(CancelPending)", errs[n])
	for i := range n {
		r := e.interrupt("t1", qs[i].ID)
		switch {
		case errs[i] == nil && r.Status != checkpoint.InterruptAnswered:
			e.t.Errorf("%s: the answer succeeded but the interrupt is %s", r.ID, r.Status)
		case errs[i] != nil && !errors.Is(errs[i], checkpoint.ErrAlreadyAnswered):
			e.t.Errorf("%s: answer error %v, want nil or ErrAlreadyAnswered", r.ID, errs[i])
		case errs[i] != nil && r.Status != checkpoint.InterruptCancelled:
			e.t.Errorf("%s: the answer failed but the interrupt is %s, want cancelled", r.ID, r.Status)
		}
	}
}

// testPutWritesVersusCommit: PutWrites racing the commit that ends the
// writer's claim (the run pauses) either lands before the commit or fails
// with ErrConflict: a writes of a run never land after its run ended.
func testPutWritesVersusCommit(e *env) {
	f := e.thread("t1", "w")
	head := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "0"))
	for round := range 10 {
		// Claim the thread as a new run does.
		th, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: f.row.Version, Owner: "w", Lease: time.Hour})
		noErr(e.t, "Claim", err)
		f.row = *th
		// The run pauses: its commit writes a checkpoint (which keeps the
		// writes of the superstep it starts) and leaves the thread
		// interrupted.
		f.row.Status = checkpoint.StatusInterrupted
		c := checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{ParentID: head, Step: round + 1,
			Versions: map[string]int64{"x": 0}, Blobs: []checkpoint.Blob{full("x", fmt.Sprint(round))}}}
		f.prepare(&c)
		c.Checkpoint.Versions["x"] = c.ExpectedVersion + 1
		next := c.Checkpoint.ID
		errs := race(2, func(i int) error {
			if i == 0 {
				_, err := e.s.Commit(e.ctx, &c)
				return err
			}
			return e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Owner: th.Owner, Epoch: th.Epoch,
				Writes: []checkpoint.PendingWrite{{CheckpointID: next, Task: "late", Kind: "do", Data: []byte("effect")}}})
		})
		noErr(e.t, "Commit", errs[0])
		ws := e.writes("t1", "", next)
		switch {
		case errs[1] == nil && len(ws) != 1:
			e.t.Fatalf("round %d: PutWrites succeeded but %d writes of %s are stored, want 1", round, len(ws), next)
		case errs[1] != nil && !errors.Is(errs[1], checkpoint.ErrConflict):
			e.t.Errorf("round %d: PutWrites error %v, want nil or ErrConflict", round, errs[1])
		case errs[1] != nil && len(ws) != 0:
			e.t.Fatalf("round %d: PutWrites failed but %d writes of %s are stored", round, len(ws), next)
		}
		f.row = c.Thread
		f.row.Version = c.ExpectedVersion + 1
		head = next
	}
}
