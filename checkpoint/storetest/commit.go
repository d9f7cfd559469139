package storetest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var commitTests = []test{
	{"CreatesAtVersionZero", testCommitCreates},
	{"ConflictOnStaleVersion", func(e *env) { testCommitConflict(e, 1) }},
	{"ConflictOnFutureVersion", func(e *env) { testCommitConflict(e, 3) }},
	{"ConflictOnExistingThread", func(e *env) { testCommitConflict(e, 0) }},
	{"ConflictOnMissingThread", testCommitConflictMissing},
	{"WithoutCheckpoint", testCommitWithoutCheckpoint},
	{"CancelPending", testCommitCancelPending},
	{"RemovesPendingWritesOfParent", testCommitRemovesWrites},
	{"WritesReplaceSameKey", func(e *env) { testWritesReplace(e, false) }},
	{"InterruptsInsertIfAbsent", testCommitInterruptsInsertIfAbsent},
	{"StepsGetVersion", testCommitSteps},
}

// testCommitCreates: ExpectedVersion 0 creates the thread at version 1,
// each later commit adds one.
func testCommitCreates(e *env) {
	f := e.thread("t1", "w")
	if _, err := e.s.Thread(e.ctx, "t1"); err == nil {
		e.t.Fatal("Thread before the first commit: no error")
	}
	for want := int64(1); want <= 3; want++ {
		if v := f.commit(checkpoint.Commit{}); v != want {
			e.t.Fatalf("commit %d = version %d", want, v)
		}
		if got := e.getThread("t1").Version; got != want {
			e.t.Fatalf("Thread.Version after commit %d = %d", want, got)
		}
	}
}

// richThread builds a thread at version 2 with something in every table:
// a root checkpoint with blobs at version 1, a subgraph checkpoint at
// version 2, pending writes on both, a pending and an answered interrupt,
// and steps. It returns the fixture and the namespaces it used.
func (e *env) richThread(id string) (*fixture, []string) {
	e.t.Helper()
	f := e.thread(id, "w")
	c1 := f.nextID()
	f.commit(checkpoint.Commit{
		Checkpoint: &checkpoint.Checkpoint{
			Source: checkpoint.SourceInput, Next: []string{"a", "b"},
			Versions: map[string]int64{"x": 1, "list": 1},
			Meta:     map[string]string{"k": "v"},
			Blobs:    []checkpoint.Blob{full("x", `1`), full("list", `[1,2]`)},
		},
		Interrupts: []checkpoint.InterruptRecord{
			question(id, "q1", c1, 1),
			question(id, "q2", c1, 1),
		},
		Steps: []checkpoint.Step{{ThreadID: id, Superstep: 0, Node: "start", Status: checkpoint.StepCompleted, StartedAt: at(1)}},
	})
	noErr(e.t, "Answer(q2)", e.answer([]checkpoint.Answer{{ThreadID: id, InterruptID: "q2", Value: json.RawMessage(`"yes"`), Author: "ann", Channel: checkpoint.ChannelUI, At: at(1)}}))
	f.commit(checkpoint.Commit{
		Checkpoint: &checkpoint.Checkpoint{
			Namespace: "sub:1", Source: checkpoint.SourceLoop, Step: 1,
			Versions: map[string]int64{"y": 2}, Blobs: []checkpoint.Blob{full("y", `"why"`)},
		},
		Writes: []checkpoint.PendingWrite{
			{Namespace: "", CheckpointID: c1, Task: "a", Kind: "output", Data: []byte(`{"x":2}`)},
			{Namespace: "sub:1", CheckpointID: f.nextID(), Task: "s", Kind: "do", Key: "k", Data: []byte(`ok`)},
		},
		Steps: []checkpoint.Step{{ThreadID: id, Namespace: "sub:1", Superstep: 1, Node: "s", Status: checkpoint.StepInterrupted, StartedAt: at(2)}},
	})
	return f, []string{"", "sub:1"}
}

// question returns a pending interrupt of thread asked at checkpoint cpID
// at minute min.
func question(thread, id, cpID string, min int) checkpoint.InterruptRecord {
	return checkpoint.InterruptRecord{
		ID: id, ThreadID: thread, Workflow: "w", CheckpointID: cpID, Node: "review", Task: "review",
		Kind: checkpoint.KindDynamic, Reason: "check " + id, Value: json.RawMessage(`{"q":"` + id + `"}`),
		Status: checkpoint.InterruptPending, CreatedAt: at(min),
	}
}

