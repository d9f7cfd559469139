package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

// This file checks claims, heartbeats, stop requests, leases, fenced
// writes, answers and the commit options against memstore, the reference:
// every step runs on both stores, which share one fake clock, and must
// return the same result (or an error wrapping the same sentinel), and
// most steps check what the contract says as well.

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// twin is sqlitestore and memstore side by side on one clock.
type twin struct {
	t      *testing.T
	ctx    context.Context
	clock  *fakeClock
	sql    *sqlitestore.Store
	mem    *memstore.Store
	stores []checkpoint.Store
}

func newTwin(t *testing.T) *twin {
	t.Helper()
	c := &fakeClock{t: t0}
	sql := openOpts(t, filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Clock: c.now})
	mem := memstore.New(memstore.WithClock(c.now))
	return &twin{t: t, ctx: context.Background(), clock: c, sql: sql, mem: mem, stores: []checkpoint.Store{sql, mem}}
}

// class names the sentinel err wraps.
func class(err error) string {
	for _, s := range []error{checkpoint.ErrNotFound, checkpoint.ErrConflict, checkpoint.ErrAlreadyAnswered} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// do runs f on both stores and fails the test unless they return the same
// (as printed) with errors of the same class. It returns sqlitestore's
// result and the error class.
func do[T any](w *twin, what string, f func(s checkpoint.Store) (T, error)) (T, string) {
	w.t.Helper()
	got, err1 := f(w.sql)
	want, err2 := f(w.mem)
	c1, c2 := class(err1), class(err2)
	if c1 != c2 {
		w.t.Fatalf("%s: sqlitestore %v, memstore %v", what, err1, err2)
	}
	if err1 == nil {
		if g, m := show(got), show(want); g != m {
			w.t.Fatalf("%s:\nsqlitestore %s\nmemstore    %s", what, g, m)
		}
	}
	return got, c1
}

// must is do for a step that must succeed.
func must[T any](w *twin, what string, f func(s checkpoint.Store) (T, error)) T {
	w.t.Helper()
	v, c := do(w, what, f)
	if c != "ok" {
		w.t.Fatalf("%s: %s, want success", what, c)
	}
	return v
}

// fails is do for a step that must fail with sentinel.
func fails[T any](w *twin, what string, sentinel error, f func(s checkpoint.Store) (T, error)) {
	w.t.Helper()
	if _, c := do(w, what, f); c != sentinel.Error() {
		w.t.Fatalf("%s: %s, want %v", what, c, sentinel)
	}
}

// show prints v with its times in UTC, so that equal values print alike
// whichever store returned them.
func show(v any) string {
	switch x := v.(type) {
	case *checkpoint.Thread:
		if x == nil {
			return "<nil>"
		}
		return show(*x)
	case checkpoint.Thread:
		x.LeaseUntil, x.StopRequested, x.CreatedAt, x.UpdatedAt = x.LeaseUntil.UTC(), x.StopRequested.UTC(), x.CreatedAt.UTC(), x.UpdatedAt.UTC()
		return fmt.Sprintf("%+v", x)
	case []checkpoint.Thread:
		s := "["
		for _, th := range x {
			s += show(th) + " "
		}
		return s + "]"
	case *checkpoint.AnswerResult:
		return fmt.Sprintf("claimed=%v %s", x.Claimed, show(x.Thread))
	case []checkpoint.InterruptRecord:
		s := "["
		for _, r := range x {
			r.Deadline, r.FallbackAt, r.AnsweredAt, r.CreatedAt = r.Deadline.UTC(), r.FallbackAt.UTC(), r.AnsweredAt.UTC(), r.CreatedAt.UTC()
			s += fmt.Sprintf("{%s/%s %s author=%q channel=%q at=%v note=%q answer=%s assignees=%q deadline=%v fallback=%s fallbackAt=%v escalate=%q} ",
				r.ThreadID, r.ID, r.Status, r.Author, r.Channel, r.AnsweredAt, r.Note, r.Answer, r.Assignees, r.Deadline, r.Fallback, r.FallbackAt, r.EscalateTo)
		}
		return s + "]"
	case []checkpoint.PendingWrite:
		s := "["
		for _, pw := range x {
			s += fmt.Sprintf("{%s %s %s/%s/%s %q} ", pw.Namespace, pw.CheckpointID, pw.Task, pw.Kind, pw.Key, pw.Data)
		}
		return s + "]"
	}
	return fmt.Sprintf("%+v", v)
}

// commit commits c on both stores.
func (w *twin) commit(c checkpoint.Commit) int64 {
	w.t.Helper()
	return must(w, fmt.Sprintf("Commit(%s@%d)", c.Thread.ID, c.ExpectedVersion), func(s checkpoint.Store) (int64, error) {
		c := c
		return s.Commit(w.ctx, &c)
	})
}

// thread reads a thread from both stores.
func (w *twin) thread(id string) *checkpoint.Thread {
	w.t.Helper()
	return must(w, "Thread("+id+")", func(s checkpoint.Store) (*checkpoint.Thread, error) { return s.Thread(w.ctx, id) })
}

// interrupts reads a thread's interrupts from both stores.
func (w *twin) interrupts(id string) []checkpoint.InterruptRecord {
	w.t.Helper()
	return must(w, "Interrupts("+id+")", func(s checkpoint.Store) ([]checkpoint.InterruptRecord, error) {
		p, err := s.Interrupts(w.ctx, &checkpoint.InterruptQuery{ThreadID: id})
		if err != nil {
			return nil, err
		}
		return p.Interrupts, nil
	})
}

// writes reads pending writes from both stores.
func (w *twin) writes(id, ns, cpID string) []checkpoint.PendingWrite {
	w.t.Helper()
	return must(w, "PendingWrites("+id+")", func(s checkpoint.Store) ([]checkpoint.PendingWrite, error) {
		return s.PendingWrites(w.ctx, id, ns, cpID)
	})
}

// create commits version 1 of thread id in status st of workflow wf at
// clock time, with a checkpoint (the head).
func (w *twin) create(id, wf string, st checkpoint.Status) {
	w.t.Helper()
	th := checkpoint.Thread{ID: id, Workflow: wf, Status: st, Head: checkpoint.FormatID(1)}
	if st == checkpoint.StatusRunning {
		th.Owner, th.Epoch = "starter", 1
	}
	w.commit(checkpoint.Commit{Thread: th, At: w.clock.now(), Lease: time.Minute,
		Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Versions: map[string]int64{"f": 1},
			Blobs: []checkpoint.Blob{{Field: "f", Data: []byte(`1`)}}}})
}

