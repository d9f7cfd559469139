package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// oldRoot returns the root of b as schema versions 3 to 6 store it: its
// own version for a full blob (or one whose base is not older), else the
// root of its base, or the base itself when the base is not stored.
func oldRoot(byKey map[string]oldBlob, b oldBlob) int64 {
	for {
		if b.base <= 0 || b.base >= b.version {
			return b.version
		}
		p, ok := byKey[fmt.Sprint(b.ns, "/", b.field, "@", b.base)]
		if !ok {
			return b.base
		}
		b = p
	}
}

// TestUpgradeToPacks writes a history at schema version 6 (oldChains:
// Append chains with forks, restarts, a missing base and a chain of 300
// links, in two namespaces), migrates to 7, and checks that no row was
// rewritten and every checkpoint returns the blobs it did; then that the
// next commit appending to the long chain folds it into one pack, after
// which every checkpoint, old and new, still reads the same.
func TestUpgradeToPacks(t *testing.T) {
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
	for _, m := range ms[:6] {
		exec(m.sql)
		exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 0)`, m.version, m.name)
	}
	at := encodeTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	exec(`INSERT INTO threads (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)
		VALUES ('t', 'w', 'g', 'interrupted', 300, ?, '', '', NULL, ?, ?)`, checkpoint.FormatID(300), at, at)
	blobs, heads := oldChains()
	byKey := map[string]oldBlob{}
	for _, b := range blobs {
		byKey[fmt.Sprint(b.ns, "/", b.field, "@", b.version)] = b
	}
	for _, b := range blobs {
		exec(`INSERT INTO blobs (thread_id, namespace, field, version, base, root, data) VALUES ('t', ?, ?, ?, ?, ?, ?)`,
			b.ns, b.field, b.version, b.base, oldRoot(byKey, b), []byte(blobData(b)))
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

	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatal("Open of a version-6 file without Migrate succeeded")
	}
	s, err := Open(ctx, path, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion || SchemaVersion != 7 {
		t.Fatalf("SchemaVersion = %d, %v; want %d (7)", v, err, SchemaVersion)
	}
	count := func(where string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE `+where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n, packs := count("true"), count("pack_from IS NOT NULL"); n != len(blobs) || packs != 0 {
		t.Fatalf("after the migration: %d blob rows, %d packs; want %d, none", n, packs, len(blobs))
	}
	checkAll := func(when string) {
		t.Helper()
		for ns, cps := range heads {
			for v, versions := range cps {
				cp, err := s.Checkpoint(ctx, "t", ns, checkpoint.FormatID(v))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := blobSet(cp.Blobs), blobSet(oldWalk(blobs, ns, versions)); got != want {
					t.Errorf("%s: namespace %q, checkpoint %d: blobs\n%s\nwant\n%s", when, ns, v, got, want)
				}
			}
		}
	}
	checkAll("after the migration")

	// The next append to the long chain (root 1, 300 links) folds it,
	// and so does the one to list, whose chain starts at 8.
	_, err = s.Commit(ctx, &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: "t", Workflow: "w", GraphHash: "g", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(301)},
		ExpectedVersion: 300,
		At:              time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC),
		Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Versions: map[string]int64{"long": 301, "list": 301, "x": 4},
			Blobs: []checkpoint.Blob{{Field: "long", Base: 300, Data: []byte("/long@301")}, {Field: "list", Base: 10, Data: []byte("/list@301")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	blobs = append(blobs, oldBlob{"", "long", 301, 300}, oldBlob{"", "list", 301, 10})
	heads[""][301] = map[string]int64{"long": 301, "list": 301, "x": 4}
	if n := count("namespace = '' AND field = 'long'"); n != 1 {
		t.Errorf("%d rows of long after the append, want 1 (its pack)", n)
	}
	if n := count("namespace = 'sub' AND field = 'long'"); n != 300 {
		t.Errorf("%d rows of long in sub after the append, want 300 (not appended to)", n)
	}
	var from int64
	if err := db.QueryRowContext(ctx, `SELECT pack_from FROM blobs WHERE namespace = '' AND field = 'long' AND version = 301`).Scan(&from); err != nil || from != 1 {
		t.Errorf("pack_from of long@301 = %d, %v; want 1", from, err)
	}
	checkAll("after the fold")
}
