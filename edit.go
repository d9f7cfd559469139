package weft

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// UpdateOption configures UpdateState and Fork (and their JSON forms,
// StateEditor's UpdateStateJSON and ForkJSON): AsNode, By and Note.
type UpdateOption interface{ applyUpdate(*updateConfig) }

type updateConfig struct{ asNode, author, channel, note string }

type updateFunc func(*updateConfig)

func (f updateFunc) applyUpdate(c *updateConfig) { f(c) }

// AsNode makes an update count as the output of node: the next superstep
// runs the nodes that follow it, as if it had just run.
func AsNode(node string) UpdateOption { return updateFunc(func(c *updateConfig) { c.asNode = node }) }

// UpdateState changes a thread's state between runs: fn gets (a copy of)
// the current state and returns the new one, written as a new checkpoint.
//
// Without AsNode the thread runs the same nodes next, and the effects its
// paused (or stopped, or failed) superstep journaled with Do are kept: they
// do not run again, and keep their EffectIDs. With AsNode the thread runs
// the nodes after that node, as if it had just run; effects run again as
// new executions. Either way the superstep's other outputs are dropped (its
// nodes run again on the new state), its pending questions are cancelled
// (the nodes that asked ask again when they run), a breakpoint the thread
// was paused at is passed when it is resumed, and the thread is stopped
// (completed if nothing runs next): Resume carries it on.
//
// An update that changes nothing (fn returns the state as it was, without
// AsNode) writes nothing and leaves the thread as it is. A thread that is
// running, or ready (answers wait to be acted on), is refused with ErrBusy.
// UpdateState of a thread that does not exist creates it from the zero
// state (with WithDefaults) updated by fn, stopped before the nodes after
// Start (or after AsNode's node): Resume runs it.
func (wf *Workflow[S]) UpdateState(ctx context.Context, thread string, fn func(S) S, opts ...UpdateOption) (*Snapshot[S], error) {
	return wf.write(ctx, thread, "", fn, checkpoint.SourceUpdate, opts)
}

// Fork rewinds a thread to a past checkpoint (time travel): a new checkpoint
// with that checkpoint's state, changed by fn if not nil, becomes the head,
// and Resume runs again from there: the nodes after it run again, their
// effects as new executions with new EffectIDs. The history after the past
// checkpoint stays in History. Fork of the head is UpdateState.
func (wf *Workflow[S]) Fork(ctx context.Context, thread, checkpointID string, fn func(S) S, opts ...UpdateOption) (*Snapshot[S], error) {
	if checkpointID == "" {
		return nil, fmt.Errorf("weft: Fork of thread %q needs a checkpoint ID", thread)
	}
	return wf.write(ctx, thread, checkpointID, fn, checkpoint.SourceFork, opts)
}

