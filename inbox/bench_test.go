package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// pendingStore returns a memstore with n paused threads, each waiting on one
// question, created a second apart and assigned to one of four roles.
func pendingStore(b *testing.B, n int) checkpoint.Store {
	b.Helper()
	ctx := context.Background()
	store := memstore.New()
	roles := []string{"editors", "legal", "ops", "support"}
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Second)
		thread := fmt.Sprintf("thread-%06d", i)
		cp := checkpoint.FormatID(1)
		_, err := store.Commit(ctx, &checkpoint.Commit{
			Thread: checkpoint.Thread{ID: thread, Workflow: "approval", Status: checkpoint.StatusInterrupted, Head: cp},
			At:     at,
			Checkpoint: &checkpoint.Checkpoint{
				ThreadID: thread, ID: cp, Source: checkpoint.SourceInput, Next: []string{"review"},
				Versions: map[string]int64{"Title": 1}, CreatedAt: at,
				Blobs: []checkpoint.Blob{{Field: "Title", Version: 1, Data: []byte(`"doc"`)}},
			},
			Interrupts: []checkpoint.InterruptRecord{{
				ID: fmt.Sprintf("q%06d", i), ThreadID: thread, Workflow: "approval", CheckpointID: cp,
				Node: "review", Task: "review", Kind: checkpoint.KindDynamic,
				Value: json.RawMessage(`{"title":"doc"}`), Schema: json.RawMessage(`{"type":"object"}`),
				Assignees: []string{roles[i%len(roles)]}, Status: checkpoint.InterruptPending, CreatedAt: at,
			}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return store
}

// BenchmarkList reads the first page of 50 of 10,000 pending questions.
func BenchmarkList(b *testing.B) {
	store := pendingStore(b, 10_000)
	ib := inbox.New(store, nil)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    inbox.Query
	}{
		{"first50", inbox.Query{Limit: 50}},
		{"first50/assignee", inbox.Query{Limit: 50, Assignees: []string{"legal"}}},
		{"first50/workflow+node", inbox.Query{Limit: 50, Workflow: "approval", Node: "review"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := ib.List(ctx, bc.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != 50 || page.Next == "" {
					b.Fatalf("page of %d, next %q", len(page.Items), page.Next)
				}
			}
		})
	}
}
