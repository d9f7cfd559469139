package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// versionRows returns the versions recorded in schema's schema_version.
func versionRows(t *testing.T, schema string) []int {
	t.Helper()
	rows, err := pgtest.Pool(t).Query(t.Context(), "SELECT version FROM "+pgx.Identifier{schema, "schema_version"}.Sanitize()+" ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantVersions(t *testing.T, schema string) {
	t.Helper()
	got := versionRows(t, schema)
	if len(got) != pgstore.SchemaVersion || got[len(got)-1] != pgstore.SchemaVersion {
		t.Fatalf("schema_version of %s = %v, want 1..%d once each", schema, got, pgstore.SchemaVersion)
	}
}

func TestMigrateFreshAndIdempotent(t *testing.T) {
	s := newStore(t)
	wantVersions(t, s.Schema())
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate again: %v", err)
		}
	}
	wantVersions(t, s.Schema())
	v, err := s.Version(t.Context())
	if err != nil || v != pgstore.SchemaVersion {
		t.Fatalf("Version = %d, %v; want %d", v, err, pgstore.SchemaVersion)
	}
	// A second store on the migrated schema opens without migrating.
	if _, err := pgstore.New(t.Context(), pgtest.Pool(t), pgstore.Options{Schema: s.Schema()}); err != nil {
		t.Fatalf("New without Migrate on a migrated schema: %v", err)
	}
}

