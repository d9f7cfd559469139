package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

// Command is a node's result that routes as well as updates: the state
// becomes Update and the next superstep also runs the nodes in Goto (node
// names or End), besides those of the node's edges. A node returns it with
// Return; Goto is the short form.
//
//	return weft.Return(ctx, weft.Command[Review]{Update: s, Goto: []string{"publish"}})
//
// Every node a node may go to must be declared with Destinations when it is
// added, so Compile can check the graph.
type Command[S any] struct {
	Update S
	Goto   []string
}

// router is what Return needs of a task.
type router interface{ jump(nodes []string) error }

// Return returns cmd from a node: its Update as the node's new state, and
// its Goto as where to go next. It fails (and the node with it) if a
// destination was not declared with Destinations or ctx is not a node's.
func Return[S any](ctx context.Context, cmd Command[S]) (S, error) {
	t, ok := ctx.Value(taskKey{}).(router)
	if !ok {
		return cmd.Update, fmt.Errorf("weft.Return: %w", ErrOutsideNode)
	}
	return cmd.Update, t.jump(cmd.Goto)
}

// Goto is Return(ctx, Command[S]{Update: update, Goto: nodes}).
func Goto[S any](ctx context.Context, update S, nodes ...string) (S, error) {
	return Return(ctx, Command[S]{Update: update, Goto: nodes})
}

func (t *task[S]) jump(nodes []string) error {
	if err := t.enter("weft.Return"); err != nil {
		return err
	}
	defer t.leave()
	n := t.r.wf.nodes[t.node]
	for _, to := range nodes {
		if to != End && !slices.Contains(n.dests, to) {
			return fmt.Errorf("node %s: Goto %q is not among its Destinations %v: %w", t.path, to, n.dests, ErrInvalidGraph)
		}
	}
	t.mu.Lock()
	x := t.rare()
	x.gotos = append(x.gotos, nodes...)
	t.mu.Unlock()
	return nil
}

// journaler is what Do needs of a task.
type journaler interface {
	// enter and leave bracket the call (task.enter).
	enter(what string) error
	leave()
	recall(key string) ([]byte, bool)
	// before refuses to run an effect in a run that lost its claim.
	before(ctx context.Context) error
	record(key string, data []byte) error
	effectID(key string) string
	traceEffect(ctx context.Context, key, id string) (context.Context, func(error))
}

type effectKey struct{}

// EffectID returns, inside the function given to Do, an ID for the effect
// that is the same every time Do is asked for it in this thread, superstep,
// task and key, in any process, and after an edit of the paused thread
// that keeps what runs next (UpdateState without AsNode): an idempotency
// key to pass to the system the effect changes. A thread deleted and
// created again gets new IDs. It returns "" outside Do.
func EffectID(ctx context.Context) string {
	id, _ := ctx.Value(effectKey{}).(string)
	return id
}

// Do runs a side effect once per node execution and journals its result:
// when the node runs again in the same superstep (after a pause for an
// answer, a stop, a failure or a crash), Do returns the journaled result
// instead of calling fn again. key names the effect within the node; a
// second Do with the same key in one execution returns the first result.
//
// The result is journaled as JSON in the store as soon as fn returns, so T
// must survive a JSON round trip. An error from fn is returned and not
// journaled: the next execution calls fn again. Between fn's return and
// the journal write a crash can still happen; for effects on other systems
// that must never repeat, pass EffectID(ctx) to them as an idempotency key.
//
// What edits do to journals: UpdateState (without AsNode) on a thread
// paused or stopped in a superstep keeps the superstep's journals, so its
// effects do not run again, under the same EffectID. UpdateState with
// AsNode, and Fork from an earlier checkpoint, change what runs next: the
// effects of what runs then run again, as new executions with new
// EffectIDs. A retried node (Retry) keeps the journal of its failed
// attempts. A run that lost its claim on the thread (another process took
// it over) journals nothing: Do returns an error wrapping ErrClaimLost.
func Do[T any](ctx context.Context, key string, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	j, ok := ctx.Value(taskKey{}).(journaler)
	if !ok {
		return zero, fmt.Errorf("weft.Do(%q): %w", key, ErrOutsideNode)
	}
	if err := j.enter("weft.Do"); err != nil {
		return zero, err
	}
	defer j.leave()
	if raw, ok := j.recall(key); ok {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return zero, fmt.Errorf("weft.Do(%q): journaled result does not decode into %T: %w: %w", key, zero, ErrCorruptCheckpoint, err)
		}
		return v, nil
	}
	if err := j.before(ctx); err != nil {
		return zero, fmt.Errorf("weft.Do(%q): %w", key, err)
	}
	id := j.effectID(key)
	ectx, end := j.traceEffect(ctx, key, id)
	v, err := fn(context.WithValue(ectx, effectKey{}, id))
	end(err)
	if err != nil {
		return v, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v, fmt.Errorf("weft.Do(%q): result: %w", key, err)
	}
	if err := j.record(key, raw); err != nil {
		return v, fmt.Errorf("weft.Do(%q): journal: %w", key, err)
	}
	return v, nil
}

