package storetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// t0 is the base of every time the suite stores. It has microsecond
// precision, the least a store must keep.
var t0 = time.Date(2025, time.March, 1, 9, 30, 0, 123456000, time.UTC)

// at returns t0 plus min minutes.
func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// env is what one subtest works with.
type env struct {
	t   *testing.T
	s   checkpoint.Store
	ctx context.Context
	// newStore makes the stores of subtests that need their own.
	newStore func(t *testing.T) checkpoint.Store
}

// fixture tracks one thread the test advances.
type fixture struct {
	e   *env
	row checkpoint.Thread
}

// thread returns a fixture for a thread that does not exist yet.
func (e *env) thread(id, workflow string) *fixture {
	return &fixture{e: e, row: checkpoint.Thread{ID: id, Workflow: workflow, GraphHash: "g1", Status: checkpoint.StatusRunning}}
}

// nextID returns the ID the next checkpoint of f gets.
func (f *fixture) nextID() string { return checkpoint.FormatID(f.row.Version + 1) }

// prepare fills in c for the next commit of f: the thread row (f's row,
// with Head moved to a root checkpoint) unless c.Thread.ID is set,
// ExpectedVersion, At (minute Version+1 of t0) unless set, and the
// checkpoint's ThreadID, ID, CreatedAt and blob versions.
func (f *fixture) prepare(c *checkpoint.Commit) {
	v := f.row.Version + 1
	if c.At.IsZero() {
		c.At = at(int(v))
	}
	if c.Thread.ID == "" {
		c.Thread = f.row
		if c.Checkpoint != nil && c.Checkpoint.Namespace == "" {
			c.Thread.Head = checkpoint.FormatID(v)
		}
	}
	c.ExpectedVersion = f.row.Version
	if cp := c.Checkpoint; cp != nil {
		cp.ThreadID = f.row.ID
		cp.ID = checkpoint.FormatID(v)
		if cp.CreatedAt.IsZero() {
			cp.CreatedAt = c.At
		}
		for i := range cp.Blobs {
			cp.Blobs[i].Version = v
		}
	}
}

// commit commits c as the next version of f and fails the test on error.
func (f *fixture) commit(c checkpoint.Commit) int64 {
	f.e.t.Helper()
	f.prepare(&c)
	v, err := f.e.s.Commit(f.e.ctx, &c)
	if err != nil {
		f.e.t.Fatalf("Commit(thread %q, expected version %d): %v", f.row.ID, c.ExpectedVersion, err)
	}
	if v != c.ExpectedVersion+1 {
		f.e.t.Fatalf("Commit(thread %q, expected version %d) = %d, want %d", f.row.ID, c.ExpectedVersion, v, c.ExpectedVersion+1)
	}
	f.row = c.Thread
	f.row.Version = v
	return v
}

// cp commits a checkpoint in namespace ns with parent parent, the given
// field versions (0: this commit's version) and blobs, and returns its ID.
func (f *fixture) cp(ns, parent string, step int, versions map[string]int64, blobs ...checkpoint.Blob) string {
	f.e.t.Helper()
	v := f.row.Version + 1
	vs := make(map[string]int64, len(versions))
	for k, x := range versions {
		if x == 0 {
			x = v
		}
		vs[k] = x
	}
	f.commit(checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{
		Namespace: ns, ParentID: parent, Step: step, Source: checkpoint.SourceLoop,
		Next: []string{"n"}, Versions: vs, Blobs: blobs,
	}})
	return checkpoint.FormatID(v)
}

// full and appends build blobs for f.cp.
func full(field, data string) checkpoint.Blob {
	return checkpoint.Blob{Field: field, Data: []byte(data)}
}

func appends(field string, base int64, data string) checkpoint.Blob {
	return checkpoint.Blob{Field: field, Base: base, Data: []byte(data)}
}

// wantErr fails the test unless err wraps target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want one wrapping %q", what, err, target)
	}
}

// noErr fails the test on err.
func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// differ reports the fields of a value that differ from what was expected.
type differ struct {
	t     *testing.T
	label string
}

func (d differ) errorf(field, format string, args ...any) {
	d.t.Helper()
	d.t.Errorf("%s: %s: %s", d.label, field, fmt.Sprintf(format, args...))
}

func eq[T comparable](d differ, field string, got, want T) {
	d.t.Helper()
	if got != want {
		d.errorf(field, "got %v, want %v", got, want)
	}
}

// sameTime compares times to the microsecond, the precision a store must
// keep; the location does not matter.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func (d differ) time(field string, got, want time.Time) {
	d.t.Helper()
	if !sameTime(got, want) {
		d.errorf(field, "got %v, want %v", got, want)
	}
}

// json compares JSON exactly as bytes (stores keep it as given); nil
// (absent) and empty are the same, and differ from "null".
func (d differ) json(field string, got, want []byte) {
	d.t.Helper()
	if !bytes.Equal(got, want) {
		d.errorf(field, "got %s, want %s", show(got), show(want))
	}
}

func show(b []byte) string {
	if b == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", b)
}