func TestClaim(t *testing.T) {
	w := newTwin(t)
	claim := func(id string, v int64, owner string) func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return func(s checkpoint.Store) (*checkpoint.Thread, error) {
			return s.Claim(w.ctx, &checkpoint.Claim{ThreadID: id, ExpectedVersion: v, Owner: owner, Lease: time.Minute})
		}
	}
	fails(w, "Claim of a missing thread", checkpoint.ErrNotFound, claim("t", 0, "a"))
	w.create("t", "w", checkpoint.StatusStopped)
	fails(w, "Claim at a stale version", checkpoint.ErrConflict, claim("t", 0, "a"))
	w.clock.advance(time.Second)
	th := must(w, "Claim", claim("t", 1, "a"))
	if th.Status != checkpoint.StatusRunning || th.Owner != "a" || th.Epoch != 1 || th.Version != 2 ||
		!th.LeaseUntil.Equal(w.clock.now().Add(time.Minute)) || !th.UpdatedAt.Equal(w.clock.now()) {
		t.Fatalf("claimed %+v", th)
	}
	fails(w, "Claim of a thread running on a live lease", checkpoint.ErrConflict, claim("t", 2, "b"))
	w.clock.advance(time.Minute) // the lease lapses: exactly at LeaseUntil
	th = must(w, "Claim of a lapsed thread", claim("t", 2, "b"))
	if th.Owner != "b" || th.Epoch != 2 || th.Version != 3 {
		t.Fatalf("taken over %+v", th)
	}
	if got := w.thread("t"); show(got) != show(th) {
		t.Fatalf("Thread after Claim = %s, Claim returned %s", show(got), show(th))
	}
}

