package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

// testPruneRandom grows random histories in two namespaces (fields that
// stay, are replaced or appended to; forks from older checkpoints) between
// rounds of random pruning, and checks after each round that every
// remaining checkpoint still returns exactly the blobs it returned before,
// and that pruned ones are gone.
func testPruneRandom(e *env) {
	rng := rand.New(rand.NewPCG(1, 2))
	f := e.thread("t1", "w")
	fields := []string{"a", "b", "c"}
	// want holds the blobs of every checkpoint ever committed, by
	// namespace and ID; live the IDs not pruned yet, oldest first.
	want := map[string]map[string]string{"": {}, "sub": {}}
	live := map[string][]string{}
	versions := map[string]map[string]int64{} // by checkpoint ID
	written := map[string]checkpoint.Blob{}   // by field@version
	chain := func(field string, v int64) []checkpoint.Blob {
		var out []checkpoint.Blob
		for v != 0 {
			b := written[fmt.Sprintf("%s@%d", field, v)]
			out = append(out, b)
			v = b.Base
		}
		return out
	}
	grow := func(n int) {
		for range n {
			ns := []string{"", "sub"}[rng.IntN(2)]
			parent := ""
			vs := map[string]int64{}
			if l := live[ns]; len(l) > 0 {
				// Mostly the newest, sometimes a fork from an older one.
				parent = l[len(l)-1]
				if rng.IntN(4) == 0 {
					parent = l[rng.IntN(len(l))]
				}
				vs = maps.Clone(versions[parent])
			}
			v := f.row.Version + 1
			var blobs []checkpoint.Blob
			for _, field := range fields {
				old, had := vs[field]
				switch r := rng.IntN(3); {
				case r == 0 && had:
					continue // unchanged
				case r == 1 && had:
					blobs = append(blobs, appends(field, old, fmt.Sprintf("+%d", v)))
				default:
					blobs = append(blobs, full(field, fmt.Sprintf("=%d", v)))
				}
				vs[field] = 0
			}
			id := f.cp(ns, parent, int(v), vs, blobs...)
			for field, x := range vs {
				if x == 0 {
					vs[field] = v
				}
			}
			for _, b := range blobs {
				b.Version = v
				written[fmt.Sprintf("%s@%d", b.Field, v)] = b
			}
			versions[id] = vs
			var all []checkpoint.Blob
			for field, x := range vs {
				all = append(all, chain(field, x)...)
			}
			want[ns][id] = blobSet(all)
			live[ns] = append(live[ns], id)
		}
	}
	check := func(round int) {
		e.t.Helper()
		for ns, ids := range want {
			hist := e.history(checkpoint.HistoryQuery{ThreadID: "t1", Namespace: ns})
			slices.Reverse(hist)
			if !slices.Equal(hist, live[ns]) {
				e.t.Fatalf("round %d: history of %q = %q, want %q", round, ns, hist, live[ns])
			}
			for id, blobs := range ids {
				cp, err := e.s.Checkpoint(e.ctx, "t1", ns, id)
				if !slices.Contains(live[ns], id) {
					wantErr(e.t, fmt.Sprintf("round %d: Checkpoint(%q, %s) of a pruned checkpoint", round, ns, id), err, checkpoint.ErrNotFound)
					continue
				}
				noErr(e.t, fmt.Sprintf("round %d: Checkpoint(%q, %s)", round, ns, id), err)
				if got := blobSet(cp.Blobs); got != blobs {
					e.t.Fatalf("round %d: Checkpoint(%q, %s).Blobs:\ngot\n\t%s\nwant\n\t%s", round, ns, id, got, blobs)
				}
			}
		}
	}
	for round := range 5 {
		grow(10)
		p := checkpoint.Prune{ThreadID: "t1"}
		if rng.IntN(3) != 0 {
			p.KeepLast = 1 + rng.IntN(6)
		}
		if p.KeepLast == 0 || rng.IntN(2) == 0 {
			p.Before = at(int(f.row.Version) - rng.IntN(15))
		}
		// The model of the rules.
		removed := 0
		head := e.getThread("t1").Head
		for ns, ids := range live {
			var keep []string
			for i, id := range ids {
				newest := i == len(ids)-1 || (ns == "" && id == head)
				v, _ := checkpoint.ParseID(id)
				old := (p.KeepLast > 0 && i < len(ids)-p.KeepLast) || (!p.Before.IsZero() && at(int(v)).Before(p.Before))
				if newest || !old {
					keep = append(keep, id)
				} else {
					removed++
				}
			}
			live[ns] = keep
		}
		n, err := e.s.Prune(e.ctx, &p)
		noErr(e.t, fmt.Sprintf("round %d: Prune(%+v)", round, p), err)
		if n != removed {
			e.t.Errorf("round %d: Prune(KeepLast %d, Before minute %v) = %d, want %d", round, p.KeepLast, p.Before.Sub(t0).Minutes(), n, removed)
		}
		check(round)
	}
}
