package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var checkpointTests = []test{
	{"NotFound", testCheckpointNotFound},
	{"RoundTrip", testCheckpointRoundTrip},
	{"HeadOfRoot", testCheckpointHeadOfRoot},
	{"HeadIsThreadHead", testCheckpointHeadIsThreadHead},
	{"HeadOfNamespace", testCheckpointHeadOfNamespace},
	{"Blobs", testCheckpointBlobs},
	{"BlobsPerNamespace", testCheckpointBlobsPerNamespace},
	{"BlobBytes", testCheckpointBlobBytes},
}

// testCheckpointNotFound: a checkpoint that does not exist, or a head
// before the first checkpoint, is ErrNotFound.
func testCheckpointNotFound(e *env) {
	f := e.thread("empty", "w")
	f.commit(checkpoint.Commit{})
	g := e.thread("t1", "w")
	c1 := g.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
	s2 := g.cp("sub", "", 0, map[string]int64{"y": 0}, full("y", "1"))
	for _, tc := range []struct{ name, thread, ns, id string }{
		{"UnknownThread", "nope", "", ""},
		{"UnknownThreadWithID", "nope", "", c1},
		{"HeadBeforeFirstCheckpoint", "empty", "", ""},
		{"NamespaceWithoutCheckpoint", "t1", "other", ""},
		{"UnknownID", "t1", "", checkpoint.FormatID(3)},
		{"IDOfAnotherNamespace", "t1", "", s2},
		{"RootIDInNamespace", "t1", "sub", c1},
		{"IDOfAnotherThread", "empty", "", c1},
		{"MalformedID", "t1", "", "not-an-id"},
	} {
		e.run(tc.name, func(e *env) {
			_, err := e.s.Checkpoint(e.ctx, tc.thread, tc.ns, tc.id)
			wantErr(e.t, fmt.Sprintf("Checkpoint(%q, %q, %q)", tc.thread, tc.ns, tc.id), err, checkpoint.ErrNotFound)
		})
	}
}

// testCheckpointRoundTrip: every field of a checkpoint comes back as
// committed, from Checkpoint (with its blobs) and from History (without).
func testCheckpointRoundTrip(e *env) {
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{})
	created := at(5).Add(321 * time.Microsecond)
	cp := &checkpoint.Checkpoint{
		Namespace: "outer:3/inner:7", ParentID: "000000000000x", Step: 4, Source: checkpoint.SourceFork,
		Next: []string{"b", "a", "tools#2"}, Versions: map[string]int64{"x": 2, "y": 2, "old": 1},
		Meta:      map[string]string{"as_node": "review", "passed": "a,b", "": "empty key"},
		CreatedAt: created,
		Blobs:     []checkpoint.Blob{full("x", `{"a":1}`), full("y", `[]`)},
	}
	f.commit(checkpoint.Commit{Checkpoint: cp, At: at(6)})
	want := *cp
	got := e.getCheckpoint("t1", cp.Namespace, cp.ID)
	checkCheckpoint(e.t, "Checkpoint", got, &want, true)
	got = e.getCheckpoint("t1", cp.Namespace, "")
	checkCheckpoint(e.t, "Checkpoint(head of namespace)", got, &want, true)
	hist, err := e.s.History(e.ctx, &checkpoint.HistoryQuery{ThreadID: "t1", Namespace: cp.Namespace})
	noErr(e.t, "History", err)
	if len(hist) != 1 {
		e.t.Fatalf("History = %d checkpoints, want 1", len(hist))
	}
	checkCheckpoint(e.t, "History", &hist[0], &want, false)

	// Empty lists and maps come back empty (nil or not).
	bare := &checkpoint.Checkpoint{Source: checkpoint.SourceInput}
	f.commit(checkpoint.Commit{Checkpoint: bare})
	checkCheckpoint(e.t, "Checkpoint without fields", e.getCheckpoint("t1", "", ""), bare, true)
}

