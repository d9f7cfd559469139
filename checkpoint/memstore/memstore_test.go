package memstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) checkpoint.Store { return memstore.New() })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(*testing.B) checkpoint.Store { return memstore.New() })
}

var t0 = time.Date(2025, time.March, 1, 9, 30, 0, 0, time.UTC)

// TestCommitFillsIn checks the fields Commit fills in (see "Decisions the
// contract leaves open" in the package doc).
func TestCommitFillsIn(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	c := &checkpoint.Commit{
		Thread: checkpoint.Thread{ID: "t1", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(1)},
		At:     t0,
		Checkpoint: &checkpoint.Checkpoint{Versions: map[string]int64{"x": 1},
			Blobs: []checkpoint.Blob{{Field: "x", Data: []byte("1")}}},
		Interrupts: []checkpoint.InterruptRecord{{ID: "q", ThreadID: "other"}},
		Steps:      []checkpoint.Step{{ThreadID: "other", Node: "n"}},
	}
	if _, err := s.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx, "t1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ThreadID != "t1" || cp.ID != checkpoint.FormatID(1) || !cp.CreatedAt.Equal(t0) {
		t.Errorf("checkpoint: thread %q, ID %q, created %v; want t1, %s, %v", cp.ThreadID, cp.ID, cp.CreatedAt, checkpoint.FormatID(1), t0)
	}
	if len(cp.Blobs) != 1 || cp.Blobs[0].Version != 1 {
		t.Errorf("blobs = %+v, want one at version 1", cp.Blobs)
	}
	page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Interrupts) != 1 {
		t.Fatalf("interrupts of t1 = %d, want 1", len(page.Interrupts))
	}
	if r := page.Interrupts[0]; r.Status != checkpoint.InterruptPending || !r.CreatedAt.Equal(t0) {
		t.Errorf("interrupt: status %q, created %v; want pending, %v", r.Status, r.CreatedAt, t0)
	}
	steps, err := s.Steps(ctx, "t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].ThreadID != "t1" {
		t.Errorf("steps = %+v, want one of t1", steps)
	}
}

