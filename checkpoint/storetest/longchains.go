package storetest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

// longChainsTests check long Append chains: a list that grows for hundreds
// of supersteps, with forks from inside the chain, a full value written
// mid-chain, forks that cross it, and Append blobs whose bases are far
// back. A store may keep such chains its own way (the SQL stores fold the
// old links of a chain into packs); whatever it does, every checkpoint
// returns the blobs the Base pointers name, as Checkpoint promises.
var longChainsTests = []test{
	{"TimeTravel", testLongChainsTimeTravel},
	{"VerifyBlobs", testLongChainsVerifyBlobs},
	{"Prune", testLongChainsPrune},
	{"Copy", testLongChainsCopy},
	{"DeleteThread", testLongChainsDelete},
}

// longChainLength is how many supersteps the main line of a long chain
// has: far more than the few dozen links after which a store may fold a
// chain, several times over.
const longChainLength = 300

// longChain commits a long history to one thread of a store and keeps the
// model of it: every blob written and every checkpoint's versions, from
// which the blobs Checkpoint must return follow.
type longChain struct {
	f *fixture
	// written holds every blob committed, by field@version.
	written map[string]checkpoint.Blob
	// versions holds the versions of every checkpoint, by ID; ids are the
	// IDs in commit order.
	versions map[string]map[string]int64
	ids      []string
	// tip is the newest checkpoint of the main line, which forks leave.
	tip string
	// doomed are the checkpoints created long ago (see commit), which a
	// Prune with Before pruneBefore removes.
	doomed map[string]bool
	// checkAll makes grow check every checkpoint after each stretch of
	// the main line, not only at the end: a store may fold and refold a
	// chain as it grows, and a later fold must not be what makes an
	// earlier one read right.
	checkAll bool
}

// pruneBefore is the Before of a Prune that removes a long chain's doomed
// checkpoints and no other.
var pruneBefore = at(-50000)

// newLongChain returns the model of thread id of e, which must not exist.
func (e *env) newLongChain(id string) *longChain {
	return &longChain{
		f: e.thread(id, "w"), written: map[string]checkpoint.Blob{},
		versions: map[string]map[string]int64{}, doomed: map[string]bool{},
	}
}

// next is what one commit of a longChain changes.
type next struct {
	// parent is the checkpoint the commit starts from ("" for none): the
	// new checkpoint has its versions but for the fields blobs write.
	parent string
	// versions, if set, are the new checkpoint's versions instead of the
	// parent's (blobs still add theirs).
	versions map[string]int64
	source   string
	// verify sets Commit.VerifyBlobs (a fork names older blobs).
	verify bool
	// doomed gives the checkpoint a creation time far in the past.
	doomed bool
	blobs  []checkpoint.Blob
}

// commit commits n as the next version and returns the checkpoint's ID.
func (lc *longChain) commit(n next) string {
	f := lc.f
	f.e.t.Helper()
	v := f.row.Version + 1
	vs := map[string]int64{}
	switch {
	case n.versions != nil:
		vs = maps.Clone(n.versions)
	case n.parent != "":
		vs = maps.Clone(lc.versions[n.parent])
	}
	for i := range n.blobs {
		vs[n.blobs[i].Field] = v
	}
	src := n.source
	if src == "" {
		src = checkpoint.SourceLoop
	}
	cp := &checkpoint.Checkpoint{ParentID: n.parent, Step: len(lc.ids), Source: src, Next: []string{"n"},
		Versions: vs, Blobs: slices.Clone(n.blobs)}
	if n.doomed {
		cp.CreatedAt = at(int(v) - 100000)
	}
	f.commit(checkpoint.Commit{Checkpoint: cp, VerifyBlobs: n.verify})
	id := checkpoint.FormatID(v)
	for _, b := range n.blobs {
		b.Version = v
		lc.written[fmt.Sprintf("%s@%d", b.Field, v)] = b
	}
	lc.versions[id] = vs
	lc.ids = append(lc.ids, id)
	if n.doomed {
		lc.doomed[id] = true
	}
	return id
}

// want returns the blobs checkpoint id needs: for each field, its blob and
// the blobs down the Base chain to a full one (or to one never written).
func (lc *longChain) want(id string) []checkpoint.Blob {
	var out []checkpoint.Blob
	for field, v := range lc.versions[id] {
		for {
			b, ok := lc.written[fmt.Sprintf("%s@%d", field, v)]
			if !ok {
				break
			}
			out = append(out, b)
			if b.Base <= 0 || b.Base >= b.Version {
				break
			}
			v = b.Base
		}
	}
	return out
}

