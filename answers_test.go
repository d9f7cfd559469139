package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

type Tools struct {
	Calls    map[string]int // tool -> amount, ranged over in random order
	Approved []string
}

// askEach asks one question per tool, in whatever order ask gives.
func askEach(ctx context.Context, s Tools, order []string, keyed bool) (Tools, error) {
	var firstErr error
	for _, name := range order {
		var opts []weft.InterruptOption
		if keyed {
			opts = append(opts, weft.Key(name))
		}
		ok, err := weft.Interrupt[bool](ctx, map[string]any{"tool": name, "amount": s.Calls[name]}, opts...)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue // ask the others too: one pause for all
		}
		if ok {
			s.Approved = append(s.Approved, name)
		}
	}
	sort.Strings(s.Approved)
	return s, firstErr
}

// TestAnswersFollowTheirQuestion: a node that asks in another order when
// it runs again (ranging over a map, from goroutines) gets each answer in
// the call that asked its question, keyed or not.
func TestAnswersFollowTheirQuestion(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		for _, mode := range []string{"reversed", "goroutines"} {
			t.Run(fmt.Sprintf("keyed=%v/%s", keyed, mode), func(t *testing.T) {
				var runs atomic.Int32
				g := weft.NewGraph[Tools]("tools")
				g.AddNode("approve", func(ctx context.Context, s Tools) (Tools, error) {
					names := slices.Sorted(func(yield func(string) bool) {
						for k := range s.Calls {
							if !yield(k) {
								return
							}
						}
					})
					if runs.Add(1) > 1 {
						slices.Reverse(names)
					}
					if mode == "reversed" {
						return askEach(ctx, s, names, keyed)
					}
					var mu sync.Mutex
					var wg sync.WaitGroup
					var firstErr error
					for _, name := range names {
						wg.Add(1)
						go func() {
							defer wg.Done()
							var opts []weft.InterruptOption
							if keyed {
								opts = append(opts, weft.Key(name))
							}
							ok, err := weft.Interrupt[bool](ctx, map[string]any{"tool": name, "amount": s.Calls[name]}, opts...)
							mu.Lock()
							defer mu.Unlock()
							if err != nil && firstErr == nil {
								firstErr = err
							}
							if ok {
								s.Approved = append(s.Approved, name)
							}
						}()
					}
					wg.Wait()
					sort.Strings(s.Approved)
					return s, firstErr
				})
				g.AddEdge(weft.Start, "approve")
				wf := must[*weft.Workflow[Tools]](t)(g.Compile())
				res := must[*weft.Result[Tools]](t)(wf.Run(ctx, "t", Tools{Calls: map[string]int{"refund": 10, "email": 0, "delete": 99}}))
				wantStatus(t, res, weft.StatusInterrupted, 3)
				var opts []weft.RunOption
				for _, q := range res.Interrupts {
					var p struct{ Tool string }
					if err := q.DecodeValue(&p); err != nil {
						t.Fatal(err)
					}
					opts = append(opts, weft.Answer(q.ID, p.Tool != "delete"))
				}
				res = must[*weft.Result[Tools]](t)(wf.Resume(ctx, "t", opts...))
				if fmt.Sprint(res.State.Approved) != "[email refund]" {
					t.Fatalf("approved %v, want [email refund]", res.State.Approved)
				}
			})
		}
	}
}

// TestMismatchFailsClosed: an approval never reaches a question other than
// the one the person saw.
func TestMismatchFailsClosed(t *testing.T) {
	tests := []struct {
		name  string
		again func(ctx context.Context) error
		want  string
	}{
		{"keyed payload changed", func(ctx context.Context) error {
			_, err := weft.Interrupt[bool](ctx, "refund 999", weft.Key("refund"))
			return err
		}, `key "refund"`},
		{"unkeyed payload changed", func(ctx context.Context) error {
			_, err := weft.Interrupt[bool](ctx, "refund 999")
			return err
		}, "refund 999"},
		{"not asked again", func(ctx context.Context) error { return nil }, "did not ask"},
		{"key asked twice", func(ctx context.Context) error {
			weft.Interrupt[bool](ctx, "refund 10", weft.Key("refund"))
			_, err := weft.Interrupt[bool](ctx, "refund 10", weft.Key("refund"))
			return err
		}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			g := weft.NewGraph[Doc]("mismatch")
			g.AddNode("ask", func(ctx context.Context, s Doc) (Doc, error) {
				if runs.Add(1) == 1 {
					opts := []weft.InterruptOption{}
					if strings.HasPrefix(tt.name, "keyed") || strings.HasPrefix(tt.name, "key ") {
						opts = append(opts, weft.Key("refund"))
					}
					_, err := weft.Interrupt[bool](ctx, "refund 10", opts...)
					return s, err
				}
				return s, tt.again(ctx)
			})
			g.AddEdge(weft.Start, "ask")
			wf := must[*weft.Workflow[Doc]](t)(g.Compile())
			res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
			_, err := wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, true))
			wantErr(t, err, weft.ErrInterruptMismatch)
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %q", err, tt.want)
			}
		})
	}
}

