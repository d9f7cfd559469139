package weft

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// InterruptOption configures one question.
type InterruptOption func(*askConfig)

type askConfig struct {
	key        string
	reason     string
	assignees  []string
	within     time.Duration // fallback deadline
	fallback   any
	hasFB      bool
	escalateIn time.Duration
	escalate   []string
}

// Key names the question within its node. A keyed question is matched to
// its recorded answer by key, whatever the order of the node's calls; the
// key also names it in Answers (qualified by the subgraphs it is asked in:
// "decision", "inner.decision"). A key may be asked once per run of a node.
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
// With Escalate too, whichever deadline comes first acts first: an
// escalation before d reassigns the question and the fallback still comes
// at d; a fallback before the escalation answers it.
func Within(d time.Duration, fallback any) InterruptOption {
	return func(c *askConfig) { c.within, c.fallback, c.hasFB = d, fallback, true }
}

// Escalate reassigns the question to others if nobody answered after d
// (the inbox's deadline runner does it). See Within for both together.
func Escalate(d time.Duration, to ...string) InterruptOption {
	return func(c *askConfig) { c.escalateIn, c.escalate = d, to }
}

// taskKey finds the running task in a node's context.
type taskKey struct{}

// task is one node execution within a superstep. It is the node's context.
// It is made for every node that runs (run.newTask), so what only nodes
// that ask, jump or journal need is in taskRare, made on demand: the task
// stays small.
type task[S any] struct {
	context.Context
	r      *run[S]
	calls  *atomic.Int32 // the thread's weft calls in flight (enter)
	path   string        // node path ("outer/inner/review")
	name   string        // task name within the superstep ("review", "tools#2")
	cpID   string        // checkpoint the superstep started from, in its namespace
	origin string        // the checkpoint the superstep first ran from (originOf)

	node string // node name

	mu sync.Mutex
	// prior are this task's questions at this pause, in call order
	// (taskRare.used marks those a call of this execution matched).
	prior   []checkpoint.InterruptRecord
	asked   []checkpoint.InterruptRecord // new questions of this execution
	waiting int                          // questions this execution waits on
	fatal   error                        // fails the task even if the node swallows it
	x       *taskRare                    // what few tasks need, made on demand
	doneCh  chan struct{}                // closed when the node returns (made on demand)
	ended   atomic.Bool                  // the node returned
	watched atomic.Bool                  // done was called: end must close doneCh
	off     bool                         // runs on another goroutine than the root run's
}

// taskRare is the part of a task that most tasks never use, kept apart so
// that a task is small.
type taskRare struct {
	gotos   []string                     // Command.Goto
	journal map[string][]byte            // Do results of this execution (and of failed attempts)
	nested  []checkpoint.InterruptRecord // questions pending in a subgraph it runs
	unasked []string                     // prior questions it finished without

	// What Interrupt calls keep to match questions to the prior ones.
	used     []bool                       // the prior questions a call matched
	calls    int                          // Interrupt calls so far
	keys     map[string]bool              // keys asked by this execution
	digests  []digestSum                  // the digests of the unkeyed questions asked, in call order (few)
	byDigest map[digestSum]int            // how many of each, once digests holds more than a few
	room     [2]digestSum                 // digests' first array
	firstNew *newCall                     // the first call that matched no prior question
	still    []checkpoint.InterruptRecord // prior questions it waits on again
}

// countDigest counts an unkeyed question of digest d and returns how many
// with that digest the execution asked before it. Most nodes ask once or
// a few times: a slice, searched; a node that asks more moves to a map.
func (x *taskRare) countDigest(d digestSum) int {
	const few = 8
	if x.digests == nil {
		x.digests = x.room[:0]
	}
	if x.byDigest == nil && len(x.digests) < few {
		k := 0
		for _, e := range x.digests {
			if e == d {
				k++
			}
		}
		x.digests = append(x.digests, d)
		return k
	}
	if x.byDigest == nil {
		x.byDigest = make(map[digestSum]int, 2*few)
		for _, e := range x.digests {
			x.byDigest[e]++
		}
		x.digests = nil
	}
	k := x.byDigest[d]
	x.byDigest[d]++
	return k
}

