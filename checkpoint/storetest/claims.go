package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Leases are set by the store's clock, which may be the database's: the
// suite checks them against its own clock with this much slack, and makes a
// lease lapse by giving it a tiny duration and waiting past it (never the
// other way round, which a busy machine could break).
const (
	clockSlack = 5 * time.Second
	tinyLease  = time.Millisecond
	hour       = time.Hour
)

// lapse waits until a lease of tinyLease taken before the call has lapsed.
func lapse() { time.Sleep(20 * tinyLease) }

// checkLease fails the test unless th's lease ends d after a moment
// between from and now, give or take clockSlack.
func checkLease(e *env, label string, th *checkpoint.Thread, from time.Time, d time.Duration) {
	e.t.Helper()
	lo, hi := from.Add(d-clockSlack), time.Now().Add(d+clockSlack)
	if th.LeaseUntil.Before(lo) || th.LeaseUntil.After(hi) {
		e.t.Errorf("%s: LeaseUntil %v, want now + %v (between %v and %v)", label, th.LeaseUntil, d, lo, hi)
	}
}

// at sets the status, owner and epoch of f's row for its next commit.
func (f *fixture) set(status checkpoint.Status, owner string, epoch int64) *fixture {
	f.row.Status, f.row.Owner, f.row.Epoch = status, owner, epoch
	return f
}

// claimed commits a thread running for owner at epoch, on a lease of d.
func (e *env) claimed(id, workflow, owner string, epoch int64, d time.Duration) *fixture {
	e.t.Helper()
	f := e.thread(id, workflow).set(checkpoint.StatusRunning, owner, epoch)
	f.commit(checkpoint.Commit{Lease: d})
	return f
}

// inStatus commits a thread in status (not running) at minute 1.
func (e *env) inStatus(id, workflow string, status checkpoint.Status) *fixture {
	e.t.Helper()
	return e.inStatusAt(id, workflow, status, 1)
}

// inStatusAt commits a thread in status (not running) at minute min.
func (e *env) inStatusAt(id, workflow string, status checkpoint.Status, min int) *fixture {
	e.t.Helper()
	f := e.thread(id, workflow).set(status, "", 0)
	f.commit(checkpoint.Commit{At: at(min)})
	return f
}

var claimTests = []test{
	{"Claims", func(e *env) {
		f := e.inStatus("t1", "w", checkpoint.StatusInterrupted)
		created := e.getThread("t1").CreatedAt
		before := time.Now()
		th, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: f.row.Version, Owner: "w1", Lease: hour})
		noErr(e.t, "Claim", err)
		want := f.row
		want.CreatedAt = created
		want.Status, want.Owner, want.Epoch, want.Version = checkpoint.StatusRunning, "w1", 1, f.row.Version+1
		want.UpdatedAt = th.UpdatedAt // the store's clock
		checkThread(e.t, "the claimed row", th, want)
		checkThread(e.t, "the stored row", e.getThread("t1"), want)
		checkLease(e, "the claim", th, before, hour)
	}},
	{"StaleVersion", func(e *env) {
		f := e.inStatus("t1", "w", checkpoint.StatusReady)
		before := e.snapshot("t1")
		for _, v := range []int64{0, f.row.Version + 1} {
			_, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: v, Owner: "w1", Lease: hour})
			wantErr(e.t, fmt.Sprintf("Claim(expected version %d) of a thread at %d", v, f.row.Version), err, checkpoint.ErrConflict)
		}
		e.unchanged("a stale Claim", before, "t1")
	}},
	{"LiveLease", func(e *env) {
		f := e.claimed("t1", "w", "w1", 1, hour)
		before := e.snapshot("t1")
		_, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: f.row.Version, Owner: "w2", Lease: hour})
		wantErr(e.t, "Claim of a thread running on a live lease", err, checkpoint.ErrConflict)
		e.unchanged("a Claim of a live thread", before, "t1")
	}},
	{"LapsedLease", func(e *env) {
		f := e.claimed("t1", "w", "w1", 4, tinyLease)
		lapse()
		th, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: f.row.Version, Owner: "w2", Lease: hour})
		noErr(e.t, "Claim of a thread whose owner's lease lapsed", err)
		if th.Owner != "w2" || th.Epoch != 5 || th.Version != f.row.Version+1 {
			e.t.Errorf("taken over: owner %q epoch %d version %d, want w2, 5, %d", th.Owner, th.Epoch, th.Version, f.row.Version+1)
		}
		// The old owner is fenced out.
		err = e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Owner: "w1", Epoch: 4, Writes: []checkpoint.PendingWrite{{Task: "a", Kind: "do"}}})
		wantErr(e.t, "PutWrites of the owner that lost the thread", err, checkpoint.ErrConflict)
	}},
	{"NotFound", func(e *env) {
		_, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "nope", Owner: "w1", Lease: hour})
		wantErr(e.t, "Claim of a thread that does not exist", err, checkpoint.ErrNotFound)
	}},
}

