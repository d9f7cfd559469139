package langgraph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server"
	"github.com/weftgraph/weft/server/langgraph"
)

type stateBody struct {
	Values     Doc         `json:"values"`
	Next       []string    `json:"next"`
	Interrupts []interrupt `json:"interrupts"`
	Checkpoint struct {
		CheckpointID string `json:"checkpoint_id"`
	} `json:"checkpoint"`
}

// rawState is the thread's state as JSON, to compare before and after a
// refused request.
func rawState(t *testing.T, srv *httptest.Server, id string) string {
	t.Helper()
	var st json.RawMessage
	call(t, srv, "GET", "/threads/"+id+"/state", nil, 200, &st)
	return string(st)
}

func TestUpdateState(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "us-1"}, 200, nil)
		call(t, srv, "POST", "/threads/us-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "u"}}, 200, nil)

		// Refusals change nothing.
		before := rawState(t, srv, "us-1")
		for _, tc := range []struct {
			name string
			path string
			body any
			want int
		}{
			{"unknown thread", "/threads/nope/state", map[string]any{"values": map[string]any{"draft": "x"}}, 404},
			{"values not an object", "/threads/us-1/state", map[string]any{"values": []any{1}}, 422},
			{"a field the state lacks", "/threads/us-1/state", map[string]any{"values": map[string]any{"nope": 1}}, 422},
			{"a field of the wrong type", "/threads/us-1/state", map[string]any{"values": map[string]any{"draft": 3}}, 422},
			{"unknown as_node", "/threads/us-1/state", map[string]any{"values": map[string]any{"draft": "x"}, "as_node": "nope"}, 422},
		} {
			t.Run(tc.name, func(t *testing.T) {
				call(t, srv, "POST", tc.path, tc.body, tc.want, nil)
				if after := rawState(t, srv, "us-1"); after != before {
					t.Fatalf("state changed:\n%s\n%s", before, after)
				}
			})
		}
		req, _ := http.NewRequest("POST", srv.URL+"/threads/us-1/state", strings.NewReader("{not json"))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 422 || rawState(t, srv, "us-1") != before {
			t.Fatalf("malformed body: %d", resp.StatusCode)
		}

		// An update without as_node: the same node runs next and asks again.
		var upd struct {
			Checkpoint struct {
				ThreadID     string `json:"thread_id"`
				CheckpointID string `json:"checkpoint_id"`
			} `json:"checkpoint"`
		}
		call(t, srv, "POST", "/threads/us-1/state", map[string]any{"values": map[string]any{"draft": "Edited"}}, 200, &upd)
		if upd.Checkpoint.ThreadID != "us-1" || upd.Checkpoint.CheckpointID == "" {
			t.Fatalf("update = %+v", upd)
		}
		var st stateBody
		call(t, srv, "GET", "/threads/us-1/state", nil, 200, &st)
		if st.Values.Draft != "Edited" || len(st.Next) != 1 || st.Next[0] != "review" || st.Checkpoint.CheckpointID != upd.Checkpoint.CheckpointID {
			t.Fatalf("state after update = %+v", st)
		}
		var paused waitResult
		call(t, srv, "POST", "/threads/us-1/runs/wait", map[string]any{"assistant_id": "review", "input": nil}, 200, &paused)
		if len(paused.Interrupt) != 1 || paused.Interrupt[0].Value["body"] != "Edited" {
			t.Fatalf("resumed after update = %+v", paused)
		}

		// as_node: the update counts as review's output; publish runs next.
		call(t, srv, "POST", "/threads/us-1/state", map[string]any{"values": map[string]any{"decision": "approve"}, "as_node": "review"}, 200, nil)
		call(t, srv, "GET", "/threads/us-1/state", nil, 200, &st)
		if len(st.Next) != 1 || st.Next[0] != "publish" {
			t.Fatalf("next after as_node review = %v", st.Next)
		}
		var done Doc
		call(t, srv, "POST", "/threads/us-1/runs/wait", map[string]any{"assistant_id": "review"}, 200, &done)
		if !done.Published || done.Draft != "Edited" {
			t.Fatalf("done = %+v", done)
		}

		// A plain weft.Runner updates states too (it is a weft.StateEditor),
		// and refuses a field its state lacks.
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "us-2"}, 200, nil)
		call(t, srv, "POST", "/threads/us-2/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 200, nil)
		call(t, srv, "POST", "/threads/us-2/state", map[string]any{"values": map[string]any{"legal": "x"}}, 200, nil)
		var plain struct {
			Values map[string]any `json:"values"`
		}
		call(t, srv, "GET", "/threads/us-2/state", nil, 200, &plain)
		if plain.Values["legal"] != "x" {
			t.Fatalf("values after a plain runner's update = %v", plain.Values)
		}
		call(t, srv, "POST", "/threads/us-2/state", map[string]any{"values": map[string]any{"no_such_field": "x"}}, 422, nil)
	})
}