// main appends to the list and the log of the main line's tip, n times.
// Every tenth superstep leaves the list as it was and rewrites x instead,
// so that some versions inside the chain are not list blobs. doomed tells
// which of them a Prune removes.
func (lc *longChain) main(n int, doomed func(v int64) bool) {
	lc.f.e.t.Helper()
	for range n {
		v := lc.f.row.Version + 1
		vs := lc.versions[lc.tip]
		blobs := []checkpoint.Blob{appends("log", vs["log"], fmt.Sprintf("[g%d]", v))}
		if v%10 == 0 {
			blobs = append(blobs, full("x", fmt.Sprintf("x%d", v)))
		} else {
			blobs = append(blobs, appends("list", vs["list"], fmt.Sprintf("[%d]", v)))
		}
		lc.tip = lc.commit(next{parent: lc.tip, doomed: doomed != nil && doomed(v), blobs: blobs})
	}
	if lc.checkAll {
		lc.check(fmt.Sprintf("at version %d", lc.f.row.Version), nil)
	}
}

// start commits the first checkpoint of the main line: the list (list),
// the log and x, in full.
func (lc *longChain) start(list string) {
	lc.f.e.t.Helper()
	lc.tip = lc.commit(next{blobs: []checkpoint.Blob{full("list", list), full("log", "[g1]"), full("x", "x1")}})
}

// reset commits an update of the main line that writes its list in full
// (list) and appends to its log.
func (lc *longChain) reset(list string) {
	lc.f.e.t.Helper()
	lc.tip = lc.commit(next{parent: lc.tip, source: checkpoint.SourceUpdate, blobs: []checkpoint.Blob{
		full("list", list), appends("log", lc.versions[lc.tip]["log"], "[update]"),
	}})
}

// fork commits a fork from checkpoint from that appends to its list (and
// its log) and returns its ID.
func (lc *longChain) fork(from string, doomed bool) string {
	lc.f.e.t.Helper()
	v := lc.f.row.Version + 1
	vs := lc.versions[from]
	return lc.commit(next{parent: from, source: checkpoint.SourceFork, verify: true, doomed: doomed, blobs: []checkpoint.Blob{
		appends("list", vs["list"], fmt.Sprintf("[f%d]", v)), appends("log", vs["log"], fmt.Sprintf("[fg%d]", v)),
	}})
}

// id returns the ID of the checkpoint of version v.
func (lc *longChain) id(v int64) string {
	id := checkpoint.FormatID(v)
	if _, ok := lc.versions[id]; !ok {
		lc.f.e.t.Fatalf("no checkpoint of version %d in the model", v)
	}
	return id
}

// grow commits the long history (about longChainLength supersteps) and
// returns lc. The doomed checkpoints (for testLongChainsPrune) are one in
// seven of the main line, a run of them after the full value written
// mid-chain, and some forks; neither the newest checkpoint nor the head is
// one.
func (lc *longChain) grow() *longChain {
	lc.f.e.t.Helper()
	doomed := func(v int64) bool { return v%7 == 3 || (v >= 200 && v <= 215) }
	lc.start("[1]")
	lc.main(119, doomed) // to version 120
	// A fork from inside the chain, and a link on it (doomed: the link
	// after it needs its blob all the same).
	f1 := lc.fork(lc.id(30), true)
	lc.fork(f1, false)
	lc.main(48, doomed) // to version 170
	// An update that writes the list in full mid-chain.
	lc.reset("[reset]")
	lc.main(9, doomed) // to version 180
	// Another, and right after it a fork from before it, with a link
	// on it: their chain is short, so a store that folds chains every
	// few dozen links does not fold it when they are written, but when
	// the chain of the full value grows long, and then the rows the
	// fork needs lie below that chain's start.
	lc.reset("[reset again]")
	f := lc.fork(lc.id(179), false)
	lc.fork(f, false)
	lc.main(67, doomed) // to version 250
	// A fork from before the first full value, whose chain reaches back
	// past both, and one from between them.
	f2 := lc.fork(lc.id(150), false)
	lc.fork(lc.id(180), true)
	lc.main(longChainLength-252, doomed)
	// Appends whose bases are far back in the chain, and to the fork
	// that crossed the full values.
	lc.fork(lc.id(60), false)
	lc.fork(f2, doomed(lc.f.row.Version+1))
	lc.main(10, doomed)
	return lc
}

