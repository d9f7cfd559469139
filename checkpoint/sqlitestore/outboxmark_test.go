package sqlitestore_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

// TestOutboxMark: a process that opened the file with the outbox off
// before another opened it with the outbox on (the mark) records the
// events of every write it makes after the mark — a question asked, an
// answer, an escalation, a failure — and none of those before; a store
// opened afterwards without the outbox has it on.
func TestOutboxMark(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "weft.db")
	early := openAt(t, path)
	if early.OutboxEnabled() {
		t.Fatal("outbox on, on a new file without Options.Outbox")
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	deadline := t0.Add(time.Hour)
	ask := func(id string) {
		t.Helper()
		if _, err := early.Commit(ctx, &checkpoint.Commit{
			Thread: checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
			At:     t0,
			Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Next: []string{"n"},
				Versions: map[string]int64{"f": 1}, Blobs: []checkpoint.Blob{{Field: "f", Data: []byte(`"x"`)}}},
			Interrupts: []checkpoint.InterruptRecord{{ID: "q", Workflow: "w", Node: "n", CheckpointID: checkpoint.FormatID(1),
				Assignees: []string{"ann"}, Deadline: deadline}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	events := func() []string {
		t.Helper()
		es, err := early.Events(ctx, &checkpoint.EventQuery{})
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, e := range es {
			out = append(out, e.Type+" "+e.ThreadID)
		}
		return out
	}
	ask("before")
	if got := events(); len(got) != 0 {
		t.Fatalf("events before the mark: %v", got)
	}

	openOpts(t, path, sqlitestore.Options{Outbox: true})

	ask("after")
	if _, err := early.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "after", Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`1`), Author: "ann"}}}); err != nil {
		t.Fatal(err)
	}
	if err := early.Reassign(ctx, &checkpoint.Reassign{ThreadID: "before", InterruptID: "q", ExpectedDeadline: deadline,
		Assignees: []string{"boss"}, Deadline: deadline.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := early.Commit(ctx, &checkpoint.Commit{
		Thread: checkpoint.Thread{ID: "failing", Workflow: "w", Status: checkpoint.StatusFailed, Error: "card declined", Head: checkpoint.FormatID(1)},
		At:     t0,
		Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Versions: map[string]int64{"f": 1},
			Blobs: []checkpoint.Blob{{Field: "f", Data: []byte(`"x"`)}}},
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"question.asked after", "question.answered after", "question.escalated before", "thread.failed failing"}
	if got := events(); !slices.Equal(got, want) {
		t.Fatalf("events of the early store's writes after the mark:\n%v\nwant\n%v", got, want)
	}
	if late := openAt(t, path); !late.OutboxEnabled() {
		t.Fatal("a store opened without the outbox on a marked file has it off")
	}
}
