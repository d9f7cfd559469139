package weftest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// Kit is the world a test's workflows run in: an in-memory store and a
// fake clock.
type Kit struct {
	t       testing.TB
	clock   *Clock
	store   *memstore.Store
	mu      sync.Mutex
	runners []weft.Runner
}

// New returns a Kit whose clock starts at 2025-01-01 09:00 UTC.
func New(t testing.TB) *Kit {
	c := &Clock{now: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	return &Kit{t: t, clock: c, store: memstore.New(memstore.WithClock(c.Now))}
}

// Options are the compile options that put a workflow in the kit: its
// store and its clock.
func (k *Kit) Options() []weft.CompileOption {
	return []weft.CompileOption{weft.WithStore(k.store), weft.WithClock(k.clock.Now)}
}

// Store is the kit's store.
func (k *Kit) Store() checkpoint.Store { return k.store }

// Clock is the kit's clock.
func (k *Kit) Clock() *Clock { return k.clock }

// Advance moves the kit's clock forward by d.
func (k *Kit) Advance(d time.Duration) { k.clock.Advance(d) }

// FireDue gives every due deadline of the threads of runners (fallback
// answers, escalations), as a deadline runner would at the kit's time,
// and returns how many it handled.
func (k *Kit) FireDue(runners ...weft.Runner) int {
	k.t.Helper()
	n, err := inbox.New(k.store, runners, inbox.WithClock(k.clock.Now)).FireDue(context.Background())
	if err != nil {
		k.t.Fatalf("weftest: FireDue: %v", err)
	}
	return n
}

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Thread is a thread under test and what its last run ended with.
type Thread[S any] struct {
	t    testing.TB
	wf   *weft.Workflow[S]
	id   string
	last *weft.Result[S]
}

var threadSeq struct {
	sync.Mutex
	n int
}

// Start runs a new thread of wf with input until it pauses or ends.
func Start[S any](t testing.TB, wf *weft.Workflow[S], input S, opts ...weft.RunOption) *Thread[S] {
	t.Helper()
	threadSeq.Lock()
	threadSeq.n++
	id := fmt.Sprintf("weftest-%d", threadSeq.n)
	threadSeq.Unlock()
	return StartThread(t, wf, id, input, opts...)
}

// StartThread is Start with the thread's ID given.
func StartThread[S any](t testing.TB, wf *weft.Workflow[S], thread string, input S, opts ...weft.RunOption) *Thread[S] {
	t.Helper()
	th := &Thread[S]{t: t, wf: wf, id: thread}
	res, err := wf.Run(context.Background(), thread, input, opts...)
	if err != nil {
		t.Fatalf("weftest: run of thread %s: %v", thread, err)
	}
	th.last = res
	return th
}

// ID is the thread's ID.
func (th *Thread[S]) ID() string { return th.id }

// Result is what the thread's last run ended with.
func (th *Thread[S]) Result() *weft.Result[S] { return th.last }

// Questions are the questions the thread waits for.
func (th *Thread[S]) Questions() []weft.Question { return th.last.Interrupts }

// Asks returns the question the thread waits for at node (a node path:
// "review", "outer/inner/approve"), failing the test unless there is
// exactly one.
func (th *Thread[S]) Asks(node string) weft.Question {
	th.t.Helper()
	var found []weft.Question
	var nodes []string
	for _, q := range th.last.Interrupts {
		nodes = append(nodes, q.Node)
		if q.Node == node {
			found = append(found, q)
		}
	}
	if len(found) != 1 {
		th.t.Fatalf("weftest: thread %s (%s) waits at %q, not once at %q", th.id, th.last.Status, nodes, node)
	}
	return found[0]
}

// AsksKey returns the question with key the thread waits for.
func (th *Thread[S]) AsksKey(key string) weft.Question {
	th.t.Helper()
	for _, q := range th.last.Interrupts {
		if q.Key == key {
			return q
		}
	}
	var keys []string
	for _, q := range th.last.Interrupts {
		keys = append(keys, q.Key)
	}
	th.t.Fatalf("weftest: thread %s (%s) waits on keys %q, not %q", th.id, th.last.Status, keys, key)
	return weft.Question{}
}

// Payload decodes what q shows the person into a T.
func Payload[T any](t testing.TB, q weft.Question) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(q.Value, &v); err != nil {
		t.Fatalf("weftest: payload of question %s at %s: %v (payload %s)", q.ID, q.Node, err, q.Value)
	}
	return v
}

// Answer answers the question named by name (its key, node path or ID)
// with value and runs the thread until it pauses or ends.
func (th *Thread[S]) Answer(name string, value any, opts ...weft.RunOption) *Thread[S] {
	th.t.Helper()
	return th.resume(fmt.Sprintf("answer %q", name), append([]weft.RunOption{weft.Answers(map[string]any{name: value})}, opts...))
}