// conflicting returns a commit of f's thread that expects version expected
// and would change every table if it were applied.
func (f *fixture) conflicting(expected int64) checkpoint.Commit {
	stale := *f
	stale.row.Version = expected
	stale.row.Status = checkpoint.StatusCompleted
	stale.row.Error = "should not be stored"
	parent := f.row.Head
	c := checkpoint.Commit{
		Cancel: &checkpoint.Cancellation{},
		Checkpoint: &checkpoint.Checkpoint{
			ParentID: parent, Step: 9, Source: checkpoint.SourceLoop,
			Versions: map[string]int64{"x": expected + 1, "list": expected + 1},
			Blobs:    []checkpoint.Blob{full("x", `99`), appends("list", 1, `[3]`)},
		},
		Writes: []checkpoint.PendingWrite{
			{Namespace: "", CheckpointID: parent, Task: "a", Kind: "output", Data: []byte(`replaced`)},
			{Namespace: "", CheckpointID: parent, Task: "new", Kind: "output", Data: []byte(`new`)},
		},
		Interrupts: []checkpoint.InterruptRecord{
			question(f.row.ID, "q-new", checkpoint.FormatID(expected+1), 9),
		},
		Steps: []checkpoint.Step{{ThreadID: f.row.ID, Superstep: 9, Node: "late", Status: checkpoint.StepCompleted, StartedAt: at(9)}},
		At:    at(9),
	}
	stale.prepare(&c)
	return c
}

// testCommitConflict: a commit that expects another version than the
// thread's fails with ErrConflict and changes nothing in any table.
func testCommitConflict(e *env, expected int64) {
	f, spaces := e.richThread("t1")
	before := e.snapshot("t1", spaces...)
	c := f.conflicting(expected)
	_, err := e.s.Commit(e.ctx, &c)
	wantErr(e.t, fmt.Sprintf("Commit(expected version %d) of a thread at version 2", expected), err, checkpoint.ErrConflict)
	e.unchanged("a conflicting Commit", before, "t1", spaces...)

	// The thread still takes the commit that expects its version.
	f.cp("", f.row.Head, 3, map[string]int64{"x": 0}, full("x", "3"))
}

// testCommitConflictMissing: a commit that expects a version of a thread
// that does not exist fails with ErrConflict and creates nothing.
func testCommitConflictMissing(e *env) {
	f := e.thread("t1", "w")
	f.row.Version = 3
	c := checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{Versions: map[string]int64{"x": 0}, Blobs: []checkpoint.Blob{full("x", "1")}}}
	f.prepare(&c)
	_, err := e.s.Commit(e.ctx, &c)
	wantErr(e.t, "Commit(expected version 3) of a thread that does not exist", err, checkpoint.ErrConflict)
	_, err = e.s.Thread(e.ctx, "t1")
	wantErr(e.t, "Thread after a refused commit", err, checkpoint.ErrNotFound)
	page, err := e.s.Threads(e.ctx, nil)
	noErr(e.t, "Threads", err)
	if len(page.Threads) != 0 {
		e.t.Errorf("Threads after a refused commit = %d threads, want none", len(page.Threads))
	}
}

// testCommitWithoutCheckpoint: a commit without a checkpoint writes the row
// (Head as given), writes, interrupts and steps, and leaves the checkpoints
// and their pending writes alone.
func testCommitWithoutCheckpoint(e *env) {
	f, _ := e.richThread("t1")
	head := f.row.Head
	f.row.Status = checkpoint.StatusInterrupted
	f.commit(checkpoint.Commit{
		Interrupts: []checkpoint.InterruptRecord{question("t1", "q3", head, 3)},
		Steps:      []checkpoint.Step{{ThreadID: "t1", Node: "n", Status: checkpoint.StepInterrupted, StartedAt: at(3)}},
	})
	th := e.getThread("t1")
	if th.Head != head || th.Status != checkpoint.StatusInterrupted || th.Version != 3 {
		e.t.Errorf("thread after a commit without checkpoint: head %q, status %s, version %d; want %q, interrupted, 3", th.Head, th.Status, th.Version, head)
	}
	if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); len(got) != 1 || got[0] != head {
		e.t.Errorf("History = %q, want [%s]", got, head)
	}
	if ws := e.writes("t1", "", head); len(ws) != 1 {
		e.t.Errorf("pending writes of the head = %d, want 1 (a commit without checkpoint removes none)", len(ws))
	}
	if r := e.interrupt("t1", "q3"); r.Status != checkpoint.InterruptPending {
		e.t.Errorf("q3 status %s, want pending", r.Status)
	}
	if st := e.steps("t1", 2); len(st) != 1 || st[0].Version != 3 {
		e.t.Errorf("Steps(after 2) = %d steps, want 1 at version 3", len(st))
	}
}

