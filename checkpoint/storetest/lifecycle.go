package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var stepsTests = []test{
	{"AfterVersion", testStepsAfterVersion},
	{"UnknownThread", func(e *env) {
		_, err := e.s.Steps(e.ctx, "nope", 0)
		wantErr(e.t, `Steps("nope")`, err, checkpoint.ErrNotFound)
	}},
}

// testStepsAfterVersion: Steps returns the steps of commits after a
// version, in the order written.
func testStepsAfterVersion(e *env) {
	f := e.thread("t1", "w")
	g := e.thread("t2", "w")
	step := func(node string) checkpoint.Step {
		return checkpoint.Step{ThreadID: "t1", Node: node, Task: node, Status: checkpoint.StepCompleted, StartedAt: at(1), Duration: time.Millisecond}
	}
	f.commit(checkpoint.Commit{Steps: []checkpoint.Step{step("z"), step("a")}}) // 1
	f.commit(checkpoint.Commit{})                                               // 2
	g.commit(checkpoint.Commit{Steps: []checkpoint.Step{{ThreadID: "t2", Node: "other", Status: checkpoint.StepCompleted, StartedAt: at(1)}}})
	f.commit(checkpoint.Commit{Steps: []checkpoint.Step{step("m")}})                       // 3
	f.commit(checkpoint.Commit{Steps: []checkpoint.Step{step("c"), step("b"), step("c")}}) // 4
	for _, tc := range []struct {
		after int64
		want  []string
	}{
		{0, []string{"1z", "1a", "3m", "4c", "4b", "4c"}},
		{1, []string{"3m", "4c", "4b", "4c"}},
		{2, []string{"3m", "4c", "4b", "4c"}},
		{3, []string{"4c", "4b", "4c"}},
		{4, nil},
		{9, nil},
	} {
		var got []string
		for _, s := range e.steps("t1", tc.after) {
			got = append(got, fmt.Sprintf("%d%s", s.Version, s.Node))
		}
		if !slices.Equal(got, tc.want) {
			e.t.Errorf("Steps(t1, after %d) = %q, want %q", tc.after, got, tc.want)
		}
	}
	if got := e.steps("t2", 0); len(got) != 1 || got[0].Node != "other" || got[0].Version != 1 {
		e.t.Errorf("Steps(t2) = %+v, want the one step of t2 at version 1", got)
	}
}

var deleteTests = []test{
	{"RemovesEverything", testDeleteThread},
	{"NotFound", func(e *env) {
		err := e.s.DeleteThread(e.ctx, "nope")
		wantErr(e.t, `DeleteThread("nope")`, err, checkpoint.ErrNotFound)
	}},
}

// testDeleteThread: everything of the thread goes, other threads stay, and
// the ID can be used again from scratch.
func testDeleteThread(e *env) {
	_, spaces := e.richThread("gone")
	e.richThread("kept")
	kept := e.snapshot("kept", spaces...)
	noErr(e.t, "DeleteThread", e.s.DeleteThread(e.ctx, "gone"))

	_, err := e.s.Thread(e.ctx, "gone")
	wantErr(e.t, "Thread after DeleteThread", err, checkpoint.ErrNotFound)
	_, err = e.s.Checkpoint(e.ctx, "gone", "", "")
	wantErr(e.t, "Checkpoint after DeleteThread", err, checkpoint.ErrNotFound)
	_, err = e.s.Checkpoint(e.ctx, "gone", "sub:1", checkpoint.FormatID(2))
	wantErr(e.t, "Checkpoint(sub) after DeleteThread", err, checkpoint.ErrNotFound)
	_, err = e.s.History(e.ctx, &checkpoint.HistoryQuery{ThreadID: "gone"})
	wantErr(e.t, "History after DeleteThread", err, checkpoint.ErrNotFound)
	_, err = e.s.PendingWrites(e.ctx, "gone", "", checkpoint.FormatID(1))
	wantErr(e.t, "PendingWrites after DeleteThread", err, checkpoint.ErrNotFound)
	_, err = e.s.Steps(e.ctx, "gone", 0)
	wantErr(e.t, "Steps after DeleteThread", err, checkpoint.ErrNotFound)
	if rs := e.interrupts(checkpoint.InterruptQuery{ThreadID: "gone"}); len(rs) != 0 {
		e.t.Errorf("Interrupts(thread gone) after DeleteThread = %d, want none", len(rs))
	}
	for _, r := range e.interrupts(checkpoint.InterruptQuery{}) {
		if r.ThreadID == "gone" {
			e.t.Errorf("Interrupts() after DeleteThread lists %s", renderInterrupt(&r))
		}
	}
	err = e.answer([]checkpoint.Answer{{ThreadID: "gone", InterruptID: "q1", Value: json.RawMessage(`1`), At: at(9)}})
	wantErr(e.t, "Answer after DeleteThread", err, checkpoint.ErrNotFound)
	page, err := e.s.Threads(e.ctx, &checkpoint.ThreadQuery{})
	noErr(e.t, "Threads", err)
	if got := threadIDs(page.Threads); !slices.Equal(got, []string{"kept"}) {
		e.t.Errorf("Threads after DeleteThread = %q, want [kept]", got)
	}
	err = e.s.DeleteThread(e.ctx, "gone")
	wantErr(e.t, "DeleteThread twice", err, checkpoint.ErrNotFound)
	e.unchanged("DeleteThread of another thread", kept, "kept", spaces...)

	// A new thread with the same ID starts empty.
	f := e.thread("gone", "w2")
	f.commit(checkpoint.Commit{})
	if got := e.snapshot("gone", spaces...); got != renderThread(e.getThread("gone"))+"\n" {
		e.t.Errorf("a thread created again after DeleteThread holds old rows:\n%s", got)
	}
	f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "new"))
	if got := e.history(checkpoint.HistoryQuery{ThreadID: "gone", Namespace: "sub:1"}); len(got) != 0 {
		e.t.Errorf("History(sub:1) of the thread created again = %q, want none", got)
	}
}

