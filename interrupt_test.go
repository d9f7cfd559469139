package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
)

type Doc struct {
	Draft   string
	Answers []string
	Runs    int
	Final   string
}

type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
	Text   string `json:"text,omitempty"`
}

// approval: write -> review (asks) -> publish.
func approval(t *testing.T, opts []weft.CompileOption, reviewRuns *atomic.Int32) *weft.Workflow[Doc] {
	g := weft.NewGraph[Doc]("approval")
	g.AddNode("write", func(ctx context.Context, s Doc) (Doc, error) { s.Draft = "v1"; return s, nil })
	g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
		if reviewRuns != nil {
			reviewRuns.Add(1)
		}
		d, err := weft.Interrupt[Decision](ctx, map[string]string{"draft": s.Draft},
			weft.Reason("needs sign-off"), weft.Assign("editors"), weft.Within(time.Hour, Decision{Action: "approve"}))
		if err != nil {
			return s, err
		}
		s.Answers = append(s.Answers, d.Action)
		return s, nil
	})
	g.AddNode("publish", func(ctx context.Context, s Doc) (Doc, error) { s.Final = s.Draft + ":" + s.Answers[0]; return s, nil })
	g.AddEdge(weft.Start, "write").AddEdge("write", "review").AddEdge("review", "publish")
	return must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
}

func TestPauseAndResume(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var runs atomic.Int32
		wf := approval(t, opts, &runs)
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "r1", Doc{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		q := res.Interrupts[0]
		if q.Node != "review" || q.Kind != weft.KindDynamic || q.Reason != "needs sign-off" || q.Assignees[0] != "editors" ||
			q.Deadline.IsZero() || string(q.Value) != `{"draft":"v1"}` || !strings.Contains(string(q.Schema), `"enum":["approve","edit","reject"]`) {
			t.Fatalf("question = %+v", q)
		}
		if res.State.Draft != "v1" {
			t.Fatalf("state at pause = %+v", res.State)
		}
		snap := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "r1"))
		if snap.Status != weft.StatusInterrupted || len(snap.Interrupts) != 1 || snap.Interrupts[0].ID != q.ID || snap.Next[0] != "review" {
			t.Fatalf("state while paused = %+v", snap)
		}

		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "r1", weft.Answer(q.ID, Decision{Action: "approve"}), weft.By("ann", "api")))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.Final != "v1:approve" || runs.Load() != 2 {
			t.Fatalf("final = %+v, review ran %d times", res.State, runs.Load())
		}

		_, err := wf.Resume(ctx, "r1", weft.Answer(q.ID, Decision{Action: "reject"}))
		wantErr(t, err, weft.ErrThreadCompleted)
		_, err = wf.Resume(ctx, "nope")
		wantErr(t, err, weft.ErrNotFound)

		steps := must[[]weft.Step](t)(wf.Steps(ctx, "r1"))
		var log []string
		for _, s := range steps {
			log = append(log, s.Node+":"+string(s.Status))
		}
		if got := strings.Join(log, " "); got != "write:completed review:interrupted review:completed publish:completed" {
			t.Fatalf("steps = %s", got)
		}
	})
}

func TestAnswerErrorsChangeNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := approval(t, opts, nil)
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "r1", Doc{}))
		id := res.Interrupts[0].ID
		before := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "r1"))

		for _, tc := range []struct {
			name   string
			answer weft.RunOption
			want   error
			text   string
		}{
			{"not in enum", weft.Answer(id, Decision{Action: "maybe"}), weft.ErrInvalidAnswer, "maybe"},
			{"wrong type", weft.Answer(id, "approve"), weft.ErrInvalidAnswer, "type"},
			{"missing field", weft.Answer(id, map[string]string{"text": "x"}), weft.ErrInvalidAnswer, "action"},
			{"unknown field", weft.Answer(id, map[string]string{"action": "approve", "extra": "x"}), weft.ErrInvalidAnswer, "extra"},
			{"unknown question", weft.Answer("feedbeef", Decision{Action: "approve"}), weft.ErrUnknownInterrupt, "feedbeef"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := wf.Resume(ctx, "r1", tc.answer)
				wantErr(t, err, tc.want)
				if !strings.Contains(err.Error(), tc.text) {
					t.Fatalf("error %q does not mention %q", err, tc.text)
				}
				after := must[*weft.Snapshot[Doc]](t)(wf.State(ctx, "r1"))
				if after.Checkpoint != before.Checkpoint || after.Status != weft.StatusInterrupted || len(after.Interrupts) != 1 || after.Interrupts[0].ID != id {
					t.Fatalf("thread changed: %+v", after)
				}
			})
		}
		_, err := wf.Run(ctx, "r1", Doc{})
		wantErr(t, err, weft.ErrThreadPaused)
		if !strings.Contains(err.Error(), "Resume") {
			t.Fatalf("Run on a paused thread should point to Resume: %v", err)
		}
		must[*weft.Result[Doc]](t)(wf.Resume(ctx, "r1", weft.Answer(id, Decision{Action: "edit", Text: "more"})))
		_, err = wf.Run(ctx, "r2", Doc{})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestSeveralQuestionsInOneNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Doc]("two")
		g.AddNode("ask", func(ctx context.Context, s Doc) (Doc, error) {
			s.Runs++
			a, err := weft.Interrupt[string](ctx, "first?")
			if err != nil {
				return s, err
			}
			b, err := weft.Interrupt[string](ctx, "second?")
			if err != nil {
				return s, err
			}
			s.Answers = append(s.Answers, a, b)
			return s, nil
		})
		g.AddEdge(weft.Start, "ask")
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		first := res.Interrupts[0]
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(first.ID, "A")))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		second := res.Interrupts[0]
		if second.ID == first.ID || string(second.Value) != `"second?"` {
			t.Fatalf("second question %+v should differ from the first %+v", second, first)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(second.ID, "B")))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if strings.Join(res.State.Answers, ",") != "A,B" {
			t.Fatalf("answers = %v", res.State.Answers)
		}
	})
}

func TestParallelQuestionsAnsweredApart(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var cRuns atomic.Int32
		g := weft.NewGraph[Doc]("parallel")
		asker := func(name string) weft.NodeFunc[Doc] {
			return func(ctx context.Context, s Doc) (Doc, error) {
				v, err := weft.Interrupt[string](ctx, name)
				if err != nil {
					return s, err
				}
				s.Answers = append(s.Answers, name+"="+v)
				return s, nil
			}
		}
		g.AddNode("a", asker("a")).AddNode("b", asker("b"))
		g.AddNode("c", func(ctx context.Context, s Doc) (Doc, error) { cRuns.Add(1); s.Runs++; return s, nil })
		g.AddEdge(weft.Start, "a").AddEdge(weft.Start, "b").AddEdge(weft.Start, "c")
		g.Reduce("Answers", weft.Append())
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		wantStatus(t, res, weft.StatusInterrupted, 2)
		qa, qb := res.Interrupts[0], res.Interrupts[1]
		if qa.Node != "a" || qb.Node != "b" {
			t.Fatalf("questions = %+v", res.Interrupts)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(qb.ID, "2")))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if res.Interrupts[0].ID != qa.ID {
			t.Fatalf("still waiting on %+v, want %s", res.Interrupts, qa.ID)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(qa.ID, "1")))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if strings.Join(res.State.Answers, ",") != "a=1,b=2" || res.State.Runs != 1 || cRuns.Load() != 1 {
			t.Fatalf("state %+v, c ran %d times (must not re-run)", res.State, cRuns.Load())
		}
	})
}

func TestSequentialQuestionsAcrossNodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Doc]("seq")
		ask := func(name string) weft.NodeFunc[Doc] {
			return func(ctx context.Context, s Doc) (Doc, error) {
				v, err := weft.Interrupt[string](ctx, s.Answers)
				if err != nil {
					return s, err
				}
				s.Answers = append(s.Answers, v)
				return s, nil
			}
		}
		g.AddNode("review", ask("review")).AddNode("edit", ask("edit"))
		g.AddEdge(weft.Start, "review").AddEdge("review", "edit")
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		if res.Interrupts[0].Node != "review" {
			t.Fatal(res.Interrupts)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, "needs detail")))
		if res.Interrupts[0].Node != "edit" || string(res.Interrupts[0].Value) != `["needs detail"]` {
			t.Fatal(res.Interrupts)
		}
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, "detailed")))
		wantStatus(t, res, weft.StatusCompleted, 0)
	})
}