var claimReadyTests = []test{
	{"ReadyAndLapsed", func(e *env) {
		// UpdatedAt orders them, not their IDs.
		e.inStatusAt("ready-1", "a", checkpoint.StatusReady, 1)
		e.inStatus("other-workflow", "b", checkpoint.StatusReady)
		e.inStatus("paused", "a", checkpoint.StatusInterrupted)
		e.inStatus("done", "a", checkpoint.StatusCompleted)
		e.inStatus("stopped", "a", checkpoint.StatusStopped)
		e.claimed("live", "a", "w0", 1, hour)
		lapsed := e.thread("lapsed", "a").set(checkpoint.StatusRunning, "w0", 7)
		lapsed.commit(checkpoint.Commit{At: at(2), Lease: tinyLease})
		lapse()
		before := time.Now()
		got, err := e.s.ClaimReady(e.ctx, &checkpoint.ClaimReady{Owner: "w1", Lease: hour, Workflows: []string{"a", "c"}, Limit: 10})
		noErr(e.t, "ClaimReady", err)
		var ids []string
		for i := range got {
			ids = append(ids, got[i].ID)
		}
		if !slices.Equal(ids, []string{"ready-1", "lapsed"}) {
			e.t.Fatalf("ClaimReady claimed %q, want [ready-1 lapsed] (oldest first)", ids)
		}
		for i := range got {
			th := &got[i]
			stored := e.getThread(th.ID)
			if th.Status != checkpoint.StatusRunning || th.Owner != "w1" || stored.Owner != "w1" || stored.Version != th.Version {
				e.t.Errorf("%s: claimed row %s owner %q v%d, stored owner %q v%d", th.ID, th.Status, th.Owner, th.Version, stored.Owner, stored.Version)
			}
			checkLease(e, th.ID, th, before, hour)
		}
		if got[0].TakenOver || !got[1].TakenOver {
			e.t.Errorf("TakenOver: ready-1 %v, lapsed %v; want false, true", got[0].TakenOver, got[1].TakenOver)
		}
		if e.getThread("lapsed").TakenOver {
			e.t.Error("Thread of the thread taken over has TakenOver: stores do not keep it")
		}
		if got[0].Epoch != 1 || got[1].Epoch != 8 || got[1].Version != lapsed.row.Version+1 {
			e.t.Errorf("epochs %d, %d (version %d); want 1, 8 (version %d)", got[0].Epoch, got[1].Epoch, got[1].Version, lapsed.row.Version+1)
		}
		for _, id := range []string{"other-workflow", "paused", "done", "stopped", "live"} {
			if th := e.getThread(id); th.Owner == "w1" || th.Version != 1 {
				e.t.Errorf("%s was claimed (owner %q, version %d)", id, th.Owner, th.Version)
			}
		}
		again, err := e.s.ClaimReady(e.ctx, &checkpoint.ClaimReady{Owner: "w2", Lease: hour, Workflows: []string{"a"}, Limit: 10})
		noErr(e.t, "ClaimReady again", err)
		if len(again) != 0 {
			e.t.Errorf("ClaimReady again claimed %d threads, want none", len(again))
		}
	}},
	{"Limit", func(e *env) {
		for i := range 4 {
			e.inStatusAt(fmt.Sprintf("t%d", i), "a", checkpoint.StatusReady, 10-i) // the oldest last
		}
		for _, tc := range []struct {
			limit int
			want  []string
		}{{2, []string{"t3", "t2"}}, {0, []string{"t1"}}, {5, []string{"t0"}}} {
			got, err := e.s.ClaimReady(e.ctx, &checkpoint.ClaimReady{Owner: "w", Lease: hour, Workflows: []string{"a"}, Limit: tc.limit})
			noErr(e.t, "ClaimReady", err)
			var ids []string
			for _, th := range got {
				ids = append(ids, th.ID)
			}
			if !slices.Equal(ids, tc.want) {
				e.t.Errorf("ClaimReady(limit %d) = %q, want %q", tc.limit, ids, tc.want)
			}
		}
	}},
	{"NoWorkflows", func(e *env) {
		e.inStatus("t1", "a", checkpoint.StatusReady)
		got, err := e.s.ClaimReady(e.ctx, &checkpoint.ClaimReady{Owner: "w", Lease: hour, Limit: 5})
		noErr(e.t, "ClaimReady", err)
		if len(got) != 0 {
			e.t.Errorf("ClaimReady without workflows claimed %d threads", len(got))
		}
	}},
}