// rare returns t.x, made if need be. The caller holds t.mu, or is the only
// goroutine that can see t.
func (t *task[S]) rare() *taskRare {
	if t.x == nil {
		t.x = t.r.newRare()
	}
	return t.x
}

func (t *task[S]) Value(key any) any {
	if key == (taskKey{}) {
		return t
	}
	return t.Context.Value(key)
}

// end marks the node as returned: what it left running (a goroutine that
// emits, asks or journals) is refused from now on.
func (t *task[S]) end() {
	t.ended.Store(true)
	if !t.watched.Load() {
		return // nobody waits on done: no lock to take
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.doneCh != nil {
		select {
		case <-t.doneCh: // done saw ended and closed it
		default:
			close(t.doneCh)
		}
	}
}

// done returns a channel closed when the node returns.
func (t *task[S]) done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	// watched is stored before ended is read, and end stores ended before
	// it reads watched: one of the two sees the other, so the channel is
	// closed once the node returned, whichever came first.
	t.watched.Store(true)
	if t.doneCh == nil {
		t.doneCh = make(chan struct{})
		if t.ended.Load() {
			close(t.doneCh)
		}
	}
	return t.doneCh
}

// enter starts a weft call on the task's context (Emit, Interrupt, Do,
// Return), from the node or from a goroutine it left running, and leave
// ends it. Once the node has returned, enter refuses the call (the error
// says what was called) without touching the run; a call that entered
// before is counted until it leaves, and a root run's allocation is
// recycled only when no call is (Workflow.recycle). The count is taken
// before ended is read, and end stores ended before the run is recycled:
// a call either sees that the node returned or is counted.
func (t *task[S]) enter(what string) error {
	t.calls.Add(1)
	if t.ended.Load() {
		t.calls.Add(-1)
		return t.errReturned(what)
	}
	return nil
}

// leave ends a call that enter started.
func (t *task[S]) leave() { t.calls.Add(-1) }

// errReturned refuses calls made after the node returned.
func (t *task[S]) errReturned(what string) error {
	return fmt.Errorf("%s after node %s returned: %w", what, t.path, ErrOutsideNode)
}

// asker is what Interrupt needs of a task, whatever the state type.
type asker interface {
	ask(payload any, t reflect.Type, cfg askConfig) (json.RawMessage, error)
}

// Interrupt asks a human a question and returns the answer, decoded into T.
//
// The first time a node reaches the call, the thread pauses: Interrupt
// returns a *PauseError, which the node returns (unchanged or wrapped). The
// payload (any JSON-encodable value) is shown to the human with the JSON
// schema of T; the answer must satisfy it. When the thread is resumed with an
// answer the node runs again from its start, and this call returns the
// answer. Code before an Interrupt runs again on resume: wrap side effects
// in weft.Do.
//
// An answer reaches only the call that asked its question. A call with a
// Key gets the answer recorded for that key; a call without one gets the
// answer of the recorded question with the same payload and schema. So
// the node may ask in another order when it runs again (ranging over a
// map, from several goroutines at once: each call gets its own answer),
// but it must ask the same questions: a call whose key was answered for
// another payload, or an answer that no call of the new run asks for,
// fails the node with ErrInterruptMismatch rather than hand an answer to
// a question nobody saw. The payload must therefore be the same when the
// node runs again: keep what varies (times, random IDs) in the state.
func Interrupt[T any](ctx context.Context, payload any, opts ...InterruptOption) (T, error) {
	var zero T
	a, ok := ctx.Value(taskKey{}).(asker)
	if !ok {
		return zero, fmt.Errorf("weft.Interrupt: %w", ErrOutsideNode)
	}
	var cfg askConfig
	if len(opts) > 0 {
		cfg = configure(opts)
	}
	raw, err := a.ask(payload, reflect.TypeFor[T](), cfg)
	if err != nil {
		return zero, err
	}
	v, err := decodeTo[T](raw)
	if err != nil {
		return zero, fmt.Errorf("weft.Interrupt: answer does not decode into %T: %w: %w", zero, ErrInvalidAnswer, err)
	}
	return v, nil
}