func TestMigrateConcurrent(t *testing.T) {
	pool := pgtest.Pool(t)
	// A schema that does not exist yet: the migrators race to create it.
	schema := pgtest.Name("weft_test")
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	// Separate pools, as separate processes would have.
	pools := []*pgxpool.Pool{}
	for range 4 {
		pools = append(pools, pgtest.NewPool(t, ""))
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = pgstore.New(t.Context(), pools[i%len(pools)], pgstore.Options{Schema: schema, Migrate: true})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	wantVersions(t, schema)
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	s := newStore(t)
	table := pgx.Identifier{s.Schema(), "schema_version"}.Sanitize()
	if _, err := pgtest.Pool(t).Exec(t.Context(), "INSERT INTO "+table+" (version, name) VALUES ($1, 'future')", pgstore.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	for _, migrate := range []bool{true, false} {
		_, err := pgstore.New(t.Context(), pgtest.Pool(t), pgstore.Options{Schema: s.Schema(), Migrate: migrate})
		if !errors.Is(err, checkpoint.ErrSchemaTooNew) {
			t.Errorf("New(Migrate: %v) on a newer schema: %v, want ErrSchemaTooNew", migrate, err)
		}
	}
	if err := s.Migrate(t.Context()); !errors.Is(err, checkpoint.ErrSchemaTooNew) {
		t.Errorf("Migrate on a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if got := versionRows(t, s.Schema()); len(got) != pgstore.SchemaVersion+1 {
		t.Errorf("schema_version after refusals = %v", got)
	}
}

func TestNewWithoutMigrateRefusesEmptySchema(t *testing.T) {
	_, err := pgstore.New(t.Context(), pgtest.Pool(t), pgstore.Options{Schema: pgtest.Schema(t)})
	if !errors.Is(err, checkpoint.ErrNotMigrated) || !strings.Contains(err.Error(), "Migrate") {
		t.Fatalf("New without Migrate on an empty schema: %v, want an error that says to migrate", err)
	}
}

func TestNewRejectsBadSchemaNames(t *testing.T) {
	for _, name := range []string{strings.Repeat("x", 64), "a\x00b"} {
		if _, err := pgstore.New(t.Context(), pgtest.Pool(t), pgstore.Options{Schema: name, Migrate: true}); err == nil {
			t.Errorf("New(schema %q): no error", name)
		}
	}
}

// TestOpenDefaultSchema opens a store that owns its pool on a fresh
// database, in the default schema, with a name that needs quoting in a
// second schema next to it.
func TestOpenDefaultSchema(t *testing.T) {
	url := pgtest.Database(t)
	s, err := pgstore.Open(t.Context(), url, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Schema() != pgstore.DefaultSchema {
		t.Fatalf("Schema() = %q", s.Schema())
	}
	odd, err := pgstore.Open(t.Context(), url, pgstore.Options{Schema: `We"ird; DROP TABLE x; --`, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer odd.Close()
	commitN(t, s, "t", 1)
	commitN(t, odd, "t", 3)
	var tables int
	if err := s.Pool().QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = $1", pgstore.DefaultSchema).Scan(&tables); err != nil || tables < 7 {
		t.Fatalf("tables in schema weft: %d, %v", tables, err)
	}
}

// commitN advances thread id of s by n commits of one checkpoint each.
func commitN(t testing.TB, s checkpoint.Store, id string, n int) {
	t.Helper()
	th, err := s.Thread(context.Background(), id)
	var v int64
	if err == nil {
		v = th.Version
	}
	for range n {
		if _, err := s.Commit(context.Background(), testCommit(id, v)); err != nil {
			t.Fatalf("commit %s at %d: %v", id, v, err)
		}
		v++
	}
}

// testCommit returns a small commit of thread id at expected version v.
func testCommit(id string, v int64) *checkpoint.Commit {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Second)
	next := v + 1
	return &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(next)},
		ExpectedVersion: v,
		At:              at,
		Checkpoint: &checkpoint.Checkpoint{ParentID: parentID(v), Step: int(v), Source: checkpoint.SourceLoop,
			Versions: map[string]int64{"x": next}, Blobs: []checkpoint.Blob{{Field: "x", Data: fmt.Appendf(nil, "%d", next)}}},
		Steps: []checkpoint.Step{{Node: "n", Status: checkpoint.StepCompleted, StartedAt: at}},
	}
}

func parentID(v int64) string {
	if v == 0 {
		return ""
	}
	return checkpoint.FormatID(v)
}

func TestSchemasAreIndependent(t *testing.T) {
	a, b := newStore(t), newStore(t)
	ctx := t.Context()
	commitN(t, a, "t", 2)
	commitN(t, b, "t", 5)
	for s, want := range map[*pgstore.Store]int64{a: 2, b: 5} {
		th, err := s.Thread(ctx, "t")
		if err != nil || th.Version != want {
			t.Fatalf("schema %s: thread at %v, %v; want version %d", s.Schema(), th, err, want)
		}
	}
	if err := a.DeleteThread(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Thread(ctx, "t"); err != nil {
		t.Fatalf("deleting in one schema removed the thread of the other: %v", err)
	}
}

// TestTwoProcessesCommitOneThread: stores on separate pools (as separate
// processes would be) commit the same thread at the same version at once;
// exactly one wins each round and the loser leaves nothing behind.
func TestTwoProcessesCommitOneThread(t *testing.T) {
	first := newStore(t)
	ctx := t.Context()
	var stores []*pgstore.Store
	for range 2 {
		s, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: first.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	const rounds = 30
	for v := range int64(rounds) {
		var wg sync.WaitGroup
		var won [2]bool
		var errs [2]error
		start := make(chan struct{})
		for i, s := range stores {
			wg.Go(func() {
				c := testCommit("race", v)
				c.Thread.Owner = fmt.Sprint("process-", i)
				c.Checkpoint.Blobs[0].Data = fmt.Appendf(nil, "from %d", i)
				<-start
				_, errs[i] = s.Commit(ctx, c)
				won[i] = errs[i] == nil
			})
		}
		close(start)
		wg.Wait()
		if won[0] == won[1] {
			t.Fatalf("round %d: both won or both lost: %v", v, errs)
		}
		loser := 0
		if won[0] {
			loser = 1
		}
		if !errors.Is(errs[loser], checkpoint.ErrConflict) {
			t.Fatalf("round %d: loser's error %v, want ErrConflict", v, errs[loser])
		}
		cp, err := first.Checkpoint(ctx, "race", "", "")
		if err != nil {
			t.Fatal(err)
		}
		th, _ := first.Thread(ctx, "race")
		winner := 1 - loser
		if th.Owner != fmt.Sprint("process-", winner) || len(cp.Blobs) != 1 || string(cp.Blobs[0].Data) != fmt.Sprint("from ", winner) {
			t.Fatalf("round %d: head holds %v by %q, want the winner's (%d)", v, cp.Blobs, th.Owner, winner)
		}
	}
	steps, err := first.Steps(ctx, "race", 0)
	if err != nil || len(steps) != rounds {
		t.Fatalf("steps after %d rounds: %d, %v (a loser's steps were kept?)", rounds, len(steps), err)
	}
}

// TestTwoProcessesAnswerOneQuestion: of two answers to one interrupt from
// separate pools, exactly one is recorded; one of them is part of a
// multi-answer call, which is all or nothing.
func TestTwoProcessesAnswerOneQuestion(t *testing.T) {
	first := newStore(t)
	ctx := t.Context()
	const rounds = 20
	c := testCommit("q", 0)
	for i := range rounds {
		for _, p := range []string{"a", "b"} {
			c.Interrupts = append(c.Interrupts, checkpoint.InterruptRecord{ID: fmt.Sprint(p, i), CheckpointID: c.Thread.Head, Node: "n", Kind: checkpoint.KindDynamic})
		}
	}
	if _, err := first.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	var stores []*pgstore.Store
	for range 2 {
		s, err := pgstore.New(ctx, pgtest.NewPool(t, ""), pgstore.Options{Schema: first.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	for i := range rounds {
		a, b := fmt.Sprint("a", i), fmt.Sprint("b", i)
		calls := [2][]checkpoint.Answer{
			{{ThreadID: "q", InterruptID: a, Value: []byte(`0`), Author: "p0"}},
			{{ThreadID: "q", InterruptID: b, Value: []byte(`1`), Author: "p1"}, {ThreadID: "q", InterruptID: a, Value: []byte(`1`), Author: "p1"}},
		}
		var wg sync.WaitGroup
		var errs [2]error
		start := make(chan struct{})
		for p, s := range stores {
			wg.Go(func() {
				<-start
				_, errs[p] = s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "q", Answers: calls[p]})
			})
		}
		close(start)
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: errors %v, want exactly one success", i, errs)
		}
		winner := 0
		if errs[0] != nil {
			winner = 1
		}
		if err := errs[1-winner]; !errors.Is(err, checkpoint.ErrAlreadyAnswered) {
			t.Fatalf("round %d: loser's error %v, want ErrAlreadyAnswered", i, err)
		}
		page, err := first.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "q", ID: a})
		if err != nil || len(page.Interrupts) != 1 || page.Interrupts[0].Author != fmt.Sprint("p", winner) {
			t.Fatalf("round %d: %s = %+v, %v; want answered by p%d", i, a, page, err, winner)
		}
		page, err = first.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "q", ID: b})
		if err != nil || len(page.Interrupts) != 1 || (page.Interrupts[0].Status == checkpoint.InterruptAnswered) != (winner == 1) {
			t.Fatalf("round %d: %s = %+v, %v; the multi-answer call was not all or nothing", i, b, page, err)
		}
	}
}