var heartbeatTests = []test{
	{"Renews", func(e *env) {
		mine := e.claimed("mine", "w", "w1", 1, tinyLease)
		e.claimed("theirs", "w", "w2", 1, tinyLease)
		e.inStatus("paused", "w", checkpoint.StatusInterrupted)
		lapse()
		before := time.Now()
		beat, err := e.s.Heartbeat(e.ctx, &checkpoint.Heartbeat{Owner: "w1", Lease: hour, Threads: []string{"mine", "theirs", "paused", "nope"}})
		noErr(e.t, "Heartbeat", err)
		if !slices.Equal(beat.Held, []string{"mine"}) || len(beat.Stop) != 0 {
			e.t.Errorf("Heartbeat = held %q stop %q, want held [mine], no stop", beat.Held, beat.Stop)
		}
		th := e.getThread("mine")
		checkLease(e, "the renewed lease", th, before, hour)
		if th.Version != mine.row.Version || th.Epoch != 1 {
			e.t.Errorf("Heartbeat moved the version or epoch: v%d epoch %d, want v%d epoch 1", th.Version, th.Epoch, mine.row.Version)
		}
		if th := e.getThread("theirs"); th.LeaseUntil.After(before.Add(clockSlack)) {
			e.t.Errorf("another owner's heartbeat renewed w2's lease to %v", th.LeaseUntil)
		}
		if th := e.getThread("paused"); !th.LeaseUntil.IsZero() || th.Status != checkpoint.StatusInterrupted {
			e.t.Errorf("a heartbeat changed a paused thread: %s, lease %v", th.Status, th.LeaseUntil)
		}
	}},
	{"Stop", func(e *env) {
		e.claimed("t1", "w", "w1", 1, hour)
		e.claimed("t2", "w", "w1", 1, hour)
		_, err := e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: "t2", At: at(30)})
		noErr(e.t, "RequestStop", err)
		beat, err := e.s.Heartbeat(e.ctx, &checkpoint.Heartbeat{Owner: "w1", Lease: hour, Threads: []string{"t1", "t2"}})
		noErr(e.t, "Heartbeat", err)
		slices.Sort(beat.Held)
		if !slices.Equal(beat.Held, []string{"t1", "t2"}) || !slices.Equal(beat.Stop, []string{"t2"}) {
			e.t.Errorf("Heartbeat = held %q stop %q, want held [t1 t2], stop [t2]", beat.Held, beat.Stop)
		}
	}},
}

