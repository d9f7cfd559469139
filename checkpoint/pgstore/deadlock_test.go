package pgstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// TestNoDeadlockCancelVersusAnswers: a commit that cancels a thread's
// pending questions and an answer to several of them, in the opposite
// order, race round after round. Each transaction locks the thread's row
// before any question's, so they queue instead of deadlocking (40P01): each
// call succeeds or is refused with a sentinel, never a database error.
func TestNoDeadlockCancelVersusAnswers(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	const questions = 8
	version := int64(0)
	for round := range 25 {
		id := fmt.Sprintf("t%d", round)
		head := checkpoint.FormatID(1)
		qs := make([]checkpoint.InterruptRecord, questions)
		for i := range qs {
			qs[i] = checkpoint.InterruptRecord{ID: fmt.Sprintf("q%d", i), ThreadID: id, Workflow: "w", CheckpointID: head,
				Node: "n", Task: "n", Kind: checkpoint.KindDynamic, Value: json.RawMessage(`1`), Status: checkpoint.InterruptPending}
		}
		row := checkpoint.Thread{ID: id, Workflow: "w", GraphHash: "g", Status: checkpoint.StatusInterrupted, Head: head}
		_, err := s.Commit(ctx, &checkpoint.Commit{Thread: row, At: time.Now(), Interrupts: qs,
			Checkpoint: &checkpoint.Checkpoint{ThreadID: id, ID: head, Source: checkpoint.SourceInput, CreatedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		version = 1
		answers := make([]checkpoint.Answer, questions)
		for i := range answers {
			answers[i] = checkpoint.Answer{ThreadID: id, InterruptID: qs[questions-1-i].ID, Value: json.RawMessage(`2`), At: time.Now()}
		}
		var wg sync.WaitGroup
		var cancelErr, answerErr error
		wg.Go(func() {
			stopped := row
			stopped.Status = checkpoint.StatusCancelled
			_, cancelErr = s.Commit(ctx, &checkpoint.Commit{Thread: stopped, ExpectedVersion: version, At: time.Now(),
				Cancel: &checkpoint.Cancellation{Author: "ops", At: time.Now()}})
		})
		wg.Go(func() {
			_, answerErr = s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: id, Answers: answers})
		})
		wg.Wait()
		if cancelErr != nil && !errors.Is(cancelErr, checkpoint.ErrConflict) {
			t.Fatalf("round %d: cancel: %v", round, cancelErr)
		}
		if answerErr != nil && !errors.Is(answerErr, checkpoint.ErrAlreadyAnswered) {
			t.Fatalf("round %d: answer: %v", round, answerErr)
		}
		// Exactly one of them decided the questions, all of them.
		page, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: id})
		if err != nil {
			t.Fatal(err)
		}
		statuses := map[checkpoint.InterruptStatus]int{}
		for _, r := range page.Interrupts {
			statuses[r.Status]++
		}
		if len(statuses) != 1 || (statuses[checkpoint.InterruptAnswered] != questions && statuses[checkpoint.InterruptCancelled] != questions) {
			t.Fatalf("round %d: questions %v, want all answered or all cancelled", round, statuses)
		}
	}
}