// testCommitCancelPending: CancelPending cancels the thread's pending
// interrupts before the commit's new ones are inserted; answered ones and
// other threads' stay as they are.
func testCommitCancelPending(e *env) {
	fa := e.thread("a", "w")
	fb := e.thread("b", "w")
	fa.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{
		question("a", "p1", "", 1), question("a", "p2", "", 1), question("a", "p3", "", 1),
	}})
	fb.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("b", "p1", "", 1)}})
	ans := checkpoint.Answer{ThreadID: "a", InterruptID: "p2", Value: json.RawMessage(`1`), Author: "ann", Channel: checkpoint.ChannelAPI, At: at(2)}
	noErr(e.t, "Answer(a/p2)", e.answer([]checkpoint.Answer{ans}))
	answered := *e.interrupt("a", "p2")

	// Without CancelPending nothing is cancelled.
	fa.commit(checkpoint.Commit{})
	for _, id := range []string{"p1", "p3"} {
		if r := e.interrupt("a", id); r.Status != checkpoint.InterruptPending {
			e.t.Errorf("a/%s after a commit without CancelPending: %s, want pending", id, r.Status)
		}
	}

	fa.commit(checkpoint.Commit{Cancel: &checkpoint.Cancellation{}, Interrupts: []checkpoint.InterruptRecord{question("a", "n1", "", 3)}})
	for _, tc := range []struct {
		thread, id string
		want       checkpoint.InterruptStatus
	}{
		{"a", "p1", checkpoint.InterruptCancelled},
		{"a", "p3", checkpoint.InterruptCancelled},
		{"a", "p2", checkpoint.InterruptAnswered},
		{"a", "n1", checkpoint.InterruptPending},
		{"b", "p1", checkpoint.InterruptPending},
	} {
		if r := e.interrupt(tc.thread, tc.id); r.Status != tc.want {
			e.t.Errorf("%s/%s after CancelPending: %s, want %s", tc.thread, tc.id, r.Status, tc.want)
		}
	}
	checkInterrupt(e.t, "answered a/p2 after CancelPending", e.interrupt("a", "p2"), &answered)
	cancelled := question("a", "p1", "", 1)
	cancelled.Status = checkpoint.InterruptCancelled
	checkInterrupt(e.t, "cancelled a/p1", e.interrupt("a", "p1"), &cancelled)
}

// testCommitRemovesWrites: a checkpoint removes the pending writes of the
// superstep it ends, (its namespace, its ParentID), and no others.
func testCommitRemovesWrites(e *env) {
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{})
	w := func(ns, cp, task string) checkpoint.PendingWrite {
		return checkpoint.PendingWrite{Namespace: ns, CheckpointID: cp, Task: task, Kind: "output", Data: []byte(ns + "/" + cp + "/" + task)}
	}
	c1, c2 := checkpoint.FormatID(2), checkpoint.FormatID(3)
	// Writes of the first superstep, which starts from no checkpoint.
	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: []checkpoint.PendingWrite{
		w("", "", "a"), w("sub", "", "s"),
	}}))
	f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "0"))
	checkWrites(e.t, `writes ("", "") after the first checkpoint`, e.writes("t1", "", ""), nil)
	checkWrites(e.t, `writes ("sub", "") after a root checkpoint`, e.writes("t1", "sub", ""), []checkpoint.PendingWrite{w("sub", "", "s")})

	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: []checkpoint.PendingWrite{
		w("", c1, "a"), w("", c1, "b"), w("sub", c1, "s"), w("", "elsewhere", "a"),
	}}))
	f.cp("", c1, 1, map[string]int64{"x": 0}, full("x", "1"))
	checkWrites(e.t, "writes of the parent", e.writes("t1", "", c1), nil)
	checkWrites(e.t, "writes of the parent's ID in another namespace", e.writes("t1", "sub", c1), []checkpoint.PendingWrite{w("sub", c1, "s")})
	checkWrites(e.t, "writes of another checkpoint", e.writes("t1", "", "elsewhere"), []checkpoint.PendingWrite{w("", "elsewhere", "a")})
	checkWrites(e.t, `writes ("sub", "")`, e.writes("t1", "sub", ""), []checkpoint.PendingWrite{w("sub", "", "s")})

	// A subgraph checkpoint removes the writes of its own namespace.
	f.cp("sub", "", 0, map[string]int64{"y": 0}, full("y", "0"))
	checkWrites(e.t, `writes ("sub", "") after a sub checkpoint`, e.writes("t1", "sub", ""), nil)
	checkWrites(e.t, "writes of the root", e.writes("t1", "", "elsewhere"), []checkpoint.PendingWrite{w("", "elsewhere", "a")})

	// Writes in the same commit as the checkpoint are kept (the writes of
	// the next superstep, journaled as the commit happens).
	f.commit(checkpoint.Commit{
		Checkpoint: &checkpoint.Checkpoint{ParentID: c2, Step: 2, Versions: map[string]int64{"x": 3}},
		Writes:     []checkpoint.PendingWrite{w("", checkpoint.FormatID(5), "next")},
	})
	checkWrites(e.t, "writes of the new checkpoint", e.writes("t1", "", checkpoint.FormatID(5)), []checkpoint.PendingWrite{w("", checkpoint.FormatID(5), "next")})
}

