package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// foldAfter is how far (in versions) an Append blob's root may lie behind
// it before its insert folds the chain (the condition of the trigger
// blobs_fold in 0007_blob_packs.sql): a field has at most that many rows
// of one chain, a pack and the plain rows after it.
const foldAfter = 64

// blobRow is a row of the blobs table.
type blobRow struct {
	version, base, root int64
	packFrom            *int64
	data                []byte
}

// blobRows returns the rows of one field of a thread, by version.
func blobRows(tb testing.TB, s *pgstore.Store, thread, ns, field string) []blobRow {
	tb.Helper()
	rows, err := s.Pool().Query(context.Background(), "SELECT version, base, root, pack_from, data FROM "+
		pgx.Identifier{s.Schema(), "blobs"}.Sanitize()+" WHERE thread_id = $1 AND namespace = $2 AND field = $3 ORDER BY version",
		thread, ns, field)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (blobRow, error) {
		var b blobRow
		err := r.Scan(&b.version, &b.base, &b.root, &b.packFrom, &b.data)
		return b, err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// checkPacks checks the invariants of the rows of one field: a pack row
// has base 0, root its version, a pack that UnpackBlobs reads whose
// versions lie in [pack_from, version] (the lowest being pack_from and
// the highest the row's own), and no other row has a version in
// [pack_from, version). It returns every blob the rows hold, by version:
// each blob is stored once.
func checkPacks(tb testing.TB, rows []blobRow, field string) map[int64]checkpoint.Blob {
	tb.Helper()
	all := map[int64]checkpoint.Blob{}
	add := func(b checkpoint.Blob) {
		if _, dup := all[b.Version]; dup {
			tb.Fatalf("%s@%d is stored twice", field, b.Version)
		}
		all[b.Version] = b
	}
	for i, r := range rows {
		if r.packFrom == nil {
			add(checkpoint.Blob{Field: field, Version: r.version, Base: r.base, Data: r.data})
			continue
		}
		if r.base != 0 || r.root != r.version {
			tb.Errorf("pack of %s at %d: base %d, root %d", field, r.version, r.base, r.root)
		}
		bs, err := checkpoint.UnpackBlobs(nil, field, r.data)
		if err != nil {
			tb.Fatalf("pack of %s at %d: %v", field, r.version, err)
		}
		if len(bs) == 0 || bs[0].Version != *r.packFrom || bs[len(bs)-1].Version != r.version {
			tb.Errorf("pack of %s at %d from %d holds %d blobs from %d to %d", field, r.version, *r.packFrom,
				len(bs), bs[0].Version, bs[len(bs)-1].Version)
		}
		if i > 0 && rows[i-1].version >= *r.packFrom {
			tb.Errorf("pack of %s at %d from %d: a row at %d inside it", field, r.version, *r.packFrom, rows[i-1].version)
		}
		for _, b := range bs {
			add(b)
		}
	}
	return all
}

// TestPackBoundsRows is the guard of folding, which times nothing: after
// 1,000 supersteps that each appended to a list, the list has a pack and
// fewer than foldAfter other rows, every element stored once and each
// blob as committed; Checkpoint of any of the 1,000 checkpoints reads at
// most foldAfter+2 rows (the list's, the flat field's) and returns the
// blobs of its chain.
func TestPackBoundsRows(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	const n = 1000
	growChain(t, s, "chain", n)
	rows := blobRows(t, s, "chain", "", "list")
	if len(rows) > foldAfter {
		t.Errorf("%d rows of list after %d appends, want at most %d", len(rows), n, foldAfter)
	}
	if rows[0].packFrom == nil {
		t.Fatalf("the oldest row of list is not a pack: %+v", rows[0])
	}
	all := checkPacks(t, rows, "list")
	if len(all) != n {
		t.Fatalf("the rows of list hold %d blobs, want %d", len(all), n)
	}
	for v := int64(1); v <= n; v++ {
		b := all[v]
		want := checkpoint.Blob{Field: "list", Version: v, Base: v - 1, Data: fmt.Appendf(nil, "[%d]", v)}
		if b.Version != want.Version || b.Base != want.Base || string(b.Data) != string(want.Data) {
			t.Fatalf("list@%d = %+v, want %+v", v, b, want)
		}
	}
	for _, v := range []int64{1, 2, 63, 64, 65, 500, 960, 999, n} {
		r0 := pgstore.BlobRowsRead(s)
		cp, err := s.Checkpoint(ctx, "chain", "", checkpoint.FormatID(v))
		if err != nil {
			t.Fatal(err)
		}
		if read := pgstore.BlobRowsRead(s) - r0; read > foldAfter+2 {
			t.Errorf("Checkpoint(%d) read %d blob rows, more than %d", v, read, foldAfter+2)
		}
		if len(cp.Blobs) != int(v)+1 {
			t.Fatalf("Checkpoint(%d): %d blobs, want %d", v, len(cp.Blobs), v+1)
		}
		for _, b := range cp.Blobs {
			if b.Field == "list" && string(b.Data) != fmt.Sprintf("[%d]", b.Version) {
				t.Fatalf("Checkpoint(%d): %+v", v, b)
			}
		}
	}
}

// TestPackVerifyBlobs: a commit with VerifyBlobs that names a version
// inside a pack succeeds if the pack holds it, and fails with ErrNotFound
// if not (the version of a superstep that did not write the field).
func TestPackVerifyBlobs(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	growChain(t, s, "chain", 200)
	commit := func(v int64, vs map[string]int64, verify bool, blobs ...checkpoint.Blob) error {
		_, err := s.Commit(ctx, &checkpoint.Commit{
			Thread:          checkpoint.Thread{ID: "chain", Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(v)},
			ExpectedVersion: v - 1, At: time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC), VerifyBlobs: verify,
			Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Versions: vs, Blobs: blobs},
		})
		return err
	}
	// From 201 on, the list grows at even versions only.
	const last = 200 + 4*foldAfter
	for v := int64(201); v <= last; v++ {
		vs := map[string]int64{"list": v - v%2, "flat": 200}
		var blobs []checkpoint.Blob
		if v%2 == 0 {
			blobs = append(blobs, checkpoint.Blob{Field: "list", Base: max(v-2, 200), Data: fmt.Appendf(nil, "[%d]", v)})
		}
		if err := commit(v, vs, false, blobs...); err != nil {
			t.Fatal(err)
		}
	}
	rows := blobRows(t, s, "chain", "", "list")
	checkPacks(t, rows, "list")
	var inside int64 // an odd version above 201 inside a pack of the list
	for _, r := range rows {
		if r.packFrom != nil && r.version-*r.packFrom > 4 {
			inside = r.version - 3
		}
	}
	if inside <= 201 {
		t.Fatalf("no pack of the list holds versions above 201: %d rows", len(rows))
	}
	v := int64(last + 1)
	for _, name := range []int64{inside, 99 + 2*foldAfter} {
		if err := commit(v, map[string]int64{"list": name}, true); !errors.Is(err, checkpoint.ErrNotFound) {
			t.Fatalf("a commit naming list@%d, a version inside a pack that does not hold it: %v, want ErrNotFound", name, err)
		}
	}
	for _, name := range []int64{100, inside - 1} {
		if err := commit(v, map[string]int64{"list": name, "flat": 100}, true); err != nil {
			t.Fatalf("a commit naming list@%d inside a pack: %v", name, err)
		}
		cp, err := s.Checkpoint(ctx, "chain", "", checkpoint.FormatID(v))
		if err != nil {
			t.Fatal(err)
		}
		want := int(min(name, 200))
		if name > 200 {
			want += int(name-200) / 2
		}
		if got := len(cp.Blobs) - 1; got != want {
			t.Errorf("Checkpoint(%d) naming list@%d: %d list blobs, want %d", v, name, got, want)
		}
		v++
	}
}

