package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/worker"
)

// Shapes is a state with every kind of field a node may change in place.
type Shapes struct {
	Meta    map[string]string
	Items   []string
	Rows    []Row
	Ptr     *Row
	Nested  map[string][]int
	Any     any
	Matrix  [][]string
	Big     *big.Int
	Raw     json.RawMessage
	Counter int
}

type Row struct {
	Name string
	Tags []string
}

func shapesStart() Shapes {
	return Shapes{
		Meta: map[string]string{"a": "1"}, Items: []string{"i0", "i1"},
		Rows: []Row{{Name: "r0", Tags: []string{"t"}}}, Ptr: &Row{Name: "p"},
		Nested: map[string][]int{"k": {1, 2}}, Any: map[string]any{"x": "1"},
		Matrix: [][]string{{"a", "b"}}, Big: big.NewInt(1), Raw: json.RawMessage(`{"v":1}`),
	}
}

// TestInPlaceEditsAreSaved: whatever a node changes in place is what the
// store keeps, read back by another workflow value on the same store.
func TestInPlaceEditsAreSaved(t *testing.T) {
	edits := []struct {
		name string
		edit func(s *Shapes)
	}{
		{"map entry", func(s *Shapes) { s.Meta["b"] = "2" }},
		{"map delete", func(s *Shapes) { delete(s.Meta, "a") }},
		{"slice element", func(s *Shapes) { s.Items[0] = "X" }},
		{"struct in slice", func(s *Shapes) { s.Rows[0].Name = "R" }},
		{"slice in struct in slice", func(s *Shapes) { s.Rows[0].Tags[0] = "T" }},
		{"append after in-place change", func(s *Shapes) { s.Items[1] = "Y"; s.Items = append(s.Items, "i2") }},
		{"pointer target", func(s *Shapes) { s.Ptr.Name = "P" }},
		{"slice in map", func(s *Shapes) { s.Nested["k"][1] = 20 }},
		{"map in interface", func(s *Shapes) { s.Any.(map[string]any)["x"] = "2" }},
		{"slice of slices", func(s *Shapes) { s.Matrix[0][1] = "B" }},
		{"big.Int by method", func(s *Shapes) { s.Big.Add(s.Big, big.NewInt(41)) }},
		{"raw JSON bytes", func(s *Shapes) { s.Raw[5] = '2' }},
	}
	eachStore(t, func(t *testing.T, open opener) {
		for _, tt := range edits {
			t.Run(tt.name, func(t *testing.T) {
				build := func(store checkpoint.Store) *weft.Workflow[Shapes] {
					g := weft.NewGraph[Shapes]("shapes")
					g.AddNode("edit", func(ctx context.Context, s Shapes) (Shapes, error) {
						tt.edit(&s)
						return s, nil
					})
					g.AddNode("after", func(ctx context.Context, s Shapes) (Shapes, error) { s.Counter++; return s, nil })
					g.AddEdge(weft.Start, "edit").AddEdge("edit", "after")
					return must[*weft.Workflow[Shapes]](t)(g.Compile(weft.WithStore(store)))
				}
				thread := "t-" + strings.ReplaceAll(tt.name, " ", "-")
				res := must[*weft.Result[Shapes]](t)(build(open(nil)).Run(ctx, thread, shapesStart()))
				want := shapesStart()
				tt.edit(&want)
				want.Counter = 1
				if !reflect.DeepEqual(normal(res.State), normal(want)) {
					t.Fatalf("result %+v, want %+v", res.State, want)
				}
				// Another process reads what the store kept.
				got := must[*weft.Snapshot[Shapes]](t)(build(open(nil)).State(ctx, thread))
				if !reflect.DeepEqual(normal(got.Values), normal(want)) {
					t.Fatalf("stored %+v, want %+v", got.Values, want)
				}
			})
		}
	})
}

