package weft

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// persister is what the engine needs to keep state, with state as Go
// values. storePersister adapts a checkpoint.Store (encoding fields to
// blobs); nopPersister keeps nothing, for ephemeral runs.
type persister[S any] interface {
	// store is the Store behind the persister, nil for nopPersister.
	store() checkpoint.Store
	// snapshot loads a checkpoint and its state; id "" is the head.
	snapshot(ctx context.Context, thread, ns, id string) (*snap[S], error)
	// rootSnapshot loads a checkpoint of the thread's own graph; id "" is
	// row's head. It may come from a cache of decoded heads, and is then
	// copied into into when into is not nil.
	rootSnapshot(ctx context.Context, row *checkpoint.Thread, id string, into *snap[S]) (*snap[S], error)
	commit(ctx context.Context, c *commit[S]) (int64, error)
	// keep notes that s is the head of the thread (created at created: its
	// incarnation), which a run leaves (it paused or stopped on it): the
	// next reader may take it from a cache instead of decoding it.
	keep(thread string, created time.Time, s *snap[S])
	putWrites(ctx context.Context, p checkpoint.PutWrites, ws []write[S]) error
	// writes loads the pending writes of the superstep from checkpoint
	// cpID, whose state is base (outputs are stored as changes of it).
	writes(ctx context.Context, thread, ns, cpID string, base *S) ([]write[S], error)
	// backing is what the persister keeps state in, for the persisters of
	// subgraphs, whose state types differ but whose thread is the same.
	backing() backing
}

// backing is a Store with its codec, or nothing (nop).
type backing struct {
	st    checkpoint.Store
	codec Codec
}

// persisterFor returns a persister for state type C over b.
func persisterFor[C any](b backing, si *stateInfo) persister[C] {
	if b.st == nil {
		return nopPersister[C]{}
	}
	return &storePersister[C]{st: b.st, si: si, codec: b.codec}
}

// snap is a checkpoint (without blobs) and its state.
type snap[S any] struct {
	cp    checkpoint.Checkpoint
	state S
}

// commit is a checkpoint.Commit whose checkpoint state is still a value.
type commit[S any] struct {
	c checkpoint.Commit
	// state is the state of c.Checkpoint; prev the snapshot it derives
	// from (nil for a thread's first checkpoint).
	state  S
	prev   *snap[S]
	writes []write[S]
	// blobs is a buffer for the checkpoint's encoded blobs, which go to
	// the store only (stores copy what they are given): the commits of one
	// run hand it on to reuse it, and data, where the blobs of plain
	// fields keep their bytes.
	blobs []checkpoint.Blob
	data  []byte
}

// write is a pending write: a finished task's output or a journal entry.
type write[S any] struct {
	ns, cpID, task, kind, key string
	out                       S      // kind "output"
	base                      *S     // kind "output": the state the task started from
	data                      []byte // other kinds
}

// The kinds of pending writes the engine makes.
const (
	writeOutput = "output" // a finished task's state, as a delta of its input
	writeGoto   = "goto"   // a finished task's Command.Goto (JSON list)
	writeDo     = "do"     // a Do journal entry (JSON)
	writeInput  = "input"  // a run submitted without running it (JSON state)
	writeResume = "resume" // an update and gotos given with answers (JSON)
)

// storePersister keeps state in a checkpoint.Store, one blob per field.
type storePersister[S any] struct {
	st    checkpoint.Store
	si    *stateInfo
	codec Codec
	heads *headCache[S] // nil for subgraphs' persisters
}

func (p *storePersister[S]) store() checkpoint.Store { return p.st }

func (p *storePersister[S]) backing() backing { return backing{st: p.st, codec: p.codec} }

func (p *storePersister[S]) snapshot(ctx context.Context, thread, ns, id string) (*snap[S], error) {
	cp, err := p.st.Checkpoint(ctx, thread, ns, id)
	if err != nil {
		return nil, err
	}
	v, err := p.si.decode(p.codec, cp)
	if err != nil {
		return nil, err
	}
	cp.Blobs = nil
	return &snap[S]{cp: *cp, state: v.Interface().(S)}, nil
}

func (p *storePersister[S]) rootSnapshot(ctx context.Context, row *checkpoint.Thread, id string, into *snap[S]) (*snap[S], error) {
	if id == "" {
		id = row.Head
	}
	if id == "" || id != row.Head || p.heads == nil {
		// Only heads are cached: an older checkpoint may have been pruned.
		return p.snapshot(ctx, row.ID, "", id)
	}
	key := headKey(row.ID, row.CreatedAt, id)
	if s, ok := p.heads.get(key, into); ok {
		return s, nil
	}
	s, err := p.snapshot(ctx, row.ID, "", id)
	if err == nil {
		p.heads.put(key, s)
	}
	return s, err
}

// resumable reports whether a thread left in status is one a Resume will
// read the head of next: paused, stopped, failed, ready.
func resumable(status checkpoint.Status) bool {
	switch status {
	case checkpoint.StatusInterrupted, checkpoint.StatusStopped, checkpoint.StatusFailed, checkpoint.StatusReady:
		return true
	}
	return false
}

func (p *storePersister[S]) keep(thread string, created time.Time, s *snap[S]) {
	if p.heads != nil && s != nil && s.cp.ID != "" && s.cp.Namespace == "" {
		p.heads.put(headKey(thread, created, s.cp.ID), s)
	}
}