var requestStopTests = []test{
	{"Running", func(e *env) {
		f := e.claimed("t1", "w", "w1", 1, hour)
		th, err := e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: "t1", At: at(30)})
		noErr(e.t, "RequestStop", err)
		if th.Status != checkpoint.StatusRunning || th.Version != f.row.Version || !th.StopRequested.Equal(at(30)) {
			e.t.Errorf("after RequestStop: %s v%d stop %v, want running v%d stop %v", th.Status, th.Version, th.StopRequested, f.row.Version, at(30))
		}
		// A second request keeps the first time.
		th, err = e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: "t1", At: at(31)})
		noErr(e.t, "RequestStop again", err)
		if !th.StopRequested.Equal(at(30)) {
			e.t.Errorf("after a second RequestStop: stop %v, want %v", th.StopRequested, at(30))
		}
		// A commit that keeps the thread running keeps the request, whatever
		// its row says; one that ends the run clears it.
		f.commit(checkpoint.Commit{Lease: hour})
		if th := e.getThread("t1"); !th.StopRequested.Equal(at(30)) {
			e.t.Errorf("after a running commit: stop %v, want %v", th.StopRequested, at(30))
		}
		f.set(checkpoint.StatusStopped, "", 1).commit(checkpoint.Commit{})
		if th := e.getThread("t1"); !th.StopRequested.IsZero() {
			e.t.Errorf("after the run stopped: stop %v, want zero", th.StopRequested)
		}
	}},
	{"Ready", func(e *env) {
		f := e.inStatus("t1", "w", checkpoint.StatusReady)
		th, err := e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: "t1", At: at(30)})
		noErr(e.t, "RequestStop", err)
		want := f.row
		want.CreatedAt = at(1)
		want.Status, want.Version, want.UpdatedAt = checkpoint.StatusStopped, f.row.Version+1, at(30)
		checkThread(e.t, "a ready thread asked to stop", th, want)
		checkThread(e.t, "the stored row", e.getThread("t1"), want)
	}},
	{"OtherStatuses", func(e *env) {
		for _, st := range []checkpoint.Status{checkpoint.StatusInterrupted, checkpoint.StatusCompleted, checkpoint.StatusFailed, checkpoint.StatusStopped, checkpoint.StatusCancelled} {
			id := string(st)
			e.inStatus(id, "w", st)
			before := e.snapshot(id)
			_, err := e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: id, At: at(30)})
			noErr(e.t, "RequestStop("+id+")", err)
			e.unchanged("RequestStop of a thread "+id, before, id)
		}
	}},
	{"NotFound", func(e *env) {
		_, err := e.s.RequestStop(e.ctx, &checkpoint.StopRequest{ThreadID: "nope", At: at(1)})
		wantErr(e.t, "RequestStop of a thread that does not exist", err, checkpoint.ErrNotFound)
	}},
}

var leaseTests = []test{
	{"OneHolder", func(e *env) {
		take := func(owner string, release bool) bool {
			e.t.Helper()
			ok, err := e.s.Lease(e.ctx, &checkpoint.Lease{Name: "maintenance", Owner: owner, TTL: hour, Release: release})
			noErr(e.t, "Lease", err)
			return ok
		}
		for i, step := range []struct {
			owner   string
			release bool
			want    bool
		}{
			{"a", false, true},  // free: a takes it
			{"b", false, false}, // a holds it
			{"a", false, true},  // a renews
			{"b", true, false},  // b cannot release a's lease
			{"b", false, false},
			{"a", true, false}, // a gives it up
			{"b", false, true}, // b takes it
			{"a", false, false},
		} {
			if got := take(step.owner, step.release); got != step.want {
				e.t.Errorf("step %d: Lease(owner %s, release %v) = %v, want %v", i, step.owner, step.release, got, step.want)
			}
		}
		// Names are independent.
		ok, err := e.s.Lease(e.ctx, &checkpoint.Lease{Name: "other", Owner: "a", TTL: hour})
		noErr(e.t, "Lease(other)", err)
		if !ok {
			e.t.Error("Lease(other) = false, want true: another name is another lease")
		}
	}},
	{"Lapses", func(e *env) {
		ok, err := e.s.Lease(e.ctx, &checkpoint.Lease{Name: "m", Owner: "a", TTL: tinyLease})
		noErr(e.t, "Lease(a)", err)
		if !ok {
			e.t.Fatal("Lease(a) = false on a free name")
		}
		lapse()
		ok, err = e.s.Lease(e.ctx, &checkpoint.Lease{Name: "m", Owner: "b", TTL: hour})
		noErr(e.t, "Lease(b)", err)
		if !ok {
			e.t.Error("Lease(b) after a's lease lapsed = false, want true")
		}
	}},
}