func TestClaimReady(t *testing.T) {
	w := newTwin(t)
	claimReady := func(owner string, limit int, wfs ...string) func(s checkpoint.Store) ([]checkpoint.Thread, error) {
		return func(s checkpoint.Store) ([]checkpoint.Thread, error) {
			return s.ClaimReady(w.ctx, &checkpoint.ClaimReady{Owner: owner, Lease: time.Minute, Workflows: wfs, Limit: limit})
		}
	}
	// Created one second apart, so UpdatedAt orders them; "b" and "a"
	// share a time to check the order by ID.
	for _, th := range []struct {
		id, wf string
		st     checkpoint.Status
	}{
		{"r3", "w", checkpoint.StatusReady}, {"run", "w", checkpoint.StatusRunning}, {"other", "x", checkpoint.StatusReady},
		{"int", "w", checkpoint.StatusInterrupted}, {"done", "w", checkpoint.StatusCompleted}, {"b", "w", checkpoint.StatusReady},
	} {
		w.create(th.id, th.wf, th.st)
		if th.id != "b" {
			w.clock.advance(time.Second)
		}
	}
	w.create("a", "w", checkpoint.StatusReady)

	if got := must(w, "ClaimReady of no workflow", claimReady("o", 5)); len(got) != 0 {
		t.Fatalf("ClaimReady of no workflow claimed %s", show(got))
	}
	got := must(w, "ClaimReady limit 0", claimReady("o", 0, "w"))
	if len(got) != 1 || got[0].ID != "r3" || got[0].Owner != "o" || got[0].Epoch != 1 || got[0].Status != checkpoint.StatusRunning {
		t.Fatalf("ClaimReady limit 0 = %s, want r3 alone", show(got))
	}
	got = must(w, "ClaimReady limit 5", claimReady("o2", 5, "w", "nobody"))
	if ids := threadIDs(got); !slices.Equal(ids, []string{"a", "b"}) {
		t.Fatalf("ClaimReady = %q, want a, b (the running ones are live)", ids)
	}
	if got := must(w, "ClaimReady with nothing ready", claimReady("o3", 5, "w")); len(got) != 0 {
		t.Fatalf("ClaimReady with nothing ready = %s", show(got))
	}
	// The leases lapse; the running threads are taken over, oldest
	// UpdatedAt first ("run" and "other" were never claimed; r3, a and b
	// were claimed at one time, so they go by ID).
	w.clock.advance(time.Minute)
	got = must(w, "ClaimReady of lapsed threads", claimReady("o4", 10, "w", "x"))
	if ids := threadIDs(got); !slices.Equal(ids, []string{"run", "other", "a", "b", "r3"}) {
		t.Fatalf("ClaimReady of lapsed threads = %q", ids)
	}
	if th := w.thread("run"); th.Epoch != 2 || th.Owner != "o4" {
		t.Fatalf("taken over %+v", th)
	}
}

