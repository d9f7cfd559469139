package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// readyThread commits a new thread id of workflow wf in status, with a
// checkpoint, at time at.
func readyThread(t *testing.T, s checkpoint.Store, id, wf string, status checkpoint.Status, at time.Time) {
	t.Helper()
	c := testCommit(id, 0)
	c.Thread.Workflow, c.Thread.Status, c.At = wf, status, at
	if _, err := s.Commit(t.Context(), c); err != nil {
		t.Fatalf("commit %s: %v", id, err)
	}
}

// TestClaimReadyConcurrent: callers on separate pools claiming at once
// never claim the same thread, and together claim every ready one.
func TestClaimReadyConcurrent(t *testing.T) {
	first := newStore(t)
	ctx := t.Context()
	const threads = 60
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range threads {
		readyThread(t, first, fmt.Sprintf("t%03d", i), "w", checkpoint.StatusReady, base.Add(time.Duration(i)*time.Second))
	}
	readyThread(t, first, "other", "v", checkpoint.StatusReady, base)
	var stores []*pgstore.Store
	for range 2 {
		s, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: first.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	var mu sync.Mutex
	claimedBy := map[string]string{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range stores {
		wg.Go(func() {
			owner := fmt.Sprint("w", i)
			<-start
			for {
				ths, err := s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: owner, Lease: time.Minute, Workflows: []string{"w"}, Limit: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ths) == 0 {
					return
				}
				mu.Lock()
				for _, th := range ths {
					if prev, ok := claimedBy[th.ID]; ok {
						t.Errorf("thread %s claimed by %s and %s", th.ID, prev, owner)
					}
					claimedBy[th.ID] = owner
					if th.Status != checkpoint.StatusRunning || th.Owner != owner || th.Epoch != 1 || th.Version != 2 {
						t.Errorf("claimed row %+v", th)
					}
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(claimedBy) != threads {
		t.Fatalf("%d threads claimed, want %d", len(claimedBy), threads)
	}
	if th, _ := first.Thread(ctx, "other"); th.Status != checkpoint.StatusReady {
		t.Fatalf("a thread of another workflow was claimed: %+v", th)
	}
}

// TestClaimReadyOldestFirst: ready threads and running ones on a lapsed
// lease are claimed oldest first; live claims are not.
func TestClaimReadyOldestFirst(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newStoreWith(t, pgstore.Options{Clock: clock})
	ctx := t.Context()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	readyThread(t, s, "c", "w", checkpoint.StatusReady, base.Add(3*time.Second))
	readyThread(t, s, "a", "w", checkpoint.StatusReady, base.Add(2*time.Second))
	readyThread(t, s, "b", "w", checkpoint.StatusInterrupted, base.Add(time.Second))
	if _, err := s.Claim(ctx, &checkpoint.Claim{ThreadID: "c", ExpectedVersion: 1, Owner: "x", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: "y", Lease: time.Minute, Workflows: []string{"w"}, Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("ClaimReady = %+v, %v; want a alone", got, err)
	}
	// c's lease lapses: it is claimable, and claimed with a new epoch.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	got, err = s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: "y", Lease: time.Minute, Workflows: []string{"w"}, Limit: 10})
	if err != nil || len(got) != 2 || got[0].ID != "a" || got[1].ID != "c" || got[1].Epoch != 2 || !got[1].LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Fatalf("ClaimReady after the leases lapsed = %+v, %v; want a, then c at epoch 2", got, err)
	}
	// The old owner of c is fenced out.
	err = s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "c", Owner: "x", Epoch: 1, Writes: []checkpoint.PendingWrite{{Task: "late"}}})
	if !errors.Is(err, checkpoint.ErrConflict) {
		t.Fatalf("PutWrites of a lost claim: %v, want ErrConflict", err)
	}
	if err := s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "c", Owner: "y", Epoch: 2, Writes: []checkpoint.PendingWrite{{Task: "on time"}}}); err != nil {
		t.Fatalf("PutWrites of the claim: %v", err)
	}
	beat, err := s.Heartbeat(ctx, &checkpoint.Heartbeat{Owner: "x", Threads: []string{"c"}, Lease: time.Minute})
	if err != nil || len(beat.Held) != 0 {
		t.Fatalf("Heartbeat of a lost claim = %+v, %v", beat, err)
	}
}

// TestCommitLeaseAndStop: a commit that leaves a thread running gets a
// lease from the store's clock and keeps a stop requested meanwhile; one
// that ends the run clears owner, lease and stop.
func TestCommitLeaseAndStop(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	before := time.Now()
	c := testCommit("t", 0)
	c.Thread.Owner, c.Lease = "me", time.Hour
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	th, _ := s.Thread(ctx, "t")
	if th.Owner != "me" || th.LeaseUntil.Before(before.Add(time.Hour-time.Minute)) || th.LeaseUntil.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Fatalf("lease after a running commit: %+v", th)
	}
	if _, err := s.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: "t", At: before}); err != nil {
		t.Fatal(err)
	}
	c = testCommit("t", 1)
	c.Thread.Owner, c.Lease = "me", time.Hour
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	if th, _ := s.Thread(ctx, "t"); th.StopRequested.IsZero() {
		t.Fatalf("a running commit dropped the stop request: %+v", th)
	}
	c = testCommit("t", 2)
	c.Thread.Owner, c.Thread.Status = "me", checkpoint.StatusStopped
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	if th, _ := s.Thread(ctx, "t"); th.Owner != "" || !th.LeaseUntil.IsZero() || !th.StopRequested.IsZero() {
		t.Fatalf("a stopped thread keeps its claim: %+v", th)
	}
}