// normal compares Shapes by their JSON (a big.Int has no canonical memory).
func normal(s Shapes) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestNoStoreBehavesLikeAStore: without a store, what a thread keeps is
// encoded as a store would keep it: fields tagged weft:"-" are not kept,
// and the history is not changed by later in-place edits.
func TestNoStoreBehavesLikeAStore(t *testing.T) {
	type S struct {
		Kept    []string
		Dropped string `weft:"-"`
	}
	g := weft.NewGraph[S]("nostore")
	g.AddNode("a", func(ctx context.Context, s S) (S, error) {
		s.Kept = append(s.Kept, "a")
		s.Dropped = "x"
		return s, nil
	})
	g.AddNode("b", func(ctx context.Context, s S) (S, error) { s.Kept[0] = "changed"; return s, nil })
	g.AddEdge(weft.Start, "a").AddEdge("a", "b")
	wf := must[*weft.Workflow[S]](t)(g.Compile())
	must[*weft.Result[S]](t)(wf.Run(ctx, "t", S{}))
	var states [][]string
	for s, err := range wf.History(ctx, "t") {
		if err != nil {
			t.Fatal(err)
		}
		if s.Values.Dropped != "" {
			t.Fatalf("a weft:\"-\" field was kept: %+v", s.Values)
		}
		states = append(states, s.Values.Kept)
	}
	if fmt.Sprint(states) != "[[changed] [a] []]" {
		t.Fatalf("history = %v", states)
	}
}

// TestParallelBranchesOwnTheirState: parallel nodes that change the same
// map in place do not race, and each sees the state as it was.
func TestParallelBranchesOwnTheirState(t *testing.T) {
	type S struct {
		M    map[string]int
		Seen []string
	}
	g := weft.NewGraph[S]("par")
	for _, n := range []string{"x", "y"} {
		g.AddNode(n, func(ctx context.Context, s S) (S, error) {
			s.Seen = append(s.Seen, fmt.Sprint(n, len(s.M)))
			for i := range 100 {
				s.M[fmt.Sprint(n, i)] = i
			}
			return s, nil
		})
		g.AddEdge(weft.Start, n)
	}
	g.Reduce("Seen", weft.Append())
	g.Reduce("M", weft.Merge(func(base, ours, theirs map[string]int) map[string]int {
		out := map[string]int{}
		for _, m := range []map[string]int{ours, theirs} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}))
	wf := must[*weft.Workflow[S]](t)(g.Compile())
	res := must[*weft.Result[S]](t)(wf.Run(ctx, "", S{M: map[string]int{}}))
	if len(res.State.M) != 200 || fmt.Sprint(res.State.Seen) != "[x0 y0]" {
		t.Fatalf("state = %d entries, seen %v", len(res.State.M), res.State.Seen)
	}
}

type Charge struct {
	Amount  int
	Charged int
	Effect  string
	Note    string
	Decided string
}

// chargeFlow: charge (Do) then ask, in one node.
func chargeFlow(t *testing.T, store checkpoint.Store, charges *atomic.Int32, ids *sync.Map) *weft.Workflow[Charge] {
	g := weft.NewGraph[Charge]("charge")
	g.AddNode("pay", func(ctx context.Context, s Charge) (Charge, error) {
		id, err := weft.Do(ctx, "charge", func(ctx context.Context) (string, error) {
			charges.Add(1)
			ids.Store(weft.EffectID(ctx), true)
			return weft.EffectID(ctx), nil
		})
		if err != nil {
			return s, err
		}
		s.Effect, s.Charged = id, s.Amount
		d, err := weft.Interrupt[string](ctx, map[string]int{"amount": s.Amount})
		if err != nil {
			return s, err
		}
		s.Decided = d
		return s, nil
	})
	g.AddEdge(weft.Start, "pay")
	return must[*weft.Workflow[Charge]](t)(g.Compile(weft.WithStore(store)))
}

// TestEditsDoNotRepeatEffects: an edit of a paused thread that keeps what
// runs next keeps its journal; one that changes nothing writes nothing.
func TestEditsDoNotRepeatEffects(t *testing.T) {
	eachStore(t, testEditsDoNotRepeatEffects)
}