// strs compares string lists; nil and empty are the same.
func (d differ) strs(field string, got, want []string) {
	d.t.Helper()
	if !slices.Equal(got, want) {
		d.errorf(field, "got %q, want %q", got, want)
	}
}

func checkThread(t *testing.T, label string, got *checkpoint.Thread, want checkpoint.Thread) {
	t.Helper()
	d := differ{t, label}
	eq(d, "ID", got.ID, want.ID)
	eq(d, "Workflow", got.Workflow, want.Workflow)
	eq(d, "GraphHash", got.GraphHash, want.GraphHash)
	eq(d, "Status", got.Status, want.Status)
	eq(d, "Version", got.Version, want.Version)
	eq(d, "Head", got.Head, want.Head)
	eq(d, "Error", got.Error, want.Error)
	eq(d, "Owner", got.Owner, want.Owner)
	eq(d, "Epoch", got.Epoch, want.Epoch)
	// The store sets the lease of a running thread from its own clock
	// (leaseTests check it); any other thread has none.
	if want.Status != checkpoint.StatusRunning {
		d.time("LeaseUntil", got.LeaseUntil, time.Time{})
		d.time("StopRequested", got.StopRequested, time.Time{})
	} else if got.LeaseUntil.IsZero() {
		d.errorf("LeaseUntil", "zero for a running thread")
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

// checkCheckpoint compares checkpoints; with blobs, it compares Blobs as
// sets, without, got must have none.
func checkCheckpoint(t *testing.T, label string, got *checkpoint.Checkpoint, want *checkpoint.Checkpoint, blobs bool) {
	t.Helper()
	d := differ{t, label}
	eq(d, "ThreadID", got.ThreadID, want.ThreadID)
	eq(d, "Namespace", got.Namespace, want.Namespace)
	eq(d, "ID", got.ID, want.ID)
	eq(d, "ParentID", got.ParentID, want.ParentID)
	eq(d, "Step", got.Step, want.Step)
	eq(d, "Source", got.Source, want.Source)
	d.strs("Next", got.Next, want.Next)
	if !maps.Equal(got.Versions, want.Versions) {
		d.errorf("Versions", "got %v, want %v", got.Versions, want.Versions)
	}
	if !maps.Equal(got.Meta, want.Meta) {
		d.errorf("Meta", "got %v, want %v", got.Meta, want.Meta)
	}
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	if !blobs {
		if len(got.Blobs) != 0 {
			d.errorf("Blobs", "got %d blobs, want none", len(got.Blobs))
		}
		return
	}
	checkBlobs(t, label, got.Blobs, want.Blobs)
}

// checkBlobs compares blobs as sets.
func checkBlobs(t *testing.T, label string, got, want []checkpoint.Blob) {
	t.Helper()
	if g, w := blobSet(got), blobSet(want); g != w {
		t.Errorf("%s.Blobs:\ngot\n\t%s\nwant\n\t%s", label, g, w)
	}
}

// blobSet renders blobs in a canonical order.
func blobSet(bs []checkpoint.Blob) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = fmt.Sprintf("%s@%d(base %d)=%q", b.Field, b.Version, b.Base, b.Data)
	}
	slices.Sort(s)
	return strings.Join(s, "\n\t")
}

func checkInterrupt(t *testing.T, label string, got, want *checkpoint.InterruptRecord) {
	t.Helper()
	d := differ{t, label}
	eq(d, "ID", got.ID, want.ID)
	eq(d, "ThreadID", got.ThreadID, want.ThreadID)
	eq(d, "Workflow", got.Workflow, want.Workflow)
	eq(d, "CheckpointID", got.CheckpointID, want.CheckpointID)
	eq(d, "Namespace", got.Namespace, want.Namespace)
	eq(d, "Node", got.Node, want.Node)
	eq(d, "Task", got.Task, want.Task)
	eq(d, "Kind", got.Kind, want.Kind)
	eq(d, "Key", got.Key, want.Key)
	eq(d, "Index", got.Index, want.Index)
	eq(d, "Reason", got.Reason, want.Reason)
	d.json("Value", got.Value, want.Value)
	d.json("Schema", got.Schema, want.Schema)
	d.strs("Assignees", got.Assignees, want.Assignees)
	d.time("Deadline", got.Deadline, want.Deadline)
	d.json("Fallback", got.Fallback, want.Fallback)
	d.time("FallbackAt", got.FallbackAt, want.FallbackAt)
	d.strs("EscalateTo", got.EscalateTo, want.EscalateTo)
	eq(d, "Status", got.Status, want.Status)
	d.json("Answer", got.Answer, want.Answer)
	eq(d, "Author", got.Author, want.Author)
	eq(d, "Channel", got.Channel, want.Channel)
	d.time("AnsweredAt", got.AnsweredAt, want.AnsweredAt)
	eq(d, "Note", got.Note, want.Note)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
}

