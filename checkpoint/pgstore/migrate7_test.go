package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// TestUpgradeToPacks writes a thread with a list appended to for 500
// supersteps at schema version 6 (500 rows of one chain), migrates to 7,
// and checks that every checkpoint reads the same and the rows are as they
// were (the migration rewrites nothing); then that the next append folds
// the chain into one pack, after which every checkpoint still reads the
// same.
func TestUpgradeToPacks(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	schema := pgtest.Schema(t)
	old := pgstore.NewUnchecked(pool, schema)
	if err := pgstore.MigrateTo(ctx, old, 6); err != nil {
		t.Fatal(err)
	}
	tbl := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%.60s: %v", sql, err)
		}
	}
	const n = 500
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	exec("INSERT INTO "+tbl("threads")+" (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)"+
		" VALUES ('t', 'w', 'g', 'interrupted', $1, $2, '', '', NULL, $3, $3)", n, checkpoint.FormatID(n), at)
	exec("INSERT INTO "+tbl("blobs")+" (thread_id, namespace, field, version, base, root, data)"+
		" SELECT 't', '', 'list', v, v - 1, 1, convert_to(format('[%s]', v), 'UTF8') FROM generate_series(1, $1::bigint) v", n)
	exec("INSERT INTO "+tbl("checkpoints")+" (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)"+
		" SELECT 't', '', v, '', v, 'loop', NULL, jsonb_build_object('list', v), NULL, $2 FROM generate_series(1, $1::bigint) v", n, at)

	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, schema)
	check := func(what string, upTo int64) {
		t.Helper()
		for v := int64(1); v <= upTo; v++ {
			cp, err := s.Checkpoint(ctx, "t", "", checkpoint.FormatID(v))
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			want := make([]checkpoint.Blob, v)
			for i := range want {
				w := int64(i) + 1
				want[i] = checkpoint.Blob{Field: "list", Version: w, Base: w - 1, Data: fmt.Appendf(nil, "[%d]", w)}
			}
			if got, want := blobSet(cp.Blobs), blobSet(want); got != want {
				t.Fatalf("%s: checkpoint %d: blobs\n%s\nwant\n%s", what, v, got, want)
			}
		}
	}
	check("after the migration", n)
	rows := blobRows(t, s, "t", "", "list")
	if len(rows) != n || rows[0].packFrom != nil || rows[n-1].packFrom != nil {
		t.Fatalf("after the migration: %d rows of list, want the %d plain ones", len(rows), n)
	}

	if _, err := s.Commit(ctx, &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: "t", Workflow: "w", GraphHash: "g", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(n + 1)},
		ExpectedVersion: n, At: at.Add(time.Hour),
		Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceLoop, Step: n + 1, Versions: map[string]int64{"list": n + 1},
			Blobs: []checkpoint.Blob{{Field: "list", Base: n, Data: fmt.Appendf(nil, "[%d]", n+1)}}},
	}); err != nil {
		t.Fatal(err)
	}
	rows = blobRows(t, s, "t", "", "list")
	if len(rows) != 1 || rows[0].packFrom == nil || *rows[0].packFrom != 1 || rows[0].version != n+1 {
		t.Fatalf("after an append: %d rows of list (first %+v), want one pack of 1 to %d", len(rows), rows[0], n+1)
	}
	if all := checkPacks(t, rows, "list"); len(all) != n+1 {
		t.Fatalf("the pack holds %d blobs, want %d", len(all), n+1)
	}
	check("after the fold", n+1)
}