// testCheckpointHeadOfRoot: an empty ID in the root namespace is the
// thread's head, which subgraph checkpoints do not move.
func testCheckpointHeadOfRoot(e *env) {
	f := e.thread("t1", "w")
	c1 := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
	if got := e.getCheckpoint("t1", "", "").ID; got != c1 {
		e.t.Errorf("head after the first checkpoint = %s, want %s", got, c1)
	}
	c2 := f.cp("", c1, 1, map[string]int64{"x": 0}, full("x", "2"))
	f.cp("sub:1", "", 0, map[string]int64{"y": 0}, full("y", "1"))
	if th := e.getThread("t1"); th.Head != c2 {
		e.t.Errorf("Thread.Head = %q, want %q", th.Head, c2)
	}
	got := e.getCheckpoint("t1", "", "")
	want := &checkpoint.Checkpoint{ThreadID: "t1", ID: c2, ParentID: c1, Step: 1, Source: checkpoint.SourceLoop,
		Next: []string{"n"}, Versions: map[string]int64{"x": 2}, CreatedAt: at(2), Blobs: []checkpoint.Blob{{Field: "x", Version: 2, Data: []byte("2")}}}
	checkCheckpoint(e.t, "Checkpoint(head)", got, want, true)
}

// testCheckpointHeadIsThreadHead: the root head is Thread.Head as the
// caller wrote it, even when a commit moves it back to an older checkpoint.
func testCheckpointHeadIsThreadHead(e *env) {
	f := e.thread("t1", "w")
	c1 := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
	c2 := f.cp("", c1, 1, map[string]int64{"x": 0}, full("x", "2"))
	f.row.Head = c1
	f.commit(checkpoint.Commit{})
	if got := e.getCheckpoint("t1", "", "").ID; got != c1 {
		e.t.Errorf("Checkpoint(head) = %s after Head moved back to %s (newest %s)", got, c1, c2)
	}
}

// testCheckpointHeadOfNamespace: an empty ID in another namespace is that
// namespace's newest checkpoint.
func testCheckpointHeadOfNamespace(e *env) {
	f := e.thread("t1", "w")
	f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
	a1 := f.cp("a", "", 0, map[string]int64{"x": 0}, full("x", "a1"))
	b1 := f.cp("b", "", 0, map[string]int64{"x": 0}, full("x", "b1"))
	a2 := f.cp("a", a1, 1, map[string]int64{"x": 0}, full("x", "a2"))
	f.cp("", "", 1, map[string]int64{"x": 0}, full("x", "2"))
	for ns, want := range map[string]string{"a": a2, "b": b1} {
		if got := e.getCheckpoint("t1", ns, ""); got.ID != want || got.Namespace != ns {
			e.t.Errorf("Checkpoint(ns %q, head) = %q in %q, want %q", ns, got.ID, got.Namespace, want)
		}
	}
}

// blobChain commits, in namespace ns of f, a history that exercises
// unchanged fields, Append chains, a full value that restarts a chain and a
// fork, and returns for each checkpoint ID the blobs Checkpoint must return.
func (f *fixture) blobChain(ns string) (ids []string, want map[string][]checkpoint.Blob) {
	f.e.t.Helper()
	want = make(map[string][]checkpoint.Blob)
	blob := func(field string, v, base int64, data string) checkpoint.Blob {
		return checkpoint.Blob{Field: field, Version: v, Base: base, Data: []byte(data)}
	}
	add := func(id string, bs ...checkpoint.Blob) {
		ids = append(ids, id)
		want[id] = bs
	}
	v := f.row.Version
	// c1: list [1,2] and x full.
	c1 := f.cp(ns, "", 0, map[string]int64{"list": 0, "x": 0}, full("list", "[1,2]"), full("x", "x1"))
	add(c1, blob("list", v+1, 0, "[1,2]"), blob("x", v+1, 0, "x1"))
	// c2: list appends [3]; x unchanged.
	c2 := f.cp(ns, c1, 1, map[string]int64{"list": 0, "x": v + 1}, appends("list", v+1, "[3]"))
	add(c2, blob("list", v+1, 0, "[1,2]"), blob("list", v+2, v+1, "[3]"), blob("x", v+1, 0, "x1"))
	// c3: x changes, list unchanged (still the tail at c2).
	c3 := f.cp(ns, c2, 2, map[string]int64{"list": v + 2, "x": 0}, full("x", "x3"))
	add(c3, blob("list", v+1, 0, "[1,2]"), blob("list", v+2, v+1, "[3]"), blob("x", v+3, 0, "x3"))
	// c4: list appends [4] to c2's tail; a new field.
	c4 := f.cp(ns, c3, 3, map[string]int64{"list": 0, "x": v + 3, "y": 0}, appends("list", v+2, "[4]"), full("y", "y4"))
	add(c4, blob("list", v+1, 0, "[1,2]"), blob("list", v+2, v+1, "[3]"), blob("list", v+4, v+2, "[4]"),
		blob("x", v+3, 0, "x3"), blob("y", v+4, 0, "y4"))
	// c5: the list restarts from a full value; the chain before it is
	// not needed.
	c5 := f.cp(ns, c4, 4, map[string]int64{"list": 0, "x": v + 3}, full("list", "[9]"))
	add(c5, blob("list", v+5, 0, "[9]"), blob("x", v+3, 0, "x3"))
	// c6: appends to the restarted list.
	c6 := f.cp(ns, c5, 5, map[string]int64{"list": 0, "x": v + 3}, appends("list", v+5, "[10]"))
	add(c6, blob("list", v+5, 0, "[9]"), blob("list", v+6, v+5, "[10]"), blob("x", v+3, 0, "x3"))
	// c7: a fork from c2 whose list appends to c2's tail.
	c7 := f.cp(ns, c2, 2, map[string]int64{"list": 0, "x": v + 1}, appends("list", v+2, "[5]"))
	add(c7, blob("list", v+1, 0, "[1,2]"), blob("list", v+2, v+1, "[3]"), blob("list", v+7, v+2, "[5]"), blob("x", v+1, 0, "x1"))
	return ids, want
}

