package pgstore_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// TestUpgradeToOutbox writes a paused thread at schema version 3, migrates
// to 4, and checks that the question is as it was, that the outbox is
// empty (the migration invents no events), and that an answer given after
// it, with the outbox on, is recorded as an event.
func TestUpgradeToOutbox(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx := t.Context()
	schema := pgtest.Schema(t)
	old := pgstore.NewUnchecked(pool, schema)
	if err := pgstore.MigrateTo(ctx, old, 3); err != nil {
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
	head := checkpoint.FormatID(1)
	exec("INSERT INTO "+tbl("threads")+" (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)"+
		" VALUES ('t', 'refund', 'g', 'interrupted', 1, $1, '', '', NULL, $2, $2)", head, at)
	exec("INSERT INTO "+tbl("interrupts")+" (thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index, reason,"+
		" assignees, status, author, channel, created_at) VALUES ('t', 'q', 'refund', $1, '', 'approve', 'approve', 'dynamic', 'refund', 0,"+
		" 'big refund', '{alice}', 'pending', '', '', $2)", head, at)
	if _, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema}); err == nil {
		t.Fatal("New on a version-3 schema without Migrate succeeded")
	}
	s, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema, Migrate: true, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	wantVersions(t, schema)
	if es, err := s.Events(ctx, nil); err != nil || len(es) != 0 {
		t.Fatalf("events after the migration = %v, %v; want none", es, err)
	}
	if _, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{
		{InterruptID: "q", Value: json.RawMessage(`true`), Author: "alice", Channel: checkpoint.ChannelCLI}}}); err != nil {
		t.Fatal(err)
	}
	es, err := s.Events(ctx, nil)
	if err != nil || len(es) != 1 {
		t.Fatalf("events after an answer = %v, %v; want 1", es, err)
	}
	if e := es[0]; e.Type != checkpoint.EventQuestionAnswered || e.Key != "refund" || e.Author != "alice" || len(e.Assignees) != 1 || e.Workflow != "refund" {
		t.Errorf("event = %+v", e)
	}
}