// configure applies opts to a new askConfig (apart from Interrupt, so that
// a call without options leaves nothing on the heap).
func configure(opts []InterruptOption) askConfig {
	cfg := new(askConfig)
	for _, o := range opts {
		o(cfg)
	}
	return *cfg
}

// decodeTo is decodeAnswer into a new T: a plain string or a bool
// without a value on the heap, a flat struct (flatOf) by decodeFlat when
// it can, anything else by decodeAnswer.
func decodeTo[T any](raw json.RawMessage) (T, error) {
	var v T
	switch p := any(&v).(type) {
	case *string:
		if s, ok := unquotePlain(raw); ok {
			*p = s
			return v, nil
		}
	case *bool:
		switch string(raw) {
		case "true":
			*p = true
			return v, nil
		case "false":
			return v, nil
		}
	}
	if t := reflect.TypeFor[T](); t.Kind() == reflect.Struct {
		if fs := flatOf(t); fs != nil {
			if v, ok := decodeFlatTo[T](fs, raw); ok {
				return v, nil
			}
		}
	}
	return decodeSlow[T](raw)
}

// decodeFlatTo is decodeFlat into a new T, a flat struct: ok is false when
// the shortcut cannot decode raw, and decodeSlow must.
func decodeFlatTo[T any](fs *flatStruct, raw json.RawMessage) (T, bool) {
	var v T
	if !fs.decodeFlat(raw, reflect.ValueOf(&v).Elem()) {
		var zero T
		return zero, false
	}
	return v, true
}

// decodeSlow is decodeTo's general path, apart so that only its T escapes.
func decodeSlow[T any](raw json.RawMessage) (T, error) {
	var v T
	err := decodeAnswer(raw, &v)
	return v, err
}