// TestUpgradeFromVersion1 fills a schema at version 1 with the SQL of that
// version, migrates it and checks that the data is kept, with the new
// columns at their defaults, and that the store works on it.
func TestUpgradeFromVersion1(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	schema := pgtest.Schema(t)
	old := pgstore.NewUnchecked(pool, schema)
	if err := pgstore.MigrateTo(ctx, old, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := old.Version(ctx); err != nil || v != 1 {
		t.Fatalf("Version = %d, %v; want 1", v, err)
	}
	tbl := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO " + tbl("threads") + " (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)" +
			" VALUES ('t', 'w', 'g', 'interrupted', 1, '000000000001', '', '', NULL, $1, $1)", []any{at}},
		{"INSERT INTO " + tbl("checkpoints") + " (thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)" +
			` VALUES ('t', '', 1, '', 0, 'input', '{n}', '{"x": 1}', NULL, $1)`, []any{at}},
		{"INSERT INTO " + tbl("blobs") + " (thread_id, namespace, field, version, base, data) VALUES ('t', '', 'x', 1, 0, '\\x31')", nil},
		{"INSERT INTO " + tbl("interrupts") + " (thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index, reason," +
			" value, answer_schema, assignees, deadline, fallback, escalate_to, status, answer, author, channel, answered_at, created_at)" +
			" VALUES ('t', 'q', 'w', '000000000001', '', 'n', 'n', 'dynamic', '', 0, '', NULL, NULL, '{ann}', NULL, NULL, NULL, 'pending', NULL, '', '', NULL, $1)", []any{at}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, schema)
	th, err := s.Thread(ctx, "t")
	if err != nil || th.Status != checkpoint.StatusInterrupted || th.Version != 1 || th.Epoch != 0 || !th.StopRequested.IsZero() || !th.CreatedAt.Equal(at) {
		t.Fatalf("thread after the upgrade: %+v, %v", th, err)
	}
	cp, err := s.Checkpoint(ctx, "t", "", "")
	if err != nil || len(cp.Blobs) != 1 || string(cp.Blobs[0].Data) != "1" {
		t.Fatalf("checkpoint after the upgrade: %+v, %v", cp, err)
	}
	page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Assignees: []string{"ann"}, Status: checkpoint.InterruptPending})
	if err != nil || len(page.Interrupts) != 1 || page.Interrupts[0].Note != "" || !page.Interrupts[0].FallbackAt.IsZero() {
		t.Fatalf("inbox after the upgrade: %+v, %v", page, err)
	}
	res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`1`)}},
		Claim: &checkpoint.Claim{Owner: "me", Lease: time.Minute}})
	if err != nil || !res.Claimed || res.Thread.Epoch != 1 || res.Thread.Version != 2 {
		t.Fatalf("Answer after the upgrade: %+v, %v", res, err)
	}
	if ok, err := s.Lease(ctx, &checkpoint.Lease{Name: "m", Owner: "me", TTL: time.Minute}); err != nil || !ok {
		t.Fatalf("Lease after the upgrade: %v, %v", ok, err)
	}
}