// TestPackCorrupt: a pack that is not one, or that holds a version above
// its row, makes Checkpoint fail with an error wrapping ErrCorrupt and
// ErrPack; a commit appending to the chain still succeeds (a fold leaves
// a range with a malformed pack as it is).
func TestPackCorrupt(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	growChain(t, s, "chain", 100)
	rows := blobRows(t, s, "chain", "", "list")
	if rows[0].packFrom == nil {
		t.Fatalf("no pack: %+v", rows[0])
	}
	p := rows[0].version
	for _, data := range [][]byte{
		[]byte("\x01\xff"),
		[]byte("not a pack"),
		checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 1}, {Version: p + 1, Base: 1}}),
	} {
		if _, err := s.Pool().Exec(ctx, "UPDATE "+pgx.Identifier{s.Schema(), "blobs"}.Sanitize()+
			" SET data = $1 WHERE thread_id = 'chain' AND field = 'list' AND version = $2", data, p); err != nil {
			t.Fatal(err)
		}
		for _, v := range []int64{p - 1, p, 100} {
			_, err := s.Checkpoint(ctx, "chain", "", checkpoint.FormatID(v))
			if !errors.Is(err, checkpoint.ErrCorrupt) || !errors.Is(err, checkpoint.ErrPack) {
				t.Errorf("Checkpoint(%d) with the pack %q: %v, want ErrCorrupt and ErrPack", v, data, err)
			}
		}
	}
	growChainFrom(t, s, "chain", 101, 100+2*foldAfter)
	if _, err := s.Checkpoint(ctx, "chain", "", ""); !errors.Is(err, checkpoint.ErrPack) {
		t.Errorf("Checkpoint(head) after appends to a corrupt chain: %v, want ErrPack", err)
	}
}