var pruneTests = []test{
	{"Rules", testPruneRules},
	{"KeepsHead", testPruneKeepsHead},
	{"KeepsBlobsOfAppendChains", testPruneKeepsBlobs},
	{"RemovesPendingWrites", testPruneRemovesWrites},
	{"KeepsStepsAndInterrupts", testPruneKeepsAudit},
	{"AllThreads", testPruneAllThreads},
	{"RandomHistories", testPruneRandom},
	{"UnknownThread", func(e *env) {
		_, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "nope", KeepLast: 1})
		wantErr(e.t, `Prune("nope")`, err, checkpoint.ErrNotFound)
	}},
}

// pruneHistory commits to f 6 root checkpoints (versions v+1..v+6, at
// minutes v+1..) interleaved with 3 in namespace "sub", and returns the IDs
// of each namespace, oldest first.
func (f *fixture) pruneHistory() (root, sub []string) {
	f.e.t.Helper()
	for i := range 6 {
		root = append(root, f.cp("", "", i, map[string]int64{"x": 0}, full("x", fmt.Sprint(i))))
		if i%2 == 1 {
			sub = append(sub, f.cp("sub", "", i, map[string]int64{"y": 0}, full("y", fmt.Sprint(i))))
		}
	}
	return root, sub
}

// testPruneRules: KeepLast, Before and both, per namespace; the newest
// checkpoint of each namespace always stays.
func testPruneRules(e *env) {
	// Root checkpoints are at versions (and minutes) 1 2 4 5 7 8, sub ones
	// at 3 6 9.
	for _, tc := range []struct {
		name      string
		p         checkpoint.Prune
		root, sub []int // indexes that remain, oldest first
	}{
		{"Nothing", checkpoint.Prune{}, []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2}},
		{"KeepLast1", checkpoint.Prune{KeepLast: 1}, []int{5}, []int{2}},
		{"KeepLast2", checkpoint.Prune{KeepLast: 2}, []int{4, 5}, []int{1, 2}},
		{"KeepLastAll", checkpoint.Prune{KeepLast: 6}, []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2}},
		{"KeepLastMore", checkpoint.Prune{KeepLast: 100}, []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2}},
		{"Before", checkpoint.Prune{Before: at(5)}, []int{3, 4, 5}, []int{1, 2}},
		{"BeforeIsStrict", checkpoint.Prune{Before: at(4)}, []int{2, 3, 4, 5}, []int{1, 2}},
		{"BeforeEverything", checkpoint.Prune{Before: at(100)}, []int{5}, []int{2}},
		{"BeforeNothing", checkpoint.Prune{Before: at(0)}, []int{0, 1, 2, 3, 4, 5}, []int{0, 1, 2}},
		{"BothKeepLastRemovesMore", checkpoint.Prune{KeepLast: 2, Before: at(2)}, []int{4, 5}, []int{1, 2}},
		{"BothBeforeRemovesMore", checkpoint.Prune{KeepLast: 5, Before: at(7)}, []int{4, 5}, []int{2}},
		{"BothSplit", checkpoint.Prune{KeepLast: 2, Before: at(4)}, []int{4, 5}, []int{1, 2}},
	} {
		e.fresh(tc.name, func(e *env) {
			f := e.thread("t1", "w")
			root, sub := f.pruneHistory()
			n, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: tc.p.KeepLast, Before: tc.p.Before})
			noErr(e.t, fmt.Sprintf("Prune(%+v)", tc.p), err)
			pick := func(all []string, idx []int) []string {
				var out []string
				for _, i := range slices.Backward(idx) {
					out = append(out, all[i])
				}
				return out
			}
			wantRoot, wantSub := pick(root, tc.root), pick(sub, tc.sub)
			if want := len(root) + len(sub) - len(wantRoot) - len(wantSub); n != want {
				e.t.Errorf("Prune(%+v) = %d, want %d", tc.p, n, want)
			}
			if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); !slices.Equal(got, wantRoot) {
				e.t.Errorf("root history after Prune(%+v) = %q, want %q", tc.p, got, wantRoot)
			}
			if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1", Namespace: "sub"}); !slices.Equal(got, wantSub) {
				e.t.Errorf("sub history after Prune(%+v) = %q, want %q", tc.p, got, wantSub)
			}
			for _, id := range root {
				_, err := e.s.Checkpoint(e.ctx, "t1", "", id)
				if slices.Contains(wantRoot, id) {
					noErr(e.t, "Checkpoint of a kept checkpoint", err)
				} else {
					wantErr(e.t, "Checkpoint of a pruned checkpoint", err, checkpoint.ErrNotFound)
				}
			}
			// Pruning again by the same rules removes nothing more.
			n, err = e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: tc.p.KeepLast, Before: tc.p.Before})
			noErr(e.t, "Prune again", err)
			if n != 0 {
				e.t.Errorf("Prune(%+v) again = %d, want 0", tc.p, n)
			}
		})
	}
}