func TestStateAtCheckpointAndFork(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "cp-1"}, 200, nil)
		call(t, srv, "POST", "/threads/cp-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "c"}}, 200, nil)
		call(t, srv, "POST", "/threads/cp-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, nil)
		var hist []stateBody
		call(t, srv, "POST", "/threads/cp-1/history", map[string]any{"limit": 20}, 200, &hist)
		var atReview *stateBody
		for i := range hist {
			if len(hist[i].Next) == 1 && hist[i].Next[0] == "review" {
				atReview = &hist[i]
				break
			}
		}
		if atReview == nil {
			t.Fatalf("no checkpoint before review in %+v", hist)
		}
		cp := atReview.Checkpoint.CheckpointID
		var byPath, byBody stateBody
		call(t, srv, "GET", "/threads/cp-1/state/"+cp, nil, 200, &byPath)
		call(t, srv, "POST", "/threads/cp-1/state/checkpoint", map[string]any{"checkpoint": map[string]any{"checkpoint_id": cp}}, 200, &byBody)
		if byPath.Checkpoint.CheckpointID != cp || byBody.Checkpoint.CheckpointID != cp || byPath.Values.Decision != "" || byPath.Values.Draft != "About c" {
			t.Fatalf("state at %s = %+v, %+v", cp, byPath, byBody)
		}
		call(t, srv, "GET", "/threads/cp-1/state/"+strings.Repeat("0", 16), nil, 404, nil)
		call(t, srv, "POST", "/threads/cp-1/state/checkpoint", map[string]any{}, 422, nil)

		// Time travel: update at the past checkpoint (Fork), then run again.
		call(t, srv, "POST", "/threads/cp-1/state", map[string]any{"values": map[string]any{"draft": "Again"}, "checkpoint": map[string]any{"checkpoint_id": cp}}, 200, nil)
		var st stateBody
		call(t, srv, "GET", "/threads/cp-1/state", nil, 200, &st)
		if st.Values.Draft != "Again" || st.Values.Published || len(st.Next) != 1 || st.Next[0] != "review" {
			t.Fatalf("state after fork = %+v", st)
		}
		var paused waitResult
		call(t, srv, "POST", "/threads/cp-1/runs/wait", map[string]any{"assistant_id": "review"}, 200, &paused)
		if len(paused.Interrupt) != 1 || paused.Interrupt[0].Value["body"] != "Again" {
			t.Fatalf("after fork = %+v", paused)
		}
	})
}

func TestCopyAndDeleteThread(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "cd-1", "metadata": map[string]any{"team": "x"}}, 200, nil)
		call(t, srv, "POST", "/threads/cd-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "copy"}}, 200, nil)
		var cp struct {
			ThreadID string         `json:"thread_id"`
			Metadata map[string]any `json:"metadata"`
			Values   Doc            `json:"values"`
		}
		call(t, srv, "POST", "/threads/cd-1/copy", nil, 200, &cp)
		if cp.ThreadID == "" || cp.ThreadID == "cd-1" || cp.Metadata["team"] != "x" || cp.Values.Draft != "About copy" {
			t.Fatalf("copy = %+v", cp)
		}
		var st stateBody
		call(t, srv, "GET", "/threads/"+cp.ThreadID+"/state", nil, 200, &st)
		if len(st.Next) != 1 || st.Next[0] != "review" {
			t.Fatalf("copy's next = %v", st.Next)
		}
		// The copy runs on its own; the source still waits.
		var paused waitResult
		call(t, srv, "POST", "/threads/"+cp.ThreadID+"/runs/wait", map[string]any{"assistant_id": "review"}, 200, &paused)
		if len(paused.Interrupt) != 1 {
			t.Fatalf("copy run = %+v", paused)
		}
		var src struct {
			Status string `json:"status"`
		}
		call(t, srv, "GET", "/threads/cd-1", nil, 200, &src)
		if src.Status != "interrupted" {
			t.Fatalf("source after copy = %s", src.Status)
		}
		call(t, srv, "POST", "/threads/nope/copy", nil, 404, nil)

		call(t, srv, "DELETE", "/threads/cd-1", nil, 204, nil)
		call(t, srv, "GET", "/threads/cd-1", nil, 404, nil)
		call(t, srv, "GET", "/threads/cd-1/state", nil, 404, nil)
		call(t, srv, "DELETE", "/threads/cd-1", nil, 404, nil)
		if _, err := store.Thread(context.Background(), "cd-1"); err == nil {
			t.Fatal("the deleted thread is still in the store")
		}
		call(t, srv, "GET", "/threads/"+cp.ThreadID, nil, 200, nil)
	})
}

