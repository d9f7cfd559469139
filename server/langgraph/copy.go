package langgraph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// errPruned is a thread whose history cannot be copied checkpoint by
// checkpoint: a checkpoint it keeps needs a blob of one Prune removed.
var errPruned = errors.New("the thread's history was pruned")

// copyHistory copies thread src of st into the new thread dst with its
// history, as LangGraph's copy copies a thread's checkpoints: every
// checkpoint (of every namespace the thread's steps name), with the same
// checkpoint IDs, values, next nodes, sources, metadata and times, its
// step log, the pending writes of its head, and its questions in their
// statuses (with new IDs: a question ID belongs to one thread; a copied
// question still pending is answered on the copy as on the source). The
// copy ends in the source's status (an interrupted source gives an
// interrupted copy). A source that is running or ready is refused
// (weft.ErrBusy), and so is one changed while it is read; one whose
// history was pruned fails with errPruned, before anything is written.
func copyHistory(ctx context.Context, st checkpoint.Store, src, dst string) error {
	row, err := st.Thread(ctx, src)
	if err != nil {
		return fmt.Errorf("copying thread %q: %w", src, err)
	}
	switch row.Status {
	case checkpoint.StatusRunning, checkpoint.StatusReady:
		return fmt.Errorf("copying thread %q: it is %s: %w", src, row.Status, weft.ErrBusy)
	}
	steps, err := st.Steps(ctx, src, 0)
	if err != nil {
		return fmt.Errorf("copying thread %q: its steps: %w", src, err)
	}
	spaces := []string{""}
	for _, s := range steps {
		if !slices.Contains(spaces, s.Namespace) {
			spaces = append(spaces, s.Namespace)
		}
	}
	// Every checkpoint, with the blobs its commit wrote, by version.
	type entry struct {
		version int64
		cp      *checkpoint.Checkpoint
	}
	var cps []entry
	// need is a blob an Append blob is based on.
	type need struct {
		ns, field string
		version   int64
		cp        string
	}
	var needs []need
	written := map[string]bool{} // namespace, field and version of the blobs copied
	blobKey := func(ns, field string, v int64) string { return fmt.Sprintf("%s\x00%s\x00%d", ns, field, v) }
	for _, ns := range spaces {
		hist, err := st.History(ctx, &checkpoint.HistoryQuery{ThreadID: src, Namespace: ns})
		if err != nil {
			return fmt.Errorf("copying thread %q: its history: %w", src, err)
		}
		for i := range hist {
			v, err := checkpoint.ParseID(hist[i].ID)
			if err != nil {
				return fmt.Errorf("copying thread %q: checkpoint %s: %w", src, hist[i].ID, err)
			}
			full, err := st.Checkpoint(ctx, src, ns, hist[i].ID)
			if err != nil {
				return fmt.Errorf("copying thread %q: checkpoint %s: %w", src, hist[i].ID, err)
			}
			var own []checkpoint.Blob
			for _, b := range full.Blobs {
				if b.Version == v {
					own = append(own, b)
					written[blobKey(ns, b.Field, v)] = true
					if b.Base != 0 {
						needs = append(needs, need{ns, b.Field, b.Base, hist[i].ID})
					}
				}
			}
			full.Blobs = own
			cps = append(cps, entry{v, full})
		}
	}
	slices.SortFunc(cps, func(a, b entry) int { return compareInt(a.version, b.version) })
	// Every blob a checkpoint needs must be one a copied commit writes.
	for _, e := range cps {
		for field, v := range e.cp.Versions {
			if v != 0 && !written[blobKey(e.cp.Namespace, field, v)] {
				return fmt.Errorf("copying thread %q: checkpoint %s needs field %s of version %d, which is gone: %w", src, e.cp.ID, field, v, errPruned)
			}
		}
	}
	for _, n := range needs {
		if !written[blobKey(n.ns, n.field, n.version)] {
			return fmt.Errorf("copying thread %q: checkpoint %s appends to field %s of version %d, which is gone: %w", src, n.cp, n.field, n.version, errPruned)
		}
	}
	var asked []checkpoint.InterruptRecord
	q := &checkpoint.InterruptQuery{ThreadID: src}
	for {
		p, err := st.Interrupts(ctx, q)
		if err != nil {
			return fmt.Errorf("copying thread %q: its questions: %w", src, err)
		}
		asked = append(asked, p.Interrupts...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	var writes []checkpoint.PendingWrite
	for _, ns := range spaces {
		var head string
		for _, e := range cps {
			if e.cp.Namespace == ns {
				head = e.cp.ID
			}
		}
		if head == "" {
			continue
		}
		ws, err := st.PendingWrites(ctx, src, ns, head)
		if err != nil {
			return fmt.Errorf("copying thread %q: its pending writes: %w", src, err)
		}
		writes = append(writes, ws...)
	}
	// Nothing changed the source while it was read.
	again, err := st.Thread(ctx, src)
	if err != nil {
		return fmt.Errorf("copying thread %q: %w", src, err)
	}
	if again.Version != row.Version {
		return fmt.Errorf("copying thread %q: it changed while it was copied: %w", src, weft.ErrBusy)
	}

	// The copy: one commit per version of the source, so that checkpoint
	// IDs (and blob versions) are the same; versions without a checkpoint
	// (claims, answers) are commits without one.
	stepsAt := map[int64][]checkpoint.Step{}
	for _, s := range steps {
		s.ThreadID = dst
		stepsAt[s.Version] = append(stepsAt[s.Version], s)
	}
	out := checkpoint.Thread{ID: dst, Workflow: row.Workflow, GraphHash: row.GraphHash, Status: checkpoint.StatusStopped, Epoch: row.Epoch}
	at := time.Now().UTC()
	next := 0
	for v := int64(1); v <= row.Version; v++ {
		c := &checkpoint.Commit{Thread: out, ExpectedVersion: v - 1, At: at, Steps: stepsAt[v]}
		if next < len(cps) && cps[next].version == v {
			cp := *cps[next].cp
			cp.ThreadID = dst
			c.Checkpoint = &cp
			if cp.Namespace == "" {
				out.Head = cp.ID
				c.Thread.Head = cp.ID
			}
			next++
		}
		if v == row.Version {
			c.Thread.Status, c.Thread.Error = row.Status, row.Error
			c.Writes = writes
			for _, rec := range asked {
				rec.ID, rec.ThreadID = copiedID(dst, rec.ID), dst
				c.Interrupts = append(c.Interrupts, rec)
			}
		}
		if _, err := st.Commit(ctx, c); err != nil {
			return fmt.Errorf("copying thread %q to %q: commit %d: %w", src, dst, v, err)
		}
	}
	return nil
}

// copiedID is the ID of the copy in thread dst of question id.
func copiedID(dst, id string) string {
	sum := sha256.Sum256([]byte("copy\x00" + dst + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
