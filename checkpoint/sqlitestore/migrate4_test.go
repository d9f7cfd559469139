package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// TestUpgradeToOutbox writes a paused thread at schema version 3, migrates
// to 4, and checks that the thread and its question are as they were, that
// the outbox is empty (the migration invents no events), and that an
// answer given after it, with the outbox on, is recorded as an event.
func TestUpgradeToOutbox(t *testing.T) {
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
	for _, m := range ms[:3] {
		exec(m.sql)
		exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 0)`, m.version, m.name)
	}
	head := checkpoint.FormatID(1)
	exec(`INSERT INTO threads (id, workflow, graph_hash, status, version, head, error, owner, lease_until, created_at, updated_at)
		VALUES ('t', 'refund', 'g', 'interrupted', 1, ?, '', '', NULL, 0, 0)`, head)
	exec(`INSERT INTO interrupts (thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index, reason,
		value, answer_schema, assignees, deadline, fallback, escalate_to, status, answer, author, channel, answered_at, created_at)
		VALUES ('t', 'q', 'refund', ?, '', 'approve', 'approve', 'dynamic', 'refund', 0, 'big refund',
		NULL, NULL, '["alice"]', NULL, NULL, NULL, 'pending', NULL, '', '', NULL, 0)`, head)

	// Without Migrate, version 3 is refused.
	if _, err := Open(ctx, path, Options{}); err == nil {
		t.Fatal("Open of a version-3 file without Migrate succeeded")
	}
	s, err := Open(ctx, path, Options{Migrate: true, Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, SchemaVersion)
	}
	if es, err := s.Events(ctx, nil); err != nil || len(es) != 0 {
		t.Fatalf("events after the migration = %v, %v; want none", es, err)
	}
	page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending})
	if err != nil || len(page.Interrupts) != 1 || page.Interrupts[0].Key != "refund" {
		t.Fatalf("pending questions after the migration = %+v, %v", page, err)
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