func TestWrongInterruptID(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "w-1"}, 200, nil)
	var paused waitResult
	call(t, srv, "POST", "/threads/w-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "w"}}, 200, &paused)
	before := rawState(t, srv, "w-1")
	call(t, srv, "POST", "/threads/w-1/runs/wait", map[string]any{"assistant_id": "review",
		"command": map[string]any{"resume": map[string]any{strings.Repeat("ab", 16): "approve"}}}, 422, nil)
	call(t, srv, "POST", "/threads/w-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": 3}}, 422, nil)
	if after := rawState(t, srv, "w-1"); after != before {
		t.Fatalf("a refused answer changed the state:\n%s\n%s", before, after)
	}
	var done Doc
	call(t, srv, "POST", "/threads/w-1/runs/wait", map[string]any{"assistant_id": "review",
		"command": map[string]any{"resume": map[string]any{paused.Interrupt[0].ID: "approve"}}}, 200, &done)
	if !done.Published {
		t.Fatalf("done = %+v", done)
	}
}

// Job is the state of the job graph: its work node blocks until its run is
// cancelled when Mode is "block".
type Job struct {
	Mode   string `json:"mode,omitempty"`
	First  string `json:"first,omitempty"`
	Second string `json:"second,omitempty"`
	Done   bool   `json:"done,omitempty"`
}

func jobServer(t *testing.T, store checkpoint.Store, opts ...langgraph.Option) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(langgraph.New([]weft.Runner{langgraph.Runner(jobWorkflow(t, store))}, store, opts...))
	t.Cleanup(srv.Close)
	return srv
}

func jobWorkflow(t *testing.T, store checkpoint.Store) *weft.Workflow[Job] {
	t.Helper()
	g := weft.NewGraph[Job]("job")
	g.AddNode("work", func(ctx context.Context, j Job) (Job, error) {
		_ = weft.Emit(ctx, map[string]any{"working": j.Mode})
		if j.Mode == "block" {
			<-ctx.Done()
			return j, ctx.Err()
		}
		j.Done = true
		return j, nil
	})
	g.AddEdge(weft.Start, "work")
	g.AddEdge("work", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

type runBody struct {
	RunID             string `json:"run_id"`
	Status            string `json:"status"`
	MultitaskStrategy string `json:"multitask_strategy"`
}

// waitStatus polls a run until its status is one of want (a generous
// deadline: no timing is assumed).
func waitStatus(t *testing.T, srv *httptest.Server, thread, run string, want ...string) runBody {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r runBody
		call(t, srv, "GET", "/threads/"+thread+"/runs/"+run, nil, 200, &r)
		for _, w := range want {
			if r.Status == w {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want %v", run, r.Status, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitState polls a thread's state until ok holds.
func waitState(t *testing.T, srv *httptest.Server, thread string, ok func(Job) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st struct {
			Values Job `json:"values"`
		}
		call(t, srv, "GET", "/threads/"+thread+"/state", nil, 200, &st)
		if ok(st.Values) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %s: state %+v", thread, st.Values)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMultitaskStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		// code is the status of the second run's creation.
		code int
		// first is what becomes of the first run: its status, or "" when
		// it is deleted (rollback).
		first string
		// final is the thread's state in the end.
		final Job
	}{
		{"reject", 409, "running", Job{}},
		{"interrupt", 200, "interrupted", Job{Mode: "go", First: "one", Second: "two", Done: true}},
		{"rollback", 200, "", Job{Mode: "go", Second: "two", Done: true}},
		{"enqueue", 200, "interrupted", Job{Mode: "go", First: "one", Second: "two", Done: true}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			srv := jobServer(t, memstore.New())
			call(t, srv, "POST", "/threads", map[string]any{"thread_id": "m-1"}, 200, nil)
			// A first turn that completes, so that the blocked run goes on
			// from a checkpoint (rollback rewinds to it).
			call(t, srv, "POST", "/threads/m-1/runs/wait", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go"}}, 200, nil)
			var first runBody
			call(t, srv, "POST", "/threads/m-1/runs", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "block", "first": "one"}}, 200, &first)
			waitStatus(t, srv, "m-1", first.RunID, "running")
			waitState(t, srv, "m-1", func(j Job) bool { return j.First == "one" }) // its input is in

			var second runBody
			call(t, srv, "POST", "/threads/m-1/runs", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go", "second": "two"},
				"multitask_strategy": tc.strategy}, tc.code, &second)
			if tc.code != 200 {
				waitStatus(t, srv, "m-1", first.RunID, tc.first)
				call(t, srv, "POST", "/threads/m-1/runs/"+first.RunID+"/cancel?wait=1", nil, 204, nil)
				return
			}
			if second.MultitaskStrategy != tc.strategy {
				t.Errorf("second run's multitask_strategy = %q", second.MultitaskStrategy)
			}
			if tc.strategy == "enqueue" {
				// It waits for the first run, however long that takes.
				if r := waitStatus(t, srv, "m-1", second.RunID, "pending", "running", "success"); r.Status != "pending" {
					t.Fatalf("enqueued run is %s while the first runs", r.Status)
				}
				call(t, srv, "POST", "/threads/m-1/runs/"+first.RunID+"/cancel", nil, 204, nil)
			}
			var out Job
			call(t, srv, "GET", "/threads/m-1/runs/"+second.RunID+"/join", nil, 200, &out)
			if out != tc.final {
				t.Errorf("second run ended with %+v, want %+v", out, tc.final)
			}
			if tc.first == "" {
				call(t, srv, "GET", "/threads/m-1/runs/"+first.RunID, nil, 404, nil)
			} else {
				waitStatus(t, srv, "m-1", first.RunID, tc.first)
			}
		})
	}
}

func TestCancelRollback(t *testing.T) {
	store := memstore.New()
	srv := jobServer(t, store)
	// A run on a new thread: rolling it back empties the thread.
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "r-1"}, 200, nil)
	var run runBody
	call(t, srv, "POST", "/threads/r-1/runs", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "block", "first": "one"}}, 200, &run)
	waitStatus(t, srv, "r-1", run.RunID, "running")
	call(t, srv, "POST", "/threads/r-1/runs/"+run.RunID+"/cancel?action=nope", nil, 422, nil)
	call(t, srv, "POST", "/threads/r-1/runs/"+run.RunID+"/cancel?action=rollback", nil, 204, nil)
	call(t, srv, "GET", "/threads/r-1/runs/"+run.RunID, nil, 404, nil)
	var th struct {
		Status string          `json:"status"`
		Values json.RawMessage `json:"values"`
	}
	call(t, srv, "GET", "/threads/r-1", nil, 200, &th)
	if th.Status != "idle" || string(th.Values) != "null" {
		t.Fatalf("thread after rollback = %+v", th)
	}
	if _, err := store.Thread(context.Background(), "r-1"); err == nil {
		t.Fatal("the rolled-back first run left its thread in the store")
	}
}

