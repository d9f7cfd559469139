package weft

import (
	"context"
	"errors"
	"fmt"

	"github.com/weftgraph/weft/checkpoint"
)

// SubgraphNode is a node that runs a compiled workflow, made by Subgraph;
// add it with Graph.AddSubgraph.
type SubgraphNode[S any] struct {
	fn    NodeFunc[S]
	child subgraph
}

// subgraph is a child workflow, whatever its state type.
type subgraph interface {
	graphName() string
	graphHash() string
	// states lists the state of the child's run in namespace ns of the
	// thread, and of the subgraphs it is inside of, if it has started.
	states(ctx context.Context, b backing, thread, ns, path string) ([]SubgraphState, error)
}

// SubgraphState is the state of a subgraph run that is under way (paused
// inside, or stopped or failed there), as State shows it.
type SubgraphState struct {
	// Path is the subgraph node's path ("outer", "outer/inner").
	Path string
	// Workflow is the subgraph's name.
	Workflow string
	// Values is the subgraph's state (of its own state type).
	Values any
	// Next lists the subgraph's nodes that run next.
	Next []string
	// Checkpoint is the subgraph's newest checkpoint in its namespace.
	Checkpoint string
	Namespace  string
}

// Subgraph makes a node that runs child, a compiled workflow, as one step of
// the parent: in maps the parent's state to the child's input, the child
// runs from its Start to its End, and out merges its final state back into
// the parent's. child's store and run options are not used: it runs in the
// parent's thread and store, with the parent's resolvers and observers and
// with its own breakpoints.
//
// The child's checkpoints live in their own namespace of the thread, so a
// question asked inside it pauses the whole thread: it surfaces in the
// parent with its path ("outer/inner/review"), is answered by its ID like
// any other, and on resume the child carries on inside, where it stopped,
// without the parent's other nodes of that superstep running again.
// Subgraphs nest to any depth.
func Subgraph[S, C any](child *Workflow[C], in func(S) C, out func(S, C) S) SubgraphNode[S] {
	sg := &subgraphOf[S, C]{child: child, in: in, out: out}
	return SubgraphNode[S]{fn: sg.run, child: sg}
}

// AddSubgraph adds a node made by Subgraph.
func (g *Graph[S]) AddSubgraph(name string, sg SubgraphNode[S], opts ...NodeOption) *Graph[S] {
	if sg.fn == nil {
		g.problem("subgraph node %q is not made by weft.Subgraph", name)
		return g
	}
	before := len(g.order)
	g.AddNode(name, sg.fn, opts...)
	if len(g.order) > before {
		g.nodes[name].sub = sg.child
	}
	return g
}

type subgraphOf[S, C any] struct {
	child *Workflow[C]
	in    func(S) C
	out   func(S, C) S
}

func (sg *subgraphOf[S, C]) graphName() string { return sg.child.name }
func (sg *subgraphOf[S, C]) graphHash() string { return sg.child.hash }

// childNamespace is the namespace of the run of subgraph task name whose
// parent superstep first ran from checkpoint cpID (originOf) of namespace
// ns. The parent's checkpoint makes each execution of the node a fresh
// run, and the same one when the node runs again after a pause or an edit
// that keeps what runs next.
func childNamespace(ns, task, cpID string) string {
	child := task + ":" + cpID
	if ns == "" {
		return child
	}
	return ns + "/" + child
}

func (sg *subgraphOf[S, C]) run(ctx context.Context, s S) (S, error) {
	t, ok := ctx.Value(taskKey{}).(*task[S])
	if !ok {
		return s, fmt.Errorf("weft.Subgraph %s: %w", sg.child.name, ErrOutsideNode)
	}
	r := t.r
	child := sg.child
	rc := &runConfig{
		stepLimit: r.rc.stepLimit, replay: r.rc.replay, author: r.rc.author, channel: r.rc.channel,
		resolvers: append(append([]Resolver(nil), r.wf.cfg.resolvers...), r.rc.resolvers...),
	}
	cr := &run[C]{
		wf: child, ctx: r.ctx, saveCtx: r.saveCtx, p: persisterFor[C](r.p.backing(), child.state),
		rc: rc, thread: r.thread, ns: childNamespace(r.ns, t.name, t.origin), prefix: t.path,
		tr: r.tr, child: true, off: t.off, rootCP: r.rootCP, records: r.records,
		before: child.cfg.before, after: child.cfg.after,
	}
	head, err := cr.p.snapshot(r.ctx, r.thread, cr.ns, "")
	switch {
	case errors.Is(err, checkpoint.ErrNotFound):
		state := sg.in(s)
		next, err := child.next([]string{Start}, state)
		if err != nil {
			return s, err
		}
		cp := &checkpoint.Checkpoint{
			ThreadID: r.thread, Namespace: cr.ns, Source: checkpoint.SourceInput, Next: next,
			Meta: map[string]string{"workflow": child.name}, CreatedAt: r.now(),
		}
		c := &commit[C]{c: checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp}, state: state}
		if err := cr.save(c, StatusRunning, "", nil); err != nil {
			return s, err
		}
		cr.head = &snap[C]{cp: *cp, state: state}
	case err != nil:
		return s, err
	default:
		cr.head, cr.resumed = head, true
	}
	res, err := cr.loop()
	if err != nil {
		return s, err
	}
	switch res.Status {
	case StatusCompleted:
		return sg.out(s, res.State), nil
	case StatusInterrupted:
		if len(cr.waiting) == 0 {
			return s, fmt.Errorf("subgraph %s paused without a question", t.path)
		}
		t.mu.Lock()
		x := t.rare()
		x.nested = append(x.nested, cr.waiting...)
		t.waiting += len(cr.waiting)
		t.mu.Unlock()
		return s, &PauseError{ID: cr.waiting[0].ID, Node: cr.waiting[0].Node}
	default:
		return s, fmt.Errorf("subgraph %s %s: %w", t.path, res.Status, context.Cause(r.ctx))
	}
}

func (sg *subgraphOf[S, C]) states(ctx context.Context, b backing, thread, ns, path string) ([]SubgraphState, error) {
	p := persisterFor[C](b, sg.child.state)
	s, err := p.snapshot(ctx, thread, ns, "")
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := []SubgraphState{{Path: path, Workflow: sg.child.name, Values: s.state, Next: s.cp.Next, Checkpoint: s.cp.ID, Namespace: ns}}
	inner, err := sg.child.subgraphStates(ctx, b, thread, ns, path, s)
	return append(out, inner...), err
}

// subgraphStates lists the runs under way of the subgraph nodes that run
// next from checkpoint s of namespace ns.
func (wf *Workflow[S]) subgraphStates(ctx context.Context, b backing, thread, ns, path string, s *snap[S]) ([]SubgraphState, error) {
	var out []SubgraphState
	for _, task := range wf.expand(s.cp.Next, s.state) {
		n := wf.nodes[nodeOf(task)]
		if n == nil || n.sub == nil {
			continue
		}
		p := nodeOf(task)
		if path != "" {
			p = path + "/" + p
		}
		st, err := n.sub.states(ctx, b, thread, childNamespace(ns, task, originOf(&s.cp)), p)
		if err != nil {
			return nil, err
		}
		out = append(out, st...)
	}
	return out, nil
}