// testWritesReplace: writing the same (Namespace, CheckpointID, Task, Kind,
// Key) again replaces Data; a write that differs in any of them is kept
// apart. With put, writes go through PutWrites, otherwise through Commit.
func testWritesReplace(e *env, put bool) {
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{})
	write := func(ws ...checkpoint.PendingWrite) {
		e.t.Helper()
		if put {
			noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: ws}))
		} else {
			f.commit(checkpoint.Commit{Writes: ws})
		}
	}
	base := checkpoint.PendingWrite{Namespace: "ns", CheckpointID: "c", Task: "t", Kind: "k", Key: "key", Data: []byte("first")}
	variants := []checkpoint.PendingWrite{base, base, base, base, base}
	variants[0].Namespace = "ns2"
	variants[1].CheckpointID = "c2"
	variants[2].Task = "t2"
	variants[3].Kind = "k2"
	variants[4].Key = "key2"
	write(append([]checkpoint.PendingWrite{base}, variants...)...)
	again := base
	again.Data = []byte("second")
	write(again)
	got := e.writes("t1", "ns", "c")
	want := []checkpoint.PendingWrite{again, variants[3], variants[4], variants[2]}
	sortWrites(want)
	checkWrites(e.t, "writes of (ns, c)", got, want)
	checkWrites(e.t, "writes of (ns2, c)", e.writes("t1", "ns2", "c"), variants[:1])
	checkWrites(e.t, "writes of (ns, c2)", e.writes("t1", "ns", "c2"), variants[1:2])
}

// testCommitInterruptsInsertIfAbsent: an interrupt whose (ThreadID, ID)
// exists already keeps its row; the same ID in another thread is another
// interrupt.
func testCommitInterruptsInsertIfAbsent(e *env) {
	fa, fb := e.thread("a", "w"), e.thread("b", "w")
	q := question("a", "q", "c", 1)
	q.Assignees = []string{"ann"}
	fa.row.Head = "c" // the thread pauses at c
	fa.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{q}})
	noErr(e.t, "Answer(a/q)", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "q", Value: json.RawMessage(`true`), Author: "ann", Channel: checkpoint.ChannelCLI, At: at(2)}}))
	stored := *e.interrupt("a", "q")

	again := question("a", "q", "c2", 3)
	again.Reason, again.Value, again.Assignees = "asked again", json.RawMessage(`{"other":1}`), []string{"bob"}
	fa.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{again}})
	checkInterrupt(e.t, "a/q asked again", e.interrupt("a", "q"), &stored)

	other := question("b", "q", "c", 1)
	fb.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{other}})
	checkInterrupt(e.t, "b/q", e.interrupt("b", "q"), &other)
	checkInterrupt(e.t, "a/q after b/q", e.interrupt("a", "q"), &stored)
	if rs := e.interrupts(checkpoint.InterruptQuery{ID: "q"}); len(rs) != 2 {
		e.t.Errorf("Interrupts(ID q) = %d records, want 2 (one per thread)", len(rs))
	}
}