// sse reads the events of a stream response.
func sse(t *testing.T, resp *http.Response) []struct{ id, name, data string } {
	t.Helper()
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out []struct{ id, name, data string }
	for _, block := range strings.Split(string(data), "\n\n") {
		var e struct{ id, name, data string }
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				e.name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				e.data += v
			} else if v, ok := strings.CutPrefix(line, "id: "); ok {
				e.id = v
			}
		}
		if e.name != "" {
			out = append(out, e)
		}
	}
	return out
}

func TestStreamResumeAndCustom(t *testing.T) {
	srv := jobServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "sr-1"}, 200, nil)
	b, _ := json.Marshal(map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go"},
		"stream_mode": []string{"values", "updates", "custom"}, "stream_resumable": true})
	resp, err := srv.Client().Post(srv.URL+"/threads/sr-1/runs/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	loc, cloc := resp.Header.Get("Location"), resp.Header.Get("Content-Location")
	all := sse(t, resp)
	var names []string
	for i, e := range all {
		names = append(names, e.name)
		if e.id != strconv.Itoa(i) {
			t.Errorf("event %d has id %q", i, e.id)
		}
	}
	if got := strings.Join(names, " "); got != "metadata values custom updates values" {
		t.Fatalf("events = %s", got)
	}
	if all[2].data != `{"working":"go"}` {
		t.Errorf("custom = %s", all[2].data)
	}
	if loc != cloc+"/stream" || !strings.HasPrefix(cloc, "/threads/sr-1/runs/") {
		t.Fatalf("Location %q, Content-Location %q", loc, cloc)
	}
	for _, tc := range []struct {
		last  string
		modes string
		want  string
	}{
		{"", "", "metadata values custom updates values"},
		{"-1", "", "metadata values custom updates values"},
		{"1", "", "custom updates values"},
		{"1", "?stream_mode=values", "values"},
		{"4", "", ""},
	} {
		req, _ := http.NewRequest("GET", srv.URL+loc+tc.modes, nil)
		if tc.last != "" {
			req.Header.Set("Last-Event-ID", tc.last)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range sse(t, resp) {
			got = append(got, e.name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Last-Event-ID %q%s: %v, want %s", tc.last, tc.modes, got, tc.want)
		}
	}
	call(t, srv, "GET", "/threads/sr-1/runs/"+newID()+"/stream", nil, 404, nil)
	call(t, srv, "POST", "/threads/sr-1/runs/stream", map[string]any{"assistant_id": "job", "stream_mode": "tokens"}, 422, nil)
	// messages-tuple (which useStream asks for) streams the messages nodes
	// add to a messages field: this state has none.
	b, _ = json.Marshal(map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go"}, "stream_mode": []string{"messages-tuple", "values"}})
	resp, err = srv.Client().Post(srv.URL+"/threads/sr-1/runs/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, e := range sse(t, resp) {
		names = append(names, e.name)
	}
	if got := strings.Join(names, " "); got != "metadata values values" && got != "metadata values" {
		t.Errorf("messages-tuple and values: %s", got)
	}
}

func TestTokensAndRoles(t *testing.T) {
	store := memstore.New()
	srv := newServer(t, store, langgraph.WithTokens(map[string]server.Principal{
		"v": {Name: "vic", Roles: []string{server.RoleViewer}},
		"r": {Name: "rae", Roles: []string{server.RoleReviewer}},
		"o": {Name: "oz", Roles: []string{server.RoleOperator}},
	}))
	do := func(token, header, method, path string, body any, want int) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		switch header {
		case "key":
			req.Header.Set("X-Api-Key", token)
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s as %q: %d, want %d: %s", method, path, token, resp.StatusCode, want, data)
		}
	}
	do("", "", "GET", "/ok", nil, 200)
	do("", "", "POST", "/assistants/search", map[string]any{}, 401)
	do("bad", "key", "POST", "/assistants/search", map[string]any{}, 401)
	do("v", "key", "POST", "/assistants/search", map[string]any{}, 200)
	do("v", "bearer", "GET", "/info", nil, 200)
	do("v", "key", "POST", "/threads", map[string]any{"thread_id": "t-1"}, 403)
	do("r", "key", "POST", "/threads", map[string]any{"thread_id": "t-1"}, 403)
	do("o", "key", "POST", "/threads", map[string]any{"thread_id": "t-1"}, 200)
	do("r", "key", "POST", "/threads/t-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "x"}}, 403)
	do("o", "key", "POST", "/threads/t-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "x"}}, 200)
	do("v", "key", "GET", "/threads/t-1/state", nil, 200)
	do("v", "key", "POST", "/threads/t-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 403)
	do("r", "key", "POST", "/threads/t-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve", "goto": "publish"}}, 403)
	do("r", "bearer", "POST", "/threads/t-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200)
	do("r", "key", "DELETE", "/threads/t-1", nil, 403)
	p, err := store.Interrupts(context.Background(), &checkpoint.InterruptQuery{ThreadID: "t-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Interrupts) != 1 || p.Interrupts[0].Author != "rae" || p.Interrupts[0].Channel != checkpoint.ChannelAPI {
		t.Fatalf("interrupts = %+v", p.Interrupts)
	}
}

func TestCountsAndStatelessStream(t *testing.T) {
	srv := newServer(t, memstore.New())
	var n int
	call(t, srv, "POST", "/assistants/count", map[string]any{}, 200, &n)
	if n != 2 {
		t.Errorf("assistants/count = %d", n)
	}
	for _, id := range []string{"k-1", "k-2"} {
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": id, "metadata": map[string]any{"k": true}}, 200, nil)
	}
	call(t, srv, "POST", "/threads/k-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "k"}}, 200, nil)
	call(t, srv, "POST", "/threads/count", map[string]any{"metadata": map[string]any{"k": true}}, 200, &n)
	if n != 2 {
		t.Errorf("threads/count = %d", n)
	}
	call(t, srv, "POST", "/threads/count", map[string]any{"status": "interrupted"}, 200, &n)
	if n != 1 {
		t.Errorf("threads/count interrupted = %d", n)
	}
	b, _ := json.Marshal(map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "s"}})
	resp, err := srv.Client().Post(srv.URL+"/runs/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	evs := sse(t, resp)
	if len(evs) < 2 || evs[0].name != "metadata" || !strings.Contains(evs[len(evs)-1].data, `"__interrupt__":[{`) {
		t.Fatalf("stateless stream = %+v", evs)
	}
	call(t, srv, "POST", "/threads/count", map[string]any{}, 200, &n)
	if n != 2 {
		t.Errorf("the stateless stream left a thread: %d threads", n)
	}
}

func TestBreakpointsGotoAndIfNotExists(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		// if_not_exists: reject (the default) is 404, create makes it.
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "b"}}, 404, nil)
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "b"}, "if_not_exists": "nope"}, 422, nil)
		var paused waitResult
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "b"},
			"if_not_exists": "create", "interrupt_before": []string{"review"}}, 200, &paused)
		if paused.Interrupt == nil || len(paused.Interrupt) != 0 || paused.Draft != "About b" {
			t.Fatalf("at the breakpoint = %+v (want an empty __interrupt__)", paused)
		}
		var st stateBody
		call(t, srv, "GET", "/threads/bp-1/state", nil, 200, &st)
		if len(st.Next) != 1 || st.Next[0] != "review" {
			t.Fatalf("next at the breakpoint = %v", st.Next)
		}
		// No input carries it on, to the question.
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review"}, 200, &paused)
		if len(paused.Interrupt) != 1 {
			t.Fatalf("after the breakpoint = %+v", paused)
		}
		// interrupt_after "*": the answer runs review, and the run stops
		// after it.
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"},
			"interrupt_after": "*"}, 200, &paused)
		call(t, srv, "GET", "/threads/bp-1/state", nil, 200, &st)
		if st.Values.Decision != "approve" || st.Values.Published || len(st.Next) != 1 || st.Next[0] != "publish" {
			t.Fatalf("after review with interrupt_after = %+v", st)
		}
		call(t, srv, "POST", "/threads/bp-1/runs/wait", map[string]any{"assistant_id": "review", "interrupt_before": 3}, 422, nil)

		// goto: the answer and the node to run next.
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "gt-1"}, 200, nil)
		call(t, srv, "POST", "/threads/gt-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "g"}}, 200, nil)
		var done Doc
		call(t, srv, "POST", "/threads/gt-1/runs/wait", map[string]any{"assistant_id": "review",
			"command": map[string]any{"resume": "approve", "goto": "publish"}}, 200, &done)
		if !done.Published {
			t.Fatalf("after goto = %+v", done)
		}
		call(t, srv, "POST", "/threads/gt-1/runs/wait", map[string]any{"assistant_id": "review",
			"command": map[string]any{"goto": map[string]any{"node": "x"}}}, 422, nil)
	})
}