func threadIDs(ts []checkpoint.Thread) []string {
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestHeartbeatAndRequestStop(t *testing.T) {
	w := newTwin(t)
	for _, id := range []string{"t1", "t2", "t3"} {
		w.create(id, "w", checkpoint.StatusReady)
	}
	w.create("int", "w", checkpoint.StatusInterrupted)
	must(w, "ClaimReady", func(s checkpoint.Store) ([]checkpoint.Thread, error) {
		return s.ClaimReady(w.ctx, &checkpoint.ClaimReady{Owner: "o", Lease: time.Minute, Workflows: []string{"w"}, Limit: 2})
	})
	stop := func(id string, at time.Time) func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return func(s checkpoint.Store) (*checkpoint.Thread, error) {
			return s.RequestStop(w.ctx, &checkpoint.StopRequest{ThreadID: id, At: at})
		}
	}
	fails(w, "RequestStop of a missing thread", checkpoint.ErrNotFound, stop("nope", t0))
	th := must(w, "RequestStop of a running thread", stop("t1", t0.Add(time.Hour)))
	if th.Status != checkpoint.StatusRunning || !th.StopRequested.Equal(t0.Add(time.Hour)) || th.Version != 2 {
		t.Fatalf("stop requested %+v", th)
	}
	if th := must(w, "RequestStop again", stop("t1", t0.Add(2*time.Hour))); !th.StopRequested.Equal(t0.Add(time.Hour)) {
		t.Fatalf("a second request moved StopRequested: %+v", th)
	}
	th = must(w, "RequestStop of a ready thread", stop("t3", t0.Add(time.Hour)))
	if th.Status != checkpoint.StatusStopped || th.Version != 2 || !th.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ready thread stopped %+v", th)
	}
	if th := must(w, "RequestStop of an interrupted thread", stop("int", t0.Add(time.Hour))); th.Status != checkpoint.StatusInterrupted || th.Version != 1 {
		t.Fatalf("interrupted thread changed %+v", th)
	}

	w.clock.advance(30 * time.Second)
	beat := func(owner string, ids ...string) func(s checkpoint.Store) (*checkpoint.Beat, error) {
		return func(s checkpoint.Store) (*checkpoint.Beat, error) {
			return s.Heartbeat(w.ctx, &checkpoint.Heartbeat{Owner: owner, Threads: ids, Lease: time.Minute})
		}
	}
	b := must(w, "Heartbeat", beat("o", "t1", "t2", "t3", "nope", "t2"))
	if !slices.Equal(b.Held, []string{"t1", "t2"}) || !slices.Equal(b.Stop, []string{"t1"}) {
		t.Fatalf("Heartbeat = %+v", b)
	}
	if th := w.thread("t2"); !th.LeaseUntil.Equal(w.clock.now().Add(time.Minute)) || th.Version != 2 {
		t.Fatalf("renewed %+v", th)
	}
	if b := must(w, "Heartbeat of another owner", beat("x", "t1", "t2")); len(b.Held) != 0 {
		t.Fatalf("Heartbeat of another owner = %+v", b)
	}
	// The renewed lease outlives the first one.
	w.clock.advance(45 * time.Second)
	fails(w, "Claim of a renewed thread", checkpoint.ErrConflict, func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return s.Claim(w.ctx, &checkpoint.Claim{ThreadID: "t2", ExpectedVersion: 2, Owner: "x", Lease: time.Minute})
	})
	if b := must(w, "Heartbeat of nothing", beat("o")); len(b.Held) != 0 {
		t.Fatalf("Heartbeat of nothing = %+v", b)
	}
}

func TestLease(t *testing.T) {
	w := newTwin(t)
	lease := func(owner string, release bool) func(s checkpoint.Store) (bool, error) {
		return func(s checkpoint.Store) (bool, error) {
			return s.Lease(w.ctx, &checkpoint.Lease{Name: "m", Owner: owner, TTL: time.Minute, Release: release})
		}
	}
	steps := []struct {
		advance time.Duration
		owner   string
		release bool
		want    bool
	}{
		{0, "a", false, true},                // free
		{0, "b", false, false},               // a holds it
		{30 * time.Second, "a", false, true}, // renewed until 1m30s
		{45 * time.Second, "b", false, false},
		{15 * time.Second, "b", false, true}, // lapsed exactly
		{0, "a", true, false},                // not a's: nothing
		{0, "a", false, false},
		{0, "b", true, false}, // released
		{0, "a", false, true},
	}
	for i, st := range steps {
		w.clock.advance(st.advance)
		if got := must(w, fmt.Sprintf("step %d: Lease(%s, release=%v)", i, st.owner, st.release), lease(st.owner, st.release)); got != st.want {
			t.Fatalf("step %d: Lease(%s, release=%v) = %v, want %v", i, st.owner, st.release, got, st.want)
		}
	}
	for _, s := range w.stores {
		if _, err := s.Lease(w.ctx, &checkpoint.Lease{Name: "m"}); err == nil {
			t.Errorf("%T: Lease without an owner: no error", s)
		}
	}
}

