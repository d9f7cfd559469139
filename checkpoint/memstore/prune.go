package memstore

import (
	"context"
	"errors"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

// Prune removes old checkpoints and returns how many it removed; see
// checkpoint.Store. The blobs of a removed checkpoint that a remaining one
// needs stay, and so do steps and interrupts.
func (s *Store) Prune(ctx context.Context, p *checkpoint.Prune) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if p == nil {
		return 0, errors.New("memstore: Prune without arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ThreadID != "" {
		t := s.threads[p.ThreadID]
		if t == nil {
			return 0, threadNotFound(p.ThreadID)
		}
		return t.prune(p), nil
	}
	n := 0
	for _, t := range s.threads {
		n += t.prune(p)
	}
	return n, nil
}

type blobKey struct {
	field   string
	version int64
}

func (t *thread) prune(p *checkpoint.Prune) int {
	if p.KeepLast <= 0 && p.Before.IsZero() {
		return 0
	}
	removed := 0
	for _, sp := range t.spaces {
		live := 0
		for i := range sp.entries {
			if !sp.entries[i].pruned {
				live++
			}
		}
		var gone []string // IDs of the checkpoints removed now
		seen := 0
		for i := range sp.entries {
			e := &sp.entries[i]
			if e.pruned {
				continue
			}
			seen++
			if seen == live || (sp.name == "" && e.cp.ID == t.row.Head) {
				continue
			}
			if (p.KeepLast > 0 && seen <= live-p.KeepLast) || (!p.Before.IsZero() && e.cp.CreatedAt.Before(p.Before)) {
				e.pruned = true
				gone = append(gone, e.cp.ID)
			}
		}
		if len(gone) == 0 {
			continue
		}
		removed += len(gone)
		t.writes = slices.DeleteFunc(t.writes, func(w checkpoint.PendingWrite) bool {
			return w.Namespace == sp.name && slices.Contains(gone, w.CheckpointID)
		})
		sp.collect()
	}
	return removed
}

// collect drops from the pruned entries of sp the blobs that no remaining
// checkpoint needs, and the entries left without blobs.
func (sp *space) collect() {
	need := make(map[blobKey]bool)
	for i := range sp.entries {
		e := &sp.entries[i]
		if e.pruned {
			continue
		}
		for _, fv := range e.versions {
			for b := sp.blob(fv.field, fv.version); b != nil && !need[blobKey{fv.field, b.Version}]; b = sp.base(b) {
				need[blobKey{fv.field, b.Version}] = true
			}
		}
	}
	sp.entries = slices.DeleteFunc(sp.entries, func(e entry) bool {
		if !e.pruned {
			return false
		}
		for _, b := range e.cp.Blobs {
			if need[blobKey{b.Field, b.Version}] {
				return false
			}
		}
		return true
	})
	for i := range sp.entries {
		e := &sp.entries[i]
		if !e.pruned {
			continue
		}
		var keep []checkpoint.Blob
		for _, b := range e.cp.Blobs {
			if need[blobKey{b.Field, b.Version}] {
				keep = append(keep, b)
			}
		}
		if len(keep) < len(e.cp.Blobs) {
			// Copy the blobs kept so the dropped ones' bytes are freed.
			keep = cloneBlobs(keep)
		}
		// Only the blobs matter now.
		e.cp, e.versions = checkpoint.Checkpoint{ID: e.cp.ID, Blobs: keep}, nil
	}
}