func TestDisconnectCancels(t *testing.T) {
	for _, tc := range []struct {
		route, onDisconnect, want string
	}{
		{"wait", "", "interrupted"},
		{"stream", "", "interrupted"},
		{"wait", "continue", "running"},
		{"stream", "continue", "running"},
	} {
		t.Run(tc.route+" "+tc.onDisconnect, func(t *testing.T) {
			srv := jobServer(t, memstore.New())
			call(t, srv, "POST", "/threads", map[string]any{"thread_id": "d-1"}, 200, nil)
			body := map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "block"}}
			if tc.onDisconnect != "" {
				body["on_disconnect"] = tc.onDisconnect
			}
			b, _ := json.Marshal(body)
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/threads/d-1/runs/"+tc.route, bytes.NewReader(b))
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := srv.Client().Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			var runs []runBody
			deadline := time.Now().Add(30 * time.Second)
			for len(runs) == 0 || runs[0].Status != "running" {
				if time.Now().After(deadline) {
					t.Fatalf("runs = %+v", runs)
				}
				time.Sleep(5 * time.Millisecond)
				call(t, srv, "GET", "/threads/d-1/runs", nil, 200, &runs)
			}
			waitState(t, srv, "d-1", func(j Job) bool { return j.Mode == "block" })
			cancel()
			<-done
			if tc.want == "running" {
				// It goes on: still running once the client is gone.
				if r := waitStatus(t, srv, "d-1", runs[0].RunID, "running", "interrupted"); r.Status != "running" {
					t.Fatalf("run after the disconnect = %s", r.Status)
				}
				call(t, srv, "POST", "/threads/d-1/runs/"+runs[0].RunID+"/cancel?wait=1", nil, 204, nil)
				return
			}
			waitStatus(t, srv, "d-1", runs[0].RunID, tc.want)
		})
	}
}