func (t *task[S]) recall(key string) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.x != nil {
		if b, ok := t.x.journal[key]; ok {
			return b, true
		}
	}
	for i := range t.r.pending {
		w := &t.r.pending[i]
		if w.task == t.name && w.kind == writeDo && w.key == key {
			return w.data, true
		}
	}
	return nil, false
}

func (t *task[S]) before(ctx context.Context) error {
	if t.ended.Load() {
		return t.errReturned("weft.Do")
	}
	return t.r.checkClaim(ctx)
}

// record journals a Do result, fenced by the run's claim: a run that lost
// its claim journals nothing (ErrClaimLost). No lock is held across the
// write, so the branches of a Map journal at once.
func (t *task[S]) record(key string, data []byte) error {
	if t.ended.Load() {
		return t.errReturned("weft.Do")
	}
	r := t.r
	owner, epoch := r.tr.claim()
	w := write[S]{ns: r.ns, cpID: t.cpID, task: t.name, kind: writeDo, key: key, data: data}
	err := r.p.putWrites(r.saveCtx, checkpoint.PutWrites{ThreadID: r.thread, Owner: owner, Epoch: epoch}, []write[S]{w})
	if errors.Is(err, ErrConflict) {
		err = fmt.Errorf("%w: %w", ErrClaimLost, err)
	}
	if err != nil {
		return fmt.Errorf("thread %q: %w", r.thread, err)
	}
	t.mu.Lock()
	x := t.rare()
	if x.journal == nil {
		x.journal = map[string][]byte{}
	}
	x.journal[key] = data
	t.mu.Unlock()
	return nil
}

// effectID derives from where the effect's superstep first ran (an edit
// that keeps what runs next keeps it), not from the current checkpoint.
func (t *task[S]) effectID(key string) string {
	return stableID(16, t.r.thread, t.r.tr.incarnation(), t.r.ns, t.origin, t.name, key)
}

// Resolver answers questions without a human, or declines: an auto-approve
// policy, a test fixture, a model acting as reviewer. Resolvers given with
// WithResolver see every question a node asks with Interrupt, in order,
// before the thread pauses; the first that answers wins, and its answer is
// validated against the question's schema and recorded with the resolver's
// name as author (channel checkpoint.ChannelResolver). When all decline, the
// thread pauses as usual. A resolver's error fails the node (and the run)
// with that error. Breakpoints (InterruptBefore, InterruptAfter) are not
// offered to resolvers: they always pause.
type Resolver interface {
	// Name is recorded as the author of the resolver's answers.
	Name() string
	// Resolve answers q (ok true) or declines (ok false).
	Resolve(ctx context.Context, q Question) (answer any, ok bool, err error)
}

// ResolverFunc makes a Resolver named name from fn.
func ResolverFunc(name string, fn func(ctx context.Context, q Question) (answer any, ok bool, err error)) Resolver {
	return resolverFunc{name: name, fn: fn}
}

type resolverFunc struct {
	name string
	fn   func(ctx context.Context, q Question) (any, bool, error)
}

func (r resolverFunc) Name() string { return r.name }
func (r resolverFunc) Resolve(ctx context.Context, q Question) (any, bool, error) {
	return r.fn(ctx, q)
}

// WithResolver offers questions to r before pausing (see Resolver). It works
// at Compile and per run; a run's resolvers come after the workflow's.
func WithResolver(r Resolver) ResolverOption { return ResolverOption{r: r} }

// ResolverOption is the option WithResolver returns.
type ResolverOption struct{ r Resolver }

func (o ResolverOption) applyCompile(c *compileConfig) { c.resolvers = append(c.resolvers, o.r) }
func (o ResolverOption) applyRun(c *runConfig)         { c.resolvers = append(c.resolvers, o.r) }

// resolve offers rec to the run's resolvers. It returns the answer of the
// first that answers, recorded in rec, or nil if all decline.
func (t *task[S]) resolve(rec *checkpoint.InterruptRecord) (json.RawMessage, error) {
	r := t.r
	for _, res := range slices.Concat(r.wf.cfg.resolvers, r.rc.resolvers) {
		v, ok, err := res.Resolve(t, questionOf(rec))
		if err != nil {
			return nil, fmt.Errorf("resolver %s on node %s: %w", res.Name(), t.path, err)
		}
		if !ok {
			continue
		}
		raw, err := json.Marshal(v)
		if err == nil && !typeAnswers(rec.Schema, v) {
			err = validate(rec.Schema, raw)
		}
		if err != nil {
			return nil, fmt.Errorf("resolver %s on node %s: %w: %w", res.Name(), t.path, ErrInvalidAnswer, err)
		}
		rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, raw, res.Name(), checkpoint.ChannelResolver, r.now()
		return raw, nil
	}
	return nil, nil
}