// TestPackPlans: the plans of Checkpoint and of the verification of a
// commit's blobs scan blobs through its primary key alone, with every key
// column in the index condition, and scan it the same way before and
// after ANALYZE: they do not depend on statistics.
func TestPackPlans(t *testing.T) {
	s := newStore(t)
	freshTables(t, s)
	growChain(t, s, "chain", 500)
	type stmt struct {
		name, sql string
		args      []any
	}
	stmts := []stmt{
		{"checkpoint head", pgstore.CheckpointSQL(s, true), []any{"chain", ""}},
		{"checkpoint inside a pack", pgstore.CheckpointSQL(s, false), []any{"chain", "", int64(100)}},
		{"verify", pgstore.VerifyBlobsSQL(s), []any{"chain", "", []string{"list", "flat"}, []int64{100, 100}}},
	}
	plans := map[string]string{}
	for _, stats := range []string{"none", "analyzed"} {
		if stats == "analyzed" {
			analyze(t, s)
		}
		for _, st := range stmts {
			plan := planOf(t, s, st.sql, st.args...)
			if strings.Contains(plan, "Seq Scan on blobs") || strings.Contains(plan, "Bitmap Heap Scan on blobs") {
				t.Errorf("%s, stats %s: the plan scans blobs other than by its primary key:\n%s", st.name, stats, plan)
			}
			for _, cond := range regexp.MustCompile(`Index Cond: \(.*`).FindAllString(plan, -1) {
				if strings.Contains(cond, "field") && !strings.Contains(cond, "version") {
					t.Errorf("%s, stats %s: a scan of blobs without the version in its index condition: %s", st.name, stats, cond)
				}
			}
			scans := blobScans(plan)
			if scans == "" {
				t.Fatalf("%s: no scan of blobs in the plan:\n%s", st.name, plan)
			}
			if first, ok := plans[st.name]; ok && first != scans {
				t.Errorf("%s: the scans of blobs after ANALYZE differ:\n%s\nbefore:\n%s", st.name, scans, first)
			}
			plans[st.name] = scans
		}
	}
}

