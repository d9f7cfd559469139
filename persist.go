package weft

import (
	"context"
	"fmt"
	"reflect"

	"github.com/weftgraph/weft/checkpoint"
)

// persister is what the engine needs from storage, with state as Go values.
// storePersister adapts a checkpoint.Store (encoding fields to blobs);
// memPersister keeps values as they are, for workflows without a store.
type persister[S any] interface {
	thread(ctx context.Context, id string) (*checkpoint.Thread, error)
	// snapshot loads a checkpoint and its state; id "" is the head.
	snapshot(ctx context.Context, thread, ns, id string) (*snap[S], error)
	commit(ctx context.Context, c *commit[S]) (int64, error)
	putWrites(ctx context.Context, thread string, version int64, ws []write[S]) error
	// writes loads the pending writes of the superstep from checkpoint
	// cpID, whose state is base (outputs are stored as changes of it).
	writes(ctx context.Context, thread, ns, cpID string, base *S) ([]write[S], error)
	history(ctx context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error)
	interrupts(ctx context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error)
	answer(ctx context.Context, as []checkpoint.Answer) error
	steps(ctx context.Context, thread string) ([]checkpoint.Step, error)
	deleteThread(ctx context.Context, thread string) error
	// keeps reports whether commit keeps the snapshot it is given (as
	// the memStore does), so the engine must not reuse it.
	keeps() bool
	// backing is what the persister keeps state in, for the persisters of
	// subgraphs, whose state types differ but whose thread is the same.
	backing() backing
}

// backing is a Store (with its codec), a memStore, or nothing (nop).
type backing struct {
	st    checkpoint.Store
	codec Codec
	mem   *memStore
	nop   bool
}

// persisterFor returns a persister for state type C over b.
func persisterFor[C any](b backing, si *stateInfo) persister[C] {
	if b.nop {
		return nopPersister[C]{}
	}
	if b.mem != nil {
		return memPersister[C]{m: b.mem}
	}
	return &storePersister[C]{st: b.st, si: si, codec: b.codec}
}

func (p *storePersister[S]) keeps() bool { return false }

func (p *storePersister[S]) backing() backing { return backing{st: p.st, codec: p.codec} }

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
	// head, if set, is the snapshot whose cp is c.Checkpoint: the engine
	// does not change it after the commit, so it may be kept as it is.
	head *snap[S]
}

// write is a pending write: a finished task's output or a journal entry.
type write[S any] struct {
	ns, cpID, task, kind, key string
	out                       S      // kind "output"
	base                      *S     // kind "output": the state the task started from
	data                      []byte // other kinds
}

const (
	writeOutput = "output"
	writeGoto   = "goto"
	writeDo     = "do"
)

// storePersister keeps state in a checkpoint.Store, one blob per field.
type storePersister[S any] struct {
	st    checkpoint.Store
	si    *stateInfo
	codec Codec
}

func (p *storePersister[S]) thread(ctx context.Context, id string) (*checkpoint.Thread, error) {
	return p.st.Thread(ctx, id)
}

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

func (p *storePersister[S]) commit(ctx context.Context, c *commit[S]) (int64, error) {
	sc := &c.c
	if cp := sc.Checkpoint; cp != nil {
		var prev reflect.Value
		var prevVersions map[string]int64
		if c.prev != nil {
			prev = reflect.ValueOf(&c.prev.state).Elem()
			prevVersions = c.prev.cp.Versions
		}
		versions, blobs, err := p.si.encode(p.codec, reflect.ValueOf(&c.state).Elem(), prev, prevVersions, sc.ExpectedVersion+1)
		if err != nil {
			return 0, err
		}
		// The engine keeps the versions to diff the next checkpoint; the
		// blobs go to the store only.
		cp.Versions, cp.Blobs = versions, blobs
		defer func() { cp.Blobs = nil }()
	}
	if len(c.writes) > 0 {
		ws, err := p.encodeWrites(c.writes)
		if err != nil {
			return 0, err
		}
		sc.Writes = append(sc.Writes, ws...)
	}
	return p.st.Commit(ctx, sc)
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

func (p *storePersister[S]) putWrites(ctx context.Context, thread string, version int64, ws []write[S]) error {
	pw, err := p.encodeWrites(ws)
	if err != nil {
		return err
	}
	return p.st.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: thread, Version: version, Writes: pw})
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

func (p *storePersister[S]) history(ctx context.Context, q *checkpoint.HistoryQuery) ([]checkpoint.Checkpoint, error) {
	return p.st.History(ctx, q)
}

func (p *storePersister[S]) interrupts(ctx context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	return p.st.Interrupts(ctx, q)
}

func (p *storePersister[S]) answer(ctx context.Context, as []checkpoint.Answer) error {
	return p.st.Answer(ctx, as)
}

func (p *storePersister[S]) steps(ctx context.Context, thread string) ([]checkpoint.Step, error) {
	return p.st.Steps(ctx, thread, 0)
}

func (p *storePersister[S]) deleteThread(ctx context.Context, thread string) error {
	return p.st.DeleteThread(ctx, thread)
}