func checkStep(t *testing.T, label string, got, want *checkpoint.Step) {
	t.Helper()
	d := differ{t, label}
	eq(d, "ThreadID", got.ThreadID, want.ThreadID)
	eq(d, "Namespace", got.Namespace, want.Namespace)
	eq(d, "Version", got.Version, want.Version)
	eq(d, "Superstep", got.Superstep, want.Superstep)
	eq(d, "CheckpointID", got.CheckpointID, want.CheckpointID)
	eq(d, "Node", got.Node, want.Node)
	eq(d, "Task", got.Task, want.Task)
	eq(d, "Status", got.Status, want.Status)
	d.time("StartedAt", got.StartedAt, want.StartedAt)
	eq(d, "Duration", got.Duration, want.Duration)
	eq(d, "Error", got.Error, want.Error)
}

func checkWrites(t *testing.T, label string, got, want []checkpoint.PendingWrite) {
	t.Helper()
	render := func(ws []checkpoint.PendingWrite) string {
		s := make([]string, len(ws))
		for i := range ws {
			s[i] = renderWrite(&ws[i])
		}
		return strings.Join(s, "\n\t")
	}
	if g, w := render(got), render(want); g != w {
		t.Errorf("%s: pending writes:\ngot\n\t%s\nwant\n\t%s", label, g, w)
	}
}

// Reads the suite repeats.

func (e *env) getThread(id string) *checkpoint.Thread {
	e.t.Helper()
	th, err := e.s.Thread(e.ctx, id)
	noErr(e.t, fmt.Sprintf("Thread(%q)", id), err)
	return th
}

func (e *env) getCheckpoint(thread, ns, id string) *checkpoint.Checkpoint {
	e.t.Helper()
	cp, err := e.s.Checkpoint(e.ctx, thread, ns, id)
	noErr(e.t, fmt.Sprintf("Checkpoint(%q, %q, %q)", thread, ns, id), err)
	return cp
}

func (e *env) history(q checkpoint.HistoryQuery) []string {
	e.t.Helper()
	cps, err := e.s.History(e.ctx, &q)
	noErr(e.t, fmt.Sprintf("History(%+v)", q), err)
	ids := make([]string, len(cps))
	for i, cp := range cps {
		ids[i] = cp.ID
		if len(cp.Blobs) != 0 {
			e.t.Errorf("History(%+v): checkpoint %s has %d blobs, want none", q, cp.ID, len(cp.Blobs))
		}
	}
	return ids
}

func (e *env) writes(thread, ns, cpID string) []checkpoint.PendingWrite {
	e.t.Helper()
	ws, err := e.s.PendingWrites(e.ctx, thread, ns, cpID)
	noErr(e.t, fmt.Sprintf("PendingWrites(%q, %q, %q)", thread, ns, cpID), err)
	return ws
}

func (e *env) steps(thread string, after int64) []checkpoint.Step {
	e.t.Helper()
	st, err := e.s.Steps(e.ctx, thread, after)
	noErr(e.t, fmt.Sprintf("Steps(%q, %d)", thread, after), err)
	return st
}

// interrupts returns every interrupt matching q, following pages.
func (e *env) interrupts(q checkpoint.InterruptQuery) []checkpoint.InterruptRecord {
	e.t.Helper()
	var all []checkpoint.InterruptRecord
	for range 1000 {
		page, err := e.s.Interrupts(e.ctx, &q)
		noErr(e.t, fmt.Sprintf("Interrupts(%+v)", q), err)
		all = append(all, page.Interrupts...)
		if page.Next == "" {
			return all
		}
		if len(page.Interrupts) == 0 {
			e.t.Fatalf("Interrupts(%+v): empty page with Next %q", q, page.Next)
		}
		q.After = page.Next
	}
	e.t.Fatalf("Interrupts(%+v): more than 1000 pages", q)
	return nil
}

// interrupt returns the interrupt of thread with ID id.
func (e *env) interrupt(thread, id string) *checkpoint.InterruptRecord {
	e.t.Helper()
	rs := e.interrupts(checkpoint.InterruptQuery{ThreadID: thread, ID: id})
	if len(rs) != 1 {
		e.t.Fatalf("Interrupts(thread %q, ID %q): %d records, want 1", thread, id, len(rs))
	}
	return &rs[0]
}

func ids(rs []checkpoint.InterruptRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// sortWrites sorts writes as PendingWrites returns them: by task, kind and
// key.
func sortWrites(ws []checkpoint.PendingWrite) {
	slices.SortFunc(ws, func(a, b checkpoint.PendingWrite) int {
		return cmp.Or(strings.Compare(a.Task, b.Task), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Key, b.Key))
	})
}

// durationOf returns n milliseconds: distinct times, kept by every store.
func durationOf(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// answer records answers, all to one thread, and returns Store.Answer's
// error.
func (e *env) answer(as []checkpoint.Answer) error { return e.answerCtx(e.ctx, as) }

func (e *env) answerCtx(ctx context.Context, as []checkpoint.Answer) error {
	var thread string
	if len(as) > 0 {
		thread = as[0].ThreadID
	}
	_, err := e.s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: thread, Answers: as})
	return err
}
