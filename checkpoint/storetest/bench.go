package storetest

import (
	"fmt"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// Bench runs the same workloads on the stores newStore returns, so every
// store reports figures that compare:
//
//   - Commit: one superstep of a thread whose state is about 1 KB: a
//     checkpoint in which one field (1 KB) changed, so it writes one 1 KB
//     blob while three small fields point at older blobs, and one step
//     row. Every 1,000 commits the thread is pruned to its last checkpoint,
//     outside the timer, so that a store that keeps everything in memory
//     does not grow without bound.
//   - InboxFirstPage: the first page of 50 pending interrupts out of 10,000
//     (100 threads with 100 each), as an inbox shows it.
//
// Run it with -benchmem. newStore is called once per sub-benchmark and must
// return an empty store.
func Bench(b *testing.B, newStore func(b *testing.B) checkpoint.Store) {
	b.Run("Commit", func(b *testing.B) { benchCommit(b, newStore(b)) })
	b.Run("InboxFirstPage", func(b *testing.B) { benchInbox(b, newStore(b), 100, 100, 50) })
}

// benchCommit measures Commit of one superstep with one 1 KB blob.
func benchCommit(b *testing.B, s checkpoint.Store) {
	ctx := b.Context()
	const size = 1024
	doc := make([]byte, size)
	for i := range doc {
		doc[i] = byte('a' + i%26)
	}
	// The first commit writes every field: the 1 KB one that changes and
	// three small ones that do not.
	first := checkpoint.Commit{
		Thread: checkpoint.Thread{ID: "bench", Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusRunning, Head: checkpoint.FormatID(1)},
		At:     t0,
		Checkpoint: &checkpoint.Checkpoint{ThreadID: "bench", ID: checkpoint.FormatID(1), Source: checkpoint.SourceInput,
			Next: []string{"n"}, CreatedAt: t0,
			Versions: map[string]int64{"doc": 1, "status": 1, "round": 1, "owner": 1},
			Blobs: []checkpoint.Blob{
				{Field: "doc", Version: 1, Data: doc}, {Field: "status", Version: 1, Data: []byte(`"drafting"`)},
				{Field: "round", Version: 1, Data: []byte(`0`)}, {Field: "owner", Version: 1, Data: []byte(`"ann"`)},
			}},
	}
	if _, err := s.Commit(ctx, &first); err != nil {
		b.Fatalf("first Commit: %v", err)
	}

	cp := &checkpoint.Checkpoint{ThreadID: "bench", Source: checkpoint.SourceLoop, Next: []string{"n"},
		Versions: map[string]int64{"doc": 1, "status": 1, "round": 1, "owner": 1}, Blobs: make([]checkpoint.Blob, 1)}
	steps := []checkpoint.Step{{ThreadID: "bench", Node: "n", Task: "n", Status: checkpoint.StepCompleted, StartedAt: t0}}
	c := checkpoint.Commit{Thread: first.Thread, Checkpoint: cp, Steps: steps}
	version := int64(1)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		v := version + 1
		id := checkpoint.FormatID(v)
		at := t0.Add(durationOf(v))
		c.ExpectedVersion, c.At = version, at
		cp.ID, cp.ParentID, cp.Step, cp.CreatedAt = id, c.Thread.Head, int(v), at
		c.Thread.Head = id
		cp.Versions["doc"] = v
		doc[v%size]++ // a new value each time
		cp.Blobs[0] = checkpoint.Blob{Field: "doc", Version: v, Data: doc}
		steps[0].Superstep, steps[0].CheckpointID = int(v), cp.ParentID
		if _, err := s.Commit(ctx, &c); err != nil {
			b.Fatalf("Commit(version %d): %v", version, err)
		}
		version = v
		if version%1000 == 0 {
			b.StopTimer()
			if _, err := s.Prune(ctx, &checkpoint.Prune{ThreadID: "bench", KeepLast: 1}); err != nil {
				b.Fatalf("Prune: %v", err)
			}
			b.StartTimer()
		}
	}
}