func testEditsDoNotRepeatEffects(t *testing.T, open opener) {
	var charges atomic.Int32
	var ids sync.Map
	wf := chargeFlow(t, open(nil), &charges, &ids)
	res := must[*weft.Result[Charge]](t)(wf.Run(ctx, "t", Charge{Amount: 5}))
	before := must[*weft.Snapshot[Charge]](t)(wf.State(ctx, "t"))

	// An identity edit: nothing changes, the status stays.
	snap := must[*weft.Snapshot[Charge]](t)(wf.UpdateState(ctx, "t", func(s Charge) Charge { return s }))
	if snap.Status != weft.StatusInterrupted || snap.Checkpoint != before.Checkpoint || len(snap.Interrupts) != 1 || snap.Interrupts[0].ID != res.Interrupts[0].ID {
		t.Fatalf("identity edit changed the thread: %+v", snap)
	}
	// A real edit: the question is asked again, the charge is not made again.
	snap = must[*weft.Snapshot[Charge]](t)(wf.UpdateState(ctx, "t", func(s Charge) Charge { s.Note = "edited"; return s }))
	if snap.Status != weft.StatusStopped {
		t.Fatalf("after an edit: %s", snap.Status)
	}
	_, err := wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, "ok"))
	wantErr(t, err, weft.ErrAlreadyAnswered) // the old question was cancelled by the edit
	// Another process carries the thread on.
	wf = chargeFlow(t, open(nil), &charges, &ids)
	res = must[*weft.Result[Charge]](t)(wf.Resume(ctx, "t"))
	wantStatus(t, res, weft.StatusInterrupted, 1)
	res = must[*weft.Result[Charge]](t)(wf.Resume(ctx, "t", weft.Reply("ok")))
	wantStatus(t, res, weft.StatusCompleted, 0)
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if charges.Load() != 1 || n != 1 || res.State.Note != "edited" || res.State.Decided != "ok" {
		t.Fatalf("charged %d times under %d IDs; state %+v", charges.Load(), n, res.State)
	}
}

// TestAnswerMakesThreadReady: an answer recorded without running the
// thread (another process, the CLI) makes it ready in the same step; an
// edit then is refused instead of losing the answer; the next Resume acts
// on it.
func TestAnswerMakesThreadReady(t *testing.T) {
	eachStore(t, testAnswerMakesThreadReady)
}

func testAnswerMakesThreadReady(t *testing.T, open opener) {
	store := open(nil)
	var charges atomic.Int32
	wf := chargeFlow(t, store, &charges, &sync.Map{})
	res := must[*weft.Result[Charge]](t)(wf.Run(ctx, "t", Charge{Amount: 5}))
	// The answer comes through another handle on the store (the CLI).
	_, err := open(nil).Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{
		{ThreadID: "t", InterruptID: res.Interrupts[0].ID, Value: json.RawMessage(`"yes"`), Author: "cli"}}})
	if err != nil {
		t.Fatal(err)
	}
	snap := must[*weft.Snapshot[Charge]](t)(wf.State(ctx, "t"))
	if snap.Status != weft.StatusReady {
		t.Fatalf("status after an answer = %s", snap.Status)
	}
	_, err = wf.UpdateState(ctx, "t", func(s Charge) Charge { s.Note = "x"; return s })
	wantErr(t, err, weft.ErrBusy)
	res = must[*weft.Result[Charge]](t)(wf.Resume(ctx, "t"))
	if res.Status != weft.StatusCompleted || res.State.Decided != "yes" || charges.Load() != 1 {
		t.Fatalf("resume of a ready thread: %+v, charged %d", res, charges.Load())
	}
}

