package langgraph_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// historyOf is a thread's history with what a copy keeps: checkpoint ids,
// parents, values, next, step, source, times, and tasks with the values
// of their interrupts (a copy's questions have ids of their own). Thread
// ids are left out.
func historyOf(t *testing.T, srv *httptest.Server, id string) []string {
	t.Helper()
	var hist []struct {
		Values     json.RawMessage `json:"values"`
		Next       []string        `json:"next"`
		CreatedAt  string          `json:"created_at"`
		Checkpoint struct {
			CheckpointID string `json:"checkpoint_id"`
		} `json:"checkpoint"`
		Parent *struct {
			CheckpointID string `json:"checkpoint_id"`
		} `json:"parent_checkpoint"`
		Metadata struct {
			Step   int    `json:"step"`
			Source string `json:"source"`
		} `json:"metadata"`
		Tasks []struct {
			Name       string `json:"name"`
			Interrupts []struct {
				Value json.RawMessage `json:"value"`
			} `json:"interrupts"`
		} `json:"tasks"`
	}
	call(t, srv, "POST", "/threads/"+id+"/history", map[string]any{"limit": 100}, 200, &hist)
	var out []string
	for _, h := range hist {
		parent := ""
		if h.Parent != nil {
			parent = h.Parent.CheckpointID
		}
		var tasks []string
		for _, tk := range h.Tasks {
			s := tk.Name
			for _, in := range tk.Interrupts {
				s += " asked " + string(in.Value)
			}
			tasks = append(tasks, s)
		}
		out = append(out, fmt.Sprintf("%s<-%s step %d %s %s next %v tasks %v at %s",
			h.Checkpoint.CheckpointID, parent, h.Metadata.Step, h.Metadata.Source, h.Values, h.Next, tasks, h.CreatedAt))
	}
	return out
}

// TestCopyCarriesHistory: a copy has the source's history, checkpoint by
// checkpoint, and its state: an interrupted source gives an interrupted
// copy whose question (an id of its own) is answered on the copy alone;
// a plain weft.Runner's threads are copied too.
func TestCopyCarriesHistory(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ch-1"}, 200, nil)
		call(t, srv, "POST", "/threads/ch-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "history"}}, 200, nil)
		var cp threadBody
		call(t, srv, "POST", "/threads/ch-1/copy", nil, 200, &cp)
		src, dup := historyOf(t, srv, "ch-1"), historyOf(t, srv, cp.ThreadID)
		if len(src) < 2 || strings.Join(src, "\n") != strings.Join(dup, "\n") {
			t.Fatalf("history of the copy:\n%s\nof the source:\n%s", strings.Join(dup, "\n"), strings.Join(src, "\n"))
		}
		if cp.Status != "interrupted" {
			t.Fatalf("copy of an interrupted thread is %s", cp.Status)
		}
		var srcState, dupState stateBody
		call(t, srv, "GET", "/threads/ch-1/state", nil, 200, &srcState)
		call(t, srv, "GET", "/threads/"+cp.ThreadID+"/state", nil, 200, &dupState)
		if len(dupState.Interrupts) != 1 || dupState.Interrupts[0].ID == srcState.Interrupts[0].ID ||
			dupState.Interrupts[0].Value["body"] != "About history" || dupState.Checkpoint != srcState.Checkpoint {
			t.Fatalf("copy's state %+v, source's %+v", dupState, srcState)
		}
		// The source's question id is not the copy's.
		call(t, srv, "POST", "/threads/"+cp.ThreadID+"/runs/wait", map[string]any{"assistant_id": "review",
			"command": map[string]any{"resume": map[string]any{srcState.Interrupts[0].ID: "approve"}}}, 422, nil)
		var done waitResult
		call(t, srv, "POST", "/threads/"+cp.ThreadID+"/runs/wait", map[string]any{"assistant_id": "review",
			"command": map[string]any{"resume": map[string]any{dupState.Interrupts[0].ID: "approve"}}}, 200, &done)
		if !done.Published || done.Topic != "history" {
			t.Fatalf("copy after its answer = %+v", done)
		}
		after := historyOf(t, srv, cp.ThreadID)
		if len(after) <= len(src) || strings.Join(after[len(after)-len(src)+1:], "\n") != strings.Join(src[1:], "\n") {
			t.Fatalf("the copy's history after its run:\n%s", strings.Join(after, "\n"))
		}
		if got := historyOf(t, srv, "ch-1"); strings.Join(got, "\n") != strings.Join(src, "\n") {
			t.Fatalf("the source's history changed:\n%s", strings.Join(got, "\n"))
		}
		var th threadBody
		call(t, srv, "GET", "/threads/ch-1", nil, 200, &th)
		if th.Status != "interrupted" {
			t.Fatalf("source after the copy ran = %s", th.Status)
		}

		// A completed thread of a plain runner (two parallel questions).
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ch-2"}, 200, nil)
		var asked struct {
			Interrupt []struct {
				ID string `json:"id"`
			} `json:"__interrupt__"`
		}
		call(t, srv, "POST", "/threads/ch-2/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 200, &asked)
		answers := map[string]any{}
		for _, in := range asked.Interrupt {
			answers[in.ID] = "ok"
		}
		call(t, srv, "POST", "/threads/ch-2/runs/wait", map[string]any{"assistant_id": "signoff", "command": map[string]any{"resume": answers}}, 200, nil)
		call(t, srv, "POST", "/threads/ch-2/copy", nil, 200, &cp)
		src, dup = historyOf(t, srv, "ch-2"), historyOf(t, srv, cp.ThreadID)
		if len(src) < 2 || strings.Join(src, "\n") != strings.Join(dup, "\n") {
			t.Fatalf("history of the signoff copy:\n%s\nof the source:\n%s", strings.Join(dup, "\n"), strings.Join(src, "\n"))
		}
		if cp.Status != "idle" {
			t.Fatalf("copy of a completed thread is %s", cp.Status)
		}
	})
}

// TestCopyPrunedHistory: a thread whose history was pruned is copied as
// its current values, that run the same nodes next (its history starts
// at the copy).
func TestCopyPrunedHistory(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "cp-1"}, 200, nil)
		call(t, srv, "POST", "/threads/cp-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "pruned"}}, 200, nil)
		if _, err := store.Prune(t.Context(), &checkpoint.Prune{ThreadID: "cp-1", KeepLast: 1}); err != nil {
			t.Fatal(err)
		}
		if src := historyOf(t, srv, "cp-1"); len(src) != 1 {
			t.Fatalf("history after the prune: %v", src)
		}
		var cp struct {
			ThreadID string `json:"thread_id"`
			Values   Doc    `json:"values"`
		}
		call(t, srv, "POST", "/threads/cp-1/copy", nil, 200, &cp)
		var st stateBody
		call(t, srv, "GET", "/threads/"+cp.ThreadID+"/state", nil, 200, &st)
		if cp.Values.Draft != "About pruned" || len(st.Next) != 1 || st.Next[0] != "review" {
			t.Fatalf("copy of a pruned thread = %+v, next %v", cp, st.Next)
		}
		if h := historyOf(t, srv, cp.ThreadID); len(h) != 1 || !strings.Contains(h[0], " update ") {
			t.Fatalf("history of the copy of a pruned thread (made by an update): %v", h)
		}
	})
}
