package weft_test

import (
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// TestCancelIsACheckpoint: a cancel writes a checkpoint of its own, with
// the state as it was and who cancelled and why, whether it withdrew
// questions or not.
func TestCancelIsACheckpoint(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, wf *weft.Workflow[Edited]) // leaves thread "t" waiting
		questions int                                           // withdrawn
	}{
		{"stopped, no questions", func(t *testing.T, wf *weft.Workflow[Edited]) {
			must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", Edited{Title: "x"}))
			must[*weft.Snapshot[Edited]](t)(wf.UpdateState(ctx, "t", func(s Edited) Edited { s.Title = "y"; return s }))
		}, 0},
		{"paused at a breakpoint", func(t *testing.T, wf *weft.Workflow[Edited]) {
			must[*weft.Result[Edited]](t)(wf.Run(ctx, "t", Edited{Title: "y"}))
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := memstore.New()
			wf := editedWorkflowIn(t, st)
			tt.setup(t, wf)
			before := must[*weft.Snapshot[Edited]](t)(wf.State(ctx, "t"))
			if err := wf.Cancel(ctx, "t", "not needed", weft.By("dan", checkpoint.ChannelCLI)); err != nil {
				t.Fatal(err)
			}
			after := must[*weft.Snapshot[Edited]](t)(wf.State(ctx, "t"))
			if after.Status != weft.StatusCancelled || after.Source != checkpoint.SourceCancel || after.Parent != before.Checkpoint ||
				after.Step != before.Step+1 || after.Values.Title != "y" {
				t.Fatalf("after the cancel: %+v (before %s)", after, before.Checkpoint)
			}
			if after.Author != "dan" || after.Channel != checkpoint.ChannelCLI || after.Note != "not needed" {
				t.Fatalf("the cancel's checkpoint: author %q channel %q note %q", after.Author, after.Channel, after.Note)
			}
			withdrawn := 0
			page := must[*checkpoint.InterruptPage](t)(st.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t"}))
			for _, r := range page.Interrupts {
				if r.Status == checkpoint.InterruptCancelled && r.Author == "dan" && r.Note == "not needed" {
					withdrawn++
				}
			}
			if withdrawn != tt.questions {
				t.Fatalf("%d questions withdrawn by dan, want %d", withdrawn, tt.questions)
			}
			// Fork rewinds the cancelled thread; Resume carries the fork on.
			snap := must[*weft.Snapshot[Edited]](t)(wf.Fork(ctx, "t", before.Checkpoint, nil))
			if snap.Status == weft.StatusCancelled {
				t.Fatalf("fork of the cancelled thread: %s", snap.Status)
			}
		})
	}
}

// TestResumeRecordsWhoResumed: Resume with By records who resumed the
// thread on the first checkpoint the run writes, and only there.
func TestResumeRecordsWhoResumed(t *testing.T) {
	st := memstore.New()
	wf := pipeline(t, weft.WithStore(st), weft.InterruptBefore("b"))
	must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
	must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t", weft.By("eve", checkpoint.ChannelUI)))
	cps := must[[]checkpoint.Checkpoint](t)(st.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"}))
	var got []string
	for _, cp := range cps { // newest first: c, b (the first of the resume), a, input
		got = append(got, cp.Meta[weft.MetaResumedBy]+"/"+cp.Meta[weft.MetaResumedVia])
	}
	if strings.Join(got, " ") != "/ eve/ui / /" {
		t.Fatalf("resumed_by of the checkpoints, newest first: %v", got)
	}
	// Without By, nothing is recorded.
	must[*weft.Result[Counter]](t)(wf.Run(ctx, "u", Counter{}))
	must[*weft.Result[Counter]](t)(wf.Resume(ctx, "u"))
	for _, cp := range must[[]checkpoint.Checkpoint](t)(st.History(ctx, &checkpoint.HistoryQuery{ThreadID: "u"})) {
		if _, ok := cp.Meta[weft.MetaResumedBy]; ok {
			t.Fatalf("checkpoint %s records a resumer: %v", cp.ID, cp.Meta)
		}
	}
}