// TestCommitRefusesWrongVersions checks that a checkpoint ID or blob
// version that is not the commit's is refused, and changes nothing.
func TestCommitRefusesWrongVersions(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		cp   checkpoint.Checkpoint
	}{
		{"CheckpointID", checkpoint.Checkpoint{ID: checkpoint.FormatID(2)}},
		{"BlobVersion", checkpoint.Checkpoint{Blobs: []checkpoint.Blob{{Field: "x", Version: 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memstore.New()
			_, err := s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t1"}, At: t0, Checkpoint: &tc.cp})
			if err == nil || errors.Is(err, checkpoint.ErrConflict) {
				t.Fatalf("Commit = %v, want an error other than ErrConflict", err)
			}
			if _, err := s.Thread(ctx, "t1"); !errors.Is(err, checkpoint.ErrNotFound) {
				t.Errorf("Thread after a refused commit: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestMissingBlobLeftOut checks that a field whose blob was never written
// is left out of Checkpoint's blobs rather than failing.
func TestMissingBlobLeftOut(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	_, err := s.Commit(ctx, &checkpoint.Commit{
		Thread: checkpoint.Thread{ID: "t1", Head: checkpoint.FormatID(1)}, At: t0,
		Checkpoint: &checkpoint.Checkpoint{Versions: map[string]int64{"x": 1, "ghost": 7},
			Blobs: []checkpoint.Blob{{Field: "x", Data: []byte("1")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx, "t1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Blobs) != 1 || cp.Blobs[0].Field != "x" {
		t.Errorf("blobs = %+v, want only x", cp.Blobs)
	}
}

// TestNilArguments checks the calls without arguments.
func TestNilArguments(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	if _, err := s.Commit(ctx, nil); err == nil {
		t.Error("Commit(nil): no error")
	}
	if _, err := s.Commit(ctx, &checkpoint.Commit{}); err == nil {
		t.Error("Commit without a thread ID: no error")
	}
	if err := s.PutWrites(ctx, nil); err == nil {
		t.Error("PutWrites(nil): no error")
	}
	if _, err := s.History(ctx, nil); err == nil {
		t.Error("History(nil): no error")
	}
	if _, err := s.Prune(ctx, nil); err == nil {
		t.Error("Prune(nil): no error")
	}
	if err := s.Reassign(ctx, nil); err == nil {
		t.Error("Reassign(nil): no error")
	}
	if _, err := s.Answer(ctx, nil); err == nil {
		t.Error("Answer(nil): no error")
	}
	if _, err := s.Threads(ctx, nil); err != nil {
		t.Errorf("Threads(nil) = %v", err)
	}
	if _, err := s.Interrupts(ctx, nil); err != nil {
		t.Errorf("Interrupts(nil) = %v", err)
	}
}

// Example commits a thread's first checkpoint with a question, answers the
// question, and reads the state back.
func Example() {
	ctx := context.Background()
	store := memstore.New()

	id := checkpoint.FormatID(1)
	_, err := store.Commit(ctx, &checkpoint.Commit{
		Thread: checkpoint.Thread{ID: "review-42", Workflow: "review", Status: checkpoint.StatusInterrupted, Head: id},
		At:     t0,
		Checkpoint: &checkpoint.Checkpoint{ThreadID: "review-42", ID: id, Source: checkpoint.SourceInput,
			Versions: map[string]int64{"draft": 1}, CreatedAt: t0,
			Blobs: []checkpoint.Blob{{Field: "draft", Version: 1, Data: []byte(`"hello"`)}}},
		Interrupts: []checkpoint.InterruptRecord{{ID: "approve", ThreadID: "review-42", Workflow: "review",
			CheckpointID: id, Node: "approve", Value: json.RawMessage(`{"draft":"hello"}`),
			Assignees: []string{"ann"}, Status: checkpoint.InterruptPending, CreatedAt: t0}},
	})
	if err != nil {
		panic(err)
	}

	inbox, _ := store.Interrupts(ctx, &checkpoint.InterruptQuery{Assignees: []string{"ann"}, Status: checkpoint.InterruptPending})
	for _, q := range inbox.Interrupts {
		fmt.Printf("%s asks %s: %s\n", q.ThreadID, q.ID, q.Value)
	}
	res, err := store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "review-42", Answers: []checkpoint.Answer{{
		ThreadID: "review-42", InterruptID: "approve",
		Value: json.RawMessage(`true`), Author: "ann", Channel: checkpoint.ChannelUI, At: t0.Add(time.Hour)}}})
	fmt.Println("answered:", err, "thread is", res.Thread.Status)
	_, err = store.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "review-42", Answers: []checkpoint.Answer{{
		ThreadID: "review-42", InterruptID: "approve", Value: json.RawMessage(`false`)}}})
	fmt.Println("again:", errors.Is(err, checkpoint.ErrAlreadyAnswered))

	cp, _ := store.Checkpoint(ctx, "review-42", "", "")
	fmt.Printf("head %s: %s = %s\n", cp.ID, cp.Blobs[0].Field, cp.Blobs[0].Data)
	// Output:
	// review-42 asks approve: {"draft":"hello"}
	// answered: <nil> thread is ready
	// again: true
	// head 000000000001: draft = "hello"
}

// TestStepsLongLog checks Steps over a log long enough to span many chunks
// of the store's step log.
func TestStepsLongLog(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	var want []checkpoint.Step // the model
	for v := int64(1); v <= 400; v++ {
		var steps []checkpoint.Step
		for i := range int(v % 4) { // 0 to 3 steps per commit
			steps = append(steps, checkpoint.Step{ThreadID: "t1", Node: fmt.Sprintf("n%d.%d", v, i), Status: checkpoint.StepCompleted, StartedAt: t0})
		}
		if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t1"}, ExpectedVersion: v - 1, At: t0, Steps: steps}); err != nil {
			t.Fatal(err)
		}
		for _, st := range steps {
			st.Version = v
			want = append(want, st)
		}
	}
	for _, after := range []int64{0, 1, 2, 3, 170, 171, 172, 255, 256, 341, 342, 399, 400, 1000} {
		got, err := s.Steps(ctx, "t1", after)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for i < len(want) && want[i].Version <= after {
			i++
		}
		if len(got) != len(want)-i {
			t.Fatalf("Steps(after %d) = %d steps, want %d", after, len(got), len(want)-i)
		}
		for j := range got {
			if got[j] != want[i+j] {
				t.Fatalf("Steps(after %d)[%d] = %+v, want %+v", after, j, got[j], want[i+j])
			}
		}
	}
}

func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(_ *testing.T, outbox bool) checkpoint.Store {
		if outbox {
			return memstore.New(memstore.WithOutbox())
		}
		return memstore.New()
	})
}

func BenchmarkOutbox(b *testing.B) {
	storetest.BenchOutbox(b, func(_ *testing.B, outbox bool) checkpoint.Store {
		if outbox {
			return memstore.New(memstore.WithOutbox())
		}
		return memstore.New()
	})
}
