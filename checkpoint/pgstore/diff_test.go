package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// TestAgainstMemstore runs one scenario that touches every method on a
// pgstore and on a memstore and compares what they return: memstore is the
// reference for the contract's open decisions (see its doc).
func TestAgainstMemstore(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	// Both stores read one clock, which the scenario moves.
	var clockMin int
	clock := func() time.Time { return at(clockMin).Truncate(time.Microsecond) }
	pg := newStoreWith(t, pgstore.Options{Clock: clock})
	mem := memstore.New(memstore.WithClock(clock))

	step := 0
	check := func(what string, f func(s checkpoint.Store) string) {
		t.Helper()
		step++
		got, want := f(pg), f(mem)
		if got != want {
			t.Errorf("step %d, %s:\npgstore:\n%s\nmemstore:\n%s", step, what, got, want)
		}
	}
	commit := func(c checkpoint.Commit) {
		t.Helper()
		check(fmt.Sprintf("Commit(%s @%d)", c.Thread.ID, c.ExpectedVersion), func(s checkpoint.Store) string {
			v, err := s.Commit(ctx, &c)
			return fmt.Sprint(v, " ", errKind(err))
		})
	}
	row := func(id string, status checkpoint.Status, head string) checkpoint.Thread {
		return checkpoint.Thread{ID: id, Workflow: "w-" + id[:1], GraphHash: "g", Status: status, Head: head, Owner: "p1", LeaseUntil: at(100)}
	}
	q := func(thread, id, node string, min int, assignees ...string) checkpoint.InterruptRecord {
		r := checkpoint.InterruptRecord{ID: id, Workflow: "w-" + thread[:1], CheckpointID: "x", Node: node, Task: node, Kind: checkpoint.KindDynamic,
			Key: "k" + id, Index: 1, Reason: "why", Value: json.RawMessage(`{"v":1}`), Schema: json.RawMessage(`{}`),
			Assignees: assignees, CreatedAt: at(min)}
		if min%2 == 0 {
			r.Deadline, r.Fallback = at(min+60), json.RawMessage(`"fb"`)
		}
		return r
	}

	// Three threads with checkpoints, subgraphs, Append chains, writes,
	// interrupts and steps.
	for i, id := range []string{"a1", "a2", "b1"} {
		for v := int64(1); v <= 5; v++ {
			head := checkpoint.FormatID(v)
			c := checkpoint.Commit{Thread: row(id, checkpoint.StatusRunning, head), ExpectedVersion: v - 1, At: at(int(v) + i)}
			ns := ""
			if v == 3 {
				ns = "sub:1"
				c.Thread.Head = checkpoint.FormatID(v - 1)
			}
			blobs := []checkpoint.Blob{{Field: "list", Base: v - 1, Data: []byte(fmt.Sprintf("[%d]", v))}}
			if v == 1 {
				blobs[0].Base = 0
				blobs = append(blobs, checkpoint.Blob{Field: "x", Data: []byte("x1")})
			}
			vs := map[string]int64{"list": v, "x": 1}
			if ns != "" {
				vs = map[string]int64{"y": v}
				blobs = []checkpoint.Blob{{Field: "y", Data: []byte("y")}}
			}
			parent := ""
			if v > 1 {
				parent = checkpoint.FormatID(v - 1)
			}
			c.Checkpoint = &checkpoint.Checkpoint{Namespace: ns, ParentID: parent, Step: int(v), Source: checkpoint.SourceLoop,
				Next: []string{"n"}, Versions: vs, Meta: map[string]string{"m": id}, Blobs: blobs}
			c.Writes = []checkpoint.PendingWrite{
				{CheckpointID: head, Task: "t", Kind: "output", Data: []byte("w" + head)},
				{CheckpointID: head, Task: "t", Kind: "do", Key: "k", Data: []byte("first")},
				{CheckpointID: head, Task: "t", Kind: "do", Key: "k", Data: []byte("second")},
			}
			c.Lease = time.Minute
			c.Interrupts = []checkpoint.InterruptRecord{q(id, fmt.Sprintf("q%d", v), []string{"review", "approve"}[v%2], int(v)*3+i, []string{"ann", "bob", "eve"}[:v%4]...)}
			c.Interrupts[0].CheckpointID = c.Thread.Head
			c.Steps = []checkpoint.Step{{Namespace: ns, Superstep: int(v), CheckpointID: parent, Node: "n", Task: "n", Status: checkpoint.StepCompleted, StartedAt: at(int(v)), Duration: time.Duration(v) * time.Millisecond, Error: ""}}
			commit(c)
		}
	}
	// Conflicts: stale, future, existing, missing.
	commit(checkpoint.Commit{Thread: row("a1", checkpoint.StatusFailed, ""), ExpectedVersion: 2, At: at(50), Cancel: &checkpoint.Cancellation{Author: "x"}})
	commit(checkpoint.Commit{Thread: row("a1", checkpoint.StatusFailed, ""), ExpectedVersion: 9, At: at(50)})
	commit(checkpoint.Commit{Thread: row("a1", checkpoint.StatusFailed, ""), ExpectedVersion: 0, At: at(50)})
	commit(checkpoint.Commit{Thread: row("zz", checkpoint.StatusFailed, ""), ExpectedVersion: 4, At: at(50)})

	reads := func(label string) {
		t.Helper()
		for _, id := range []string{"a1", "a2", "b1", "zz"} {
			check(label+" Thread "+id, func(s checkpoint.Store) string { th, err := s.Thread(ctx, id); return renderThread(th) + errKind(err) })
			for _, ns := range []string{"", "sub:1", "none"} {
				check(label+" History "+id+ns, func(s checkpoint.Store) string {
					cps, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: id, Namespace: ns})
					var b strings.Builder
					for _, cp := range cps {
						b.WriteString(renderCheckpoint(&cp))
					}
					return b.String() + errKind(err)
				})
				check(label+" History limited "+id+ns, func(s checkpoint.Store) string {
					cps, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: id, Namespace: ns, Before: "000000000005", Limit: 2})
					return fmt.Sprint(len(cps), errKind(err))
				})
				for _, cp := range []string{"", "000000000001", "000000000002", "000000000003", "000000000004", "000000000005", "000000000009", "bad"} {
					check(label+" Checkpoint "+id+"/"+ns+"/"+cp, func(s checkpoint.Store) string {
						c, err := s.Checkpoint(ctx, id, ns, cp)
						return renderCheckpoint(c) + errKind(err)
					})
					check(label+" PendingWrites "+id+"/"+ns+"/"+cp, func(s checkpoint.Store) string {
						ws, err := s.PendingWrites(ctx, id, ns, cp)
						return fmt.Sprintf("%+v %s", ws, errKind(err))
					})
				}
			}
			for _, after := range []int64{0, 2, 5} {
				check(fmt.Sprintf("%s Steps %s>%d", label, id, after), func(s checkpoint.Store) string {
					st, err := s.Steps(ctx, id, after)
					var b strings.Builder
					for _, x := range st {
						fmt.Fprintf(&b, "%s %s v%d ss%d %s %s %s %s %s %v %s\n", x.ThreadID, x.Namespace, x.Version, x.Superstep, x.CheckpointID, x.Node, x.Task, x.Status, fmtTime(x.StartedAt), x.Duration, x.Error)
					}
					return b.String() + errKind(err)
				})
			}
		}
		for _, tq := range []checkpoint.ThreadQuery{{}, {Limit: 1}, {Workflow: "w-a", Limit: 1}, {Status: checkpoint.StatusRunning}, {After: "a1"}} {
			check(fmt.Sprintf("%s Threads %+v", label, tq), func(s checkpoint.Store) string {
				var b strings.Builder
				tq := tq
				for {
					p, err := s.Threads(ctx, &tq)
					if err != nil {
						return errKind(err)
					}
					for _, th := range p.Threads {
						b.WriteString(renderThread(&th))
					}
					if p.Next == "" {
						return b.String()
					}
					tq.After = p.Next
				}
			})
		}
		for _, iq := range []checkpoint.InterruptQuery{
			{}, {Limit: 2}, {Status: checkpoint.InterruptPending, Limit: 3}, {Status: checkpoint.InterruptAnswered},
			{Status: checkpoint.InterruptCancelled}, {Workflow: "w-a", Status: checkpoint.InterruptPending, Limit: 1},
			{Node: "review"}, {Assignees: []string{"bob", "zed"}, Limit: 1}, {Assignees: []string{"ann"}},
			{CreatedBefore: at(10)}, {DueBefore: at(70)}, {ThreadID: "a2", ID: "q3"}, {CheckpointID: "x", Limit: 4},
		} {
			check(fmt.Sprintf("%s Interrupts %+v", label, iq), func(s checkpoint.Store) string {
				var b strings.Builder
				iq := iq
				for {
					p, err := s.Interrupts(ctx, &iq)
					if err != nil {
						return errKind(err)
					}
					for _, r := range p.Interrupts {
						b.WriteString(renderInterrupt(&r))
					}
					if p.Next == "" {
						return b.String()
					}
					iq.After = p.Next
				}
			})
		}
	}
	reads("after commits")

	ans := func(thread, id, v string) checkpoint.Answer {
		return checkpoint.Answer{ThreadID: thread, InterruptID: id, Value: json.RawMessage(v), Author: "ann", Channel: checkpoint.ChannelUI, At: at(200)}
	}
	// a2 pauses at its head, with questions: q5 of the pause, and two more.
	pause := []checkpoint.InterruptRecord{q("a2", "p1", "review", 151, "ann"), q("a2", "p2", "review", 152), q("a2", "p3", "review", 153)}
	for i := range pause {
		pause[i].CheckpointID = checkpoint.FormatID(5)
	}
	commit(checkpoint.Commit{Thread: row("a2", checkpoint.StatusInterrupted, checkpoint.FormatID(5)), ExpectedVersion: 5, At: at(150), Interrupts: pause})
	for _, as := range [][]checkpoint.Answer{
		{ans("a1", "q1", `1`)},
		{ans("a1", "q1", `2`)},
		{ans("a1", "nope", `2`)},
		{ans("nope", "q1", `2`)},
		{ans("a1", "q2", `null`), ans("a2", "q2", `{}`)},
		{ans("a1", "q3", `1`), ans("a1", "q3", `2`)},
		{ans("a1", "q4", `1`), ans("a1", "q1", `2`)},
		{ans("a1", "q4", `1`), ans("a1", "missing", `2`)},
		{ans("b1", "q5", `"x"`)},
		{ans("a1", "q5", `"x"`), ans("a1", "q5", `"y"`)},
		{ans("a1", "q5", `"x"`)},
		{ans("a1", "q5", `"x"`)},
		{ans("a2", "q5", `1`), ans("a2", "p1", `2`)},
		{ans("a2", "p2", `1`)},
	} {
		check(fmt.Sprintf("Answer %v", as), func(s checkpoint.Store) string {
			res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: as[0].ThreadID, Answers: as,
				Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "ans", Data: []byte(as[0].InterruptID)}}})
			return renderAnswer(res) + errKind(err)
		})
	}
	clockMin = 180
	check("Answer and claim", func(s checkpoint.Store) string {
		res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "a2", Answers: []checkpoint.Answer{ans("a2", "p3", `3`)},
			Claim: &checkpoint.Claim{Owner: "w1", Lease: time.Minute}})
		return renderAnswer(res) + errKind(err)
	})
	check("Answer and claim a running thread", func(s checkpoint.Store) string {
		res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "a2", Claim: &checkpoint.Claim{Owner: "w2", Lease: time.Minute}})
		return renderAnswer(res) + errKind(err)
	})
	check("Answer a thread that is missing", func(s checkpoint.Store) string {
		res, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "nope"})
		return renderAnswer(res) + errKind(err)
	})
	for _, c := range []checkpoint.Claim{
		{ThreadID: "a1", ExpectedVersion: 4, Owner: "w1", Lease: time.Minute},
		{ThreadID: "a1", ExpectedVersion: 5, Owner: "w1", Lease: time.Minute},
		{ThreadID: "a1", ExpectedVersion: 6, Owner: "w2", Lease: time.Minute},
		{ThreadID: "nope", ExpectedVersion: 1, Owner: "w2", Lease: time.Minute},
	} {
		check(fmt.Sprintf("Claim %+v", c), func(s checkpoint.Store) string { th, err := s.Claim(ctx, &c); return renderThread(th) + errKind(err) })
	}
	check("PutWrites of an old claim", func(s checkpoint.Store) string {
		return errKind(s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "a1", Owner: "p1", Epoch: 0, Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "late"}}}))
	})
	check("PutWrites of the claim", func(s checkpoint.Store) string {
		return errKind(s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "a1", Owner: "w1", Epoch: 1, Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "on time"}}}))
	})
	for _, h := range []checkpoint.Heartbeat{
		{Owner: "w1", Threads: []string{"b1", "a2", "a1", "a1", "nope"}, Lease: 2 * time.Minute},
		{Owner: "p1", Threads: []string{"b1", "a1"}, Lease: 2 * time.Minute},
	} {
		check(fmt.Sprintf("Heartbeat %+v", h), func(s checkpoint.Store) string {
			b, err := s.Heartbeat(ctx, &h)
			return fmt.Sprintf("%+v%s", b, errKind(err))
		})
	}
	for _, r := range []checkpoint.StopRequest{{ThreadID: "a1", At: at(185)}, {ThreadID: "a1", At: at(186)}, {ThreadID: "nope", At: at(186)}} {
		check(fmt.Sprintf("RequestStop %+v", r), func(s checkpoint.Store) string {
			th, err := s.RequestStop(ctx, &r)
			return renderThread(th) + errKind(err)
		})
	}
	check("Heartbeat sees the stop", func(s checkpoint.Store) string {
		b, err := s.Heartbeat(ctx, &checkpoint.Heartbeat{Owner: "w1", Threads: []string{"a1"}, Lease: time.Minute})
		return fmt.Sprintf("%+v%s", b, errKind(err))
	})
	// b1's lease (from its last commit) has lapsed; a1's and a2's have not.
	clockMin = 190
	for _, q := range []checkpoint.ClaimReady{{Owner: "w3", Lease: time.Minute, Workflows: []string{"w-a", "w-b"}, Limit: 5}, {Owner: "w3", Workflows: []string{"w-b"}}, {Owner: "w3"}} {
		check(fmt.Sprintf("ClaimReady %+v", q), func(s checkpoint.Store) string {
			ths, err := s.ClaimReady(ctx, &q)
			var b strings.Builder
			for _, th := range ths {
				b.WriteString(renderThread(&th))
			}
			return b.String() + errKind(err)
		})
	}
	for _, l := range []checkpoint.Lease{
		{Name: "m", Owner: "w1", TTL: time.Minute}, {Name: "m", Owner: "w2", TTL: time.Minute}, {Name: "m", Owner: "w1", TTL: time.Minute},
		{Name: "m", Owner: "w2", Release: true}, {Name: "m", Owner: "w2", TTL: time.Minute}, {Name: "m", Owner: "w1", Release: true},
		{Name: "m", Owner: "w2", TTL: time.Minute}, {Name: "", Owner: "w2"},
	} {
		check(fmt.Sprintf("Lease %+v", l), func(s checkpoint.Store) string { ok, err := s.Lease(ctx, &l); return fmt.Sprint(ok, errKind(err)) })
	}
	clockMin = 250
	check("Lease lapsed", func(s checkpoint.Store) string {
		ok, err := s.Lease(ctx, &checkpoint.Lease{Name: "m", Owner: "w3", TTL: time.Minute})
		return fmt.Sprint(ok, errKind(err))
	})
	for _, r := range []checkpoint.Reassign{
		{ThreadID: "a2", InterruptID: "q4", Assignees: []string{"zed"}, Deadline: at(500), Fallback: json.RawMessage(`0`), EscalateTo: []string{"boss"}},
		{ThreadID: "a2", InterruptID: "q3", Assignees: []string{"zed"}, Deadline: at(500), FallbackAt: at(600), ExpectedDeadline: at(9 + 1 + 60)},
		{ThreadID: "a2", InterruptID: "q3", Assignees: []string{"zed"}, Deadline: at(500), FallbackAt: at(600), ExpectedDeadline: at(9 + 1 + 60)},
		{ThreadID: "a2", InterruptID: "q3", Assignees: []string{"eve"}, Deadline: at(700), ExpectedDeadline: at(500)},
		{ThreadID: "a1", InterruptID: "q1", Assignees: []string{"zed"}},
		{ThreadID: "a1", InterruptID: "none"},
	} {
		check(fmt.Sprintf("Reassign %v", r), func(s checkpoint.Store) string { return errKind(s.Reassign(ctx, &r)) })
	}
	check("PutWrites stale", func(s checkpoint.Store) string {
		return errKind(s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "a1", Owner: "p1", Epoch: 3, Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "z"}}}))
	})
	check("PutWrites missing", func(s checkpoint.Store) string {
		return errKind(s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "nope", Owner: "p1", Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "z"}}}))
	})
	check("PutWrites", func(s checkpoint.Store) string {
		return errKind(s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "b1", Owner: "p1", Epoch: 0, Writes: []checkpoint.PendingWrite{{CheckpointID: "000000000005", Task: "z", Data: []byte("z")}, {CheckpointID: "000000000005", Task: "t", Kind: "output", Data: []byte("new")}}}))
	})
	check("a2 at", func(s checkpoint.Store) string {
		th, err := s.Thread(ctx, "a2")
		return fmt.Sprint(th.Version, errKind(err))
	})
	commit(checkpoint.Commit{Thread: row("a2", checkpoint.StatusInterrupted, checkpoint.FormatID(5)), ExpectedVersion: 8, At: at(300),
		Cancel:     &checkpoint.Cancellation{Author: "bob", Channel: checkpoint.ChannelAPI, At: at(300), Note: "moot"},
		Interrupts: []checkpoint.InterruptRecord{q("a2", "q5", "review", 1), q("a2", "new", "review", 301, "ann")}})
	commit(checkpoint.Commit{Thread: row("b1", checkpoint.StatusReady, checkpoint.FormatID(5)), ExpectedVersion: 6, At: at(300),
		Cancel: &checkpoint.Cancellation{IDs: []string{"q2", "q4"}, Author: "bob", Channel: checkpoint.ChannelAPI, At: at(300), Note: "some"}})
	reads("after answers")

	for _, p := range []checkpoint.Prune{{ThreadID: "a1", KeepLast: 2}, {ThreadID: "nope", KeepLast: 1}, {KeepLast: 1}, {Before: at(4)}, {}} {
		check(fmt.Sprintf("Prune %+v", p), func(s checkpoint.Store) string { n, err := s.Prune(ctx, &p); return fmt.Sprint(n, errKind(err)) })
		reads(fmt.Sprintf("after Prune %+v", p))
	}
	check("DeleteThread a1", func(s checkpoint.Store) string { return errKind(s.DeleteThread(ctx, "a1")) })
	check("DeleteThread a1 again", func(s checkpoint.Store) string { return errKind(s.DeleteThread(ctx, "a1")) })
	reads("after delete")
	commit(checkpoint.Commit{Thread: row("a1", checkpoint.StatusRunning, ""), ExpectedVersion: 0, At: at(400)})
	reads("after re-create")

	t.Logf("%d comparisons", step)

	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pg.Thread(ctxDone, "a2"); !errors.Is(err, context.Canceled) {
		t.Errorf("Thread with a canceled context: %v", err)
	}
}

