package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
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
		for _, b := range [][3]int64{{1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 0}, {6, 5}, {7, 3}, {9, 8}, {10, 9}, {11, 11}} {
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

// TestUpgradeToBlobRoots writes a history at schema version 2, migrates
// to 3, and checks that every checkpoint returns the blobs the recursive
// walk of version 2 returned, that the roots are right, and that a commit
// appending to a migrated chain reads back too.
func TestUpgradeToBlobRoots(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	exec(createVersionTable)
	for _, m := range ms[:2] {
		exec(m.sql)
		exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 0)`, m.version, m.name)
	}
	at := encodeTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	exec(`INSERT INTO threads (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)
		VALUES ('t', 'w', 'g', 'interrupted', 300, ?, '', '', NULL, ?, ?)`, checkpoint.FormatID(300), at, at)
	blobs, heads := oldChains()
	for _, b := range blobs {
		exec(`INSERT INTO blobs (thread_id, namespace, version, field, base, data) VALUES ('t', ?, ?, ?, ?, ?)`,
			b.ns, b.version, b.field, b.base, []byte(blobData(b)))
	}
	for ns, cps := range heads {
		for v, versions := range cps {
			enc, err := encodeVersions(versions)
			if err != nil {
				t.Fatal(err)
			}
			exec(`INSERT INTO checkpoints (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)
				VALUES ('t', ?, ?, '', 0, 'loop', NULL, ?, NULL, ?)`, ns, v, enc, at)
		}
	}

	s, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != len(blobs) {
		t.Fatalf("%d blobs after the migration, %v; want %d", n, err, len(blobs))
	}
	var roots []string
	rows, err := db.QueryContext(ctx, `SELECT version, root FROM blobs WHERE namespace = '' AND field = 'list' ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v, r int64
		if err := rows.Scan(&v, &r); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, fmt.Sprintf("%d:%d", v, r))
	}
	rows.Close()
	if got, want := strings.Join(roots, " "), "1:1 2:1 3:1 4:1 5:5 6:5 7:1 9:8 10:8 11:11"; got != want {
		t.Errorf("roots of list: %s, want %s", got, want)
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
		At:              time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
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
	// list@301 had root 8, far enough below it that the commit folded
	// the chain: the rows from 8 up (9, 10 and 11, the last of root 11)
	// into a pack at 301 (schema version 7).
	var root, from int64
	if err := db.QueryRowContext(ctx, `SELECT root, pack_from FROM blobs WHERE namespace = '' AND field = 'list' AND version = 301`).Scan(&root, &from); err != nil || root != 301 || from != 9 {
		t.Errorf("root and pack_from of list@301 = %d, %d, %v; want 301, 9", root, from, err)
	}
}

// blobSet renders blobs in a canonical order.
func blobSet(bs []checkpoint.Blob) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = fmt.Sprintf("%s@%d(base %d)=%q", b.Field, b.Version, b.Base, b.Data)
	}
	slices.Sort(s)
	return strings.Join(s, "\n")
}
