package weft_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/weftgraph/weft"
)

// recTracer records what a Tracer is told, as lines.
type recTracer struct {
	name  string
	mu    sync.Mutex
	lines []string
}

type spanKey struct{}

func (r *recTracer) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recTracer) Run(ctx context.Context, run weft.TraceRun, linked map[string]string) (context.Context, func(weft.Status, error)) {
	r.add("run %s resumed=%v linked=%s", run.Thread, run.Resumed, linked["trace"])
	return context.WithValue(ctx, spanKey{}, r.name+":"+run.Thread), func(st weft.Status, err error) { r.add("run end %s %v", st, err) }
}

func (r *recTracer) Node(ctx context.Context, n weft.TraceNode) (context.Context, func(error)) {
	r.add("node %s attempt %d in %v", n.Node, n.Attempt, ctx.Value(spanKey{}))
	return ctx, func(err error) { r.add("node end %s %v", n.Node, err) }
}

func (r *recTracer) Effect(ctx context.Context, key, id string) (context.Context, func(error)) {
	r.add("effect %s", key)
	return ctx, func(err error) { r.add("effect end %s %v", key, err) }
}

func (r *recTracer) Carry(ctx context.Context) map[string]string {
	return map[string]string{"trace": fmt.Sprint(ctx.Value(spanKey{}))}
}

// TestTracer: runs, nodes and effects are traced; a resumed run, in
// another process, is linked to the run that paused the thread.
func TestTracer(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		build := func(tr *recTracer) *weft.Workflow[Charge] {
			g := weft.NewGraph[Charge]("traced")
			g.AddNode("pay", func(ctx context.Context, s Charge) (Charge, error) {
				id, err := weft.Do(ctx, "charge", func(ctx context.Context) (string, error) { return "r", nil })
				if err != nil {
					return s, err
				}
				s.Effect = id
				d, err := weft.Interrupt[string](ctx, "ok?")
				s.Decided = d
				return s, err
			})
			g.AddEdge(weft.Start, "pay")
			return must[*weft.Workflow[Charge]](t)(g.Compile(weft.WithStore(open(nil)), weft.WithTracer(tr)))
		}
		a, b := &recTracer{name: "A"}, &recTracer{name: "B"}
		must[*weft.Result[Charge]](t)(build(a).Run(ctx, "t", Charge{}))
		res := must[*weft.Result[Charge]](t)(build(b).Resume(ctx, "t", weft.Reply("yes")))
		wantStatus(t, res, weft.StatusCompleted, 0)
		wantA := []string{"run t resumed=false linked=", "node pay attempt 1 in A:t", "effect charge", "effect end charge <nil>", "node end pay <nil>", "run end interrupted <nil>"}
		if !slices.Equal(a.lines, wantA) {
			t.Errorf("the pausing run:\n%q\nwant\n%q", a.lines, wantA)
		}
		// The resumed run links to A's; the effect is replayed, not run.
		wantB := []string{"run t resumed=true linked=A:t", "node pay attempt 1 in B:t", "node end pay <nil>", "run end completed <nil>"}
		if !slices.Equal(b.lines, wantB) {
			t.Errorf("the resuming run:\n%q\nwant\n%q", b.lines, wantB)
		}
	})
}