func errKind(err error) string {
	for _, e := range []error{checkpoint.ErrNotFound, checkpoint.ErrConflict, checkpoint.ErrAlreadyAnswered, checkpoint.ErrCorrupt} {
		if errors.Is(err, e) {
			return " err=" + e.Error()
		}
	}
	if err != nil {
		return " other error"
	}
	return ""
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func renderThread(th *checkpoint.Thread) string {
	if th == nil {
		return "nil"
	}
	return fmt.Sprintf("thread %q %q %q %s v%d head=%q err=%q owner=%q lease=%s epoch=%d stop=%s created=%s updated=%s\n",
		th.ID, th.Workflow, th.GraphHash, th.Status, th.Version, th.Head, th.Error, th.Owner,
		fmtTime(th.LeaseUntil), th.Epoch, fmtTime(th.StopRequested), fmtTime(th.CreatedAt), fmtTime(th.UpdatedAt))
}

func renderAnswer(res *checkpoint.AnswerResult) string {
	if res == nil {
		return "nil"
	}
	return fmt.Sprintf("claimed=%v %s", res.Claimed, renderThread(&res.Thread))
}

func renderCheckpoint(cp *checkpoint.Checkpoint) string {
	if cp == nil {
		return "nil"
	}
	blobs := make([]string, len(cp.Blobs))
	for i, b := range cp.Blobs {
		blobs[i] = fmt.Sprintf("%s@%d/%d=%q", b.Field, b.Version, b.Base, b.Data)
	}
	slices.Sort(blobs)
	return fmt.Sprintf("cp %q %q/%s parent=%q step=%d %s next=%q versions=%v meta=%v created=%s blobs=%v\n",
		cp.ThreadID, cp.Namespace, cp.ID, cp.ParentID, cp.Step, cp.Source, cp.Next, cp.Versions, cp.Meta, fmtTime(cp.CreatedAt), blobs)
}

func renderInterrupt(r *checkpoint.InterruptRecord) string {
	return fmt.Sprintf("i %q/%q %q cp=%q ns=%q node=%q task=%q kind=%q key=%q idx=%d reason=%q value=%s schema=%s assignees=%q deadline=%s fallback=%s escalate=%q status=%s answer=%s author=%q channel=%q answered=%s note=%q fallbackAt=%s created=%s\n",
		r.ThreadID, r.ID, r.Workflow, r.CheckpointID, r.Namespace, r.Node, r.Task, r.Kind, r.Key, r.Index, r.Reason,
		r.Value, r.Schema, r.Assignees, fmtTime(r.Deadline), r.Fallback, r.EscalateTo,
		r.Status, r.Answer, r.Author, r.Channel, fmtTime(r.AnsweredAt), r.Note, fmtTime(r.FallbackAt), fmtTime(r.CreatedAt))
}
