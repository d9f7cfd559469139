package langgraph_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

// durableStores runs f on a SQLite file and on a PostgreSQL schema, with
// open returning a new store on the same data each time it is called: a
// restarted process.
func durableStores(t *testing.T, f func(t *testing.T, open func() checkpoint.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		f(t, func() checkpoint.Store {
			st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pool, schema := pgtest.Pool(t), pgtest.Schema(t)
		f(t, func() checkpoint.Store {
			st, err := pgstore.New(context.Background(), pool, pgstore.Options{Schema: schema, Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

type threadBody struct {
	ThreadID string         `json:"thread_id"`
	Status   string         `json:"status"`
	Metadata map[string]any `json:"metadata"`
}

// TestRecordsSurviveRestart: run records and the metadata of threads
// (one never run, one patched) are in the store, so a new handler on the
// same database (a restarted server) answers runs get, list and join,
// thread get and search by metadata as the old one did; deleting a thread
// deletes them for good.
func TestRecordsSurviveRestart(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		srv := newServer(t, open())
		var idle threadBody
		call(t, srv, "POST", "/threads", map[string]any{"metadata": map[string]any{"owner": "ann"}}, 200, &idle)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ran", "metadata": map[string]any{"team": "docs"}}, 200, nil)
		call(t, srv, "PATCH", "/threads/ran", map[string]any{"metadata": map[string]any{"stage": "review"}}, 200, nil)
		var first, second runBody
		call(t, srv, "POST", "/threads/ran/runs", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "restarts"},
			"metadata": map[string]any{"why": "first"}}, 200, &first)
		call(t, srv, "GET", "/threads/ran/runs/"+first.RunID+"/join", nil, 200, nil)
		call(t, srv, "POST", "/threads/ran/runs", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, &second)
		call(t, srv, "GET", "/threads/ran/runs/"+second.RunID+"/join", nil, 200, nil)
		srv.Close()

		// A new handler over a new store on the same data.
		srv = newServer(t, open())
		var run struct {
			runBody
			ThreadID string         `json:"thread_id"`
			Metadata map[string]any `json:"metadata"`
		}
		call(t, srv, "GET", "/threads/ran/runs/"+first.RunID, nil, 200, &run)
		if run.RunID != first.RunID || run.ThreadID != "ran" || run.Status != "success" || run.Metadata["why"] != "first" || run.MultitaskStrategy != "enqueue" {
			t.Fatalf("run after the restart = %+v", run)
		}
		call(t, srv, "GET", "/threads/other/runs/"+first.RunID, nil, 404, nil)
		var runs []runBody
		call(t, srv, "GET", "/threads/ran/runs", nil, 200, &runs)
		if len(runs) != 2 || runs[0].RunID != second.RunID || runs[1].RunID != first.RunID || runs[0].Status != "success" {
			t.Fatalf("runs after the restart = %+v, want %s then %s", runs, second.RunID, first.RunID)
		}
		var joined waitResult
		call(t, srv, "GET", "/threads/ran/runs/"+second.RunID+"/join", nil, 200, &joined)
		if !joined.Published || len(joined.Interrupt) != 0 {
			t.Fatalf("join after the restart = %+v", joined)
		}

		var th threadBody
		call(t, srv, "GET", "/threads/"+idle.ThreadID, nil, 200, &th)
		if th.Metadata["owner"] != "ann" || th.Status != "idle" {
			t.Fatalf("never-run thread after the restart = %+v", th)
		}
		var found []threadBody
		call(t, srv, "POST", "/threads/search", map[string]any{"metadata": map[string]any{"owner": "ann"}}, 200, &found)
		if len(found) != 1 || found[0].ThreadID != idle.ThreadID {
			t.Fatalf("search by owner after the restart = %+v", found)
		}
		call(t, srv, "POST", "/threads/search", map[string]any{"metadata": map[string]any{"team": "docs", "stage": "review"}}, 200, &found)
		if len(found) != 1 || found[0].ThreadID != "ran" {
			t.Fatalf("search by team and stage after the restart = %+v", found)
		}
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": idle.ThreadID}, 409, nil)

		// Deletions are durable too.
		call(t, srv, "DELETE", "/threads/ran/runs/"+first.RunID, nil, 204, nil)
		call(t, srv, "DELETE", "/threads/"+idle.ThreadID, nil, 204, nil)
		srv.Close()
		srv = newServer(t, open())
		call(t, srv, "GET", "/threads/ran/runs/"+first.RunID, nil, 404, nil)
		call(t, srv, "GET", "/threads/ran/runs/"+second.RunID, nil, 200, nil)
		call(t, srv, "GET", "/threads/"+idle.ThreadID, nil, 404, nil)
		call(t, srv, "POST", "/threads/search", map[string]any{"metadata": map[string]any{"owner": "ann"}}, 200, &found)
		if len(found) != 0 {
			t.Fatalf("search after deleting the thread = %+v", found)
		}
		call(t, srv, "DELETE", "/threads/ran", nil, 204, nil)
		srv.Close()
		srv = newServer(t, open())
		call(t, srv, "GET", "/threads/ran/runs/"+second.RunID, nil, 404, nil)
		call(t, srv, "GET", "/threads/ran", nil, 404, nil)
	})
}

// TestRecordsOfDeadRunsSettle: a process that died in the middle of a run
// left its record pending or running; a new process reports the status
// the thread tells (interrupted for a paused thread, error for one that
// never ran), writes it back, and lets the run be deleted.
func TestRecordsOfDeadRunsSettle(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		st := open()
		srv := newServer(t, st)
		var paused runBody
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "paused"}, 200, nil)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "never-ran"}, 200, nil)
		call(t, srv, "POST", "/threads/paused/runs", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "crash"}}, 200, &paused)
		call(t, srv, "GET", "/threads/paused/runs/"+paused.RunID+"/join", nil, 200, nil)
		srv.Close()

		// What a process that died mid-run leaves: records that say the
		// runs are under way.
		rs := st.(checkpoint.Records)
		for _, r := range []struct{ id, thread, status string }{
			{"dead-running", "paused", "running"},
			{"dead-pending", "never-ran", "pending"},
		} {
			data := `{"run_id":"` + r.id + `","thread_id":"` + r.thread + `","assistant_id":"review","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":"` + r.status + `","metadata":{},"multitask_strategy":"reject"}`
			if err := rs.PutRecord(t.Context(), &checkpoint.Record{Kind: "langgraph.run", ID: r.id, ThreadID: r.thread, Data: []byte(data)}); err != nil {
				t.Fatal(err)
			}
		}

		srv = newServer(t, open())
		var run runBody
		call(t, srv, "GET", "/threads/paused/runs/dead-running", nil, 200, &run)
		if run.Status != "interrupted" {
			t.Errorf("a dead run of a paused thread reads %q, want interrupted", run.Status)
		}
		var runs []runBody
		call(t, srv, "GET", "/threads/never-ran/runs", nil, 200, &runs)
		if len(runs) != 1 || runs[0].Status != "error" {
			t.Errorf("the dead pending run of a thread that never ran = %+v, want one in error", runs)
		}
		rec, err := rs.Record(t.Context(), "langgraph.run", "dead-running")
		if err != nil {
			t.Fatal(err)
		}
		var stored struct{ Status string }
		if err := json.Unmarshal(rec.Data, &stored); err != nil || stored.Status != "interrupted" {
			t.Errorf("settled status not written back: %s", rec.Data)
		}
		call(t, srv, "DELETE", "/threads/paused/runs/dead-running", nil, 204, nil)
	})
}