func TestPutWritesFencing(t *testing.T) {
	w := newTwin(t)
	put := func(owner string, epoch int64, data string) func(s checkpoint.Store) (int, error) {
		return func(s checkpoint.Store) (int, error) {
			return 0, s.PutWrites(w.ctx, &checkpoint.PutWrites{ThreadID: "t", Owner: owner, Epoch: epoch,
				Writes: []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(1), Task: "n", Kind: "do", Key: "k", Data: []byte(data)}}})
		}
	}
	fails(w, "PutWrites to a missing thread", checkpoint.ErrConflict, put("starter", 1, "x"))
	w.create("t", "w", checkpoint.StatusRunning)
	fails(w, "PutWrites of another owner", checkpoint.ErrConflict, put("other", 1, "x"))
	fails(w, "PutWrites of another epoch", checkpoint.ErrConflict, put("starter", 2, "x"))
	must(w, "PutWrites", put("starter", 1, "one"))
	must(w, "PutWrites again", put("starter", 1, "two"))
	if ws := w.writes("t", "", checkpoint.FormatID(1)); len(ws) != 1 || string(ws[0].Data) != "two" {
		t.Fatalf("writes %s", show(ws))
	}
	if th := w.thread("t"); th.Version != 1 {
		t.Fatalf("PutWrites moved the version: %+v", th)
	}
	// Taken over after the lease lapsed: the old claim writes nothing.
	w.clock.advance(time.Minute)
	must(w, "Claim", func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return s.Claim(w.ctx, &checkpoint.Claim{ThreadID: "t", ExpectedVersion: 1, Owner: "new", Lease: time.Minute})
	})
	fails(w, "PutWrites of the lost claim", checkpoint.ErrConflict, put("starter", 1, "three"))
	must(w, "PutWrites of the new claim", put("new", 2, "four"))
	// A thread that does not run takes no writes, whoever holds what.
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusStopped, Owner: "new", Epoch: 2,
		Head: checkpoint.FormatID(1)}, ExpectedVersion: 2, At: w.clock.now()})
	fails(w, "PutWrites to a stopped thread", checkpoint.ErrConflict, put("new", 2, "five"))
	if ws := w.writes("t", "", checkpoint.FormatID(1)); len(ws) != 1 || string(ws[0].Data) != "four" {
		t.Fatalf("writes %s", show(ws))
	}
}

// pause commits thread id interrupted at version 1 with questions qs (at
// checkpoint 1, the head).
func (w *twin) pause(id string, qs ...string) {
	w.t.Helper()
	var recs []checkpoint.InterruptRecord
	for _, q := range qs {
		recs = append(recs, checkpoint.InterruptRecord{ID: q, Workflow: "w", CheckpointID: checkpoint.FormatID(1), Node: "n", Task: "n",
			Kind: checkpoint.KindDynamic, CreatedAt: t0})
	}
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
		At: t0, Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput}, Interrupts: recs})
}