// testPruneKeepsHead: the thread's head stays even when the rules would
// remove it.
func testPruneKeepsHead(e *env) {
	f := e.thread("t1", "w")
	root, _ := f.pruneHistory()
	f.row.Head = root[1] // moved back, as by a rewind
	f.commit(checkpoint.Commit{})
	n, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: 1, Before: at(100)})
	noErr(e.t, "Prune", err)
	want := []string{root[5], root[1]}
	if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); !slices.Equal(got, want) || n != 6 {
		e.t.Errorf("Prune = %d, history %q; want 6, %q", n, got, want)
	}
	if got := e.getCheckpoint("t1", "", "").ID; got != root[1] {
		e.t.Errorf("head after Prune = %s, want %s", got, root[1])
	}
}

// testPruneKeepsBlobs: every checkpoint that remains still returns every
// blob its state needs, for each rule, including blobs written by pruned
// checkpoints down Append chains; later commits can keep appending.
func testPruneKeepsBlobs(e *env) {
	for _, tc := range []struct {
		name string
		p    checkpoint.Prune
	}{
		{"KeepLast1", checkpoint.Prune{KeepLast: 1}},
		{"KeepLast2", checkpoint.Prune{KeepLast: 2}},
		{"KeepLast4", checkpoint.Prune{KeepLast: 4}},
		{"Before", checkpoint.Prune{Before: at(4)}},
		{"Both", checkpoint.Prune{KeepLast: 3, Before: at(3)}},
		{"Twice", checkpoint.Prune{KeepLast: 5}},
	} {
		e.fresh(tc.name, func(e *env) {
			f := e.thread("t1", "w")
			ids, want := f.blobChain("")
			subIDs, subWant := f.blobChain("sub")
			p := tc.p
			p.ThreadID = "t1"
			_, err := e.s.Prune(e.ctx, &p)
			noErr(e.t, "Prune", err)
			if tc.name == "Twice" {
				_, err = e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: 1})
				noErr(e.t, "Prune again", err)
			}
			for _, sp := range []struct {
				ns   string
				ids  []string
				want map[string][]checkpoint.Blob
			}{{"", ids, want}, {"sub", subIDs, subWant}} {
				kept := e.history(checkpoint.HistoryQuery{ThreadID: "t1", Namespace: sp.ns})
				if len(kept) == 0 {
					e.t.Errorf("Prune(%+v) kept no checkpoint of %q", tc.p, sp.ns)
				}
				for _, id := range kept {
					checkBlobs(e.t, fmt.Sprintf("after Prune, Checkpoint(%q, %s)", sp.ns, id), e.getCheckpoint("t1", sp.ns, id).Blobs, sp.want[id])
				}
			}
			// Keep appending to the list of the head (the fork c7).
			head := e.getCheckpoint("t1", "", "")
			v := f.nextID()
			f.cp("", head.ID, 9, map[string]int64{"list": 0, "x": head.Versions["x"]}, appends("list", head.Versions["list"], "[11]"))
			wantBlobs := append(slices.Clone(want[head.ID]), checkpoint.Blob{Field: "list", Version: f.row.Version, Base: head.Versions["list"], Data: []byte("[11]")})
			checkBlobs(e.t, "Checkpoint after appending past Prune", e.getCheckpoint("t1", "", v).Blobs, wantBlobs)
		})
	}
}