// testCheckpointBlobs: Checkpoint returns every blob needed to rebuild the
// state, and no other: for each field the blob at its version and the
// blobs down its Append chain to a full one.
func testCheckpointBlobs(e *env) {
	f := e.thread("t1", "w")
	ids, want := f.blobChain("")
	for _, id := range ids {
		checkBlobs(e.t, fmt.Sprintf("Checkpoint(%s)", id), e.getCheckpoint("t1", "", id).Blobs, want[id])
	}
}

// testCheckpointBlobsPerNamespace: blobs belong to their namespace: the
// same fields in two namespaces do not mix.
func testCheckpointBlobsPerNamespace(e *env) {
	f := e.thread("t1", "w")
	rootIDs, rootWant := f.blobChain("")
	subIDs, subWant := f.blobChain("outer:1")
	for _, tc := range []struct {
		ns   string
		ids  []string
		want map[string][]checkpoint.Blob
	}{{"", rootIDs, rootWant}, {"outer:1", subIDs, subWant}} {
		for _, id := range tc.ids {
			checkBlobs(e.t, fmt.Sprintf("Checkpoint(%q, %s)", tc.ns, id), e.getCheckpoint("t1", tc.ns, id).Blobs, tc.want[id])
		}
	}
}

// testCheckpointBlobBytes: blobs are opaque bytes: any byte value, empty
// and large blobs come back exactly.
func testCheckpointBlobBytes(e *env) {
	f := e.thread("t1", "w")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	large := make([]byte, 256<<10)
	for i := range large {
		large[i] = byte(i * 7 % 251)
	}
	id := f.cp("", "", 0, map[string]int64{"bin": 0, "empty": 0, "large": 0},
		checkpoint.Blob{Field: "bin", Data: all}, checkpoint.Blob{Field: "empty", Data: []byte{}},
		checkpoint.Blob{Field: "large", Data: large})
	got := e.getCheckpoint("t1", "", id)
	if len(got.Blobs) != 3 {
		e.t.Fatalf("Checkpoint: %d blobs, want 3", len(got.Blobs))
	}
	for _, b := range got.Blobs {
		var want []byte
		switch b.Field {
		case "bin":
			want = all
		case "large":
			want = large
		}
		if !slices.Equal(b.Data, want) || b.Version != 1 || b.Base != 0 {
			e.t.Errorf("blob %s: %d bytes at version %d base %d, want %d bytes at version 1", b.Field, len(b.Data), b.Version, b.Base, len(want))
		}
	}
}

var historyTests = []test{
	{"Query", testHistoryQuery},
	{"UnknownThread", func(e *env) {
		_, err := e.s.History(e.ctx, &checkpoint.HistoryQuery{ThreadID: "nope"})
		wantErr(e.t, `History("nope")`, err, checkpoint.ErrNotFound)
	}},
	{"NoDefaultLimit", func(e *env) {
		f := e.thread("t1", "w")
		for i := range 120 {
			f.cp("", "", i, map[string]int64{"x": 0}, full("x", "1"))
		}
		if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); len(got) != 120 {
			e.t.Errorf("History(Limit 0) = %d checkpoints, want all 120", len(got))
		}
	}},
}