func TestAnswer(t *testing.T) {
	w := newTwin(t)
	answer := func(id string, claim *checkpoint.Claim, qs ...string) func(s checkpoint.Store) (*checkpoint.AnswerResult, error) {
		return func(s checkpoint.Store) (*checkpoint.AnswerResult, error) {
			a := &checkpoint.AnswerRequest{ThreadID: id, Claim: claim,
				Writes: []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(1), Task: "__answer__", Kind: "update", Data: []byte(id)}}}
			for _, q := range qs {
				a.Answers = append(a.Answers, checkpoint.Answer{InterruptID: q, Value: []byte(`"yes"`), Author: "ann", Channel: checkpoint.ChannelAPI, At: t0.Add(time.Hour)})
			}
			return s.Answer(w.ctx, a)
		}
	}
	fails(w, "Answer to a missing thread", checkpoint.ErrNotFound, answer("t", nil, "q1"))
	w.pause("t", "q1", "q2", "q3")
	fails(w, "Answer to a missing question", checkpoint.ErrNotFound, answer("t", nil, "q1", "nope"))
	fails(w, "Answer twice in one call", checkpoint.ErrAlreadyAnswered, answer("t", nil, "q1", "q1"))
	if rs := w.interrupts("t"); slices.ContainsFunc(rs, func(r checkpoint.InterruptRecord) bool { return r.Status != checkpoint.InterruptPending }) {
		t.Fatalf("a failed Answer changed questions: %s", show(rs))
	}
	if ws := w.writes("t", "", checkpoint.FormatID(1)); len(ws) != 0 {
		t.Fatalf("a failed Answer wrote %s", show(ws))
	}
	res := must(w, "Answer", answer("t", nil, "q1"))
	if res.Claimed || res.Thread.Status != checkpoint.StatusReady || res.Thread.Version != 2 || !res.Thread.UpdatedAt.Equal(w.clock.now()) {
		t.Fatalf("Answer = %s", show(res))
	}
	fails(w, "Answer again", checkpoint.ErrAlreadyAnswered, answer("t", nil, "q1"))
	// A ready thread stays ready, and is claimed if asked.
	res = must(w, "Answer of a ready thread", answer("t", nil, "q2"))
	if res.Thread.Status != checkpoint.StatusReady || res.Thread.Version != 2 {
		t.Fatalf("Answer of a ready thread = %s", show(res))
	}
	claim := &checkpoint.Claim{Owner: "o", Lease: time.Minute}
	res = must(w, "Answer that claims", answer("t", claim, "q3"))
	if !res.Claimed || res.Thread.Status != checkpoint.StatusRunning || res.Thread.Owner != "o" || res.Thread.Epoch != 1 || res.Thread.Version != 3 ||
		!res.Thread.LeaseUntil.Equal(w.clock.now().Add(time.Minute)) {
		t.Fatalf("Answer that claims = %s", show(res))
	}
	if ws := w.writes("t", "", checkpoint.FormatID(1)); len(ws) != 1 || string(ws[0].Data) != "t" {
		t.Fatalf("answer writes %s", show(ws))
	}
	w.interrupts("t") // both stores recorded the same answers

	// A running thread on a live lease is not claimed and keeps running.
	w.pause("u", "q1", "q2")
	must(w, "Claim", func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return s.Claim(w.ctx, &checkpoint.Claim{ThreadID: "u", ExpectedVersion: 1, Owner: "runner", Lease: time.Minute})
	})
	res = must(w, "Answer of a running thread", answer("u", claim, "q1"))
	if res.Claimed || res.Thread.Owner != "runner" || res.Thread.Version != 2 {
		t.Fatalf("Answer of a running thread = %s", show(res))
	}
	w.clock.advance(time.Minute)
	if res = must(w, "Answer of a lapsed thread", answer("u", claim, "q2")); !res.Claimed || res.Thread.Epoch != 2 {
		t.Fatalf("Answer of a lapsed thread = %s", show(res))
	}

	// A question of an older pause: the thread moved past it.
	w.pause("v", "old")
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "v", Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(2)},
		ExpectedVersion: 1, At: t0, Checkpoint: &checkpoint.Checkpoint{ParentID: checkpoint.FormatID(1), Source: checkpoint.SourceLoop}})
	fails(w, "Answer of an old pause", checkpoint.ErrAlreadyAnswered, answer("v", nil, "old"))
	fails(w, "Answer to another thread's question", checkpoint.ErrNotFound, answer("v", nil, "q3"))
}