// answerStateTests check what Answer does to the thread.
var answerStateTests = []test{
	{"MakesReady", func(e *env) {
		f := e.thread("t1", "w").set(checkpoint.StatusInterrupted, "", 0)
		f.row.Head = "c1"
		f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("t1", "q1", "c1", 1), question("t1", "q2", "c1", 1)}})
		res, err := e.s.Answer(e.ctx, &checkpoint.AnswerRequest{ThreadID: "t1",
			Answers: []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q1", Value: json.RawMessage(`1`), At: at(5)}},
			Writes:  []checkpoint.PendingWrite{{CheckpointID: "c1", Task: "review", Kind: "update", Data: []byte(`{"x":1}`)}},
		})
		noErr(e.t, "Answer(q1)", err)
		if res.Claimed || res.Thread.Status != checkpoint.StatusReady || res.Thread.Version != f.row.Version+1 {
			e.t.Errorf("after the first answer: claimed %v, %s v%d; want not claimed, ready v%d", res.Claimed, res.Thread.Status, res.Thread.Version, f.row.Version+1)
		}
		checkThread(e.t, "the stored row", e.getThread("t1"), res.Thread)
		checkWrites(e.t, "writes recorded with the answer", e.writes("t1", "", "c1"),
			[]checkpoint.PendingWrite{{CheckpointID: "c1", Task: "review", Kind: "update", Data: []byte(`{"x":1}`)}})
		// The other question is still at the pause: it can be answered, and
		// the thread stays ready.
		res, err = e.s.Answer(e.ctx, &checkpoint.AnswerRequest{ThreadID: "t1",
			Answers: []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q2", Value: json.RawMessage(`2`), At: at(6)}}})
		noErr(e.t, "Answer(q2)", err)
		if res.Thread.Status != checkpoint.StatusReady || res.Thread.Version != f.row.Version+1 {
			e.t.Errorf("after the second answer: %s v%d, want ready v%d", res.Thread.Status, res.Thread.Version, f.row.Version+1)
		}
	}},
	{"Claims", func(e *env) {
		f := e.thread("t1", "w").set(checkpoint.StatusInterrupted, "", 2)
		f.row.Head = "c1"
		f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("t1", "q1", "c1", 1)}})
		before := time.Now()
		res, err := e.s.Answer(e.ctx, &checkpoint.AnswerRequest{ThreadID: "t1",
			Answers: []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q1", Value: json.RawMessage(`1`), At: at(5)}},
			Claim:   &checkpoint.Claim{Owner: "w1", Lease: hour}})
		noErr(e.t, "Answer with a claim", err)
		th := res.Thread
		if !res.Claimed || th.Status != checkpoint.StatusRunning || th.Owner != "w1" || th.Epoch != 3 || th.Version != f.row.Version+1 {
			e.t.Errorf("answer and claim: claimed %v, %s owner %q epoch %d v%d; want claimed, running w1 epoch 3 v%d",
				res.Claimed, th.Status, th.Owner, th.Epoch, th.Version, f.row.Version+1)
		}
		checkLease(e, "the claim", &th, before, hour)
		if r := e.interrupt("t1", "q1"); r.Status != checkpoint.InterruptAnswered {
			e.t.Errorf("q1 is %s, want answered", r.Status)
		}
	}},
	{"RunningElsewhere", func(e *env) {
		f := e.thread("t1", "w").set(checkpoint.StatusRunning, "w0", 1)
		f.row.Head = "c1"
		f.commit(checkpoint.Commit{Lease: hour, Interrupts: []checkpoint.InterruptRecord{question("t1", "q1", "c1", 1)}})
		res, err := e.s.Answer(e.ctx, &checkpoint.AnswerRequest{ThreadID: "t1",
			Answers: []checkpoint.Answer{{ThreadID: "t1", InterruptID: "q1", Value: json.RawMessage(`1`), At: at(5)}},
			Claim:   &checkpoint.Claim{Owner: "w1", Lease: hour}})
		noErr(e.t, "Answer to a thread running elsewhere", err)
		if res.Claimed || res.Thread.Owner != "w0" || res.Thread.Version != f.row.Version || res.Thread.Status != checkpoint.StatusRunning {
			e.t.Errorf("claimed %v, owner %q v%d %s; want not claimed, w0 v%d running", res.Claimed, res.Thread.Owner, res.Thread.Version, res.Thread.Status, f.row.Version)
		}
		if r := e.interrupt("t1", "q1"); r.Status != checkpoint.InterruptAnswered {
			e.t.Errorf("q1 is %s, want answered: the running owner reads it", r.Status)
		}
	}},
}

