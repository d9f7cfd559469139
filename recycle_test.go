package weft_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// A root run's allocation is recycled for the next run once it returned.
// These tests check that nothing a run hands out, and nothing a node
// leaves running, sees another run's data through it (run with -race).

type note struct {
	Thread string
	Draft  string
	Answer string
	Done   int
}

// reviewed is write → review (asks, with the thread's own payload) →
// publish.
func reviewed(t *testing.T, opts ...weft.CompileOption) *weft.Workflow[note] {
	t.Helper()
	g := weft.NewGraph[note]("reviewed")
	g.AddNode("write", func(_ context.Context, n note) (note, error) {
		n.Draft = "draft of " + n.Thread
		return n, nil
	})
	g.AddNode("review", func(ctx context.Context, n note) (note, error) {
		a, err := weft.Interrupt[string](ctx, map[string]string{"draft": n.Draft})
		if err != nil {
			return n, err
		}
		n.Answer = a
		return n, nil
	})
	g.AddNode("publish", func(_ context.Context, n note) (note, error) {
		n.Done++
		return n, nil
	})
	g.AddEdge(weft.Start, "write")
	g.AddEdge("write", "review")
	g.AddEdge("review", "publish")
	wf, err := g.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// TestRecycledRunsKeepTheirThreads runs many threads at once through a
// pause and an answer each, on one workflow: every question carries its
// own thread's payload and every result its own thread's answer.
func TestRecycledRunsKeepTheirThreads(t *testing.T) {
	wf := reviewed(t, weft.WithStore(memstore.New()))
	ctx := context.Background()
	const workers, rounds = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				id := fmt.Sprintf("w%d-%d", w, i)
				res, err := wf.Run(ctx, id, note{Thread: id})
				if err != nil || !res.Paused() || len(res.Interrupts) != 1 {
					errs <- fmt.Errorf("%s: run: %v %+v", id, err, res)
					return
				}
				if got, want := string(res.Interrupts[0].Value), `{"draft":"draft of `+id+`"}`; got != want {
					errs <- fmt.Errorf("%s: question %s, want %s", id, got, want)
					return
				}
				res, err = wf.Resume(ctx, id, weft.Answer(res.Interrupts[0].ID, "ok "+id))
				if err != nil || res.State.Answer != "ok "+id || res.State.Thread != id || res.State.Done != 1 {
					errs <- fmt.Errorf("%s: resume: %v %+v", id, err, res)
					return
				}
				// An ephemeral run between them recycles the other kind.
				if _, err := wf.Run(ctx, "", note{Thread: id}, weft.Answers(map[string]any{"review": "x"})); err != nil {
					errs <- fmt.Errorf("%s: ephemeral: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAnsweredErrorOutlivesTheRun checks that the IDs an AnsweredError
// names stay the ones recorded when later runs reuse the run's room.
func TestAnsweredErrorOutlivesTheRun(t *testing.T) {
	boom := errors.New("boom")
	g := weft.NewGraph[note]("fails")
	g.AddNode("review", func(ctx context.Context, n note) (note, error) {
		if _, err := weft.Interrupt[string](ctx, n.Thread); err != nil {
			return n, err
		}
		if n.Thread == "fails" {
			return n, boom
		}
		return n, nil
	})
	g.AddEdge(weft.Start, "review")
	wf, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := wf.Run(ctx, "fails", note{Thread: "fails"})
	if err != nil || !res.Paused() {
		t.Fatal(err, res)
	}
	id := res.Interrupts[0].ID
	_, err = wf.Resume(ctx, "fails", weft.Answer(id, "yes"))
	var ae *weft.AnsweredError
	if !errors.As(err, &ae) || !errors.Is(err, boom) {
		t.Fatalf("Resume: %v, want an AnsweredError wrapping boom", err)
	}
	for i := range 20 {
		th := "other" + strconv.Itoa(i)
		res, err := wf.Run(ctx, th, note{Thread: th})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := wf.Resume(ctx, th, weft.Answer(res.Interrupts[0].ID, "no")); err != nil {
			t.Fatal(err)
		}
	}
	if len(ae.Answered) != 1 || ae.Answered[0] != id {
		t.Fatalf("AnsweredError.Answered = %q, want [%s]", ae.Answered, id)
	}
}

// TestLeftGoroutinesAfterTheRun has a node leave a goroutine running that
// keeps calling weft on the node's context while other threads run: every
// call after the node returned is refused (ErrOutsideNode), and none reads
// or changes what the later runs have (the race detector watches).
func TestLeftGoroutinesAfterTheRun(t *testing.T) {
	stop := make(chan struct{})
	var left sync.WaitGroup
	refused := make(chan error, 1024)
	g := weft.NewGraph[note]("leaves")
	g.AddNode("work", func(ctx context.Context, n note) (note, error) {
		v, err := weft.Do(ctx, "effect", func(context.Context) (string, error) { return "done by " + n.Thread, nil })
		if err != nil {
			return n, err
		}
		n.Answer = v
		if n.Thread == "leaver" {
			left.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, err := weft.Do(ctx, "effect", func(context.Context) (string, error) { return "late", nil })
					if err == nil {
						refused <- errors.New("a Do after the node returned was not refused")
						return
					}
					if !errors.Is(err, weft.ErrOutsideNode) {
						refused <- err
						return
					}
					if err := weft.Emit(ctx, "late"); !errors.Is(err, weft.ErrOutsideNode) {
						refused <- fmt.Errorf("Emit after return: %v", err)
						return
					}
					if _, err := weft.Interrupt[string](ctx, "late"); !errors.Is(err, weft.ErrOutsideNode) {
						refused <- fmt.Errorf("Interrupt after return: %v", err)
						return
					}
				}
			})
		}
		n.Done++
		return n, nil
	})
	g.AddEdge(weft.Start, "work")
	wf, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := wf.Run(ctx, "leaver", note{Thread: "leaver"}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		th := "t" + strconv.Itoa(i)
		res, err := wf.Run(ctx, th, note{Thread: th})
		if err != nil || res.State.Answer != "done by "+th || res.State.Done != 1 {
			t.Fatalf("%s: %v %+v", th, err, res)
		}
	}
	close(stop)
	left.Wait()
	close(refused)
	for err := range refused {
		t.Error(err)
	}
}

type ctxKey struct{}

// TestNodeContextsOutliveTheirRuns keeps the context of every node of
// many runs, ephemeral and stored, paused and finished: the tasks behind
// them come from arrays that later runs carry on carving, and none of
// them may be handed out again. Each kept context must still carry its
// own run's value, and report its run as over (run with -race).
func TestNodeContextsOutliveTheirRuns(t *testing.T) {
	type kept struct {
		ctx  context.Context
		want string
	}
	var mu sync.Mutex
	var all []kept
	keep := func(ctx context.Context) {
		mu.Lock()
		defer mu.Unlock()
		all = append(all, kept{ctx, ctx.Value(ctxKey{}).(string)})
	}
	g := weft.NewGraph[int]("kept")
	for _, n := range []string{"a", "b", "c"} {
		g.AddNode(n, func(ctx context.Context, s int) (int, error) {
			keep(ctx)
			return s + 1, nil
		})
	}
	g.AddEdge(weft.Start, "a")
	g.AddEdge("a", "b")
	g.AddEdge("b", "c")
	stored, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	paused := reviewed(t, weft.WithStore(memstore.New()))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				id := fmt.Sprintf("w%d-%d", w, i)
				ctx := context.WithValue(context.Background(), ctxKey{}, id)
				if res, err := stored.Run(ctx, id, 0); err != nil || res.State != 3 {
					t.Error(id, res, err)
					return
				}
				if res, err := plain.Run(ctx, "", 0); err != nil || res.State != 3 {
					t.Error(id, res, err)
					return
				}
				if res, err := paused.Run(ctx, id, note{Thread: id}); err != nil || !res.Paused() {
					t.Error(id, res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(all) != 4*60*6 {
		t.Fatalf("%d node contexts kept, want %d", len(all), 4*60*6)
	}
	seen := map[context.Context]bool{}
	for _, k := range all {
		if got := k.ctx.Value(ctxKey{}); got != k.want {
			t.Fatalf("a node context of run %s now carries %v", k.want, got)
		}
		if seen[k.ctx] {
			t.Fatalf("a node context of run %s was handed out twice", k.want)
		}
		seen[k.ctx] = true
	}
}