func TestRunFromCheckpoint(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "tt-1"}, 200, nil)
		call(t, srv, "POST", "/threads/tt-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "t"}}, 200, nil)
		call(t, srv, "POST", "/threads/tt-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "reject"}}, 200, nil)
		var hist []stateBody
		call(t, srv, "POST", "/threads/tt-1/history", map[string]any{"limit": 20}, 200, &hist)
		cp := ""
		for _, h := range hist {
			if len(h.Next) == 1 && h.Next[0] == "review" {
				cp = h.Checkpoint.CheckpointID
			}
		}
		// Run again from before the review: it asks again, answered anew.
		var paused waitResult
		call(t, srv, "POST", "/threads/tt-1/runs/wait", map[string]any{"assistant_id": "review", "checkpoint_id": cp}, 200, &paused)
		if len(paused.Interrupt) != 1 || paused.Decision != "" {
			t.Fatalf("from %s = %+v", cp, paused)
		}
		var done Doc
		call(t, srv, "POST", "/threads/tt-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, &done)
		if !done.Published || done.Decision != "approve" {
			t.Fatalf("done = %+v", done)
		}
		call(t, srv, "POST", "/threads/tt-1/runs/wait", map[string]any{"assistant_id": "review", "checkpoint": map[string]any{"checkpoint_id": "999999999999"}}, 404, nil)
		// A plain runner goes back too; a checkpoint the thread does not
		// have is 404, and the head may be named (as useStream does).
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "tt-2"}, 200, nil)
		var signed struct {
			Interrupt []struct {
				ID string `json:"id"`
			} `json:"__interrupt__"`
		}
		call(t, srv, "POST", "/threads/tt-2/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 200, &signed)
		var head struct {
			Checkpoint struct {
				CheckpointID string `json:"checkpoint_id"`
			} `json:"checkpoint"`
		}
		call(t, srv, "GET", "/threads/tt-2/state", nil, 200, &head)
		call(t, srv, "POST", "/threads/tt-2/runs/wait", map[string]any{"assistant_id": "signoff", "checkpoint_id": "000000000000"}, 404, nil)
		call(t, srv, "POST", "/threads/tt-2/runs/wait", map[string]any{"assistant_id": "signoff", "checkpoint": map[string]any{"checkpoint_id": head.Checkpoint.CheckpointID, "checkpoint_ns": ""},
			"command": map[string]any{"resume": map[string]any{signed.Interrupt[0].ID: "a", signed.Interrupt[1].ID: "b"}}}, 200, nil)
	})
}

func TestBaseContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := jobServer(t, memstore.New(), langgraph.WithBaseContext(ctx))
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "bc-1"}, 200, nil)
	var run runBody
	call(t, srv, "POST", "/threads/bc-1/runs", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "block"}}, 200, &run)
	waitState(t, srv, "bc-1", func(j Job) bool { return j.Mode == "block" })
	cancel()
	if r := waitStatus(t, srv, "bc-1", run.RunID, "error", "success", "interrupted"); r.Status == "success" {
		t.Fatalf("run after the base context ended = %s", r.Status)
	}
	var th struct {
		Status string `json:"status"`
	}
	call(t, srv, "GET", "/threads/bc-1", nil, 200, &th)
	if th.Status != "idle" {
		t.Fatalf("thread = %s", th.Status)
	}
}

func TestSearchSortAndValues(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "s-x", "supersteps": []any{map[string]any{"updates": []any{}}}}, 422, nil)
	call(t, srv, "GET", "/threads/s-x", nil, 404, nil)
	for _, id := range []string{"s-b", "s-a", "s-c"} {
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": id}, 200, nil)
		call(t, srv, "POST", "/threads/"+id+"/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": id}}, 200, nil)
	}
	ids := func(body map[string]any) string {
		var out []struct {
			ThreadID string `json:"thread_id"`
		}
		call(t, srv, "POST", "/threads/search", body, 200, &out)
		var s []string
		for _, th := range out {
			s = append(s, th.ThreadID)
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"sort_by": "thread_id", "sort_order": "asc"}, "s-a s-b s-c"},
		{map[string]any{"sort_by": "thread_id"}, "s-c s-b s-a"},
		{map[string]any{"values": map[string]any{"topic": "s-a"}}, "s-a"},
		{map[string]any{"values": map[string]any{"topic": "nope"}}, ""},
	} {
		if got := ids(tc.body); got != tc.want {
			t.Errorf("search %v = %q, want %q", tc.body, got, tc.want)
		}
	}
	call(t, srv, "POST", "/threads/search", map[string]any{"sort_by": "values"}, 422, nil)
	call(t, srv, "POST", "/threads/search", map[string]any{"sort_order": "up"}, 422, nil)
}

