package weft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Start and End are the graph's entry and exit. Edges from Start name the
// first nodes; edges (or routes) to End finish the run.
const (
	Start = "__start__"
	End   = "__end__"
)

// NodeFunc is a node: it receives the state and returns the new one. The
// state it receives is its own copy for scalars, but slices and maps share
// memory with the previous state: treat them as read-only and build new
// ones (append to a slice is fine; overwriting an element in place is not).
type NodeFunc[S any] func(ctx context.Context, s S) (S, error)

// Router picks the next node after a node, from the state after the
// superstep. It returns a node name or End.
type Router[S any] func(s S) string

// Graph is a graph under construction. Add nodes and edges, then Compile.
// Mistakes are collected and reported by Compile all at once. A Graph is not
// safe for concurrent use.
type Graph[S any] struct {
	name     string
	nodes    map[string]*node[S]
	order    []string
	edges    map[string][]string
	routes   map[string]*route[S]
	reducers map[string]Reducer
	problems []string
}

type node[S any] struct {
	name   string
	index  int
	fn     NodeFunc[S]
	dests  []string
	retry  *RetryPolicy
	fanout *Mapper[S] // a Map node: one task per item
	sub    subgraph   // a Subgraph node: its child workflow
}

type route[S any] struct {
	fn      Router[S]
	targets []string
}

// NewGraph starts a graph over state type S. The name identifies the
// workflow in stores and in the inbox.
func NewGraph[S any](name string) *Graph[S] {
	g := &Graph[S]{
		name:     name,
		nodes:    map[string]*node[S]{},
		edges:    map[string][]string{},
		routes:   map[string]*route[S]{},
		reducers: map[string]Reducer{},
	}
	if name == "" {
		g.problem("the graph has no name")
	}
	return g
}

func (g *Graph[S]) problem(format string, args ...any) {
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

// NodeOption configures a node.
type NodeOption func(*nodeOptions)

type nodeOptions struct {
	dests []string
	retry *RetryPolicy
}

// Destinations declares the nodes a node may jump to with Goto, so Compile
// can check them and count them as reachable.
func Destinations(nodes ...string) NodeOption {
	return func(o *nodeOptions) { o.dests = append(o.dests, nodes...) }
}

// AddNode adds a node. Names must be unique, not empty, and free of "/"
// (which separates the levels of subgraph paths).
func (g *Graph[S]) AddNode(name string, fn NodeFunc[S], opts ...NodeOption) *Graph[S] {
	var o nodeOptions
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case name == "":
		g.problem("a node has an empty name")
		return g
	case name == Start || name == End:
		g.problem("node name %q is reserved", name)
		return g
	case strings.ContainsAny(name, "/#"):
		g.problem("node name %q contains '/' or '#'", name)
		return g
	case fn == nil:
		g.problem("node %q has a nil function", name)
		return g
	}
	if _, dup := g.nodes[name]; dup {
		g.problem("node %q is added twice", name)
		return g
	}
	if o.retry != nil {
		if err := o.retry.check(); err != nil {
			g.problem("node %q: %v", name, err)
		}
	}
	g.nodes[name] = &node[S]{name: name, index: len(g.order), fn: fn, dests: o.dests, retry: o.retry}
	g.order = append(g.order, name)
	return g
}

// Mapper is a fan-out node made by Map; add it with Graph.AddMap.
type Mapper[S any] struct {
	count func(S) int
	run   func(ctx context.Context, s S, i int) (S, error)
}

// Map makes a fan-out node (LangGraph's Send): in the superstep where it
// runs, fn runs once per element of items(s), each as its own branch in
// parallel, with the state and its item. The branches' states are merged
// like those of parallel nodes, so the fields they change need a reducer
// (Graph.Reduce, typically Append). With no items, the node passes the
// state on unchanged.
//
// Each branch is its own task, named "node#i" in the step log and in its
// questions' Task: a branch that calls Interrupt pauses alone, its question
// has its own ID, and branches that finished are not run again when the
// thread resumes. items must give the same list for the same state: a
// resumed branch finds its item again by position.
func Map[S, I any](items func(S) []I, fn func(ctx context.Context, s S, item I) (S, error)) Mapper[S] {
	return Mapper[S]{
		count: func(s S) int { return len(items(s)) },
		run: func(ctx context.Context, s S, i int) (S, error) {
			list := items(s)
			if i >= len(list) {
				return s, fmt.Errorf("branch %d: the list has %d items now", i, len(list))
			}
			return fn(ctx, s, list[i])
		},
	}
}

// AddMap adds a fan-out node made by Map.
func (g *Graph[S]) AddMap(name string, m Mapper[S], opts ...NodeOption) *Graph[S] {
	if m.run == nil {
		g.problem("map node %q is not made by weft.Map", name)
		return g
	}
	before := len(g.order)
	g.AddNode(name, func(_ context.Context, s S) (S, error) { return s, nil }, opts...)
	if len(g.order) > before {
		g.nodes[name].fanout = &m
	}
	return g
}

// AddEdge makes to run in the superstep after from. Several edges from one
// node run their targets in parallel.
func (g *Graph[S]) AddEdge(from, to string) *Graph[S] {
	if to == Start {
		g.problem("edge %s -> %s goes into Start", from, to)
		return g
	}
	if from == End {
		g.problem("edge %s -> %s leaves End", from, to)
		return g
	}
	if slices.Contains(g.edges[from], to) {
		g.problem("edge %s -> %s is added twice", from, to)
		return g
	}
	g.edges[from] = append(g.edges[from], to)
	return g
}

// SetEntryPoint makes node the first node: the same as AddEdge(Start, node).
func (g *Graph[S]) SetEntryPoint(node string) *Graph[S] { return g.AddEdge(Start, node) }