// interruptID derives a question's ID from where it is asked and by which
// claim of the thread: the same in every process, different for a thread
// deleted and created again (base holds the thread's creation time), and
// different for a question asked again after it was cancelled.
func interruptID(base []byte, ns, cpID, task string, which []byte) string {
	// The SHA-256 of what stableID would hash, made on the stack.
	var buf [256]byte
	b := append(buf[:0], base...)
	b = append(b, 0)
	for _, s := range [...]string{ns, cpID, task} {
		b = append(b, s...)
		b = append(b, 0)
	}
	b = append(b, which...)
	b = append(b, 0)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
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

// idBase is what a question's ID derives from besides where it is asked:
// the thread, its incarnation and the claim that asks.
func (r *run[S]) idBase() []byte {
	return r.appendIDBase(make([]byte, 0, len(r.thread)+32))
}

// appendIDBase appends idBase to dst.
func (r *run[S]) appendIDBase(dst []byte) []byte {
	tr := r.tr
	tr.mu.Lock()
	defer tr.mu.Unlock()
	dst = append(dst, r.thread...)
	dst = append(dst, 0)
	dst = strconv.AppendInt(dst, tr.row.CreatedAt.UnixMicro(), 36)
	dst = append(dst, 0)
	return strconv.AppendInt(dst, tr.row.Epoch, 10)
}

// digestSum fingerprints an unkeyed question (digest).
type digestSum [8]byte

// digest fingerprints an unkeyed question: its payload and schema (the
// first bytes of what stableID(8, value, schema) is the hex of).
func digest(value, schema []byte) digestSum {
	h := sha256.New()
	h.Write(value)
	h.Write([]byte{0})
	h.Write(schema)
	h.Write([]byte{0})
	var sum [32]byte
	return digestSum(h.Sum(sum[:0]))
}

func (t *task[S]) ask(payload any, typ reflect.Type, cfg askConfig) (json.RawMessage, error) {
	if err := t.enter("weft.Interrupt"); err != nil {
		return nil, err
	}
	defer t.leave()
	r := t.r
	value, err := marshalPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("weft.Interrupt: payload of node %s: %w", t.path, err)
	}
	schema, err := schemaFor(typ)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	x := t.rare()
	if x.used == nil && len(t.prior) > 0 {
		x.used = make([]bool, len(t.prior))
	}
	idx := x.calls
	x.calls++
	var whichBuf [64]byte
	which := whichBuf[:0] // what the question's ID derives from within the task
	i := -1
	if cfg.key != "" {
		if x.keys[cfg.key] {
			t.fatal = fmt.Errorf("node %s: Key %q is asked twice in one run of the node: %w", t.path, cfg.key, ErrInterruptMismatch)
			t.mu.Unlock()
			return nil, t.fatal
		}
		if x.keys == nil {
			x.keys = map[string]bool{}
		}
		x.keys[cfg.key] = true
		which = append(append(which, "k:"...), cfg.key...)
		qk := qualifiedKey(r.prefix, cfg.key)
		for j := range t.prior {
			if t.prior[j].Key == qk {
				i = j
				break
			}
		}
		if i >= 0 && !bytes.Equal(t.prior[i].Value, value) {
			t.fatal = fmt.Errorf("node %s: call #%d with key %q asks %s, but the thread recorded %s for that key: %w",
				t.path, idx, cfg.key, clip(value), clip(t.prior[i].Value), ErrInterruptMismatch)
			t.mu.Unlock()
			return nil, t.fatal
		}
		if i >= 0 && !sameSchema(t.prior[i].Schema, schema) {
			t.fatal = fmt.Errorf("node %s: call #%d with key %q asks for an answer of schema %s, but the thread recorded %s for that key: %w",
				t.path, idx, cfg.key, clip(schema), clip(t.prior[i].Schema), ErrInterruptMismatch)
			t.mu.Unlock()
			return nil, t.fatal
		}
	} else {
		d := digest(value, schema)
		k := x.countDigest(d)
		which = append(which, "d:"...)
		which = hex.AppendEncode(which, d[:])
		which = append(which, '#')
		which = strconv.AppendInt(which, int64(k), 10)
		for j := range t.prior {
			p := &t.prior[j]
			if !x.used[j] && p.Key == "" && bytes.Equal(p.Value, value) && sameSchema(p.Schema, schema) {
				i = j
				break
			}
		}
	}
	if i >= 0 {
		x.used[i] = true
		p := t.prior[i]
		if p.Status == checkpoint.InterruptAnswered {
			t.mu.Unlock()
			return p.Answer, nil
		}
		x.still = append(x.still, p)
		t.waiting++
		t.mu.Unlock()
		return nil, &PauseError{ID: p.ID, Node: t.path}
	}
	if x.firstNew == nil && len(t.prior) > 0 {
		x.firstNew = &newCall{idx, cfg.key, value}
	}
	t.mu.Unlock()

	now := r.now()
	var idBuf [96]byte
	rec := checkpoint.InterruptRecord{
		ID: interruptID(r.appendIDBase(idBuf[:0]), r.ns, t.cpID, t.name, which), ThreadID: r.thread, Workflow: r.wf.name,
		CheckpointID: r.rootCP, Namespace: r.ns, Node: t.path, Task: t.name, Kind: checkpoint.KindDynamic,
		Key: qualifiedKey(r.prefix, cfg.key), Index: idx, Reason: cfg.reason, Value: value, Schema: schema,
		Assignees: cfg.assignees, EscalateTo: cfg.escalate, Status: checkpoint.InterruptPending, CreatedAt: now,
	}
	if err := deadlines(&rec, &cfg, now, t.path); err != nil {
		return nil, err
	}
	if ans, ok := r.replayed(&rec); ok {
		if err := validate(schema, ans); err != nil {
			return nil, fmt.Errorf("up-front answer for node %s: %w: %w", t.path, ErrInvalidAnswer, err)
		}
		rec.Status, rec.Answer, rec.Author, rec.Channel, rec.AnsweredAt = checkpoint.InterruptAnswered, ans, r.author(), r.channel(), now
		t.mu.Lock()
		t.asked = append(t.asked, rec)
		t.mu.Unlock()
		r.answeredEvent(&rec, t.off)
		return ans, nil
	}
	ans, err := t.resolve(&rec) // no lock held: resolvers may use Do
	t.mu.Lock()
	defer t.mu.Unlock()
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
	return nil, &PauseError{ID: rec.ID, Node: t.path}
}