// TestMalformedBodies sends bodies that are not what a route takes to
// every route that reads one: each is refused with 422 and changes
// nothing.
func TestMalformedBodies(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "mb-1"}, 200, nil)
	call(t, srv, "POST", "/threads/mb-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "m"}}, 200, nil)
	before := rawState(t, srv, "mb-1")
	routes := []string{
		"POST /assistants/search", "POST /assistants/count", "POST /threads", "POST /threads/search", "POST /threads/count",
		"PATCH /threads/mb-1", "POST /threads/mb-1/state", "POST /threads/mb-1/state/checkpoint", "POST /threads/mb-1/history",
		"POST /threads/mb-1/runs", "POST /threads/mb-1/runs/wait", "POST /threads/mb-1/runs/stream",
		"POST /runs", "POST /runs/wait", "POST /runs/stream",
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		for _, body := range []string{"{not json", "[1]", `"x"`, `{"limit": "ten", "assistant_id": 5, "metadata": 3, "values": 1, "checkpoint": 2}`} {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Detail string `json:"detail"`
			}
			if resp.StatusCode != 422 || json.Unmarshal(data, &e) != nil || e.Detail == "" {
				t.Errorf("%s %s: %d %s, want 422 with a detail", route, body, resp.StatusCode, data)
			}
		}
	}
	if after := rawState(t, srv, "mb-1"); after != before {
		t.Fatalf("state changed:\n%s\n%s", before, after)
	}
	var runs []runBody
	call(t, srv, "GET", "/threads/mb-1/runs", nil, 200, &runs)
	if len(runs) != 1 {
		t.Fatalf("malformed run requests left run records: %+v", runs)
	}
	// A body over the limit is refused too.
	big := `{"assistant_id":"review","input":{"topic":"` + strings.Repeat("x", 2<<20) + `"}}`
	resp, err := srv.Client().Post(srv.URL+"/threads/mb-1/runs/wait", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 && resp.StatusCode != 413 {
		t.Fatalf("a 2 MiB body: %d", resp.StatusCode)
	}
}

func TestCancelRuns(t *testing.T) {
	srv := jobServer(t, memstore.New())
	var runs []runBody
	for _, id := range []string{"cr-1", "cr-2"} {
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": id}, 200, nil)
		var r runBody
		call(t, srv, "POST", "/threads/"+id+"/runs", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "block"}}, 200, &r)
		waitStatus(t, srv, id, r.RunID, "running")
		runs = append(runs, r)
	}
	call(t, srv, "POST", "/runs/cancel", map[string]any{"thread_id": "cr-1", "run_ids": []string{newID()}}, 404, nil)
	call(t, srv, "POST", "/runs/cancel", map[string]any{}, 422, nil)
	call(t, srv, "POST", "/runs/cancel", map[string]any{"status": "done"}, 422, nil)
	waitStatus(t, srv, "cr-1", runs[0].RunID, "running") // refusals cancel nothing
	call(t, srv, "POST", "/runs/cancel", map[string]any{"thread_id": "cr-1", "run_ids": []string{runs[0].RunID}}, 204, nil)
	waitStatus(t, srv, "cr-1", runs[0].RunID, "interrupted")
	waitStatus(t, srv, "cr-2", runs[1].RunID, "running")
	// rollback of every running run: cr-2's first run, undone.
	call(t, srv, "POST", "/runs/cancel?action=rollback", map[string]any{"status": "running"}, 204, nil)
	call(t, srv, "GET", "/threads/cr-2/runs/"+runs[1].RunID, nil, 404, nil)
}

// recordless hides a store's checkpoint.Records from the handler.
type recordless struct{ checkpoint.Store }

// TestOldLogsDropped: the events of the oldest ended runs are dropped from
// memory; over a store that keeps records they are read from it (the same
// events), over one that does not they are gone.
func TestOldLogsDropped(t *testing.T) {
	for _, durable := range []bool{true, false} {
		mem := memstore.New()
		var hs checkpoint.Store = mem
		if !durable {
			hs = recordless{mem}
		}
		srv := httptest.NewServer(langgraph.New([]weft.Runner{langgraph.Runner(jobWorkflow(t, mem))}, hs))
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ol-1"}, 200, nil)
		call(t, srv, "POST", "/threads/ol-1/runs/wait", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go"}}, 200, nil)
		var runs []runBody
		call(t, srv, "GET", "/threads/ol-1/runs", nil, 200, &runs)
		first := runs[0]
		joined := func(run string) int {
			req, _ := http.NewRequest("GET", srv.URL+"/threads/ol-1/runs/"+run+"/stream", nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return len(sse(t, resp))
		}
		n0 := joined(first.RunID)
		if n0 < 2 {
			t.Fatalf("first run's stream: %d events", n0)
		}
		for range langgraph.MaxLogs + 1 { // pruned when a run is recorded: the last one ends after
			call(t, srv, "POST", "/threads/ol-1/runs/wait", map[string]any{"assistant_id": "job", "input": map[string]any{"mode": "go"}}, 200, nil)
		}
		// The record stays; its events are gone from memory.
		call(t, srv, "GET", "/threads/ol-1/runs/"+first.RunID, nil, 200, nil)
		want := 0
		if durable {
			want = n0
		}
		if n := joined(first.RunID); n != want {
			t.Fatalf("durable %v: an old run's stream: %d events, want %d", durable, n, want)
		}
		call(t, srv, "GET", "/threads/ol-1/runs?limit=1", nil, 200, &runs)
		if n := joined(runs[0].RunID); n < 2 {
			t.Fatalf("the newest run's stream: %d events", n)
		}
		srv.Close()
	}
}