// TestUnknownNodesFromTheStore: a deploy that removes a node a thread goes
// to fails with ErrGraphChanged, whatever points at it, and never panics.
func TestUnknownNodesFromTheStore(t *testing.T) {
	type S struct{ V string }
	store := memstore.New()
	build := func(withB bool) *weft.Workflow[S] {
		g := weft.NewGraph[S]("deploy")
		dests := []weft.NodeOption{}
		if withB {
			dests = append(dests, weft.Destinations("b"))
		}
		g.AddNode("a", func(ctx context.Context, s S) (S, error) { return weft.Goto(ctx, s, "b") }, dests...)
		g.AddNode("c", func(ctx context.Context, s S) (S, error) {
			_, err := weft.Interrupt[string](ctx, "wait")
			return s, err
		})
		if withB {
			g.AddNode("b", func(ctx context.Context, s S) (S, error) { return s, nil })
		}
		g.AddEdge(weft.Start, "a").AddEdge(weft.Start, "c")
		return must[*weft.Workflow[S]](t)(g.Compile(weft.WithStore(store)))
	}
	old := build(true)
	res := must[*weft.Result[S]](t)(old.Run(ctx, "t", S{}))
	wantStatus(t, res, weft.StatusInterrupted, 1) // a finished with a pending Goto to b
	_, err := build(false).Resume(ctx, "t", weft.Reply("go"))
	wantErr(t, err, weft.ErrGraphChanged)
	if errors.As(err, new(*weft.AnsweredError)) {
		t.Fatalf("the refusal recorded the answer: %v", err)
	}
	snap := must[*weft.Snapshot[S]](t)(old.State(ctx, "t"))
	if snap.Status != weft.StatusInterrupted || len(snap.Interrupts) != 1 {
		t.Fatalf("the refusal changed the thread: %+v", snap)
	}
}

// TestFailureAfterAnswerIsNotARefusal: a node after the question that
// fails with an error wrapping ErrNotFound makes Resume report an
// AnsweredError: the answer stands and the thread failed.
func TestFailureAfterAnswerIsNotARefusal(t *testing.T) {
	type S struct{ Customer string }
	g := weft.NewGraph[S]("after")
	g.AddNode("ask", func(ctx context.Context, s S) (S, error) {
		c, err := weft.Interrupt[string](ctx, "customer?")
		s.Customer = c
		return s, err
	})
	g.AddNode("load", func(ctx context.Context, s S) (S, error) {
		return s, fmt.Errorf("customer %s: %w", s.Customer, weft.ErrNotFound)
	})
	g.AddEdge(weft.Start, "ask").AddEdge("ask", "load")
	wf := must[*weft.Workflow[S]](t)(g.Compile())
	res := must[*weft.Result[S]](t)(wf.Run(ctx, "t", S{}))
	_, err := wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, "c-9"))
	var ae *weft.AnsweredError
	if !errors.As(err, &ae) || len(ae.Answered) != 1 || ae.Answered[0] != res.Interrupts[0].ID || !errors.Is(err, weft.ErrNotFound) {
		t.Fatalf("error = %v (%T)", err, err)
	}
	snap := must[*weft.Snapshot[S]](t)(wf.State(ctx, "t"))
	if snap.Status != weft.StatusFailed || snap.Values.Customer != "c-9" {
		t.Fatalf("after: %+v", snap)
	}
}

// TestResolverMayJournal: a resolver that journals its model call with Do
// answers, and its effect runs once.
func TestResolverMayJournal(t *testing.T) {
	var calls atomic.Int32
	judge := weft.ResolverFunc("model", func(ctx context.Context, q weft.Question) (any, bool, error) {
		v, err := weft.Do(ctx, "judge", func(ctx context.Context) (string, error) { calls.Add(1); return "approve", nil })
		return v, err == nil, err
	})
	type S struct{ D string }
	g := weft.NewGraph[S]("judged")
	g.AddNode("ask", func(ctx context.Context, s S) (S, error) {
		d, err := weft.Interrupt[string](ctx, "ok?")
		s.D = d
		return s, err
	})
	g.AddEdge(weft.Start, "ask")
	wf := must[*weft.Workflow[S]](t)(g.Compile(weft.WithResolver(judge)))
	done := make(chan struct{})
	var res *weft.Result[S]
	var err error
	go func() { res, err = wf.Run(ctx, "t", S{}); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a resolver that uses Do deadlocked the run")
	}
	if err != nil || res.State.D != "approve" || calls.Load() != 1 {
		t.Fatalf("run: %v %+v, calls %d", err, res, calls.Load())
	}
}