// nestedGraph: an outer question with key y, and subgraph inner asking
// its own question with key y.
func nestedGraph(t *testing.T, opts ...weft.CompileOption) *weft.Workflow[Doc] {
	ig := weft.NewGraph[Doc]("inner")
	ig.AddNode("approval", func(ctx context.Context, s Doc) (Doc, error) {
		v, err := weft.Interrupt[string](ctx, "inner?", weft.Key("y"))
		s.Answers = append(s.Answers, "inner:"+v)
		return s, err
	})
	ig.AddEdge(weft.Start, "approval")
	inner := must[*weft.Workflow[Doc]](t)(ig.Compile())
	g := weft.NewGraph[Doc]("outer")
	g.AddNode("ask", func(ctx context.Context, s Doc) (Doc, error) {
		v, err := weft.Interrupt[string](ctx, "outer?", weft.Key("y"))
		s.Answers = append(s.Answers, "outer:"+v)
		return s, err
	})
	g.AddSubgraph("inner", weft.Subgraph(inner, func(s Doc) Doc { return Doc{} }, func(s, c Doc) Doc {
		s.Answers = append(s.Answers, c.Answers...)
		return s
	}))
	g.AddEdge(weft.Start, "ask").AddEdge(weft.Start, "inner")
	g.Reduce("Answers", weft.Append())
	return must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
}

// TestResumeByKeyAndPath: stored threads are answered by key, qualified
// key or node path; names that match none, or several, are refused.
func TestResumeByKeyAndPath(t *testing.T) { eachStore(t, testResumeByKeyAndPath) }

func testResumeByKeyAndPath(t *testing.T, open opener) {
	wf := nestedGraph(t, weft.WithStore(open(nil)))
	res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
	wantStatus(t, res, weft.StatusInterrupted, 2)
	keys := []string{res.Interrupts[0].Key, res.Interrupts[1].Key}
	slices.Sort(keys)
	if fmt.Sprint(keys) != "[inner.y y]" {
		t.Fatalf("keys %v", keys)
	}
	_, err := wf.Resume(ctx, "t", weft.Answers(map[string]any{"nope": "x"}))
	wantErr(t, err, weft.ErrUnknownInterrupt)
	_, err = wf.Resume(ctx, "t", weft.Reply("x"))
	wantErr(t, err, weft.ErrAmbiguousAnswer)
	_, err = wf.Resume(ctx, "t", weft.Answers(map[string]any{"y": 7})) // invalid: a number
	wantErr(t, err, weft.ErrInvalidAnswer)
	res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answers(map[string]any{"y": "o"})))
	wantStatus(t, res, weft.StatusInterrupted, 1) // the flat key answered only the outer question
	if res.Interrupts[0].Node != "inner/approval" {
		t.Fatalf("left waiting: %+v", res.Interrupts[0])
	}
	res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answers(map[string]any{"inner/approval": "i"})))
	wantStatus(t, res, weft.StatusCompleted, 0)
	got := slices.Sorted(slices.Values(res.State.Answers))
	if fmt.Sprint(got) != "[inner:i outer:o]" {
		t.Fatalf("answers %v", got)
	}

	// The qualified key, and a Reply when one question is left.
	res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "u", Doc{}))
	res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "u", weft.Answers(map[string]any{"inner.y": "i"})))
	wantStatus(t, res, weft.StatusInterrupted, 1)
	res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "u", weft.Reply("o")))
	wantStatus(t, res, weft.StatusCompleted, 0)
}