// check reads every checkpoint of the model and compares its blobs with
// the model's, the pruned ones (gone) excepted, which must be ErrNotFound;
// and the head.
func (lc *longChain) check(what string, gone func(id string) bool) {
	e := lc.f.e
	e.t.Helper()
	id := lc.f.row.ID
	for _, cpID := range lc.ids {
		cp, err := e.s.Checkpoint(e.ctx, id, "", cpID)
		if gone != nil && gone(cpID) {
			wantErr(e.t, fmt.Sprintf("%s: Checkpoint(%q, %s) of a pruned checkpoint", what, id, cpID), err, checkpoint.ErrNotFound)
			continue
		}
		noErr(e.t, fmt.Sprintf("%s: Checkpoint(%q, %s)", what, id, cpID), err)
		if !maps.Equal(cp.Versions, lc.versions[cpID]) {
			e.t.Fatalf("%s: Checkpoint(%q, %s).Versions = %v, want %v", what, id, cpID, cp.Versions, lc.versions[cpID])
		}
		if got, want := blobSet(cp.Blobs), blobSet(lc.want(cpID)); got != want {
			e.t.Fatalf("%s: Checkpoint(%q, %s).Blobs:\ngot\n\t%s\nwant\n\t%s", what, id, cpID, got, want)
		}
	}
	head := e.getCheckpoint(id, "", "")
	if head.ID != lc.f.row.Head {
		e.t.Fatalf("%s: Checkpoint(%q, head) = %s, want %s", what, id, head.ID, lc.f.row.Head)
	}
	checkBlobs(e.t, fmt.Sprintf("%s: Checkpoint(%q, head)", what, id), head.Blobs, lc.want(head.ID))
}

// kept returns the IDs of the model that History lists, oldest first.
func (lc *longChain) kept() []string {
	lc.f.e.t.Helper()
	ids := lc.f.e.history(checkpoint.HistoryQuery{ThreadID: lc.f.row.ID})
	slices.Reverse(ids)
	return ids
}

// testLongChainsTimeTravel: every checkpoint of a long history, forks and
// all, returns the blobs of its chains, and so does the head, at every
// stage of the history; History lists every one.
func testLongChainsTimeTravel(e *env) {
	lc := e.newLongChain("t1")
	lc.checkAll = true
	lc.grow()
	lc.check("after the history", nil)
	if got := lc.kept(); !slices.Equal(got, lc.ids) {
		e.t.Errorf("History = %d checkpoints, want %d", len(got), len(lc.ids))
	}
	// The list's chain is as long as the history (less the supersteps
	// that left it and the full value's restart): the guard that the
	// model tests what it means to.
	if n := len(lc.want(lc.id(170))); n < 150 {
		e.t.Fatalf("the checkpoint of version 170 needs %d blobs, want more than 150", n)
	}
}

// testLongChainsVerifyBlobs: a commit with VerifyBlobs that names blobs
// deep inside a long chain succeeds when they were written, and the
// checkpoint reads their chains; one that names a version that is not a
// blob of its field (a superstep that left the list as it was, x between
// its rewrites) fails with ErrNotFound and changes nothing.
func testLongChainsVerifyBlobs(e *env) {
	lc := e.newLongChain("t1").grow()
	for _, vs := range []map[string]int64{
		{"list": 45, "log": 45, "x": 40},
		{"list": 1, "log": 1, "x": 1},
		{"list": 121, "log": 122},
		{"list": 251, "log": 251, "x": 250},
		{"list": 171, "log": 171},
		{"list": 182, "log": 183},
		{"list": 299, "log": 298},
	} {
		id := lc.commit(next{source: checkpoint.SourceFork, verify: true, versions: vs})
		checkBlobs(e.t, fmt.Sprintf("Checkpoint(%s) of a fork naming %v", id, vs), e.getCheckpoint("t1", "", id).Blobs, lc.want(id))
		// And an append to it, whose base is deep in the chain.
		lc.commit(next{parent: id, blobs: []checkpoint.Blob{appends("list", vs["list"], fmt.Sprintf("[on %d]", vs["list"]))}})
	}
	lc.check("after the forks", nil)
	before := e.snapshot("t1")
	for _, vs := range []map[string]int64{
		{"list": 40, "log": 40},
		{"list": 45, "log": 45, "x": 41},
		{"list": 120},
		{"list": 300, "log": 300},
		{"log": 45, "x": 299},
	} {
		c := checkpoint.Commit{VerifyBlobs: true, Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceFork, Versions: vs}}
		lc.f.prepare(&c)
		_, err := e.s.Commit(e.ctx, &c)
		wantErr(e.t, fmt.Sprintf("Commit with VerifyBlobs naming %v", vs), err, checkpoint.ErrNotFound)
	}
	e.unchanged("commits naming blobs that were never written", before, "t1")
}