// TestEmitAfterTheNodeReturned: a goroutine a node leaves behind cannot
// emit, ask or journal once the node returned, and does not block the run.
func TestEmitAfterTheNodeReturned(t *testing.T) {
	type S struct{ N int }
	late := make(chan error, 3)
	release := make(chan struct{})
	g := weft.NewGraph[S]("leak")
	for _, n := range []string{"a", "b"} {
		g.AddNode(n, func(ctx context.Context, s S) (S, error) {
			if n == "a" {
				go func() {
					<-release
					late <- weft.Emit(ctx, "late")
					_, err := weft.Interrupt[string](ctx, "late?")
					late <- err
					_, err = weft.Do(ctx, "late", func(context.Context) (int, error) { return 1, nil })
					late <- err
				}()
			}
			return s, nil
		})
		g.AddEdge(weft.Start, n)
	}
	g.AddNode("c", func(ctx context.Context, s S) (S, error) {
		close(release)
		for range 3 {
			if err := <-late; !errors.Is(err, weft.ErrOutsideNode) {
				return s, fmt.Errorf("late call: %v", err)
			}
		}
		return s, nil
	})
	g.AddEdge("a", "c").AddEdge("b", "c")
	wf := must[*weft.Workflow[S]](t)(g.Compile())
	var events atomic.Int32
	for _, err := range wf.Stream(ctx, "t", S{}) {
		if err != nil {
			t.Fatal(err)
		}
		events.Add(1)
	}
	if events.Load() == 0 {
		t.Fatal("no events")
	}
}

// TestFinishedBranchesAreSavedWhileOthersRun: the outputs of Map branches
// that finished are in the store while the last one still runs, so a
// crash would not run them again.
func TestFinishedBranchesAreSavedWhileOthersRun(t *testing.T) {
	eachStore(t, testFinishedBranchesAreSavedWhileOthersRun)
}

