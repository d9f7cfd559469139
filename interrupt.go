package weft

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// InterruptOption configures one question.
type InterruptOption func(*askConfig)

type askConfig struct {
	key       string
	reason    string
	assignees []string
	deadline  time.Duration
	fallback  any
	hasFB     bool
	escalate  []string
}

// Key names the question. Its ID then derives from the key instead of the
// call's position in the node, so reordering calls is detected as a
// mismatch rather than answered with another question's answer. Keys also
// match the up-front answers of Answers.
func Key(k string) InterruptOption { return func(c *askConfig) { c.key = k } }

// Reason says why the node asks; it is shown with the question.
func Reason(r string) InterruptOption { return func(c *askConfig) { c.reason = r } }

// Assign restricts who may answer: principals or roles, as the server and
// the inbox understand them.
func Assign(who ...string) InterruptOption {
	return func(c *askConfig) { c.assignees = append(c.assignees, who...) }
}

// Within gives the question a deadline: if nobody answered after d, the
// inbox's deadline runner answers it with fallback (author "deadline").
func Within(d time.Duration, fallback any) InterruptOption {
	return func(c *askConfig) { c.deadline, c.fallback, c.hasFB = d, fallback, true }
}

// Escalate gives the question a deadline after which the inbox's deadline
// runner reassigns it to others instead of answering it.
func Escalate(d time.Duration, to ...string) InterruptOption {
	return func(c *askConfig) { c.deadline, c.escalate = d, to }
}

// taskKey finds the running task in a node's context.
type taskKey struct{}

// task is one node execution within a superstep. It is the node's context.
type task[S any] struct {
	context.Context
	r    *run[S]
	path string // node path ("outer/inner/review")
	name string // task name within the superstep ("review", "tools#2")
	cpID string // checkpoint the superstep started from, in its namespace

	node string // node name
	off  bool   // runs on another goroutine than the root run's

	mu      sync.Mutex
	prior   []checkpoint.InterruptRecord // this task's questions at this pause, by index
	calls   int
	asked   []checkpoint.InterruptRecord // questions asked by this execution
	waiting int                          // questions this execution waits on
	fatal   error                        // fails the task even if the node swallows it
	gotos   []string                     // Command.Goto
	journal map[string][]byte            // Do results of this execution
	nested  []checkpoint.InterruptRecord // questions pending in a subgraph it runs
}

func (t *task[S]) Value(key any) any {
	if key == (taskKey{}) {
		return t
	}
	return t.Context.Value(key)
}

// asker is what Interrupt needs of a task, whatever the state type.
type asker interface {
	ask(payload any, t reflect.Type, cfg *askConfig) (json.RawMessage, error)
}

// Interrupt asks a human a question and returns the answer, decoded into T.
//
// The first time a node reaches the call, the thread pauses: Interrupt
// returns a *PauseError, which the node returns (unchanged or wrapped). The
// payload (any JSON-encodable value) is shown to the human with the JSON
// schema of T; the answer must satisfy it. When the thread is resumed with an
// answer the node runs again from its start, and this call returns the
// answer. Several calls in one node each have their own question; answers go
// to calls by position (or by Key). Code before an Interrupt runs again on
// resume: wrap side effects in weft.Do.
func Interrupt[T any](ctx context.Context, payload any, opts ...InterruptOption) (T, error) {
	var zero T
	a, ok := ctx.Value(taskKey{}).(asker)
	if !ok {
		return zero, fmt.Errorf("weft.Interrupt: %w", ErrOutsideNode)
	}
	var cfg askConfig
	for _, o := range opts {
		o(&cfg)
	}
	raw, err := a.ask(payload, reflect.TypeFor[T](), &cfg)
	if err != nil {
		return zero, err
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return zero, fmt.Errorf("weft.Interrupt: answer does not decode into %T: %w: %w", zero, ErrInvalidAnswer, err)
	}
	return v, nil
}

// interruptID derives a question's ID from where it is asked.
func interruptID(thread, ns, cpID, task, which string) string {
	return stableID(12, thread, ns, cpID, task, which)
}

// stableID is the hex of the first size bytes of the SHA-256 of parts,
// each followed by a zero byte: the same in every process.
func stableID(size int, parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var sum [32]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:size])
}

func (t *task[S]) ask(payload any, typ reflect.Type, cfg *askConfig) (json.RawMessage, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.r
	idx := t.calls
	t.calls++
	which := "#" + strconv.Itoa(idx)
	if cfg.key != "" {
		which = "k:" + cfg.key
	}
	id := interruptID(r.thread, r.ns, t.cpID, t.name, which)
	if idx < len(t.prior) {
		rec := &t.prior[idx]
		if rec.ID != id {
			t.fatal = fmt.Errorf("node %s: call %d asks %s but the thread recorded %s: %w",
				t.path, idx, describe(cfg.key, idx), describe(rec.Key, rec.Index), ErrInterruptMismatch)
			return nil, t.fatal
		}
		if rec.Status == checkpoint.InterruptAnswered {
			return rec.Answer, nil
		}
		t.waiting++
		return nil, &PauseError{ID: id, Node: t.path}
	}
	value, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("weft.Interrupt: payload of node %s: %w", t.path, err)
	}
	schema, err := schemaFor(typ)
	if err != nil {
		return nil, err
	}
	now := r.now()
	rec := checkpoint.InterruptRecord{
		ID: id, ThreadID: r.thread, Workflow: r.wf.name, CheckpointID: r.rootCP, Namespace: r.ns,
		Node: t.path, Task: t.name, Kind: checkpoint.KindDynamic, Key: cfg.key, Index: idx,
		Reason: cfg.reason, Value: value, Schema: schema, Assignees: cfg.assignees,
		EscalateTo: cfg.escalate, Status: checkpoint.InterruptPending, CreatedAt: now,
	}
	if cfg.deadline > 0 {
		rec.Deadline = now.Add(cfg.deadline)
	}
	if cfg.hasFB {
		if rec.Fallback, err = json.Marshal(cfg.fallback); err != nil {
			return nil, fmt.Errorf("weft.Within: fallback of node %s: %w", t.path, err)
		}
	}
	if ans, ok := r.replayed(id, cfg.key, t.path); ok {
		if err := validate(schema, ans); err != nil {
			return nil, fmt.Errorf("up-front answer for node %s: %w: %w", t.path, ErrInvalidAnswer, err)
		}
		rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, ans, r.author(), r.channel(), now
		t.asked = append(t.asked, rec)
		r.answeredEvent(&rec, t.off)
		return ans, nil
	}
	ans, err := t.resolve(&rec)
	if err != nil {
		t.fatal = err
		return nil, err
	}
	t.asked = append(t.asked, rec)
	if ans != nil {
		r.answeredEvent(&rec, t.off)
		return ans, nil
	}
	t.waiting++
	return nil, &PauseError{ID: id, Node: t.path}
}

func describe(key string, idx int) string {
	if key != "" {
		return fmt.Sprintf("key %q", key)
	}
	return fmt.Sprintf("question #%d", idx)
}