// testHistoryQuery: a namespace's checkpoints newest first, older than
// Before, at most Limit, without blobs.
func testHistoryQuery(e *env) {
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{}) // a thread version without checkpoint
	var root, sub []string
	for i := range 6 {
		root = append(root, f.cp("", "", i, map[string]int64{"x": 0}, full("x", "r")))
		if i%2 == 0 {
			sub = append(sub, f.cp("sub", "", i, map[string]int64{"x": 0}, full("x", "s")))
		}
	}
	slices.Reverse(root)
	slices.Reverse(sub)
	for _, tc := range []struct {
		name string
		q    checkpoint.HistoryQuery
		want []string
	}{
		{"All", checkpoint.HistoryQuery{}, root},
		{"Namespace", checkpoint.HistoryQuery{Namespace: "sub"}, sub},
		{"EmptyNamespace", checkpoint.HistoryQuery{Namespace: "none"}, nil},
		{"Limit", checkpoint.HistoryQuery{Limit: 2}, root[:2]},
		{"LimitAboveTotal", checkpoint.HistoryQuery{Limit: 100}, root},
		{"Before", checkpoint.HistoryQuery{Before: root[2]}, root[3:]},
		{"BeforeOldest", checkpoint.HistoryQuery{Before: root[len(root)-1]}, nil},
		{"BeforeAndLimit", checkpoint.HistoryQuery{Before: root[1], Limit: 3}, root[2:5]},
		{"BeforeIDOfAnotherNamespace", checkpoint.HistoryQuery{Namespace: "sub", Before: root[1]}, sub[1:]},
		{"BeforeNewerThanAll", checkpoint.HistoryQuery{Before: checkpoint.FormatID(99)}, root},
	} {
		e.run(tc.name, func(e *env) {
			q := tc.q
			q.ThreadID = "t1"
			if got := e.history(q); !slices.Equal(got, tc.want) {
				e.t.Errorf("History(%+v) = %q, want %q", q, got, tc.want)
			}
		})
	}
	// Checkpoints of another thread do not show.
	g := e.thread("t2", "w")
	g.cp("", "", 0, map[string]int64{"x": 0}, full("x", "other"))
	if got := e.history(checkpoint.HistoryQuery{ThreadID: "t1"}); !slices.Equal(got, root) {
		e.t.Errorf("History(t1) after t2 committed = %q, want %q", got, root)
	}
}

var pendingWritesTests = []test{
	{"Order", testPendingWritesOrder},
	{"UnknownThread", func(e *env) {
		_, err := e.s.PendingWrites(e.ctx, "nope", "", "")
		wantErr(e.t, `PendingWrites("nope")`, err, checkpoint.ErrNotFound)
	}},
}

// testPendingWritesOrder: the writes of one (namespace, checkpoint) come
// ordered by task, kind and key, whatever order they were written in.
func testPendingWritesOrder(e *env) {
	f := e.thread("t1", "w")
	c1 := f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
	w := func(task, kind, key, data string) checkpoint.PendingWrite {
		return checkpoint.PendingWrite{CheckpointID: c1, Task: task, Kind: kind, Key: key, Data: []byte(data)}
	}
	in := []checkpoint.PendingWrite{
		w("b", "output", "", "1"), w("a", "output", "", "2"), w("a", "do", "2", "3"),
		w("a", "do", "10", "4"), w("tools#2", "output", "", "5"), w("tools#10", "output", "", "6"),
		w("a", "do", "", ""), w("B", "output", "", "8"),
	}
	noErr(e.t, "PutWrites", e.s.PutWrites(e.ctx, &checkpoint.PutWrites{ThreadID: "t1", Writes: in[:4]}))
	f.commit(checkpoint.Commit{Writes: in[4:]})
	want := slices.Clone(in)
	sortWrites(want)
	checkWrites(e.t, "PendingWrites", e.writes("t1", "", c1), want)
	if got := e.writes("t1", "", "other"); len(got) != 0 {
		e.t.Errorf("PendingWrites of a checkpoint without writes = %d writes, want none", len(got))
	}
	if got := e.writes("t1", "sub", c1); len(got) != 0 {
		e.t.Errorf("PendingWrites of another namespace = %d writes, want none", len(got))
	}
}