// testCommitSteps: steps are appended with the commit's version, in order.
func testCommitSteps(e *env) {
	f := e.thread("t1", "w")
	s1 := checkpoint.Step{ThreadID: "t1", Namespace: "", Version: 77, Superstep: 1, CheckpointID: "c0", Node: "a", Task: "a",
		Status: checkpoint.StepCompleted, StartedAt: at(1).Add(5 * time.Microsecond), Duration: 1500 * time.Microsecond}
	s2 := checkpoint.Step{ThreadID: "t1", Namespace: "sub:2", Superstep: 1, CheckpointID: "c0", Node: "b/c", Task: "tools#2",
		Status: checkpoint.StepFailed, StartedAt: at(1), Duration: 2 * time.Second, Error: "boom"}
	f.commit(checkpoint.Commit{Steps: []checkpoint.Step{s1, s2}})
	f.commit(checkpoint.Commit{})
	s3 := checkpoint.Step{ThreadID: "t1", Superstep: 2, CheckpointID: "c1", Node: "a", Task: "a", Status: checkpoint.StepReused, StartedAt: at(3)}
	f.commit(checkpoint.Commit{Steps: []checkpoint.Step{s3}})
	s1.Version, s2.Version, s3.Version = 1, 1, 3
	want := []checkpoint.Step{s1, s2, s3}
	got := e.steps("t1", 0)
	if len(got) != len(want) {
		e.t.Fatalf("Steps = %d steps, want %d", len(got), len(want))
	}
	for i := range want {
		checkStep(e.t, fmt.Sprintf("step %d", i), &got[i], &want[i])
	}
}

var putWritesTests = []test{
	{"Stores", testPutWrites},
	{"ConflictOnStaleVersion", testPutWritesConflict},
	{"ConflictOnMissingThread", func(e *env) {
		err := e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "nope", Writes: []checkpoint.PendingWrite{{Task: "a", Kind: "do"}}})
		wantErr(e.t, "PutWrites on a thread that does not exist", err, checkpoint.ErrConflict)
		_, err = e.s.Thread(e.ctx, "nope")
		wantErr(e.t, "Thread after PutWrites", err, checkpoint.ErrNotFound)
	}},
	{"ReplacesSameKey", func(e *env) { testWritesReplace(e, true) }},
}

// testPutWrites: writes are stored without changing the thread.
func testPutWrites(e *env) {
	f, _ := e.richThread("t1")
	before := e.getThread("t1")
	ws := []checkpoint.PendingWrite{
		{Namespace: "", CheckpointID: f.row.Head, Task: "b", Kind: "do", Key: "1", Data: []byte("side effect")},
		{Namespace: "", CheckpointID: f.row.Head, Task: "b", Kind: "do", Key: "2"},
	}
	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: ws}))
	checkThread(e.t, "thread after PutWrites", e.getThread("t1"), *before)
	want := append([]checkpoint.PendingWrite{{Namespace: "", CheckpointID: f.row.Head, Task: "a", Kind: "output", Data: []byte(`{"x":2}`)}}, ws...)
	checkWrites(e.t, "writes of the head", e.writes("t1", "", f.row.Head), want)
	// The version did not move: the next commit still expects 2.
	f.commit(checkpoint.Commit{})
}

// testPutWritesConflict: PutWrites from a writer that does not hold the
// thread's claim (another owner, another epoch, or a thread that no longer
// runs) fails with ErrConflict and stores nothing.
func testPutWritesConflict(e *env) {
	f, spaces := e.richThread("t1")
	// Claim the thread: owner "w1", epoch 1.
	f.row.Owner, f.row.Epoch = "w1", 1
	f.commit(checkpoint.Commit{Lease: time.Hour})
	ws := []checkpoint.PendingWrite{
		{CheckpointID: f.row.Head, Task: "a", Kind: "output", Data: []byte("replaced")},
		{CheckpointID: f.row.Head, Task: "z", Kind: "output", Data: []byte("new")},
	}
	try := func(label string) {
		e.t.Helper()
		before := e.snapshot("t1", spaces...)
		for _, c := range []struct {
			owner string
			epoch int64
		}{{"w2", 1}, {"w1", 0}, {"w1", 2}, {"", 1}} {
			err := e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Owner: c.owner, Epoch: c.epoch, Writes: ws})
			wantErr(e.t, fmt.Sprintf("%s: PutWrites(owner %q, epoch %d) on a thread claimed by w1 at epoch 1", label, c.owner, c.epoch), err, checkpoint.ErrConflict)
		}
		e.unchanged(label+": a fenced PutWrites", before, "t1", spaces...)
	}
	try("running")
	noErr(e.t, "PutWrites(w1, 1)", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Owner: "w1", Epoch: 1, Writes: ws[1:]}))

	// Once the thread stops running, even its last owner is fenced out.
	f.row.Status = checkpoint.StatusInterrupted
	f.commit(checkpoint.Commit{})
	before := e.snapshot("t1", spaces...)
	err := e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Owner: "w1", Epoch: 1, Writes: ws})
	wantErr(e.t, "PutWrites(w1, 1) on a thread that is interrupted", err, checkpoint.ErrConflict)
	e.unchanged("a PutWrites on a paused thread", before, "t1", spaces...)
}