func (p *storePersister[S]) commit(ctx context.Context, c *commit[S]) (int64, error) {
	sc := &c.c
	if cp := sc.Checkpoint; cp != nil {
		var prev reflect.Value
		var prevVersions map[string]int64
		if c.prev != nil {
			prev = reflect.ValueOf(&c.prev.state).Elem()
			prevVersions = c.prev.cp.Versions
		}
		versions, blobs, data, err := p.si.encode(p.codec, reflect.ValueOf(&c.state).Elem(), prev, prevVersions, sc.ExpectedVersion+1, c.blobs[:0], c.data[:0])
		if err != nil {
			return 0, err
		}
		// The engine keeps the versions to diff the next checkpoint; the
		// blobs go to the store only, and their slice back to c.blobs,
		// the bytes of plain fields to c.data.
		cp.Versions, cp.Blobs = versions, blobs
		defer func() {
			clear(blobs) // drop the encoded data
			cp.Blobs, c.blobs, c.data = nil, blobs[:0], data[:0]
		}()
	}
	if len(c.writes) > 0 {
		ws, err := p.encodeWrites(c.writes)
		if err != nil {
			return 0, err
		}
		sc.Writes = append(sc.Writes, ws...)
	}
	v, err := p.st.Commit(ctx, sc)
	// Keep the head of a thread the run leaves to be resumed (paused, failed,
	// stopped, ready): the next Resume reads it. A run that goes on keeps its
	// state in memory; a completed thread is read less often than it is made.
	if err == nil && p.heads != nil && sc.Checkpoint != nil && sc.Checkpoint.Namespace == "" && resumable(sc.Thread.Status) {
		created := sc.Thread.CreatedAt
		if sc.ExpectedVersion == 0 {
			created = sc.At
		}
		cp := *sc.Checkpoint
		p.heads.put(headKey(sc.Thread.ID, created, cp.ID), &snap[S]{cp: cp, state: c.state})
	}
	return v, err
}

func (p *storePersister[S]) encodeWrites(ws []write[S]) ([]checkpoint.PendingWrite, error) {
	out := make([]checkpoint.PendingWrite, len(ws))
	for i, w := range ws {
		data := w.data
		if w.kind == writeOutput {
			b, err := p.si.encodeDelta(p.codec, reflect.ValueOf(w.base).Elem(), reflect.ValueOf(&w.out).Elem())
			if err != nil {
				return nil, err
			}
			data = b
		}
		out[i] = checkpoint.PendingWrite{Namespace: w.ns, CheckpointID: w.cpID, Task: w.task, Kind: w.kind, Key: w.key, Data: data}
	}
	return out, nil
}

func (p *storePersister[S]) putWrites(ctx context.Context, pw checkpoint.PutWrites, ws []write[S]) error {
	enc, err := p.encodeWrites(ws)
	if err != nil {
		return err
	}
	pw.Writes = enc
	return p.st.PutWrites(ctx, &pw)
}

func (p *storePersister[S]) writes(ctx context.Context, thread, ns, cpID string, base *S) ([]write[S], error) {
	pws, err := p.st.PendingWrites(ctx, thread, ns, cpID)
	if err != nil {
		return nil, err
	}
	out := make([]write[S], len(pws))
	for i, pw := range pws {
		w := write[S]{ns: pw.Namespace, cpID: pw.CheckpointID, task: pw.Task, kind: pw.Kind, key: pw.Key, data: pw.Data}
		if pw.Kind == writeOutput {
			v, err := p.si.decodeDelta(p.codec, reflect.ValueOf(base).Elem(), pw.Data)
			if err != nil {
				return nil, fmt.Errorf("thread %q checkpoint %s: pending output of %s: %w: %w", thread, cpID, pw.Task, ErrCorruptCheckpoint, err)
			}
			w.out, w.data = v.Interface().(S), nil
		}
		out[i] = w
	}
	return out, nil
}

// nopPersister keeps nothing: the persister of ephemeral runs (thread ""),
// which are never resumed nor looked at after they return. Commits only
// count versions.
type nopPersister[S any] struct{}

func (nopPersister[S]) store() checkpoint.Store { return nil }
func (nopPersister[S]) backing() backing        { return backing{} }

func (nopPersister[S]) snapshot(_ context.Context, thread, ns, id string) (*snap[S], error) {
	return nil, fmt.Errorf("weft: ephemeral thread: checkpoint %q in namespace %q: %w", id, ns, checkpoint.ErrNotFound)
}

func (nopPersister[S]) rootSnapshot(_ context.Context, row *checkpoint.Thread, id string, _ *snap[S]) (*snap[S], error) {
	return nil, fmt.Errorf("weft: ephemeral thread: checkpoint %q: %w", id, checkpoint.ErrNotFound)
}

func (nopPersister[S]) keep(string, time.Time, *snap[S]) {}

func (nopPersister[S]) commit(_ context.Context, c *commit[S]) (int64, error) {
	return c.c.ExpectedVersion + 1, nil
}

func (nopPersister[S]) putWrites(context.Context, checkpoint.PutWrites, []write[S]) error { return nil }

func (nopPersister[S]) writes(context.Context, string, string, string, *S) ([]write[S], error) {
	return nil, nil
}