// commitClaimTests check what Commit does with leases, cancellations,
// carried writes and blob checks.
var commitClaimTests = []test{
	{"Lease", func(e *env) {
		before := time.Now()
		f := e.claimed("t1", "w", "w1", 1, hour)
		th := e.getThread("t1")
		checkLease(e, "a running commit", th, before, hour)
		f.set(checkpoint.StatusInterrupted, "w1", 1).commit(checkpoint.Commit{Lease: hour})
		if th := e.getThread("t1"); th.Owner != "" || !th.LeaseUntil.IsZero() || th.Epoch != 1 {
			e.t.Errorf("after a commit that pauses: owner %q lease %v epoch %d; want none, zero, 1 (kept)", th.Owner, th.LeaseUntil, th.Epoch)
		}
	}},
	{"CancelRecords", func(e *env) {
		f := e.thread("a", "w")
		f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("a", "p1", "", 1), question("a", "p2", "", 1)}})
		f.commit(checkpoint.Commit{Cancel: &checkpoint.Cancellation{IDs: []string{"p1", "nope"}, Author: "ops", Channel: checkpoint.ChannelAPI, At: at(9), Note: "no longer needed"}})
		p1 := question("a", "p1", "", 1)
		p1.Status, p1.Author, p1.Channel, p1.AnsweredAt, p1.Note = checkpoint.InterruptCancelled, "ops", checkpoint.ChannelAPI, at(9), "no longer needed"
		checkInterrupt(e.t, "a/p1 cancelled by ID", e.interrupt("a", "p1"), &p1)
		p2 := question("a", "p2", "", 1)
		checkInterrupt(e.t, "a/p2 not listed", e.interrupt("a", "p2"), &p2)
	}},
	{"Carry", func(e *env) {
		f := e.thread("t1", "w")
		c1 := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "0"))
		ws := []checkpoint.PendingWrite{
			{CheckpointID: c1, Task: "a", Kind: "do", Key: "1", Data: []byte("effect")},
			{CheckpointID: c1, Task: "a", Kind: "output", Data: []byte("out")},
			{Namespace: "sub", CheckpointID: c1, Task: "s", Kind: "do", Data: []byte("sub effect")},
		}
		f.commit(checkpoint.Commit{Writes: ws})
		v := f.row.Version + 1
		f.commit(checkpoint.Commit{Carry: &checkpoint.Carry{From: c1, Kinds: []string{"do"}},
			Checkpoint: &checkpoint.Checkpoint{ParentID: c1, Step: 1, Source: checkpoint.SourceUpdate, Versions: map[string]int64{"x": v}, Blobs: []checkpoint.Blob{full("x", "1")}}})
		c2 := checkpoint.FormatID(v)
		carried := ws[0]
		carried.CheckpointID = c2
		checkWrites(e.t, "writes carried to the new checkpoint", e.writes("t1", "", c2), []checkpoint.PendingWrite{carried})
		checkWrites(e.t, "writes of the parent", e.writes("t1", "", c1), nil)
		checkWrites(e.t, "writes of another namespace", e.writes("t1", "sub", c1), ws[2:])
	}},
	{"VerifyBlobs", func(e *env) {
		f := e.thread("t1", "w")
		c1 := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "0"))
		// A fork of c1 that names its blob: fine.
		f.commit(checkpoint.Commit{VerifyBlobs: true, Checkpoint: &checkpoint.Checkpoint{ParentID: c1, Step: 1, Source: checkpoint.SourceFork, Versions: map[string]int64{"x": 1}}})
		// One that names a blob that is not there changes nothing.
		before := e.snapshot("t1")
		c := checkpoint.Commit{VerifyBlobs: true, Checkpoint: &checkpoint.Checkpoint{ParentID: c1, Step: 1, Source: checkpoint.SourceFork, Versions: map[string]int64{"x": 1, "y": 1}}}
		f.prepare(&c)
		_, err := e.s.Commit(e.ctx, &c)
		wantErr(e.t, "Commit naming a missing blob", err, checkpoint.ErrNotFound)
		e.unchanged("a commit naming a missing blob", before, "t1")
	}},
}

