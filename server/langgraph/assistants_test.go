package langgraph_test

import (
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

type assistantBody struct {
	AssistantID string         `json:"assistant_id"`
	GraphID     string         `json:"graph_id"`
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Config      map[string]any `json:"config"`
	Context     map[string]any `json:"context"`
	Metadata    map[string]any `json:"metadata"`
	Version     int            `json:"version"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
}

// TestAssistantsCRUD: assistants made with POST /assistants are of a
// workflow (graph_id), have versions (PATCH makes one, latest picks one),
// are found by search and count (graph_id, metadata) next to the
// workflows' own, run their workflow, and are deleted; the workflows'
// assistants cannot be changed. Over every store, and over one without
// records (kept in memory).
func TestAssistantsCRUD(t *testing.T) {
	check := func(t *testing.T, store, hs checkpoint.Store) {
		srv := eventServer(t, store, hs)
		var a assistantBody
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "review", "name": "strict", "config": map[string]any{"tags": []string{"x"}},
			"context": map[string]any{"tone": "dry"}, "metadata": map[string]any{"team": "docs"}}, 200, &a)
		if a.AssistantID == "" || a.GraphID != "review" || a.Name != "strict" || a.Version != 1 || a.Metadata["team"] != "docs" || a.Context["tone"] != "dry" || a.Description != nil {
			t.Fatalf("created = %+v", a)
		}
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "nope"}, 404, nil)
		call(t, srv, "POST", "/assistants", map[string]any{"name": "no graph"}, 422, nil)
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "review", "assistant_id": a.AssistantID}, 409, nil)
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "review", "assistant_id": "review"}, 409, nil)
		var same assistantBody
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "talk", "assistant_id": a.AssistantID, "if_exists": "do_nothing"}, 200, &same)
		if same.GraphID != "review" || same.Version != 1 {
			t.Fatalf("if_exists do_nothing = %+v", same)
		}
		var got assistantBody
		call(t, srv, "GET", "/assistants/"+a.AssistantID, nil, 200, &got)
		if got.AssistantID != a.AssistantID || got.Name != "strict" {
			t.Fatalf("get = %+v", got)
		}

		// A new version: metadata merged, the rest as given or kept.
		var v2 assistantBody
		call(t, srv, "PATCH", "/assistants/"+a.AssistantID, map[string]any{"metadata": map[string]any{"stage": "beta"}, "description": "second"}, 200, &v2)
		if v2.Version != 2 || v2.Metadata["team"] != "docs" || v2.Metadata["stage"] != "beta" || v2.Name != "strict" || v2.Description == nil || *v2.Description != "second" || v2.Context["tone"] != "dry" {
			t.Fatalf("patched = %+v", v2)
		}
		call(t, srv, "PATCH", "/assistants/review", map[string]any{"name": "x"}, 409, nil)
		call(t, srv, "PATCH", "/assistants/"+newID(), map[string]any{"name": "x"}, 404, nil)
		var vs []assistantBody
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/versions", map[string]any{}, 200, &vs)
		if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 {
			t.Fatalf("versions = %+v", vs)
		}
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/versions", map[string]any{"metadata": map[string]any{"stage": "beta"}}, 200, &vs)
		if len(vs) != 1 || vs[0].Version != 2 {
			t.Fatalf("versions with stage beta = %+v", vs)
		}
		var back assistantBody
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/latest", map[string]any{"version": 1}, 200, &back)
		call(t, srv, "GET", "/assistants/"+a.AssistantID, nil, 200, &got)
		if back.Version != 1 || got.Version != 1 || got.Metadata["stage"] != nil {
			t.Fatalf("latest 1 = %+v, then get = %+v", back, got)
		}
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/latest", map[string]any{"version": 7}, 404, nil)
		// A patch after going back makes version 3, of the newest (2).
		var v3 assistantBody
		call(t, srv, "PATCH", "/assistants/"+a.AssistantID, map[string]any{"name": "stricter"}, 200, &v3)
		if v3.Version != 3 || v3.Metadata["stage"] != "beta" || v3.Name != "stricter" {
			t.Fatalf("patched after latest = %+v", v3)
		}

		// Search and count, with the workflows' assistants.
		var found []assistantBody
		call(t, srv, "POST", "/assistants/search", map[string]any{"graph_id": "review"}, 200, &found)
		if len(found) != 2 || found[0].AssistantID != "review" || found[1].AssistantID != a.AssistantID {
			t.Fatalf("search review = %+v", found)
		}
		call(t, srv, "POST", "/assistants/search", map[string]any{"metadata": map[string]any{"team": "docs"}}, 200, &found)
		if len(found) != 1 || found[0].AssistantID != a.AssistantID {
			t.Fatalf("search by metadata = %+v", found)
		}
		call(t, srv, "POST", "/assistants/search", map[string]any{"sort_by": "name", "sort_order": "asc"}, 200, &found)
		if len(found) != 3 || found[0].Name != "review" || found[1].Name != "stricter" || found[2].Name != "talk" {
			t.Fatalf("search by name = %+v", found)
		}
		var n int
		call(t, srv, "POST", "/assistants/count", map[string]any{"graph_id": "review"}, 200, &n)
		if n != 2 {
			t.Fatalf("count = %d", n)
		}

		// It runs its workflow; its graph and schemas are its workflow's.
		var out waitResult
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "by-assistant"}, 200, nil)
		call(t, srv, "POST", "/threads/by-assistant/runs/wait", map[string]any{"assistant_id": a.AssistantID, "input": map[string]any{"topic": "versions"}}, 200, &out)
		if len(out.Interrupt) != 1 {
			t.Fatalf("run of the assistant = %+v", out)
		}
		var runs []struct {
			AssistantID string `json:"assistant_id"`
		}
		call(t, srv, "GET", "/threads/by-assistant/runs", nil, 200, &runs)
		if len(runs) != 1 || runs[0].AssistantID != a.AssistantID {
			t.Fatalf("runs = %+v", runs)
		}
		call(t, srv, "GET", "/assistants/"+a.AssistantID+"/graph", nil, 200, nil)
		call(t, srv, "GET", "/assistants/"+a.AssistantID+"/schemas", nil, 200, nil)

		// Deleted, with its versions.
		call(t, srv, "DELETE", "/assistants/review", nil, 409, nil)
		call(t, srv, "DELETE", "/assistants/"+a.AssistantID, nil, 200, nil)
		call(t, srv, "GET", "/assistants/"+a.AssistantID, nil, 404, nil)
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/versions", map[string]any{}, 404, nil)
		call(t, srv, "DELETE", "/assistants/"+a.AssistantID, nil, 404, nil)
		call(t, srv, "POST", "/assistants/count", map[string]any{}, 200, &n)
		if n != 2 {
			t.Fatalf("count after the deletion = %d", n)
		}
		// Crons are refused in the Platform's error shape.
		var e struct {
			Detail string `json:"detail"`
		}
		call(t, srv, "POST", "/runs/crons", map[string]any{"assistant_id": "review", "schedule": "* * * * *"}, 404, &e)
		if e.Detail == "" {
			t.Fatal("crons: no detail")
		}
	}
	stores(t, func(t *testing.T, store checkpoint.Store) { check(t, store, store) })
	t.Run("recordless", func(t *testing.T) {
		mem := memstore.New()
		check(t, mem, recordless{mem})
	})
}

// TestAssistantsSurviveRestart: assistants and their versions are records
// of the store: a restarted server has them.
func TestAssistantsSurviveRestart(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		st := open()
		srv := eventServer(t, st, st)
		var a assistantBody
		call(t, srv, "POST", "/assistants", map[string]any{"graph_id": "talk", "metadata": map[string]any{"k": 1}}, 200, &a)
		call(t, srv, "PATCH", "/assistants/"+a.AssistantID, map[string]any{"name": "renamed"}, 200, nil)
		srv.Close()
		st = open()
		srv = eventServer(t, st, st)
		var got assistantBody
		call(t, srv, "GET", "/assistants/"+a.AssistantID, nil, 200, &got)
		if got.Version != 2 || got.Name != "renamed" || got.GraphID != "talk" || got.CreatedAt != a.CreatedAt {
			t.Fatalf("after the restart = %+v (created %+v)", got, a)
		}
		var vs []assistantBody
		call(t, srv, "POST", "/assistants/"+a.AssistantID+"/versions", map[string]any{}, 200, &vs)
		if len(vs) != 2 {
			t.Fatalf("versions after the restart = %+v", vs)
		}
	})
}