type ChatState struct {
	Messages []string
	Turns    int
}

func chatLoop(t *testing.T, opts ...weft.CompileOption) *weft.Workflow[ChatState] {
	g := weft.NewGraph[ChatState]("chat")
	g.AddNode("wait_for_user", func(ctx context.Context, c ChatState) (ChatState, error) {
		in, err := weft.Interrupt[string](ctx, nil, weft.Key("user_input"))
		if err != nil {
			return c, err
		}
		c.Messages = append(c.Messages, "user: "+in)
		return c, nil
	})
	g.AddNode("reply", func(ctx context.Context, c ChatState) (ChatState, error) {
		c.Turns++
		c.Messages = append(c.Messages, fmt.Sprint("bot: ", c.Turns))
		return c, nil
	})
	g.AddEdge(weft.Start, "wait_for_user").AddEdge("wait_for_user", "reply").AddEdge("reply", "wait_for_user")
	return must[*weft.Workflow[ChatState]](t)(g.Compile(opts...))
}

// TestUpFrontAnswersAreUsedOnce: in stateless replay a looping chat given
// one user input answers the first turn and pauses at the second.
func TestUpFrontAnswersAreUsedOnce(t *testing.T) {
	wf := chatLoop(t)
	res := must[*weft.Result[ChatState]](t)(wf.Run(ctx, "", ChatState{}, weft.Answers(map[string]any{"user_input": "Hello"})))
	wantStatus(t, res, weft.StatusInterrupted, 1)
	if fmt.Sprint(res.State.Messages) != "[user: Hello bot: 1]" || res.Interrupts[0].Key != "user_input" {
		t.Fatalf("replay: %+v", res)
	}
}

type Pair struct {
	A, B   string
	ARuns  int
	Logged []string
}

// TestPartialAnswersMakeProgress: answering one branch's question runs that
// branch at once (it may ask its next question); the other keeps waiting
// and does not run; finished nodes stay finished.
func TestPartialAnswersMakeProgress(t *testing.T) { eachStore(t, testPartialAnswersMakeProgress) }

func testPartialAnswersMakeProgress(t *testing.T, open opener) {
	var aRuns, bRuns, cRuns atomic.Int32
	g := weft.NewGraph[Pair]("pair")
	g.AddNode("a", func(ctx context.Context, s Pair) (Pair, error) {
		aRuns.Add(1)
		first, err := weft.Interrupt[string](ctx, "a1")
		if err != nil {
			return s, err
		}
		second, err := weft.Interrupt[string](ctx, "a2")
		if err != nil {
			return s, err
		}
		s.A = first + second
		return s, nil
	})
	g.AddNode("b", func(ctx context.Context, s Pair) (Pair, error) {
		bRuns.Add(1)
		v, err := weft.Interrupt[string](ctx, "b1")
		s.B = v
		return s, err
	})
	g.AddNode("c", func(ctx context.Context, s Pair) (Pair, error) { cRuns.Add(1); return s, nil })
	g.AddEdge(weft.Start, "a").AddEdge(weft.Start, "b").AddEdge(weft.Start, "c")
	wf := must[*weft.Workflow[Pair]](t)(g.Compile(weft.WithStore(open(nil))))
	res := must[*weft.Result[Pair]](t)(wf.Run(ctx, "t", Pair{}))
	wantStatus(t, res, weft.StatusInterrupted, 2)
	ids := map[string]string{}
	for _, q := range res.Interrupts {
		ids[string(q.Value)] = q.ID
	}
	res = must[*weft.Result[Pair]](t)(wf.Resume(ctx, "t", weft.Answer(ids[`"a1"`], "x")))
	wantStatus(t, res, weft.StatusInterrupted, 2) // a asks a2 now; b still waits on b1
	if aRuns.Load() != 2 || bRuns.Load() != 1 || cRuns.Load() != 1 {
		t.Fatalf("runs a=%d b=%d c=%d", aRuns.Load(), bRuns.Load(), cRuns.Load())
	}
	snap := must[*weft.Snapshot[Pair]](t)(wf.State(ctx, "t"))
	status := map[string]weft.TaskStatus{}
	for _, tk := range snap.Tasks {
		status[tk.Name] = tk.Status
	}
	if status["a"] != weft.TaskWaiting || status["b"] != weft.TaskWaiting || status["c"] != weft.TaskDone ||
		fmt.Sprint(snap.Next) != "[a b]" {
		t.Fatalf("task view %v, next %v", status, snap.Next)
	}
	for _, q := range res.Interrupts {
		ids[string(q.Value)] = q.ID
	}
	res = must[*weft.Result[Pair]](t)(wf.Resume(ctx, "t", weft.Answer(ids[`"b1"`], "z"), weft.Answer(ids[`"a2"`], "y")))
	wantStatus(t, res, weft.StatusCompleted, 0)
	if res.State.A != "xy" || res.State.B != "z" || cRuns.Load() != 1 {
		t.Fatalf("end %+v, c ran %d times", res.State, cRuns.Load())
	}
}