// planOf returns the plan of sql, without running it.
func planOf(tb testing.TB, s *pgstore.Store, sql string, args ...any) string {
	tb.Helper()
	rows, err := s.Pool().Query(context.Background(), "EXPLAIN (COSTS OFF) "+sql, args...)
	if err != nil {
		tb.Fatalf("EXPLAIN %s: %v", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// blobScans returns the lines of plan that scan blobs, each with its
// index condition, indented as in the plan.
func blobScans(plan string) string {
	lines := strings.Split(plan, "\n")
	var out []string
	for i, l := range lines {
		if strings.Contains(l, " on blobs") {
			out = append(out, l)
			if i+1 < len(lines) && strings.Contains(lines[i+1], "Index Cond:") {
				out = append(out, lines[i+1])
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestPackFormat: the packs the database writes are the ones AppendPack
// writes, whatever the blobs' bases (negative, zero, not older than the
// blob, the extremes of int64) and data (empty, binary, large enough to be
// stored out of line): each blob of a folded chain reads back as it was
// committed. The full blobs restart the chain, and a fork at 30 of the
// chain's start (root 1) makes the fold reach down past them to 1.
func TestPackFormat(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(i*7 + i/256)
	}
	odd := map[int64]checkpoint.Blob{
		5:  {Base: -1},
		9:  {Base: math.MinInt64, Data: []byte{}},
		13: {Base: math.MaxInt64, Data: big},
		17: {Base: 17, Data: []byte{0, 1, 0xff}},
		21: {Base: 0, Data: big[:300]},
	}
	const n = 2 * foldAfter
	written := map[int64]checkpoint.Blob{}
	for v := int64(1); v <= n; v++ {
		b, ok := odd[v]
		switch {
		case v == 30:
			b = checkpoint.Blob{Base: 2, Data: []byte("[fork]")}
		case v == 31:
			b = checkpoint.Blob{Base: 29, Data: []byte("[31]")}
		case !ok:
			b = checkpoint.Blob{Base: v - 1, Data: fmt.Appendf(nil, "[%d]", v)}
		}
		b.Field = "list"
		if _, err := s.Commit(ctx, &checkpoint.Commit{
			Thread:          checkpoint.Thread{ID: "t", Workflow: "w", GraphHash: "g", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(v)},
			ExpectedVersion: v - 1, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Versions: map[string]int64{"list": v}, Blobs: []checkpoint.Blob{b}},
		}); err != nil {
			t.Fatal(err)
		}
		b.Version = v
		written[v] = b
	}
	rows := blobRows(t, s, "t", "", "list")
	if rows[0].packFrom == nil || *rows[0].packFrom != 1 {
		t.Fatalf("the chain did not fold from 1: %d rows, first %+v", len(rows), rows[0])
	}
	if len(rows) >= foldAfter {
		t.Errorf("%d rows of list, want fewer than %d", len(rows), foldAfter)
	}
	all := checkPacks(t, rows, "list")
	for v, want := range written {
		got := all[v]
		if got.Version != v || got.Base != want.Base || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("list@%d = (base %d, %d bytes), want (base %d, %d bytes)", v, got.Base, len(got.Data), want.Base, len(want.Data))
		}
	}
	cp, err := s.Checkpoint(ctx, "t", "", checkpoint.FormatID(13))
	if err != nil || len(cp.Blobs) != 1 || !bytes.Equal(cp.Blobs[0].Data, big) {
		t.Fatalf("Checkpoint(13) = %d blobs, %v; want the big one", len(cp.Blobs), err)
	}
	// The fork's chain: 30, 2, 1.
	if cp, err = s.Checkpoint(ctx, "t", "", checkpoint.FormatID(30)); err != nil || len(cp.Blobs) != 3 {
		t.Fatalf("Checkpoint(30) = %+v, %v; want 3 blobs", cp, err)
	}
}

// TestPackPrune: a Prune that leaves some blobs of a pack needed by no
// checkpoint rewrites the pack without them (the head still reads its
// chain, each blob stored once), and one that finds a pack it cannot read
// fails with ErrCorrupt and ErrPack and removes nothing.
func TestPackPrune(t *testing.T) {
	ctx := t.Context()
	for _, corrupt := range []bool{false, true} {
		s := newStore(t)
		// 1..30 a chain; 31 a full value and a chain on it to 100; at 33
		// a fork of the first chain (base 5), which makes the fold at 95
		// reach down to 1.
		for v := int64(1); v <= 100; v++ {
			b := checkpoint.Blob{Field: "list", Base: v - 1, Data: fmt.Appendf(nil, "[%d]", v)}
			switch v {
			case 31:
				b.Base = 0
			case 33:
				b.Base = 5
			case 34:
				b.Base = 32
			}
			if _, err := s.Commit(ctx, &checkpoint.Commit{
				Thread:          checkpoint.Thread{ID: "t", Workflow: "w", GraphHash: "g", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(v)},
				ExpectedVersion: v - 1, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
				Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Versions: map[string]int64{"list": v}, Blobs: []checkpoint.Blob{b}},
			}); err != nil {
				t.Fatal(err)
			}
		}
		rows := blobRows(t, s, "t", "", "list")
		if p := rows[0]; p.packFrom == nil || *p.packFrom != 1 || p.version != 95 {
			t.Fatalf("the fold at 95 did not reach 1: %d rows, first %+v", len(rows), p)
		}
		if corrupt {
			if _, err := s.Pool().Exec(ctx, "UPDATE "+pgx.Identifier{s.Schema(), "blobs"}.Sanitize()+
				" SET data = '\\x0102'::bytea WHERE thread_id = 't' AND version = 95"); err != nil {
				t.Fatal(err)
			}
			_, err := s.Prune(ctx, &checkpoint.Prune{ThreadID: "t", KeepLast: 1})
			if !errors.Is(err, checkpoint.ErrCorrupt) || !errors.Is(err, checkpoint.ErrPack) {
				t.Fatalf("Prune with a corrupt pack: %v, want ErrCorrupt and ErrPack", err)
			}
			hist, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"})
			if err != nil || len(hist) != 100 {
				t.Fatalf("History after a failed Prune: %d checkpoints, %v; want 100", len(hist), err)
			}
			if got := blobRows(t, s, "t", "", "list"); len(got) != len(rows) {
				t.Fatalf("%d rows after a failed Prune, want %d", len(got), len(rows))
			}
			continue
		}
		if n, err := s.Prune(ctx, &checkpoint.Prune{ThreadID: "t", KeepLast: 1}); err != nil || n != 99 {
			t.Fatalf("Prune = %d, %v; want 99", n, err)
		}
		rows = blobRows(t, s, "t", "", "list")
		all := checkPacksPruned(t, rows, "list")
		var got []int64
		for v := range all {
			got = append(got, v)
		}
		slices.Sort(got)
		want := []int64{31, 32}
		for v := int64(34); v <= 100; v++ {
			want = append(want, v)
		}
		if !slices.Equal(got, want) {
			t.Errorf("blobs kept: %v, want %v", got, want)
		}
		cp, err := s.Checkpoint(ctx, "t", "", "")
		if err != nil || len(cp.Blobs) != len(want) {
			t.Fatalf("Checkpoint(head) after Prune = %d blobs, %v; want %d", len(cp.Blobs), err, len(want))
		}
	}
}

// checkPacksPruned is checkPacks for the rows of a pruned field, whose
// packs may lack the blob at their own version.
func checkPacksPruned(tb testing.TB, rows []blobRow, field string) map[int64]checkpoint.Blob {
	tb.Helper()
	all := map[int64]checkpoint.Blob{}
	for i, r := range rows {
		if r.packFrom == nil {
			all[r.version] = checkpoint.Blob{Field: field, Version: r.version, Base: r.base, Data: r.data}
			continue
		}
		bs, err := checkpoint.UnpackBlobs(nil, field, r.data)
		if err != nil || len(bs) == 0 {
			tb.Fatalf("pack of %s at %d: %d blobs, %v", field, r.version, len(bs), err)
		}
		if bs[0].Version != *r.packFrom || bs[len(bs)-1].Version > r.version {
			tb.Errorf("pack of %s at %d from %d holds blobs from %d to %d", field, r.version, *r.packFrom, bs[0].Version, bs[len(bs)-1].Version)
		}
		if i > 0 && rows[i-1].version >= *r.packFrom {
			tb.Errorf("pack of %s at %d from %d: a row at %d inside it", field, r.version, *r.packFrom, rows[i-1].version)
		}
		for _, b := range bs {
			if _, dup := all[b.Version]; dup {
				tb.Fatalf("%s@%d is stored twice", field, b.Version)
			}
			all[b.Version] = b
		}
	}
	return all
}

// TestPackReadsDuringFolds: readers of the head and of old checkpoints
// while a chain grows and folds (each fold deletes rows and writes a pack
// in the commit's transaction) always see whole chains: a read is one
// snapshot, before or after a fold.
func TestPackReadsDuringFolds(t *testing.T) {
	ctx := t.Context()
	s := newStore(t)
	growChain(t, s, "chain", 10)
	done := make(chan struct{})
	errs := make(chan error, 2)
	for r := range 2 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				id := ""
				if r == 1 {
					id = checkpoint.FormatID(int64(5 + i%6))
				}
				cp, err := s.Checkpoint(ctx, "chain", "", id)
				if err != nil {
					errs <- err
					return
				}
				v, err := checkpoint.ParseID(cp.ID)
				if err != nil {
					errs <- err
					return
				}
				if len(cp.Blobs) != int(v)+1 {
					errs <- fmt.Errorf("Checkpoint(%q) = %s with %d blobs, want %d", id, cp.ID, len(cp.Blobs), v+1)
					return
				}
			}
		}()
	}
	growChainFrom(t, s, "chain", 11, 10+3*foldAfter)
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if rows := blobRows(t, s, "chain", "", "list"); rows[0].packFrom == nil {
		t.Fatal("the chain did not fold")
	}
}