// Reply answers the one question the thread waits for.
func (th *Thread[S]) Reply(value any, opts ...weft.RunOption) *Thread[S] {
	th.t.Helper()
	return th.resume("reply", append([]weft.RunOption{weft.Reply(value)}, opts...))
}

// Resume carries the thread on without an answer (after a stop, or once
// its answers were given elsewhere, by FireDue say).
func (th *Thread[S]) Resume(opts ...weft.RunOption) *Thread[S] {
	th.t.Helper()
	return th.resume("resume", opts)
}

func (th *Thread[S]) resume(what string, opts []weft.RunOption) *Thread[S] {
	th.t.Helper()
	res, err := th.wf.Resume(context.Background(), th.id, opts...)
	if err != nil {
		th.t.Fatalf("weftest: %s on thread %s: %v", what, th.id, err)
	}
	th.last = res
	return th
}

// State is the thread's state as the store keeps it.
func (th *Thread[S]) State() S {
	th.t.Helper()
	snap, err := th.wf.State(context.Background(), th.id)
	if err != nil {
		th.t.Fatalf("weftest: state of thread %s: %v", th.id, err)
	}
	return snap.Values
}

// Status is the thread's status in the store.
func (th *Thread[S]) Status() weft.Status {
	th.t.Helper()
	snap, err := th.wf.State(context.Background(), th.id)
	if err != nil {
		th.t.Fatalf("weftest: state of thread %s: %v", th.id, err)
	}
	return snap.Status
}

// WantStatus fails the test unless the thread is in status.
func (th *Thread[S]) WantStatus(status weft.Status) *Thread[S] {
	th.t.Helper()
	if got := th.Status(); got != status {
		th.t.Fatalf("weftest: thread %s is %s, want %s (questions: %s)", th.id, got, status, describe(th.last.Interrupts))
	}
	return th
}

// WantState fails the test unless the thread's stored state equals want
// (compared as JSON), showing the lines that differ.
func (th *Thread[S]) WantState(want S) *Thread[S] {
	th.t.Helper()
	if d := Diff(th.State(), want); d != "" {
		th.t.Fatalf("weftest: state of thread %s differs (- got, + want):\n%s", th.id, d)
	}
	return th
}

func describe(qs []weft.Question) string {
	if len(qs) == 0 {
		return "none"
	}
	var parts []string
	for _, q := range qs {
		parts = append(parts, fmt.Sprintf("%s at %s (key %q)", q.ID, q.Node, q.Key))
	}
	return strings.Join(parts, ", ")
}

// Diff compares got and want as indented JSON and returns the lines that
// differ ("-" got, "+" want), or "" if they are equal.
func Diff(got, want any) string {
	g, err1 := json.MarshalIndent(got, "", "  ")
	w, err2 := json.MarshalIndent(want, "", "  ")
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("cannot encode: %v %v", err1, err2)
	}
	if bytes.Equal(g, w) {
		return ""
	}
	gl, wl := strings.Split(string(g), "\n"), strings.Split(string(w), "\n")
	// A longest common subsequence keeps the unchanged lines as context.
	n, m := len(gl), len(wl)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if gl[i] == wl[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && gl[i] == wl[j]:
			b.WriteString("  " + gl[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("+ " + wl[j] + "\n")
			j++
		default:
			b.WriteString("- " + gl[i] + "\n")
			i++
		}
	}
	return b.String()
}

// Effects counts the runs of side effects by their weft.EffectID. Call
// Ran inside a weft.Do body; WantOnce checks that no effect ran twice.
type Effects struct {
	mu   sync.Mutex
	runs map[string]int
	keys []string
}

// Ran records a run of the effect whose Do body has ctx.
func (e *Effects) Ran(ctx context.Context) {
	id := weft.EffectID(ctx)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runs == nil {
		e.runs = map[string]int{}
	}
	if e.runs[id] == 0 {
		e.keys = append(e.keys, id)
	}
	e.runs[id]++
}

// Count is how many distinct effects ran.
func (e *Effects) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.runs)
}

// WantOnce fails the test if an effect ran more than once, or if the
// number of distinct effects is not want (a negative want checks only
// repeats).
func (e *Effects) WantOnce(t testing.TB, want int) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var repeated []string
	for _, id := range e.keys {
		if e.runs[id] > 1 {
			repeated = append(repeated, fmt.Sprintf("%s ×%d", id, e.runs[id]))
		}
	}
	slices.Sort(repeated)
	if len(repeated) > 0 {
		t.Fatalf("weftest: effects ran more than once: %s", strings.Join(repeated, ", "))
	}
	if want >= 0 && len(e.runs) != want {
		t.Fatalf("weftest: %d distinct effects ran, want %d", len(e.runs), want)
	}
}
