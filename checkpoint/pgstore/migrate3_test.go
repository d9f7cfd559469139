package pgstore_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// oldBlob is a blob row as schema version 2 stores it.
type oldBlob struct {
	ns, field     string
	version, base int64
}

// oldChains is a history written at schema version 2 for the upgrade
// test: Append chains, a fork of one (two blobs on one base), a chain
// restarted by a full value, a chain whose base is not stored (pruned by
// hand), a base that is not older than its blob, a long chain, and the
// same fields in another namespace. heads are the checkpoints, by
// namespace and version, and the versions they name.
func oldChains() (blobs []oldBlob, heads map[string]map[int64]map[string]int64) {
	for _, ns := range []string{"", "sub"} {
		for _, b := range [][2]int64{{1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 0}, {6, 5}, {7, 3}, {9, 8}, {10, 9}, {11, 11}} {
			blobs = append(blobs, oldBlob{ns, "list", b[0], b[1]})
		}
		blobs = append(blobs, oldBlob{ns, "x", 1, 0}, oldBlob{ns, "x", 4, 0})
		blobs = append(blobs, oldBlob{ns, "long", 1, 0})
		for v := int64(2); v <= 300; v++ {
			blobs = append(blobs, oldBlob{ns, "long", v, v - 1})
		}
	}
	heads = map[string]map[int64]map[string]int64{}
	for _, ns := range []string{"", "sub"} {
		heads[ns] = map[int64]map[string]int64{
			3:   {"list": 3, "x": 1, "long": 3},
			4:   {"list": 4, "x": 4, "long": 4},
			6:   {"list": 6, "x": 4},
			7:   {"list": 7, "long": 7},
			10:  {"list": 10, "x": 1},
			11:  {"list": 11},
			300: {"list": 7, "x": 4, "long": 300},
		}
	}
	return blobs, heads
}

// oldWalk returns the blobs of a checkpoint as schema version 2 reads
// them: each field's blob, then down its bases while a base is older than
// its blob and stored.
func oldWalk(blobs []oldBlob, ns string, versions map[string]int64) []checkpoint.Blob {
	byKey := map[string]oldBlob{}
	for _, b := range blobs {
		byKey[fmt.Sprint(b.ns, "/", b.field, "@", b.version)] = b
	}
	var out []checkpoint.Blob
	for field, v := range versions {
		for {
			b, ok := byKey[fmt.Sprint(ns, "/", field, "@", v)]
			if !ok {
				break
			}
			out = append(out, checkpoint.Blob{Field: field, Version: v, Base: b.base, Data: []byte(blobData(b))})
			if b.base <= 0 || b.base >= b.version {
				break
			}
			v = b.base
		}
	}
	return out
}

func blobData(b oldBlob) string { return fmt.Sprintf("%s/%s@%d", b.ns, b.field, b.version) }

// blobSet renders blobs in a canonical order.
func blobSet(bs []checkpoint.Blob) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = fmt.Sprintf("%s@%d(base %d)=%q", b.Field, b.Version, b.Base, b.Data)
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}

// TestUpgradeToBlobRoots writes a history at schema version 2, migrates
// to 3, and checks that every checkpoint returns the blobs the recursive
// walk of version 2 returned, that the roots are right, and that a commit
// appending to a migrated chain reads back too.
func TestUpgradeToBlobRoots(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	schema := pgtest.Schema(t)
	old := pgstore.NewUnchecked(pool, schema)
	if err := pgstore.MigrateTo(ctx, old, 2); err != nil {
		t.Fatal(err)
	}
	tbl := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%.60s: %v", sql, err)
		}
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	exec("INSERT INTO "+tbl("threads")+" (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)"+
		" VALUES ('t', 'w', 'g', 'interrupted', 300, $1, '', '', NULL, $2, $2)", checkpoint.FormatID(300), at)
	blobs, heads := oldChains()
	for _, b := range blobs {
		exec("INSERT INTO "+tbl("blobs")+" (thread_id, namespace, field, version, base, data) VALUES ('t', $1, $2, $3, $4, $5)",
			b.ns, b.field, b.version, b.base, []byte(blobData(b)))
	}
	for ns, cps := range heads {
		for v, versions := range cps {
			exec("INSERT INTO "+tbl("checkpoints")+" (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)"+
				" VALUES ('t', $1, $2, '', 0, 'loop', NULL, $3, NULL, $4)", ns, v, versions, at)
		}
	}

	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, schema)
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tbl("blobs")).Scan(&n); err != nil || n != len(blobs) {
		t.Fatalf("%d blobs after the migration, %v; want %d", n, err, len(blobs))
	}
	rows, err := pool.Query(ctx, "SELECT format('%s:%s', version, root) FROM "+tbl("blobs")+" WHERE namespace = '' AND field = 'list' ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	roots, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(roots, " "), "1:1 2:1 3:1 4:1 5:5 6:5 7:1 9:8 10:8 11:11"; got != want {
		t.Errorf("roots of list: %s, want %s", got, want)
	}
	var indexes int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'blobs'", schema).Scan(&indexes); err != nil || indexes != 1 {
		t.Errorf("blobs has %d indexes, %v; want only its primary key", indexes, err)
	}
	for ns, cps := range heads {
		for v, versions := range cps {
			cp, err := s.Checkpoint(ctx, "t", ns, checkpoint.FormatID(v))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := blobSet(cp.Blobs), blobSet(oldWalk(blobs, ns, versions)); got != want {
				t.Errorf("namespace %q, checkpoint %d: blobs\n%s\nwant\n%s", ns, v, got, want)
			}
		}
	}
	// A commit that appends to a migrated chain gets the chain's root.
	_, err = s.Commit(ctx, &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: "t", Workflow: "w", GraphHash: "g", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(301)},
		ExpectedVersion: 300,
		At:              at.Add(time.Hour),
		Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Versions: map[string]int64{"long": 301, "list": 301},
			Blobs: []checkpoint.Blob{{Field: "long", Base: 300, Data: []byte("/long@301")}, {Field: "list", Base: 10, Data: []byte("/list@301")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	blobs = append(blobs, oldBlob{"", "long", 301, 300}, oldBlob{"", "list", 301, 10})
	cp, err := s.Checkpoint(ctx, "t", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := blobSet(cp.Blobs), blobSet(oldWalk(blobs, "", map[string]int64{"long": 301, "list": 301})); got != want {
		t.Errorf("after a commit: blobs\n%s\nwant\n%s", got, want)
	}
	var root int64
	if err := pool.QueryRow(ctx, "SELECT root FROM "+tbl("blobs")+" WHERE namespace = '' AND field = 'list' AND version = 301").Scan(&root); err != nil || root != 8 {
		t.Errorf("root of list@301 = %d, %v; want 8", root, err)
	}
}