func testFinishedBranchesAreSavedWhileOthersRun(t *testing.T, open opener) {
	type S struct {
		Items []int
		Done  []int
	}
	store := open(nil)
	var runs atomic.Int32
	unblock := make(chan struct{})
	g := weft.NewGraph[S]("fan")
	g.AddMap("work", weft.Map(func(s S) []int { return s.Items }, func(ctx context.Context, s S, item int) (S, error) {
		runs.Add(1)
		if item == 9 {
			<-unblock
		}
		s.Done = append(s.Done, item)
		return s, nil
	}))
	g.Reduce("Done", weft.Append())
	g.AddEdge(weft.Start, "work")
	wf := must[*weft.Workflow[S]](t)(g.Compile(weft.WithStore(store)))
	done := make(chan error, 1)
	go func() {
		_, err := wf.Run(ctx, "t", S{Items: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}})
		done <- err
	}()
	// Wait (with no deadline of its own) until nine outputs are saved.
	for {
		row, err := store.Thread(ctx, "t")
		if err == nil {
			ws, err := store.PendingWrites(ctx, "t", "", row.Head)
			if err != nil {
				t.Fatal(err)
			}
			outputs := 0
			for _, w := range ws {
				if w.Kind == "output" {
					outputs++
				}
			}
			if outputs == 9 {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(unblock)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 10 {
		t.Fatalf("branches ran %d times", runs.Load())
	}
}

// TestQuestionIDsDifferPerIncarnation: a thread deleted and run again with
// the same ID asks under new IDs, so a stale answer cannot reach it.
func TestQuestionIDsDifferPerIncarnation(t *testing.T) {
	eachStore(t, testQuestionIDsDifferPerIncarnation)
}

func testQuestionIDsDifferPerIncarnation(t *testing.T, open opener) {
	wf := approval(t, []weft.CompileOption{weft.WithStore(open(nil))}, nil)
	first := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
	if err := wf.Delete(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Microsecond) // the incarnation is the creation time, to the microsecond
	second := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
	if first.Interrupts[0].ID == second.Interrupts[0].ID {
		t.Fatalf("the same question ID %s in both incarnations", first.Interrupts[0].ID)
	}
	_, err := wf.Resume(ctx, "t", weft.Answer(first.Interrupts[0].ID, Decision{Action: "approve"}))
	wantErr(t, err, weft.ErrUnknownInterrupt)
	if len(second.Interrupts[0].ID) != 32 {
		t.Fatalf("ID %q is not 32 hex digits", second.Interrupts[0].ID)
	}
}

// TestWrongWorkflowIsRefused: a thread of one workflow cannot be run,
// resumed or edited by another.
func TestWrongWorkflowIsRefused(t *testing.T) {
	eachStore(t, testWrongWorkflowIsRefused)
}

func testWrongWorkflowIsRefused(t *testing.T, open opener) {
	store := open(nil)
	a := approval(t, []weft.CompileOption{weft.WithStore(store)}, nil)
	must[*weft.Result[Doc]](t)(a.Run(ctx, "post-1", Doc{}))
	g := weft.NewGraph[Doc]("other")
	g.AddNode("x", func(ctx context.Context, s Doc) (Doc, error) { return s, nil })
	g.AddEdge(weft.Start, "x")
	b := must[*weft.Workflow[Doc]](t)(g.Compile(weft.WithStore(store)))
	_, err := b.Run(ctx, "post-1", Doc{})
	wantErr(t, err, weft.ErrWrongWorkflow)
	_, err = b.Resume(ctx, "post-1")
	wantErr(t, err, weft.ErrWrongWorkflow)
	_, err = b.UpdateState(ctx, "post-1", func(s Doc) Doc { return s })
	wantErr(t, err, weft.ErrWrongWorkflow)
	for _, id := range []string{".", "..", "a\nb"} {
		_, err := a.Run(ctx, id, Doc{})
		wantErr(t, err, weft.ErrInvalidInput)
	}
}

// TestTakeoverAndFencing: a run whose claim lapsed (its process froze) is
// taken over by another; when it wakes it writes nothing and says why.
func TestTakeoverAndFencing(t *testing.T) {
	eachStore(t, testTakeoverAndFencing)
}

func testTakeoverAndFencing(t *testing.T, open opener) {
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	stores := map[string]checkpoint.Store{"A": open(clock), "B": open(clock)} // two processes
	type S struct{ Log []string }
	frozen, wake := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	var effects atomic.Int32
	build := func(owner string) *weft.Workflow[S] {
		g := weft.NewGraph[S]("fence")
		g.AddNode("slow", func(ctx context.Context, s S) (S, error) {
			if first.CompareAndSwap(false, true) {
				close(frozen)
				<-wake // the "frozen" process
			}
			_, err := weft.Do(ctx, "send", func(ctx context.Context) (int, error) { effects.Add(1); return 1, nil })
			if err != nil {
				return s, err
			}
			s.Log = append(s.Log, owner)
			return s, nil
		})
		g.AddEdge(weft.Start, "slow")
		wf := must[*weft.Workflow[S]](t)(g.Compile(weft.WithStore(stores[owner]), weft.WithClock(clock), weft.WithLease(30*time.Second)))
		weft.SetOwner(wf, owner)
		return wf
	}
	zombie, rescuer := build("A"), build("B")
	errc := make(chan error, 1)
	go func() { _, err := zombie.Run(ctx, "t", S{}); errc <- err }()
	<-frozen
	_, err := rescuer.Resume(ctx, "t")
	wantErr(t, err, weft.ErrBusy) // A's lease is live
	now.Add(int64(31 * time.Second))
	res := must[*weft.Result[S]](t)(rescuer.Resume(ctx, "t"))
	if res.Status != weft.StatusCompleted || fmt.Sprint(res.State.Log) != "[B]" {
		t.Fatalf("takeover: %+v", res)
	}
	close(wake)
	err = <-errc
	wantErr(t, err, weft.ErrClaimLost)
	snap := must[*weft.Snapshot[S]](t)(rescuer.State(ctx, "t"))
	if snap.Status != weft.StatusCompleted || fmt.Sprint(snap.Values.Log) != "[B]" || effects.Load() != 1 {
		t.Fatalf("after the zombie woke: %+v, effects %d", snap, effects.Load())
	}
}

func TestStopOfAPausedThreadCancelsIt(t *testing.T) {
	eachStore(t, testStopOfAPausedThreadCancelsIt)
}

func testStopOfAPausedThreadCancelsIt(t *testing.T, open opener) {
	store := open(nil)
	wf := approval(t, []weft.CompileOption{weft.WithStore(store)}, nil)
	res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
	if err := wf.Cancel(ctx, "t", "customer withdrew", weft.By("ops", checkpoint.ChannelCLI)); err != nil {
		t.Fatal(err)
	}
	snap := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "t"))
	if snap.Status != weft.StatusCancelled || len(snap.Interrupts) != 0 {
		t.Fatalf("after cancel: %+v", snap)
	}
	page, err := store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	r := page.Interrupts[0]
	if r.ID != res.Interrupts[0].ID || r.Status != checkpoint.InterruptCancelled || r.Author != "ops" || r.Channel != "cli" || r.Note != "customer withdrew" {
		t.Fatalf("audit of the cancel: %+v", r)
	}
	_, err = wf.Resume(ctx, "t", weft.Answer(r.ID, Decision{Action: "approve"}))
	wantErr(t, err, weft.ErrThreadCancelled)
	wantErr(t, err, weft.ErrAlreadyAnswered)
	if h := must[*weft.Snapshot[Doc]](t)(wf.StateAt(ctx, "t", res.Checkpoint)); h.Values.Draft != "v1" {
		t.Fatalf("history lost: %+v", h)
	}
	// Stop of a paused thread cancels it too.
	must[*weft.Result[Doc]](t)(wf.Run(ctx, "u", Doc{}))
	if err := wf.Stop(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if s := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "u")); s.Status != weft.StatusCancelled {
		t.Fatalf("stop of a paused thread: %s", s.Status)
	}
	_ = strings.ToLower
}