func TestCommitCancelCarryVerify(t *testing.T) {
	w := newTwin(t)
	w.pause("t", "q1", "q2", "q3")
	head := checkpoint.FormatID(1)
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusInterrupted, Head: head},
		ExpectedVersion: 1, At: t0,
		Cancel: &checkpoint.Cancellation{IDs: []string{"q2", "nope"}, Author: "bob", Channel: checkpoint.ChannelUI, At: t0.Add(time.Minute), Note: "moot"},
		Writes: []checkpoint.PendingWrite{
			{CheckpointID: head, Task: "a", Kind: "do", Key: "1", Data: []byte("d1")},
			{CheckpointID: head, Task: "a", Kind: "output", Data: []byte("o1")},
			{CheckpointID: head, Task: "b", Kind: "do", Key: "2", Data: []byte("d2")},
			{Namespace: "sub", CheckpointID: head, Task: "c", Kind: "do", Data: []byte("other namespace")},
		}})
	rs := w.interrupts("t")
	if rs[1].Status != checkpoint.InterruptCancelled || rs[1].Note != "moot" || rs[1].Author != "bob" || rs[0].Status != checkpoint.InterruptPending {
		t.Fatalf("Cancel of q2: %s", show(rs))
	}
	// Carry the "do" writes of the head to the next checkpoint, whose
	// commit removes the head's writes; VerifyBlobs passes with no blob
	// named.
	next := checkpoint.FormatID(3)
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusInterrupted, Head: next},
		ExpectedVersion: 2, At: t0, VerifyBlobs: true,
		Cancel: &checkpoint.Cancellation{Author: "engine", Channel: checkpoint.ChannelEngine, At: t0.Add(2 * time.Minute), Note: "moved on"},
		Carry:  &checkpoint.Carry{From: head, Kinds: []string{"do"}},
		Checkpoint: &checkpoint.Checkpoint{ParentID: head, Source: checkpoint.SourceLoop, Versions: map[string]int64{"f": 3},
			Blobs: []checkpoint.Blob{{Field: "f", Data: []byte("3")}}},
		Writes: []checkpoint.PendingWrite{{CheckpointID: next, Task: "b", Kind: "do", Key: "2", Data: []byte("replaced")}}})
	if ws := w.writes("t", "", next); len(ws) != 2 || string(ws[0].Data) != "d1" || string(ws[1].Data) != "replaced" {
		t.Fatalf("carried writes %s", show(ws))
	}
	if ws := w.writes("t", "", head); len(ws) != 0 {
		t.Fatalf("the head's writes stayed: %s", show(ws))
	}
	if ws := w.writes("t", "sub", head); len(ws) != 1 {
		t.Fatalf("writes of another namespace: %s", show(ws))
	}
	rs = w.interrupts("t")
	for _, r := range rs {
		if r.Status != checkpoint.InterruptCancelled {
			t.Fatalf("Cancel of all: %s", show(rs))
		}
	}
	if rs[0].Note != "moved on" || rs[1].Note != "moot" {
		t.Fatalf("Cancel of all changed a cancelled one: %s", show(rs))
	}

	// A fork naming a blob that is gone fails with ErrNotFound and
	// changes nothing; one naming blobs that exist commits.
	fork := func(v int64) func(s checkpoint.Store) (int64, error) {
		return func(s checkpoint.Store) (int64, error) {
			return s.Commit(w.ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusStopped,
				Head: checkpoint.FormatID(4)}, ExpectedVersion: 3, At: t0, VerifyBlobs: true,
				Checkpoint: &checkpoint.Checkpoint{ParentID: next, Source: checkpoint.SourceFork, Versions: map[string]int64{"f": v, "g": 4},
					Blobs: []checkpoint.Blob{{Field: "g", Data: []byte("4")}}}})
		}
	}
	fails(w, "Commit of a fork naming a missing blob", checkpoint.ErrNotFound, fork(2))
	if th := w.thread("t"); th.Version != 3 {
		t.Fatalf("a failed commit moved the thread: %+v", th)
	}
	must(w, "Commit of a fork", fork(3))
}

func TestCommitLease(t *testing.T) {
	w := newTwin(t)
	w.create("t", "w", checkpoint.StatusRunning)
	if th := w.thread("t"); th.Owner != "starter" || th.Epoch != 1 || !th.LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("created %+v", th)
	}
	must(w, "RequestStop", func(s checkpoint.Store) (*checkpoint.Thread, error) {
		return s.RequestStop(w.ctx, &checkpoint.StopRequest{ThreadID: "t", At: t0.Add(time.Second)})
	})
	w.clock.advance(10 * time.Second)
	// The commit says nothing of the stop: the stored request stays.
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusRunning, Owner: "starter", Epoch: 1,
		LeaseUntil: t0, Head: checkpoint.FormatID(1)}, ExpectedVersion: 1, At: w.clock.now(), Lease: 2 * time.Minute})
	th := w.thread("t")
	if !th.StopRequested.Equal(t0.Add(time.Second)) || !th.LeaseUntil.Equal(w.clock.now().Add(2*time.Minute)) {
		t.Fatalf("after a running commit %+v", th)
	}
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusStopped, Owner: "starter", Epoch: 1,
		LeaseUntil: t0, StopRequested: t0, Head: checkpoint.FormatID(1)}, ExpectedVersion: 2, At: w.clock.now(), Lease: time.Minute})
	th = w.thread("t")
	if th.Owner != "" || !th.LeaseUntil.IsZero() || !th.StopRequested.IsZero() || th.Epoch != 1 {
		t.Fatalf("after a stopping commit %+v", th)
	}
	// A commit that starts a run does not take a stop request with it
	// from what it is given.
	w.commit(checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusRunning, Owner: "again", Epoch: 2,
		StopRequested: t0, Head: checkpoint.FormatID(1)}, ExpectedVersion: 3, At: w.clock.now(), Lease: time.Minute})
	if th = w.thread("t"); !th.StopRequested.IsZero() || th.Owner != "again" || th.Epoch != 2 {
		t.Fatalf("after a starting commit %+v", th)
	}
}