// deadlines sets the deadline fields of a new question from cfg.
func deadlines(rec *checkpoint.InterruptRecord, cfg *askConfig, now time.Time, path string) error {
	if cfg.hasFB {
		fb, err := json.Marshal(cfg.fallback)
		if err != nil {
			return fmt.Errorf("weft.Within: fallback of node %s: %w", path, err)
		}
		rec.Fallback = fb
		if cfg.within > 0 {
			rec.FallbackAt = now.Add(cfg.within)
		}
	}
	var escalate time.Time
	if len(cfg.escalate) > 0 && cfg.escalateIn > 0 {
		escalate = now.Add(cfg.escalateIn)
	} else {
		rec.EscalateTo = nil
	}
	switch {
	case !escalate.IsZero() && (rec.FallbackAt.IsZero() || escalate.Before(rec.FallbackAt)):
		rec.Deadline = escalate
	default:
		rec.Deadline = rec.FallbackAt
	}
	return nil
}

// mismatch checks, once the node returned, that it asked what the thread
// recorded for it: every answered question of the pause must have been
// asked again, and a node that asked something new must have asked all
// the old questions too. Questions it finished without asking (it did not
// pause) are moot and will be cancelled.
func (t *task[S]) mismatch() error {
	if len(t.prior) == 0 {
		return nil // nothing was recorded for it (prior never changes)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var used []bool
	var first *newCall
	if t.x != nil {
		used, first = t.x.used, t.x.firstNew
	}
	var answered, pending []*checkpoint.InterruptRecord
	for i := range t.prior {
		if i < len(used) && used[i] {
			continue
		}
		if p := &t.prior[i]; p.Status == checkpoint.InterruptAnswered {
			answered = append(answered, p)
		} else {
			pending = append(pending, p)
		}
	}
	differs := ""
	if first != nil {
		differs = "; its first call that differs is " + describeCall(first.idx, first.key, first.value)
	}
	switch {
	case len(answered) > 0:
		return fmt.Errorf("node %s: the thread recorded an answer to %s, which this run of the node did not ask%s: %w",
			t.path, describeRecord(answered[0]), differs, ErrInterruptMismatch)
	case len(pending) > 0 && first != nil:
		return fmt.Errorf("node %s asks new questions while %s, which it asked before, waits unasked%s: %w",
			t.path, describeRecord(pending[0]), differs, ErrInterruptMismatch)
	case len(pending) > 0 && t.waiting == 0:
		for _, p := range pending {
			x := t.rare()
			x.unasked = append(x.unasked, p.ID)
		}
	}
	return nil
}

// newCall is an Interrupt call that matched no question the thread
// recorded, kept to be described if it turns out to be a mismatch.
type newCall struct {
	idx   int
	key   string
	value []byte
}

func describeCall(idx int, key string, value []byte) string {
	if key != "" {
		return fmt.Sprintf("call #%d (key %q)", idx, key)
	}
	return fmt.Sprintf("call #%d (payload %s)", idx, clip(value))
}

func describeRecord(rec *checkpoint.InterruptRecord) string {
	if rec.Key != "" {
		return fmt.Sprintf("question %s (call #%d, key %q)", rec.ID, rec.Index, rec.Key)
	}
	return fmt.Sprintf("question %s (call #%d, payload %s)", rec.ID, rec.Index, clip(rec.Value))
}

// clip shortens JSON for a message.
func clip(b []byte) string {
	const n = 80
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

// qualifiedKey is a key as Answers names it: qualified by the subgraph
// nodes it is asked in ("inner.decision" for key decision asked in
// subgraph node inner), "" for no key.
func qualifiedKey(prefix, key string) string {
	if key == "" || prefix == "" {
		return key
	}
	return strings.ReplaceAll(prefix, "/", ".") + "." + key
}

// resumeKey is the name Answers accepts for a question besides its ID and
// node path: its qualified key.
func resumeKey(rec *checkpoint.InterruptRecord) string { return rec.Key }