// TestSubmittedThenCancelledStartsANewTurn: a submitted run cancelled
// before any worker took it can be started again, by Run or Submit.
func TestSubmittedThenCancelledStartsANewTurn(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		wf := approval(t, []weft.CompileOption{weft.WithStore(open(nil))}, nil)
		res := must[*weft.Result[Doc]](t)(wf.Submit(ctx, "t", Doc{}))
		wantStatus(t, res, weft.StatusReady, 0)
		if err := wf.Cancel(ctx, "t", "changed my mind"); err != nil {
			t.Fatal(err)
		}
		res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		must[*weft.Result[Doc]](t)(wf.Submit(ctx, "u", Doc{}))
		if err := wf.Cancel(ctx, "u", ""); err != nil {
			t.Fatal(err)
		}
		res = must[*weft.Result[Doc]](t)(wf.Submit(ctx, "u", Doc{}))
		wantStatus(t, res, weft.StatusReady, 0)
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "u"))
		wantStatus(t, res, weft.StatusInterrupted, 1)
	})
}

// TestWorkerRunsNodesLongerThanABeat: a worker's run whose node outlasts
// its lease, before its first commit, keeps its claim and completes: the
// heartbeat renews it while the node runs (without, the worker's own next
// poll would claim the lapsed thread again, a second epoch).
func TestWorkerRunsNodesLongerThanABeat(t *testing.T) {
	type S struct{ Done bool }
	store := memstore.New()
	g := weft.NewGraph[S]("long")
	g.AddNode("slow", func(ctx context.Context, s S) (S, error) {
		time.Sleep(200 * time.Millisecond) // four leases, forty beats
		s.Done = true
		return s, nil
	})
	g.AddEdge(weft.Start, "slow")
	wf := must[*weft.Workflow[S]](t)(g.Compile(weft.WithStore(store), weft.WithHeartbeat(5*time.Millisecond), weft.WithLease(50*time.Millisecond)))
	must[*weft.Result[S]](t)(wf.Submit(ctx, "t", S{}))
	w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(time.Minute); ; {
		if time.Now().After(deadline) {
			t.Fatal("the thread did not complete within a minute")
		}
		snap := must[*weft.Snapshot[S]](t)(wf.State(ctx, "t"))
		if snap.Status == weft.StatusCompleted {
			row := must[*checkpoint.Thread](t)(store.Thread(ctx, "t"))
			if !snap.Values.Done || row.Epoch != 1 {
				t.Fatalf("completed with %+v after %d claims, want the node's output after one", snap.Values, row.Epoch)
			}
			return
		}
		if snap.Status == weft.StatusFailed {
			t.Fatalf("failed: %+v", snap)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