// TestCommitCarryAndVerify: Carry copies the writes of the kinds named
// before the superstep's writes go; VerifyBlobs refuses a checkpoint
// whose older blobs are gone, and changes nothing.
func TestCommitCarryAndVerify(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	commitN(t, s, "t", 2)
	head := checkpoint.FormatID(2)
	if err := s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "t", Owner: "someone", Epoch: 0}); !errors.Is(err, checkpoint.ErrConflict) {
		t.Fatalf("PutWrites without the claim: %v", err)
	}
	c := testCommit("t", 2)
	c.Writes = nil
	// Writes of the head, recorded through a commit (no claim here).
	c0 := &checkpoint.Commit{Thread: c.Thread, ExpectedVersion: 2, At: c.At, Writes: []checkpoint.PendingWrite{
		{CheckpointID: head, Task: "a", Kind: "do", Data: []byte("1")},
		{CheckpointID: head, Task: "b", Kind: "output", Data: []byte("2")},
	}}
	c0.Thread.Head = head
	if _, err := s.Commit(ctx, c0); err != nil {
		t.Fatal(err)
	}
	c = testCommit("t", 3)
	c.Checkpoint.ParentID = head
	c.Carry = &checkpoint.Carry{From: head, Kinds: []string{"do"}}
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	ws, err := s.PendingWrites(ctx, "t", "", checkpoint.FormatID(4))
	if err != nil || len(ws) != 1 || ws[0].Task != "a" || string(ws[0].Data) != "1" {
		t.Fatalf("carried writes = %+v, %v", ws, err)
	}
	if ws, _ := s.PendingWrites(ctx, "t", "", head); len(ws) != 0 {
		t.Fatalf("writes of the parent left: %+v", ws)
	}
	// A fork naming a blob that exists, and one naming a blob that does
	// not.
	fork := testCommit("t", 4)
	fork.VerifyBlobs = true
	fork.Checkpoint.Versions = map[string]int64{"x": 5, "y": 1}
	fork.Checkpoint.Blobs = append(fork.Checkpoint.Blobs, checkpoint.Blob{Field: "z", Data: []byte("z")})
	if _, err := s.Commit(ctx, fork); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("commit naming a missing blob: %v, want ErrNotFound", err)
	}
	if th, _ := s.Thread(ctx, "t"); th.Version != 4 {
		t.Fatalf("a refused commit changed the thread: %+v", th)
	}
	fork.Checkpoint.Versions = map[string]int64{"x": 1, "z": 5}
	if _, err := s.Commit(ctx, fork); err != nil {
		t.Fatalf("commit naming blobs that exist: %v", err)
	}
}