func (wf *Workflow[S]) write(ctx context.Context, thread, baseID string, fn func(S) S, source string, opts []UpdateOption) (*Snapshot[S], error) {
	var cfg updateConfig
	for _, o := range opts {
		if o != nil {
			o.applyUpdate(&cfg)
		}
	}
	if cfg.asNode != "" && wf.nodes[cfg.asNode] == nil {
		return nil, fmt.Errorf("weft: AsNode(%q): no such node: %w", cfg.asNode, ErrInvalidGraph)
	}
	if err := checkThreadID(thread); err != nil {
		return nil, err
	}
	ctx, a, err := wf.acquire(ctx, thread)
	if err != nil {
		return nil, err
	}
	defer a.release()
	row, err := wf.st.Thread(ctx, thread)
	if errors.Is(err, checkpoint.ErrNotFound) && baseID == "" {
		return wf.create(ctx, thread, fn, &cfg)
	}
	if err != nil {
		return nil, err
	}
	if err := wf.owns(row); err != nil {
		return nil, err
	}
	switch row.Status {
	case StatusRunning:
		return nil, fmt.Errorf("thread %q is running (in %s): %w", thread, row.Owner, ErrBusy)
	case StatusReady:
		return nil, fmt.Errorf("thread %q is ready: answers or a submitted run wait to be acted on; resume it first: %w", thread, ErrBusy)
	}
	base, err := wf.p.rootSnapshot(ctx, row, baseID, nil)
	if err != nil {
		return nil, err
	}
	atHead := base.cp.ID == row.Head
	state := base.state
	if fn != nil {
		state = fn(copyState(wf.state, base.state))
	}
	if atHead && cfg.asNode == "" && wf.state.equalStates(reflectOf(&state), reflectOf(&base.state)) {
		return wf.State(ctx, thread) // nothing changes
	}
	next := base.cp.Next
	meta := cfg.meta()
	if cfg.asNode != "" {
		if next, err = wf.next([]string{cfg.asNode}, state); err != nil {
			return nil, err
		}
		meta[metaAsNode] = cfg.asNode
	}
	if atHead && row.Status == StatusInterrupted {
		recs, err := wf.questionsAt(ctx, thread, base.cp.ID, "")
		if err != nil {
			return nil, err
		}
		var passed []string
		for _, rec := range recs {
			if rec.Kind == checkpoint.KindBefore && slices.Contains(next, rec.Task) {
				passed = append(passed, rec.Task)
			}
		}
		if len(passed) > 0 {
			meta[metaPassed] = strings.Join(passed, ",")
		}
	}
	cp := &checkpoint.Checkpoint{
		ThreadID: thread, ParentID: base.cp.ID, Step: base.cp.Step + 1,
		Source: source, Next: next, Meta: meta, CreatedAt: wf.now(),
	}
	at := cp.CreatedAt
	c := &commit[S]{c: checkpoint.Commit{At: at, Checkpoint: cp, VerifyBlobs: !atHead,
		Cancel: &checkpoint.Cancellation{Author: "weft", Channel: checkpoint.ChannelEngine, At: at, Note: "superseded by an edit of the thread's state"}},
		state: state, prev: base}
	if atHead && cfg.asNode == "" {
		// The same nodes run next: the superstep's journals carry over.
		meta[metaOrigin] = originOf(&base.cp)
		c.c.Carry = &checkpoint.Carry{From: base.cp.ID, Kinds: []string{writeDo}}
	}
	r := wf.newRun(ctx, ctx, wf.p, thread, &runConfig{}, nil)
	r.tr.setRow(*row, false, time.Time{})
	status := StatusStopped
	if len(next) == 0 {
		status = StatusCompleted
	}
	if err := r.save(c, status, "", nil); err != nil {
		return nil, err
	}
	return wf.snapshotOf(&r.tr.row, &snap[S]{cp: *cp, state: state}), nil
}

// create makes a thread with UpdateState: the zero state (with defaults)
// changed by fn, stopped before what runs after Start or cfg.asNode.
func (wf *Workflow[S]) create(ctx context.Context, thread string, fn func(S) S, cfg *updateConfig) (*Snapshot[S], error) {
	var zero S
	state := wf.withDefaults(zero)
	if fn != nil {
		state = fn(state)
	}
	from := Start
	meta := cfg.meta()
	if cfg.asNode != "" {
		from = cfg.asNode
		meta[metaAsNode] = cfg.asNode
	}
	next, err := wf.next([]string{from}, state)
	if err != nil {
		return nil, err
	}
	cp := &checkpoint.Checkpoint{ThreadID: thread, Source: checkpoint.SourceUpdate, Next: next, Meta: meta, CreatedAt: wf.now()}
	r := wf.newRun(ctx, ctx, wf.p, thread, &runConfig{}, nil)
	status := StatusStopped
	if len(next) == 0 {
		status = StatusCompleted
	}
	if err := r.save(&commit[S]{c: checkpoint.Commit{At: cp.CreatedAt, Checkpoint: cp}, state: state}, status, "", nil); err != nil {
		return nil, busyError(err)
	}
	return wf.snapshotOf(&r.tr.row, &snap[S]{cp: *cp, state: state}), nil
}