// testPruneRemovesWrites: the pending writes of pruned checkpoints go,
// those of remaining ones stay.
func testPruneRemovesWrites(e *env) {
	f := e.thread("t1", "w")
	root, sub := f.pruneHistory()
	w := func(ns, cp string) checkpoint.PendingWrite {
		return checkpoint.PendingWrite{Namespace: ns, CheckpointID: cp, Task: "a", Kind: "output", Data: []byte(ns + cp)}
	}
	var ws []checkpoint.PendingWrite
	for _, id := range root {
		ws = append(ws, w("", id))
	}
	for _, id := range sub {
		ws = append(ws, w("sub", id))
	}
	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: ws}))
	_, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: 2})
	noErr(e.t, "Prune", err)
	for i, id := range root {
		got := e.writes("t1", "", id)
		if kept := i >= 4; kept != (len(got) == 1) {
			e.t.Errorf("writes of root checkpoint %s after Prune(KeepLast 2): %d, want kept=%v", id, len(got), kept)
		}
	}
	for i, id := range sub {
		got := e.writes("t1", "sub", id)
		if kept := i >= 1; kept != (len(got) == 1) {
			e.t.Errorf("writes of sub checkpoint %s after Prune(KeepLast 2): %d, want kept=%v", id, len(got), kept)
		}
	}
}

// testPruneKeepsAudit: steps and interrupts stay, even those of pruned
// checkpoints.
func testPruneKeepsAudit(e *env) {
	f, _ := e.richThread("t1")
	for i := range 4 {
		f.commit(checkpoint.Commit{
			Checkpoint: &checkpoint.Checkpoint{ParentID: f.row.Head, Step: i + 1, Versions: map[string]int64{"x": 1, "list": 1}},
			Interrupts: []checkpoint.InterruptRecord{question("t1", fmt.Sprintf("p%d", i), f.row.Head, 3+i)},
			Steps:      []checkpoint.Step{{ThreadID: "t1", Superstep: i + 1, CheckpointID: f.row.Head, Node: "n", Status: checkpoint.StepCompleted, StartedAt: at(3 + i)}},
		})
	}
	irqs := e.interrupts(checkpoint.InterruptQuery{ThreadID: "t1"})
	steps := e.steps("t1", 0)
	_, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: 1, Before: at(100)})
	noErr(e.t, "Prune", err)
	if got := e.interrupts(checkpoint.InterruptQuery{ThreadID: "t1"}); !slices.Equal(keys(got), keys(irqs)) {
		e.t.Errorf("interrupts after Prune = %q, want %q", keys(got), keys(irqs))
	}
	if got := e.steps("t1", 0); len(got) != len(steps) {
		e.t.Errorf("steps after Prune = %d, want %d", len(got), len(steps))
	}
	if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); len(got) != 1 {
		e.t.Errorf("root history after Prune = %q, want one checkpoint", got)
	}
}

// testPruneAllThreads: an empty ThreadID prunes every thread by the same
// rules and counts them all.
func testPruneAllThreads(e *env) {
	var heads []string
	for _, id := range []string{"a", "b", "c"} {
		f := e.thread(id, "w")
		root, _ := f.pruneHistory()
		heads = append(heads, root[5])
	}
	n, err := e.s.Prune(e.ctx, &checkpoint.Prune{KeepLast: 2})
	noErr(e.t, "Prune(every thread)", err)
	if n != 3*(4+1) {
		e.t.Errorf("Prune(every thread, KeepLast 2) = %d, want %d", n, 3*5)
	}
	for i, id := range []string{"a", "b", "c"} {
		if got := e.history(checkpoint.HistoryQuery{ThreadID: id}); len(got) != 2 || got[0] != heads[i] {
			e.t.Errorf("history of %s after Prune = %q, want 2 ending at %s", id, got, heads[i])
		}
	}
}