// TestCommitCancel: Cancel cancels the pending interrupts (those listed,
// if any), recording who, how, when and why.
func TestCommitCancel(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	c := testCommit("t", 0)
	c.Thread.Status = checkpoint.StatusInterrupted
	for _, id := range []string{"a", "b", "c"} {
		c.Interrupts = append(c.Interrupts, checkpoint.InterruptRecord{ID: id, CheckpointID: c.Thread.Head, Kind: checkpoint.KindDynamic})
	}
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)
	cancel := func(v int64, ids ...string) {
		t.Helper()
		c := &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
			ExpectedVersion: v, At: at, Cancel: &checkpoint.Cancellation{IDs: ids, Author: "ann", Channel: checkpoint.ChannelUI, At: at, Note: "moot"}}
		if _, err := s.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cancel(1, "b")
	page, _ := s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t", Status: checkpoint.InterruptCancelled})
	if len(page.Interrupts) != 1 || page.Interrupts[0].ID != "b" || page.Interrupts[0].Note != "moot" || page.Interrupts[0].Author != "ann" || !page.Interrupts[0].AnsweredAt.Equal(at) {
		t.Fatalf("cancelled = %+v", page.Interrupts)
	}
	cancel(2)
	page, _ = s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t", Status: checkpoint.InterruptPending})
	if len(page.Interrupts) != 0 {
		t.Fatalf("pending after cancelling all: %+v", page.Interrupts)
	}
}