// TestAnswerUpdateAndGoto: answers, a state update and a goto in one
// Resume (LangGraph's Command(resume=, update=, goto=)).
func TestAnswerUpdateAndGoto(t *testing.T) { eachStore(t, testAnswerUpdateAndGoto) }

func testAnswerUpdateAndGoto(t *testing.T, open opener) {
	type S struct {
		Draft, Status string
		Published     bool
	}
	g := weft.NewGraph[S]("cmd")
	g.AddNode("review", func(ctx context.Context, s S) (S, error) {
		d, err := weft.Interrupt[string](ctx, s.Draft)
		s.Status = d
		return s, err
	}, weft.Destinations("publish"))
	g.AddNode("publish", func(ctx context.Context, s S) (S, error) { s.Published = true; return s, nil })
	g.AddEdge(weft.Start, "review")
	wf := must[*weft.Workflow[S]](t)(g.Compile(weft.WithStore(open(nil))))
	res := must[*weft.Result[S]](t)(wf.Run(ctx, "t", S{Draft: "helo"}))
	_, err := wf.Resume(ctx, "t", weft.Reply("ok"), weft.Update(func(s Doc) Doc { return s }))
	wantErr(t, err, weft.ErrInvalidInput)
	res = must[*weft.Result[S]](t)(wf.Resume(ctx, "t", weft.Reply("approved"), weft.By("ann", "api"),
		weft.Update(func(s S) S { s.Draft = "hello"; return s }), weft.GoTo("publish")))
	if res.Status != weft.StatusCompleted || res.State.Draft != "hello" || res.State.Status != "approved" || !res.State.Published {
		t.Fatalf("after the command: %+v", res)
	}
}

// TestRetryPolicy: a failing node runs again as its policy says; its Do
// effects do not run again; each attempt is in the step log; errors the
// policy does not retry fail at once.
func TestRetryPolicy(t *testing.T) {
	errFlaky := errors.New("flaky")
	errFatal := errors.New("fatal")
	var attempts, effects atomic.Int32
	type S struct{ N int }
	g := weft.NewGraph[S]("retry")
	g.AddNode("call", func(ctx context.Context, s S) (S, error) {
		if _, err := weft.Do(ctx, "e", func(context.Context) (int, error) { effects.Add(1); return 1, nil }); err != nil {
			return s, err
		}
		switch attempts.Add(1) {
		case 1, 2:
			return s, errFlaky
		}
		s.N = int(attempts.Load())
		return s, nil
	}, weft.Retry(weft.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Jitter: 0.5,
		Retryable: func(err error) bool { return !errors.Is(err, errFatal) }}))
	g.AddNode("fatal", func(ctx context.Context, s S) (S, error) { attempts.Add(1); return s, errFatal },
		weft.Retry(weft.RetryPolicy{Retryable: func(err error) bool { return !errors.Is(err, errFatal) }}))
	g.AddEdge(weft.Start, "call").AddEdge("call", "fatal")
	wf := must[*weft.Workflow[S]](t)(g.Compile())
	_, err := wf.Run(ctx, "t", S{})
	wantErr(t, err, errFatal)
	if attempts.Load() != 4 || effects.Load() != 1 {
		t.Fatalf("attempts %d, effects %d", attempts.Load(), effects.Load())
	}
	steps := must[[]weft.Step](t)(wf.Steps(ctx, "t"))
	var log []string
	for _, st := range steps {
		log = append(log, st.Task+":"+string(st.Status))
	}
	if fmt.Sprint(log) != "[call:retried call:retried call:completed fatal:failed]" {
		t.Fatalf("steps %v", log)
	}
	if _, err := weft.NewGraph[S]("bad").AddNode("x", nil).Compile(); err == nil {
		t.Fatal("compile")
	}
}