// AddConditionalEdges routes after from: route picks one of targets (a node
// or End) from the state after the superstep. Picking anything else fails
// the run.
func (g *Graph[S]) AddConditionalEdges(from string, router Router[S], targets ...string) *Graph[S] {
	switch {
	case router == nil:
		g.problem("conditional edges from %q have a nil router", from)
	case len(targets) == 0:
		g.problem("conditional edges from %q declare no targets", from)
	case g.routes[from] != nil:
		g.problem("node %q has conditional edges twice", from)
	default:
		g.routes[from] = &route[S]{fn: router, targets: targets}
	}
	return g
}

// Reduce declares how parallel changes of a state field are merged (see
// Append, LastWrite and Merge). Without a reducer, two nodes of one
// superstep that change the same field fail the superstep.
func (g *Graph[S]) Reduce(field string, r Reducer) *Graph[S] {
	if r == nil {
		g.problem("reducer for %q is nil", field)
		return g
	}
	g.reducers[field] = r
	return g
}

// Compile checks the graph and returns a Workflow. It reports every problem
// at once in a *CompileError (errors.Is(err, ErrInvalidGraph)).
func (g *Graph[S]) Compile(opts ...CompileOption) (*Workflow[S], error) {
	cfg := compileConfig{stepLimit: defaultStepLimit, lease: DefaultLease, beat: DefaultHeartbeat, codec: JSON}
	for _, o := range opts {
		o.applyCompile(&cfg)
	}
	problems := slices.Clone(g.problems)
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	known := func(n string) bool { _, ok := g.nodes[n]; return ok || n == End }

	si := newStateInfo(reflect.TypeFor[S]())
	for _, field := range sortedKeys(g.reducers) {
		i, ok := si.byName[field]
		if !ok {
			add("reducer for unknown field %q (fields: %s)", field, si.fieldNames())
			continue
		}
		if err := g.reducers[field].check(si.fields[i].typ); err != nil {
			add("reducer for field %q: %v", field, err)
			continue
		}
		si.fields[i].reducer = g.reducers[field]
	}
	for _, from := range sortedKeys(g.edges) {
		if from != Start && g.nodes[from] == nil {
			add("edge from unknown node %q", from)
		}
		for _, to := range g.edges[from] {
			if !known(to) {
				add("edge %s -> %s goes to unknown node %q", from, to, to)
			}
		}
	}
	for _, from := range sortedKeys(g.routes) {
		if from == Start || from == End || g.nodes[from] == nil {
			if from != Start {
				add("conditional edges from unknown node %q", from)
			}
		}
		for _, to := range g.routes[from].targets {
			if !known(to) {
				add("conditional edge from %q declares unknown target %q", from, to)
			}
		}
	}
	for _, name := range g.order {
		for _, to := range g.nodes[name].dests {
			if !known(to) {
				add("node %q declares unknown destination %q", name, to)
			}
		}
	}
	if len(g.edges[Start]) == 0 && g.routes[Start] == nil {
		add("no entry point: add an edge from weft.Start")
	}
	for _, n := range cfg.before {
		if n != "*" && g.nodes[n] == nil {
			add("InterruptBefore names unknown node %q", n)
		}
	}
	for _, n := range cfg.after {
		if n != "*" && g.nodes[n] == nil {
			add("InterruptAfter names unknown node %q", n)
		}
	}
	if cfg.beat >= cfg.lease {
		add("the heartbeat (%v) must be shorter than the lease (%v)", cfg.beat, cfg.lease)
	}
	if cfg.defaults != nil {
		if _, ok := cfg.defaults.(S); !ok {
			add("WithDefaults value is %T, the state is %s", cfg.defaults, si.typ)
		}
	}
	// Reachability from Start over edges, routes and destinations.
	seen := map[string]bool{Start: true}
	queue := []string{Start}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		next := slices.Clone(g.edges[n])
		if r := g.routes[n]; r != nil {
			next = append(next, r.targets...)
		}
		if nd := g.nodes[n]; nd != nil {
			next = append(next, nd.dests...)
		}
		for _, m := range next {
			if !seen[m] && g.nodes[m] != nil {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	for _, n := range g.order {
		if !seen[n] {
			add("node %q is unreachable from Start", n)
		}
	}
	if len(problems) > 0 {
		return nil, &CompileError{Graph: g.name, Problems: problems}
	}
	wf := &Workflow[S]{
		name:   g.name,
		nodes:  g.nodes,
		order:  g.order,
		edges:  g.edges,
		routes: g.routes,
		state:  si,
		cfg:    cfg,
		hash:   g.hash(),
	}
	wf.init()
	return wf, nil
}

// hash fingerprints the graph's shape: node names, edges, route targets
// and Goto destinations.
func (g *Graph[S]) hash() string {
	var b strings.Builder
	for _, n := range sortedKeys(g.nodes) {
		b.WriteString("n:" + n + "\n")
		if sub := g.nodes[n].sub; sub != nil {
			b.WriteString("s:" + n + ">" + sub.graphHash() + "\n")
		}
		if d := g.nodes[n].dests; len(d) > 0 {
			d = slices.Clone(d)
			sort.Strings(d)
			b.WriteString("d:" + n + ">" + strings.Join(d, ",") + "\n")
		}
	}
	for _, from := range sortedKeys(g.edges) {
		tos := slices.Clone(g.edges[from])
		sort.Strings(tos)
		b.WriteString("e:" + from + ">" + strings.Join(tos, ",") + "\n")
	}
	for _, from := range sortedKeys(g.routes) {
		tos := slices.Clone(g.routes[from].targets)
		sort.Strings(tos)
		b.WriteString("r:" + from + ">" + strings.Join(tos, ",") + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