// benchInbox measures the first page of limit pending interrupts out of
// threads*each.
func benchInbox(b *testing.B, s checkpoint.Store, threads, each, limit int) {
	ctx := b.Context()
	for t := range threads {
		id := fmt.Sprintf("thread%03d", t)
		rs := make([]checkpoint.InterruptRecord, each)
		for i := range rs {
			rs[i] = checkpoint.InterruptRecord{
				ID: fmt.Sprintf("q%03d", i), ThreadID: id, Workflow: "bench", CheckpointID: checkpoint.FormatID(1),
				Node: "review", Task: "review", Kind: checkpoint.KindDynamic, Reason: "please review",
				Value: []byte(`{"draft":"a short draft to review"}`), Schema: []byte(`{"type":"boolean"}`),
				Assignees: []string{fmt.Sprintf("user%d", (t+i)%10)}, Status: checkpoint.InterruptPending,
				CreatedAt: t0.Add(durationOf(int64(i*threads + t))),
			}
		}
		_, err := s.Commit(ctx, &checkpoint.Commit{
			Thread: checkpoint.Thread{ID: id, Workflow: "bench", Status: checkpoint.StatusInterrupted},
			At:     t0, Interrupts: rs,
		})
		if err != nil {
			b.Fatalf("Commit(%s): %v", id, err)
		}
	}
	q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Limit: limit}
	b.ReportAllocs()
	for b.Loop() {
		page, err := s.Interrupts(ctx, q)
		if err != nil {
			b.Fatalf("Interrupts: %v", err)
		}
		if len(page.Interrupts) != limit || page.Next == "" {
			b.Fatalf("Interrupts: %d records, Next %q; want %d and a cursor", len(page.Interrupts), page.Next, limit)
		}
	}
}

// BenchOutbox measures what the outbox costs the writes that record
// events, with the stores newStore returns with the outbox off and on:
//
//   - Pause: a commit that creates a thread paused on one question (one
//     question.asked with the outbox on);
//   - Answer: the answer to that question (one question.answered).
//
// Compare the two halves (outbox=off, outbox=on) of each.
func BenchOutbox(b *testing.B, newStore func(b *testing.B, outbox bool) checkpoint.Store) {
	for _, on := range []bool{false, true} {
		name := "outbox=off"
		if on {
			name = "outbox=on"
		}
		b.Run("Pause/"+name, func(b *testing.B) {
			s := newStore(b, on)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				benchPause(b, s, i)
				i++
			}
		})
		b.Run("Answer/"+name, func(b *testing.B) {
			s := newStore(b, on)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				benchPause(b, s, n)
				b.StartTimer()
				_, err := s.Answer(b.Context(), &checkpoint.AnswerRequest{ThreadID: fmt.Sprintf("t%d", n), Answers: []checkpoint.Answer{
					{InterruptID: "q", Value: []byte(`true`), Author: "ann", Channel: checkpoint.ChannelAPI, At: t0}}})
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}

// benchPause commits thread t<i>, paused on question q.
func benchPause(b *testing.B, s checkpoint.Store, i int) {
	id := fmt.Sprintf("t%d", i)
	c := checkpoint.Commit{
		Thread: checkpoint.Thread{ID: id, Workflow: "bench", GraphHash: "g", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
		At:     t0,
		Checkpoint: &checkpoint.Checkpoint{ThreadID: id, ID: checkpoint.FormatID(1), Source: checkpoint.SourceInput, CreatedAt: t0,
			Versions: map[string]int64{"x": 1}, Blobs: []checkpoint.Blob{{Field: "x", Version: 1, Data: []byte(`1`)}}},
		Interrupts: []checkpoint.InterruptRecord{{ID: "q", ThreadID: id, Workflow: "bench", CheckpointID: checkpoint.FormatID(1),
			Node: "approve", Task: "approve", Kind: checkpoint.KindDynamic, Key: "approval", Value: []byte(`{}`),
			Assignees: []string{"ann"}, CreatedAt: t0}},
	}
	if _, err := s.Commit(b.Context(), &c); err != nil {
		b.Fatal(err)
	}
}
