package weft

import (
	"context"
	"slices"
	"strings"

	"github.com/weftgraph/weft/checkpoint"
)

// taskView fills in snap.Tasks (and, at the head, snap.Next) from the
// superstep that runs from checkpoint s: which of its tasks finished
// (their pending outputs), wait for answers, failed, or have not run.
func (wf *Workflow[S]) taskView(ctx context.Context, snap *Snapshot[S], s *snap[S], recs []checkpoint.InterruptRecord, head bool) error {
	tasks := wf.expand(s.cp.Next, s.state)
	if len(tasks) == 0 {
		return nil
	}
	snap.Tasks = make([]Task, len(tasks))
	for i, name := range tasks {
		t := &snap.Tasks[i]
		t.Name, t.Node, t.Status = name, nodeOf(name), TaskPending
		for j := range recs {
			rec := &recs[j]
			mine := (rec.Namespace == "" && rec.Task == name) || strings.HasPrefix(rec.Namespace, name+":")
			if mine && rec.Status == checkpoint.InterruptPending {
				t.Questions = append(t.Questions, questionOf(rec))
				t.Status = TaskWaiting
			}
		}
	}
	if !head {
		for i := range snap.Tasks {
			if snap.Tasks[i].Status == TaskPending {
				snap.Tasks[i].Status = TaskDone // the superstep ran past it
			}
		}
		return nil
	}
	if snap.Status == StatusCompleted {
		return nil
	}
	ws, err := wf.p.writes(ctx, snap.Thread, "", s.cp.ID, &s.state)
	if err != nil {
		return err
	}
	for _, w := range ws {
		if w.kind != writeOutput {
			continue
		}
		if i := slices.IndexFunc(snap.Tasks, func(t Task) bool { return t.Name == w.task }); i >= 0 {
			snap.Tasks[i].Status, snap.Tasks[i].Update = TaskDone, w.out
		}
	}
	if snap.Status == StatusFailed {
		if err := wf.failedTasks(ctx, snap, s); err != nil {
			return err
		}
	}
	var next []string
	for _, t := range snap.Tasks {
		if t.Status != TaskDone {
			next = append(next, t.Node)
		}
	}
	snap.Next = slices.Compact(next)
	return nil
}

// failedTasks marks the tasks whose last step from checkpoint s failed.
func (wf *Workflow[S]) failedTasks(ctx context.Context, snap *Snapshot[S], s *snap[S]) error {
	v, err := checkpoint.ParseID(s.cp.ID)
	if err != nil {
		return nil
	}
	steps, err := wf.st.Steps(ctx, snap.Thread, v)
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st.Namespace != "" || st.CheckpointID != s.cp.ID {
			continue
		}
		if i := slices.IndexFunc(snap.Tasks, func(t Task) bool { return t.Name == st.Task }); i >= 0 && snap.Tasks[i].Status != TaskDone {
			if st.Status == checkpoint.StepFailed {
				snap.Tasks[i].Status, snap.Tasks[i].Error = TaskFailed, st.Error
			} else if snap.Tasks[i].Status == TaskFailed {
				snap.Tasks[i].Status, snap.Tasks[i].Error = TaskPending, ""
			}
		}
	}
	return nil
}
