package sqlitestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// openPack opens a migrated store in a new file for the tests of packs.
func openPack(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "pack.db"), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listRows returns the rows of thread id's list field: plain ones by
// version, and the blobs of its packs.
func listRows(t *testing.T, s *Store, id string) (rows int, packs int, blobs []checkpoint.Blob) {
	t.Helper()
	rs, err := s.read.Query(`SELECT version, base, pack_from, data FROM blobs WHERE thread_id = ? AND field = 'list' ORDER BY version`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var b checkpoint.Blob
		var from *int64
		if err := rs.Scan(&b.Version, &b.Base, &from, &b.Data); err != nil {
			t.Fatal(err)
		}
		rows++
		if from == nil {
			b.Field = "list"
			blobs = append(blobs, b)
			continue
		}
		packs++
		if blobs, err = checkpoint.UnpackBlobs(blobs, "list", b.Data); err != nil {
			t.Fatal(err)
		}
		if got := blobs[len(blobs)-1].Version; *from > got {
			t.Errorf("pack at %d: pack_from %d above its blobs", b.Version, *from)
		}
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, packs, blobs
}

// TestFoldBoundsRows is the guard of the fold: after 1,000 supersteps that
// each appended to a list, the list is at most foldAfter rows, one of them
// a pack; its blobs are every blob written, each once (no copy is kept);
// Checkpoint of the head scans a bounded number of rows, and every
// checkpoint, the oldest included, returns its whole chain.
func TestFoldBoundsRows(t *testing.T) {
	ctx := context.Background()
	s := openPack(t)
	const n = 1000
	growChain(t, s, "t", n)
	rows, packs, blobs := listRows(t, s, "t")
	t.Logf("%d supersteps: %d rows of the list, %d packs, %d blobs", n, rows, packs, len(blobs))
	if rows > foldAfter || packs != 1 {
		t.Errorf("%d rows of the list, %d packs; want at most %d, 1", rows, packs, foldAfter)
	}
	if len(blobs) != n {
		t.Fatalf("%d blobs of the list stored, want %d", len(blobs), n)
	}
	for i, b := range blobs {
		v := int64(i + 1)
		if b.Version != v || b.Base != v-1 || string(b.Data) != fmt.Sprintf("[%d]", v) {
			t.Fatalf("blob %d of the list: %+v", i, b)
		}
	}
	r0 := s.counts.blobRows.Load()
	cp, err := s.Checkpoint(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if read := s.counts.blobRows.Load() - r0; read > foldAfter+2 || len(cp.Blobs) != n+1 {
		t.Errorf("Checkpoint(head): %d rows read, %d blobs; want at most %d, %d", read, len(cp.Blobs), foldAfter+2, n+1)
	}
	for _, v := range []int64{1, 2, foldAfter - 1, foldAfter, foldAfter + 1, 2 * foldAfter, 500, n - 1} {
		cp, err := s.Checkpoint(ctx, "t", "", checkpoint.FormatID(v))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{fmt.Sprintf("flat@%d=step %d", v, v): true}
		for x := int64(1); x <= v; x++ {
			want[fmt.Sprintf("list@%d=[%d]", x, x)] = true
		}
		for _, b := range cp.Blobs {
			if k := fmt.Sprintf("%s@%d=%s", b.Field, b.Version, b.Data); !want[k] {
				t.Errorf("checkpoint %d: blob %s unexpected or twice", v, k)
			} else {
				delete(want, k)
			}
		}
		if len(want) != 0 {
			t.Errorf("checkpoint %d: %d blobs missing", v, len(want))
		}
	}
}

// TestFoldStatements: a commit that appends without folding runs as many
// statements as one that writes in full (the insert returns the root); the
// commits that fold, once every foldAfter appends, run three more (read
// the rows, delete them, write the pack), in the same transaction.
func TestFoldStatements(t *testing.T) {
	ctx := context.Background()
	s := openPack(t)
	const n = 5*foldAfter + 10
	costs := map[int64][]int64{}
	for v := int64(1); v <= n; v++ {
		q0 := s.counts.statements.Load()
		if _, err := s.Commit(ctx, chainCommit("t", v)); err != nil {
			t.Fatal(err)
		}
		q := s.counts.statements.Load() - q0
		costs[q] = append(costs[q], v)
	}
	base := int64(0)
	for q, vs := range costs {
		if slices.Contains(vs, 2) {
			base = q
		}
	}
	var folds []int64
	for v := int64(1 + foldAfter); v <= n; v += foldAfter {
		folds = append(folds, v)
	}
	if got := costs[base+3]; fmt.Sprint(got) != fmt.Sprint(folds) {
		t.Errorf("commits that ran 3 statements more than an append: %v, want %v", got, folds)
	}
	if len(costs) != 2 {
		t.Errorf("commits by statements: %v; want the folds and the others", costs)
	}
}

// TestCorruptPack: a pack row that does not unpack makes every use of it
// fail with an error wrapping checkpoint.ErrCorrupt and checkpoint.ErrPack
// (a read of a checkpoint whose chain it holds, a fork that names one of
// its blobs, the commit that would fold it into a new pack), and a Prune
// of its namespace removes nothing. Commits that do not touch it go on.
func TestCorruptPack(t *testing.T) {
	ctx := context.Background()
	s := openPack(t)
	growChain(t, s, "t", 100)
	if _, err := s.write.ExecContext(ctx, `UPDATE blobs SET data = x'01ff' WHERE pack_from IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	bad := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, checkpoint.ErrCorrupt) || !errors.Is(err, checkpoint.ErrPack) {
			t.Errorf("%s: error %v, want one wrapping ErrCorrupt and ErrPack", what, err)
		}
	}
	_, err := s.Checkpoint(ctx, "t", "", "")
	bad("Checkpoint(head)", err)
	_, err = s.Checkpoint(ctx, "t", "", checkpoint.FormatID(10))
	bad("Checkpoint(10)", err)

	_, err = s.Prune(ctx, &checkpoint.Prune{ThreadID: "t", KeepLast: 1})
	bad("Prune", err)
	hist, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"})
	if err != nil || len(hist) != 100 {
		t.Errorf("History after a refused Prune: %d checkpoints, %v; want 100", len(hist), err)
	}

	fork := chainCommit("t", 101)
	fork.VerifyBlobs = true
	fork.Checkpoint.Versions = map[string]int64{"list": 30, "flat": 30}
	fork.Checkpoint.Blobs = nil
	_, err = s.Commit(ctx, fork)
	bad("a fork naming a blob in the pack", err)

	// The appends after the pack go on until one folds.
	for v := int64(101); ; v++ {
		_, err := s.Commit(ctx, chainCommit("t", v))
		if err == nil {
			continue
		}
		bad(fmt.Sprintf("commit %d", v), err)
		if v != 1+2*foldAfter {
			t.Errorf("commit %d failed, want the fold at %d to", v, 1+2*foldAfter)
		}
		th, err := s.Thread(ctx, "t")
		if err != nil || th.Version != v-1 {
			t.Errorf("thread after the failed fold: %+v, %v; want version %d", th, err, v-1)
		}
		break
	}
}

// TestPrunePacks: a Prune of a namespace with packs rewrites a pack that
// holds blobs nothing needs without them, deletes plain rows nothing
// needs, and leaves the remaining checkpoints their blobs.
func TestPrunePacks(t *testing.T) {
	ctx := context.Background()
	s := openPack(t)
	growChain(t, s, "t", 3*foldAfter)
	// A full value restarts the list: the chain before it is needed only
	// by the checkpoints before it.
	c := chainCommit("t", 3*foldAfter+1)
	c.Checkpoint.Blobs[0] = checkpoint.Blob{Field: "list", Data: []byte("[full]")}
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	keep := checkpoint.FormatID(foldAfter / 2)
	before, err := s.Checkpoint(ctx, "t", "", keep)
	if err != nil {
		t.Fatal(err)
	}
	// Move the head back to keep, then on to the newest: Prune keeps the
	// head and the newest, and removes the rest.
	th, err := s.Thread(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: th.Workflow, GraphHash: th.GraphHash,
		Status: th.Status, Head: keep}, ExpectedVersion: th.Version, At: th.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, &checkpoint.Prune{ThreadID: "t", KeepLast: 1})
	if err != nil || n != 3*foldAfter-1 {
		t.Fatalf("Prune = %d, %v; want %d", n, err, 3*foldAfter-1)
	}
	after, err := s.Checkpoint(ctx, "t", "", keep)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blobSet(after.Blobs), blobSet(before.Blobs); got != want {
		t.Errorf("Checkpoint(%s) after Prune:\n%s\nwant\n%s", keep, got, want)
	}
	rows, packs, blobs := listRows(t, s, "t")
	t.Logf("after Prune: %d rows of the list, %d packs, %d blobs", rows, packs, len(blobs))
	// The list blobs left: the chain of keep and the full value.
	if len(blobs) != foldAfter/2+1 || packs != 1 {
		t.Errorf("after Prune: %d blobs of the list in %d packs, want %d in 1", len(blobs), packs, foldAfter/2+1)
	}
	if last := blobs[len(blobs)-1]; !bytes.Equal(last.Data, []byte("[full]")) {
		t.Errorf("the newest list blob after Prune is %q, want the full value", last.Data)
	}
}