// TestListenSeesAnswer: a listener on one pool hears the notice of an
// Answer made through another, when it commits; and a stop notice.
func TestListenSeesAnswer(t *testing.T) {
	first := newStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c := testCommit("t", 0)
	c.Thread.Status = checkpoint.StatusInterrupted
	c.Interrupts = []checkpoint.InterruptRecord{{ID: "q", CheckpointID: c.Thread.Head, Kind: checkpoint.KindDynamic}}
	if _, err := first.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	other, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: first.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	// A store on another schema must not be heard.
	stranger := newStore(t)

	notices := make(chan checkpoint.Notice, 10)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- first.Listen(lctx, func(n checkpoint.Notice) { notices <- n }) }()
	// Notify until the listener hears: LISTEN may not have run yet.
	probe := checkpoint.Notice{Kind: "probe", Thread: "p"}
	for heard := false; !heard; {
		if err := first.Notify(ctx, probe); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-notices:
			heard = n == probe
		case <-time.After(100 * time.Millisecond):
		}
	}
	readyThread(t, stranger, "t", "w", checkpoint.StatusReady, time.Now())
	res, err := other.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`1`)}}})
	if err != nil || res.Thread.Status != checkpoint.StatusReady {
		t.Fatalf("Answer = %+v, %v", res, err)
	}
	want := checkpoint.Notice{Kind: checkpoint.NoticeReady, Thread: "t", Workflow: "w"}
	if n := next(t, notices); n != want {
		t.Fatalf("notice %+v, want %+v", n, want)
	}
	if _, err := other.Claim(ctx, &checkpoint.Claim{ThreadID: "t", ExpectedVersion: res.Thread.Version, Owner: "x", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: "t", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	want.Kind = checkpoint.NoticeStop
	if n := next(t, notices); n != want {
		t.Fatalf("notice %+v, want %+v", n, want)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Listen returned %v, want context.Canceled", err)
	}
	select {
	case n := <-notices:
		t.Fatalf("unexpected notice %+v", n)
	default:
	}
}

func next(t *testing.T, notices <-chan checkpoint.Notice) checkpoint.Notice {
	t.Helper()
	select {
	case n := <-notices:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notice within 10s")
	}
	return checkpoint.Notice{}
}

// TestForkRacesPrune: a fork that names an old blob (VerifyBlobs) and a
// Prune that removes it run at once; either the fork fails with
// ErrNotFound, or it commits and its checkpoint has every blob.
func TestForkRacesPrune(t *testing.T) {
	first := newStore(t)
	ctx := t.Context()
	var stores []*pgstore.Store
	for range 2 {
		s, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: first.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	outcomes := map[string]int{}
	for i := range 30 {
		id := fmt.Sprint("r", i)
		commitN(t, first, id, 3)
		fork := testCommit(id, 3)
		fork.VerifyBlobs = true
		fork.Checkpoint.ParentID, fork.Checkpoint.Source = checkpoint.FormatID(1), checkpoint.SourceFork
		fork.Checkpoint.Versions, fork.Checkpoint.Blobs = map[string]int64{"x": 1}, nil
		var wg sync.WaitGroup
		var commitErr, pruneErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; _, commitErr = stores[0].Commit(ctx, fork) })
		wg.Go(func() { <-start; _, pruneErr = stores[1].Prune(ctx, &checkpoint.Prune{ThreadID: id, KeepLast: 1}) })
		close(start)
		wg.Wait()
		if pruneErr != nil {
			t.Fatalf("round %d: Prune: %v", i, pruneErr)
		}
		switch {
		case errors.Is(commitErr, checkpoint.ErrNotFound):
			outcomes["refused"]++
		case commitErr != nil:
			t.Fatalf("round %d: fork: %v", i, commitErr)
		default:
			outcomes["committed"]++
			cp, err := first.Checkpoint(ctx, id, "", "")
			if err != nil || len(cp.Blobs) != 1 || string(cp.Blobs[0].Data) != "1" {
				t.Fatalf("round %d: the fork committed without its blob: %+v, %v", i, cp, err)
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestClaimReadyReadsNoPausedThread checks that a worker's poll for ready
// work reads the ready and running threads of its workflows and none of
// the paused ones, however many wait: of 20,000 interrupted threads and 5
// ready ones, the plan visits a handful of rows, with table statistics and
// without, as a custom and as a generic plan (the statement is prepared).
// An idle worker polls every second; a scan of paused threads would make
// waiting cost.
func TestClaimReadyReadsNoPausedThread(t *testing.T) {
	for _, stats := range []string{"fresh", "none"} {
		t.Run(stats, func(t *testing.T) {
			s := newStore(t)
			ctx := t.Context()
			ident := pgx.Identifier{s.Schema(), "threads"}.Sanitize()
			_, err := s.Pool().Exec(ctx, `INSERT INTO `+ident+` (id, workflow, graph_hash, status, version, head, error, owner, created_at, updated_at)
				SELECT format('t%s', g), 'review', 'h', CASE WHEN g % 4000 = 0 THEN 'ready' ELSE 'interrupted' END, 1, '', '', '',
					now() - g * interval '1 second', now() - g * interval '1 second'
				FROM generate_series(1, 20000) g`)
			if err != nil {
				t.Fatal(err)
			}
			if stats == "fresh" {
				if _, err := s.Pool().Exec(ctx, "ANALYZE "+ident); err != nil {
					t.Fatal(err)
				}
			}
			args := []any{[]string{"review"}, 100, "w1", int64(time.Minute / time.Microsecond), time.Now()}
			eachPlan(t, s, pgstore.ClaimReadySQL(s), args, func(mode, plan string) {
				if strings.Contains(plan, "Seq Scan on threads") {
					t.Errorf("%s: the poll scans threads:\n%s", mode, plan)
				}
				if !strings.Contains(plan, "rows=5 loops") {
					t.Errorf("%s: the poll does not claim the 5 ready threads:\n%s", mode, plan)
				}
				if n := droppedRows(plan); n > 10 {
					t.Errorf("%s: the poll visits %d rows it drops:\n%s", mode, n, plan)
				}
			})
		})
	}
}

// TestNoticesAfterCommitInBatches: 50 concurrent writes that leave threads
// of one workflow ready are told to listeners by at most two notices (the
// first at once, the rest in one batch: the interval is an hour, so the
// second batch goes out when Close flushes it), and a write that fails
// tells nothing.
func TestNoticesAfterCommitInBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	listener := newStore(t)
	writer, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: listener.Schema(), NotifyInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	notices := make(chan checkpoint.Notice, 1000)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = listener.Listen(lctx, func(n checkpoint.Notice) { notices <- n }) }()
	probe := checkpoint.Notice{Kind: "probe", Thread: "p"}
	for heard := false; !heard; {
		if err := listener.Notify(ctx, probe); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-notices:
			heard = n == probe
		case <-time.After(100 * time.Millisecond):
		}
	}
	for len(notices) > 0 {
		<-notices
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := testCommit(fmt.Sprint("t", i), 0)
			c.Thread.Status = checkpoint.StatusReady
			if _, err := writer.Commit(ctx, c); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// A commit refused (the thread exists) notifies nothing.
	c := testCommit("t0", 0)
	c.Thread.Workflow, c.Thread.Status = "refused", checkpoint.StatusReady
	if _, err := writer.Commit(ctx, c); !errors.Is(err, checkpoint.ErrConflict) {
		t.Fatalf("a second first commit: %v", err)
	}
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	end := checkpoint.Notice{Kind: "probe", Thread: "end"}
	if err := listener.Notify(ctx, end); err != nil {
		t.Fatal(err)
	}
	var got []checkpoint.Notice
	for n := next(t, notices); n != end; n = next(t, notices) {
		got = append(got, n)
	}
	if len(got) < 1 || len(got) > 2 {
		t.Fatalf("%d notices for 50 ready threads, want 1 or 2: %+v", len(got), got)
	}
	for _, n := range got {
		if n.Kind != checkpoint.NoticeReady || n.Workflow != "w" {
			t.Errorf("notice %+v, want a ready notice of workflow w (a refused commit tells nothing)", n)
		}
	}
}