// TestSmallerGaps: breakpoints on every node, their reasons, UpdateState
// creating a thread, Zero in a new turn, MergeError's field name.
func TestSmallerGaps(t *testing.T) {
	t.Run("breakpoints everywhere", func(t *testing.T) {
		wf := pipeline(t, weft.InterruptBefore("*"))
		res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		n := 0
		for res.Status == weft.StatusInterrupted {
			if q := res.Interrupts[0]; q.Kind != weft.KindBefore || !strings.HasPrefix(q.Reason, "breakpoint before ") {
				t.Fatalf("question %+v", q)
			}
			n++
			res = must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		}
		if n != 3 {
			t.Fatalf("%d breakpoints, want 3", n)
		}
	})
	t.Run("update creates", func(t *testing.T) {
		wf := pipeline(t)
		snap := must[*weft.Snapshot[Counter]](t)(wf.UpdateState(ctx, "new", func(s Counter) Counter { s.N = 40; return s }))
		if snap.Status != weft.StatusStopped || fmt.Sprint(snap.Next) != "[a]" {
			t.Fatalf("created: %+v", snap)
		}
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "new"))
		if res.State.N != 40 || fmt.Sprint(res.State.Log) != "[a b c]" {
			t.Fatalf("ran from the update: %+v", res.State)
		}
	})
	t.Run("zero in a new turn", func(t *testing.T) {
		wf := pipeline(t)
		must[*weft.Result[Counter]](t)(wf.Run(ctx, "z", Counter{Who: "x"}))
		res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "z", Counter{N: 1}))
		if res.State.N != 1 || res.State.Who != "x" {
			t.Fatalf("new turn: %+v", res.State)
		}
		res = must[*weft.Result[Counter]](t)(wf.Run(ctx, "z", Counter{}, weft.Zero("Who")))
		if res.State.N != 1 || res.State.Who != "" {
			t.Fatalf("new turn: %+v", res.State)
		}
	})
	t.Run("late answer", func(t *testing.T) {
		wf := approval(t, []weft.CompileOption{weft.WithStore(memstore.New())}, nil)
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		id := res.Interrupts[0].ID
		must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(id, Decision{Action: "approve"})))
		_, err := wf.Resume(ctx, "t", weft.Answer(id, Decision{Action: "approve"}))
		wantErr(t, err, weft.ErrAlreadyAnswered)
		wantErr(t, err, weft.ErrThreadCompleted)
	})
}

// TestStreamStopAndResumeInsideTheLoop: at the interrupted event, the
// pause is committed: StreamResume may run inside the loop, and Stop
// cancels the paused thread.
func TestStreamStopAndResumeInsideTheLoop(t *testing.T) {
	store := memstore.New()
	wf := approval(t, []weft.CompileOption{weft.WithStore(store)}, nil)
	resumed := false
	for ev, err := range wf.Stream(ctx, "t", Doc{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == weft.EventInterrupted {
			for ev2, err := range wf.StreamResume(ctx, "t", weft.Answer(ev.Questions[0].ID, Decision{Action: "approve"})) {
				if err != nil {
					t.Fatal(err)
				}
				if ev2.Type == weft.EventCompleted {
					resumed = true
				}
			}
		}
	}
	if !resumed {
		t.Fatal("StreamResume inside the loop did not complete the thread")
	}
	for ev, err := range wf.Stream(ctx, "u", Doc{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == weft.EventInterrupted {
			if err := wf.Stop(ctx, "u"); err != nil {
				t.Fatal(err)
			}
		}
	}
	snap := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "u"))
	if snap.Status != weft.StatusCancelled {
		t.Fatalf("stop at the interrupted event: %s", snap.Status)
	}
	page, err := store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "u"})
	if err != nil || page.Interrupts[0].Status != checkpoint.InterruptCancelled {
		t.Fatalf("question after stop: %+v %v", page, err)
	}
}