func TestNilAnswerAndSwallowedPause(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Doc]("nil")
		g.AddNode("ask", func(ctx context.Context, s Doc) (Doc, error) {
			v, err := weft.Interrupt[*string](ctx, "optional note?")
			if err != nil {
				return s, nil // swallowed: the node is paused all the same
			}
			if v == nil {
				s.Final = "no note"
			}
			return s, nil
		})
		g.AddEdge(weft.Start, "ask")
		wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		res = must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, nil)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.Final != "no note" {
			t.Fatalf("state = %+v", res.State)
		}
	})
}

func TestReplayMismatch(t *testing.T) {
	tests := []struct {
		name   string
		second func(ctx context.Context) error
	}{
		{"other key", func(ctx context.Context) error {
			_, err := weft.Interrupt[string](ctx, "q", weft.Key("shipping"))
			return err
		}},
		{"fewer calls", func(ctx context.Context) error { return nil }},
	}
	for _, tt := range tests {
		eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
			t.Run(tt.name, func(t *testing.T) {
				var calls atomic.Int32
				g := weft.NewGraph[Doc]("mismatch")
				g.AddNode("ask", func(ctx context.Context, s Doc) (Doc, error) {
					if calls.Add(1) == 1 {
						_, err := weft.Interrupt[string](ctx, "q", weft.Key("refund"))
						return s, err
					}
					return s, tt.second(ctx)
				})
				g.AddEdge(weft.Start, "ask")
				wf := must[*weft.Workflow[Doc]](t)(g.Compile(opts...))
				res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
				if res.Interrupts[0].Key != "refund" {
					t.Fatalf("key = %q", res.Interrupts[0].Key)
				}
				_, err := wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, "yes"))
				wantErr(t, err, weft.ErrInterruptMismatch)
			})
		})
	}
}

func TestInterruptOutsideNode(t *testing.T) {
	_, err := weft.Interrupt[string](context.Background(), "q")
	wantErr(t, err, weft.ErrOutsideNode)
}

func TestAnsweredTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := approval(t, opts, nil)
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		id := res.Interrupts[0].ID
		_, err := wf.Resume(ctx, "t", weft.Answer(id, Decision{Action: "approve"}), weft.Answer(id, Decision{Action: "reject"}))
		wantErr(t, err, weft.ErrAlreadyAnswered)
		must[*weft.Result[Doc]](t)(wf.Resume(ctx, "t", weft.Answer(id, Decision{Action: "approve"})))
		// A new turn asks again; the old question's ID is spent.
		res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
		if res.Interrupts[0].ID == id {
			t.Fatal("a new turn reused the old question's ID")
		}
		_, err = wf.Resume(ctx, "t", weft.Answer(id, Decision{Action: "approve"}))
		wantErr(t, err, weft.ErrAlreadyAnswered)
	})
}

func TestStatelessReplay(t *testing.T) {
	g := weft.NewGraph[Doc]("stateless")
	ask := func(ctx context.Context, s Doc) (Doc, error) {
		v, err := weft.Interrupt[string](ctx, s.Answers)
		if err != nil {
			return s, err
		}
		s.Answers = append(s.Answers, v)
		return s, nil
	}
	g.AddNode("review", ask).AddNode("edit", ask)
	g.AddEdge(weft.Start, "review").AddEdge("review", "edit")
	wf := must[*weft.Workflow[Doc]](t)(g.Compile())
	res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "", Doc{}))
	if res.Interrupts[0].Node != "review" {
		t.Fatal(res.Interrupts)
	}
	res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "", Doc{}, weft.Answers(map[string]any{"review": "needs detail"})))
	if res.Interrupts[0].Node != "edit" {
		t.Fatal(res.Interrupts)
	}
	res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "", Doc{}, weft.Answers(map[string]any{"review": "needs detail", "edit": "done"})))
	wantStatus(t, res, weft.StatusCompleted, 0)
	if strings.Join(res.State.Answers, "|") != "needs detail|done" {
		t.Fatal(res.State.Answers)
	}
}

func TestQuestionPayloadDecodes(t *testing.T) {
	wf := approval(t, nil, nil)
	res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "t", Doc{}))
	var payload map[string]string
	if err := res.Interrupts[0].DecodeValue(&payload); err != nil || payload["draft"] != "v1" {
		t.Fatalf("payload %v, %v", payload, err)
	}
	var schema map[string]any
	if err := json.Unmarshal(res.Interrupts[0].Schema, &schema); err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, json.RawMessage(`{"action":"reject"}`))); err != nil {
		t.Fatal(err)
	}
}

var _ = errors.Is