func TestReassignExpectedDeadline(t *testing.T) {
	w := newTwin(t)
	reassign := func(id string, expected, deadline time.Time) func(s checkpoint.Store) (int, error) {
		return func(s checkpoint.Store) (int, error) {
			return 0, s.Reassign(w.ctx, &checkpoint.Reassign{ThreadID: "t", InterruptID: id, ExpectedDeadline: expected,
				Assignees: []string{"boss"}, Deadline: deadline, Fallback: []byte(`"no"`), FallbackAt: deadline.Add(time.Hour)})
		}
	}
	fails(w, "Reassign in a missing thread", checkpoint.ErrNotFound, reassign("q1", time.Time{}, t0))
	w.pause("t", "q1", "q2")
	fails(w, "Reassign of a missing question", checkpoint.ErrNotFound, reassign("nope", time.Time{}, t0))
	fails(w, "Reassign with a wrong deadline", checkpoint.ErrConflict, reassign("q1", t0, t0.Add(time.Hour)))
	must(w, "Reassign", reassign("q1", time.Time{}, t0.Add(time.Hour)))
	fails(w, "Reassign with the old deadline", checkpoint.ErrConflict, reassign("q1", time.Time{}, t0.Add(2*time.Hour)))
	must(w, "Reassign again", reassign("q1", t0.Add(time.Hour), t0.Add(2*time.Hour)))
	rs := w.interrupts("t")
	if r := rs[0]; !r.Deadline.Equal(t0.Add(2*time.Hour)) || !r.FallbackAt.Equal(t0.Add(3*time.Hour)) || string(r.Fallback) != `"no"` {
		t.Fatalf("reassigned %s", show(rs))
	}
	must(w, "Answer", func(s checkpoint.Store) (*checkpoint.AnswerResult, error) {
		return s.Answer(w.ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{{InterruptID: "q2", Value: []byte(`1`)}}})
	})
	fails(w, "Reassign of an answered question", checkpoint.ErrAlreadyAnswered, reassign("q2", time.Time{}, t0))
}

// TestClaimReadyTwoStores claims ready threads through two Stores on one
// file (two processes, as far as SQLite can tell), from many goroutines at
// once: every thread is claimed exactly once.
func TestClaimReadyTwoStores(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := []*sqlitestore.Store{openAt(t, path), openAt(t, path)}
	const threads = 40
	for i := range threads {
		_, err := stores[0].Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: fmt.Sprintf("t%02d", i), Workflow: "w",
			Status: checkpoint.StatusReady}, At: t0.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claims := map[string][]string{}
	var wg sync.WaitGroup
	for si, s := range stores {
		for g := range 3 {
			owner := fmt.Sprintf("s%d-g%d", si, g)
			wg.Go(func() {
				for {
					got, err := s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: owner, Lease: time.Hour, Workflows: []string{"w"}, Limit: 3})
					if err != nil {
						t.Errorf("%s: ClaimReady: %v", owner, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, th := range got {
						claims[th.ID] = append(claims[th.ID], owner)
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(claims) != threads {
		t.Fatalf("%d threads claimed, want %d", len(claims), threads)
	}
	for id, owners := range claims {
		if len(owners) != 1 {
			t.Errorf("thread %s claimed by %q", id, owners)
		}
	}
}
