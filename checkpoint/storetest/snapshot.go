package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// fmtTime renders a time at the precision a store must keep.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func renderThread(th *checkpoint.Thread) string {
	// A lease is set by the store's clock: only whether there is one is
	// compared.
	lease := "none"
	if !th.LeaseUntil.IsZero() {
		lease = "set"
	}
	return fmt.Sprintf("thread %q workflow=%q hash=%q status=%s version=%d head=%q error=%q owner=%q epoch=%d lease=%s stop=%s created=%s updated=%s",
		th.ID, th.Workflow, th.GraphHash, th.Status, th.Version, th.Head, th.Error, th.Owner, th.Epoch,
		lease, fmtTime(th.StopRequested), fmtTime(th.CreatedAt), fmtTime(th.UpdatedAt))
}

func renderCheckpoint(cp *checkpoint.Checkpoint) string {
	keys := make([]string, 0, len(cp.Versions))
	for k, v := range cp.Versions {
		keys = append(keys, fmt.Sprintf("%s@%d", k, v))
	}
	slices.Sort(keys)
	meta := make([]string, 0, len(cp.Meta))
	for k, v := range cp.Meta {
		meta = append(meta, k+"="+v)
	}
	slices.Sort(meta)
	return fmt.Sprintf("checkpoint %q/%s parent=%q step=%d source=%q next=%q versions=%v meta=%q created=%s blobs:\n\t\t%s",
		cp.Namespace, cp.ID, cp.ParentID, cp.Step, cp.Source, cp.Next, keys, meta, fmtTime(cp.CreatedAt),
		strings.ReplaceAll(blobSet(cp.Blobs), "\n\t", "\n\t\t"))
}

func renderInterrupt(r *checkpoint.InterruptRecord) string {
	return fmt.Sprintf("interrupt %q/%q workflow=%q cp=%q ns=%q node=%q task=%q kind=%q key=%q index=%d reason=%q value=%s schema=%s assignees=%q deadline=%s fallback=%s fallback_at=%s escalate=%q status=%s answer=%s author=%q channel=%q answered=%s note=%q created=%s",
		r.ThreadID, r.ID, r.Workflow, r.CheckpointID, r.Namespace, r.Node, r.Task, r.Kind, r.Key, r.Index, r.Reason,
		show(r.Value), show(r.Schema), r.Assignees, fmtTime(r.Deadline), show(r.Fallback), fmtTime(r.FallbackAt), r.EscalateTo,
		r.Status, show(r.Answer), r.Author, r.Channel, fmtTime(r.AnsweredAt), r.Note, fmtTime(r.CreatedAt))
}

func renderStep(s *checkpoint.Step) string {
	return fmt.Sprintf("step %q/%q v%d superstep=%d cp=%q node=%q task=%q status=%s started=%s duration=%s error=%q",
		s.ThreadID, s.Namespace, s.Version, s.Superstep, s.CheckpointID, s.Node, s.Task, s.Status,
		fmtTime(s.StartedAt), s.Duration, s.Error)
}

func renderWrite(w *checkpoint.PendingWrite) string {
	return fmt.Sprintf("write %q/%s %s %s %s = %q", w.Namespace, w.CheckpointID, w.Task, w.Kind, w.Key, w.Data)
}

// snapshot renders everything the store holds for a thread, as far as the
// read methods show it: the row, the checkpoints of the given namespaces
// (with blobs) and their pending writes (and those of the empty checkpoint
// ID and of the next version), the thread's interrupts and its step log.
// Two snapshots are equal if nothing of the thread changed.
func (e *env) snapshot(threadID string, namespaces ...string) string {
	e.t.Helper()
	var b strings.Builder
	th, err := e.s.Thread(e.ctx, threadID)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return fmt.Sprintf("no thread %q", threadID)
	}
	noErr(e.t, fmt.Sprintf("Thread(%q)", threadID), err)
	b.WriteString(renderThread(th))
	b.WriteString("\n")
	if !slices.Contains(namespaces, "") {
		namespaces = append([]string{""}, namespaces...)
	}
	for _, ns := range namespaces {
		cps, err := e.s.History(e.ctx, &checkpoint.HistoryQuery{ThreadID: threadID, Namespace: ns})
		noErr(e.t, fmt.Sprintf("History(%q, %q)", threadID, ns), err)
		cpIDs := []string{"", checkpoint.FormatID(th.Version + 1)}
		for _, h := range cps {
			cp := e.getCheckpoint(threadID, ns, h.ID)
			b.WriteString(renderCheckpoint(cp))
			b.WriteString("\n")
			cpIDs = append(cpIDs, h.ID)
		}
		for _, id := range cpIDs {
			for _, w := range e.writes(threadID, ns, id) {
				b.WriteString(renderWrite(&w))
				b.WriteString("\n")
			}
		}
	}
	for _, r := range e.interrupts(checkpoint.InterruptQuery{ThreadID: threadID}) {
		b.WriteString(renderInterrupt(&r))
		b.WriteString("\n")
	}
	for _, s := range e.steps(threadID, 0) {
		b.WriteString(renderStep(&s))
		b.WriteString("\n")
	}
	return b.String()
}

// unchanged fails the test if the thread's snapshot is not before.
func (e *env) unchanged(what, before, threadID string, namespaces ...string) {
	e.t.Helper()
	if after := e.snapshot(threadID, namespaces...); after != before {
		e.t.Errorf("%s changed the store:\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}