// testClaimReadyDisjoint: workers claiming at once never claim one thread
// twice, and together claim every ready thread.
func testClaimReadyDisjoint(e *env) {
	const threads, workers = 24, 4
	for i := range threads {
		e.inStatus(fmt.Sprintf("t%02d", i), "w", checkpoint.StatusReady)
	}
	var mu sync.Mutex
	claimed := map[string]string{}
	errs := race(workers, func(i int) error {
		owner := fmt.Sprintf("w%d", i)
		for {
			got, err := e.s.ClaimReady(e.ctx, &checkpoint.ClaimReady{Owner: owner, Lease: hour, Workflows: []string{"w"}, Limit: 3})
			if err != nil || len(got) == 0 {
				return err
			}
			mu.Lock()
			for _, th := range got {
				if prev, dup := claimed[th.ID]; dup {
					mu.Unlock()
					return fmt.Errorf("%s claimed by %s and %s", th.ID, prev, owner)
				}
				claimed[th.ID] = owner
			}
			mu.Unlock()
		}
	})
	for i, err := range errs {
		noErr(e.t, fmt.Sprintf("worker %d", i), err)
	}
	if len(claimed) != threads {
		e.t.Errorf("%d threads claimed, want %d", len(claimed), threads)
	}
	for id, owner := range claimed {
		if th := e.getThread(id); th.Owner != owner || th.Epoch != 1 {
			e.t.Errorf("%s: stored owner %q epoch %d, claimed by %s", id, th.Owner, th.Epoch, owner)
		}
	}
}

// testClaimRace: of claims racing for one thread at one version, one wins.
func testClaimRace(e *env) {
	f := e.inStatus("t1", "w", checkpoint.StatusReady)
	errs := race(6, func(i int) error {
		_, err := e.s.Claim(e.ctx, &checkpoint.Claim{ThreadID: "t1", ExpectedVersion: f.row.Version, Owner: fmt.Sprintf("w%d", i), Lease: hour})
		return err
	})
	winner := oneWinner(e.t, "Claim", errs, checkpoint.ErrConflict)
	if th := e.getThread("t1"); th.Owner != fmt.Sprintf("w%d", winner) || th.Epoch != 1 {
		e.t.Errorf("stored owner %q epoch %d, want w%d epoch 1", th.Owner, th.Epoch, winner)
	}
}