// testLongChainsPrune: a Prune that removes checkpoints inside and around
// a long chain (one in seven of the main line, a run after the full value
// written mid-chain, forks, one of which a kept fork appends to) keeps
// every remaining checkpoint readable with the same blobs; the chain keeps
// growing after it, forks from kept checkpoints deep in it read their
// chains, and later Prunes that keep fewer checkpoints leave the rest
// readable.
func testLongChainsPrune(e *env) {
	lc := e.newLongChain("t1").grow()
	live := map[string]bool{}
	for _, id := range lc.ids {
		live[id] = !lc.doomed[id]
	}
	gone := func(id string) bool { return !live[id] }
	n, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", Before: pruneBefore})
	noErr(e.t, "Prune(Before)", err)
	if n != len(lc.doomed) {
		e.t.Errorf("Prune(Before) = %d, want %d", n, len(lc.doomed))
	}
	want := slices.DeleteFunc(slices.Clone(lc.ids), gone)
	if got := lc.kept(); !slices.Equal(got, want) {
		e.t.Fatalf("History after Prune(Before) = %d checkpoints, want %d", len(got), len(want))
	}
	lc.check("after Prune(Before)", gone)

	// The chain grows on, and forks from kept checkpoints deep in it.
	for _, v := range []int64{46, 122, 151, 183, 251} {
		if lc.doomed[lc.id(v)] {
			e.t.Fatalf("the fork from version %d starts from a pruned checkpoint", v)
		}
		live[lc.fork(lc.id(v), false)] = true
	}
	for range 70 {
		lc.main(1, nil)
		live[lc.tip] = true
	}
	lc.check("after growing past Prune", gone)

	// Keep the newest 50, then the head alone.
	for _, keep := range []int{50, 1} {
		kept := slices.DeleteFunc(slices.Clone(lc.ids), gone)
		for _, id := range kept[:len(kept)-keep] {
			live[id] = false
		}
		n, err := e.s.Prune(e.ctx, &checkpoint.Prune{ThreadID: "t1", KeepLast: keep})
		noErr(e.t, fmt.Sprintf("Prune(KeepLast %d)", keep), err)
		if want := len(kept) - keep; n != want {
			e.t.Errorf("Prune(KeepLast %d) = %d, want %d", keep, n, want)
		}
		lc.check(fmt.Sprintf("after Prune(KeepLast %d)", keep), gone)
	}
	for range 70 {
		lc.main(1, nil)
		live[lc.tip] = true
	}
	lc.check("after growing past the last Prune", gone)
	if got := lc.kept(); len(got) != 71 {
		e.t.Errorf("History at the end = %d checkpoints, want 71", len(got))
	}
}

// testLongChainsCopy: a long history copied checkpoint by checkpoint to
// another thread, each commit writing the blobs its checkpoint wrote (as
// server/langgraph copies a thread), reads the same there, and the two
// threads grow apart without mixing.
func testLongChainsCopy(e *env) {
	lc := e.newLongChain("t1").grow()
	cp := e.newLongChain("t2")
	for _, id := range lc.ids {
		v, err := checkpoint.ParseID(id)
		noErr(e.t, "ParseID", err)
		src := e.getCheckpoint("t1", "", id)
		var own []checkpoint.Blob
		for _, b := range src.Blobs {
			if b.Version == v {
				b.Version = 0
				own = append(own, b)
			}
		}
		if got := cp.commit(next{parent: src.ParentID, source: src.Source, versions: src.Versions, blobs: own}); got != id {
			e.t.Fatalf("the copy of checkpoint %s is %s", id, got)
		}
	}
	for _, id := range lc.ids {
		if got, want := blobSet(cp.want(id)), blobSet(lc.want(id)); got != want {
			e.t.Fatalf("the copy's model of %s differs:\ngot\n\t%s\nwant\n\t%s", id, got, want)
		}
	}
	cp.tip = lc.tip
	cp.check("the copy", nil)
	lc.main(70, nil)
	cp.main(90, nil)
	lc.check("the source after both grew", nil)
	cp.check("the copy after both grew", nil)
}

// testLongChainsDelete: DeleteThread of a thread with a long history
// leaves no trace: a thread created again with the same ID reads only what
// it wrote, however its chains grow, and another thread's long history is
// untouched.
func testLongChainsDelete(e *env) {
	lc := e.newLongChain("t1").grow()
	other := e.newLongChain("t2")
	other.start("[other]")
	other.main(150, nil)
	noErr(e.t, "DeleteThread", e.s.DeleteThread(e.ctx, "t1"))
	_, err := e.s.Thread(e.ctx, "t1")
	wantErr(e.t, "Thread of a deleted thread", err, checkpoint.ErrNotFound)
	for _, v := range []int64{1, 45, 121, 182, 251, int64(len(lc.ids))} {
		_, err := e.s.Checkpoint(e.ctx, "t1", "", lc.id(v))
		wantErr(e.t, fmt.Sprintf("Checkpoint(%d) of a deleted thread", v), err, checkpoint.ErrNotFound)
	}
	other.check("the other thread", nil)

	again := e.newLongChain("t1")
	again.start("[again]")
	again.main(150, nil)
	again.fork(again.id(20), false)
	again.check("the thread created again", nil)
	if got := again.kept(); !slices.Equal(got, again.ids) {
		e.t.Errorf("History of the thread created again = %d checkpoints, want %d", len(got), len(again.ids))
	}
	other.check("the other thread at the end", nil)
}
