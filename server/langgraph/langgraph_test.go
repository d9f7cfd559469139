package langgraph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/server/langgraph"
)

// Doc is the state of the review graph: draft, review (asks a human),
// publish.
type Doc struct {
	Topic     string `json:"topic,omitempty"`
	Draft     string `json:"draft,omitempty"`
	Decision  string `json:"decision,omitempty"`
	Published bool   `json:"published,omitempty"`
}

func reviewGraph(t testing.TB, store checkpoint.Store) *weft.Workflow[Doc] {
	t.Helper()
	g := weft.NewGraph[Doc]("review")
	g.AddNode("draft", func(ctx context.Context, s Doc) (Doc, error) {
		s.Draft = "About " + s.Topic
		return s, nil
	})
	g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
		d, err := weft.Interrupt[string](ctx, map[string]any{"title": "Review", "body": s.Draft})
		if err != nil {
			return s, err
		}
		s.Decision = d
		return s, nil
	})
	g.AddNode("publish", func(ctx context.Context, s Doc) (Doc, error) {
		s.Published = s.Decision == "approve"
		return s, nil
	})
	g.AddEdge(weft.Start, "draft")
	g.AddEdge("draft", "review")
	g.AddEdge("review", "publish")
	g.AddEdge("publish", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// Signoff is the state of the signoff graph: two parallel nodes that each
// ask a question.
type Signoff struct {
	Legal  string `json:"legal,omitempty"`
	Editor string `json:"editor,omitempty"`
}

func signoffGraph(t testing.TB, store checkpoint.Store) *weft.Workflow[Signoff] {
	t.Helper()
	g := weft.NewGraph[Signoff]("signoff")
	g.AddNode("legal", func(ctx context.Context, s Signoff) (Signoff, error) {
		v, err := weft.Interrupt[string](ctx, "legal?")
		if err != nil {
			return s, err
		}
		s.Legal = v
		return s, nil
	})
	g.AddNode("editor", func(ctx context.Context, s Signoff) (Signoff, error) {
		v, err := weft.Interrupt[string](ctx, "editor?")
		if err != nil {
			return s, err
		}
		s.Editor = v
		return s, nil
	})
	g.AddEdge(weft.Start, "legal")
	g.AddEdge(weft.Start, "editor")
	g.AddEdge("legal", weft.End)
	g.AddEdge("editor", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// stores runs f on memstore, on a SQLite file and on PostgreSQL (a schema
// of its own; skipped without a server, except under CI=true).
func stores(t *testing.T, f func(t *testing.T, store checkpoint.Store)) {
	t.Run("postgres", func(t *testing.T) {
		st, err := pgstore.New(context.Background(), pgtest.Pool(t), pgstore.Options{Schema: pgtest.Schema(t), Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		f(t, st)
	})
	t.Run("memstore", func(t *testing.T) { f(t, memstore.New()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

func newServer(t testing.TB, store checkpoint.Store, opts ...langgraph.Option) *httptest.Server {
	t.Helper()
	h := langgraph.New([]weft.Runner{langgraph.Runner(reviewGraph(t, store)), signoffGraph(t, store).Runner()}, store, opts...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// callAs is call with an X-Api-Key.
func callAs(t testing.TB, srv *httptest.Server, token, method, path string, body any, want int, out any) {
	t.Helper()
	callWith(t, srv, map[string]string{"X-Api-Key": token}, method, path, body, want, out)
}

// call makes a request and decodes the JSON response into out (if not nil),
// failing unless the status is want.
func call(t testing.TB, srv *httptest.Server, method, path string, body any, want int, out any) {
	t.Helper()
	callWith(t, srv, nil, method, path, body, want, out)
}

func callWith(t testing.TB, srv *httptest.Server, headers map[string]string, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

type interrupt struct {
	ID    string         `json:"id"`
	Value map[string]any `json:"value"`
}

type waitResult struct {
	Doc
	Interrupt []interrupt `json:"__interrupt__"`
}

func TestHumanInTheLoop(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		var th struct {
			ThreadID string         `json:"thread_id"`
			Status   string         `json:"status"`
			Metadata map[string]any `json:"metadata"`
		}
		call(t, srv, "POST", "/threads", map[string]any{"metadata": map[string]any{"team": "docs"}}, 200, &th)
		if th.ThreadID == "" || th.Status != "idle" || th.Metadata["team"] != "docs" {
			t.Fatalf("created thread = %+v", th)
		}
		id := th.ThreadID

		var paused waitResult
		call(t, srv, "POST", "/threads/"+id+"/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "weft"}}, 200, &paused)
		if len(paused.Interrupt) != 1 || paused.Interrupt[0].Value["body"] != "About weft" || paused.Interrupt[0].ID == "" {
			t.Fatalf("paused = %+v", paused)
		}
		if paused.Draft != "About weft" {
			t.Errorf("paused values = %+v, want the draft", paused.Doc)
		}

		var thread struct {
			Status     string                 `json:"status"`
			Interrupts map[string][]interrupt `json:"interrupts"`
			Metadata   map[string]any         `json:"metadata"`
		}
		call(t, srv, "GET", "/threads/"+id, nil, 200, &thread)
		if thread.Status != "interrupted" || len(thread.Interrupts) != 1 || thread.Metadata["graph_id"] != "review" {
			t.Fatalf("thread while paused = %+v", thread)
		}

		var st struct {
			Values Doc      `json:"values"`
			Next   []string `json:"next"`
			Tasks  []struct {
				ID         string      `json:"id"`
				Name       string      `json:"name"`
				Interrupts []interrupt `json:"interrupts"`
			} `json:"tasks"`
			Checkpoint struct {
				ThreadID     string `json:"thread_id"`
				CheckpointNS string `json:"checkpoint_ns"`
				CheckpointID string `json:"checkpoint_id"`
			} `json:"checkpoint"`
			ParentCheckpoint *struct {
				CheckpointID string `json:"checkpoint_id"`
			} `json:"parent_checkpoint"`
			CreatedAt string `json:"created_at"`
		}
		call(t, srv, "GET", "/threads/"+id+"/state", nil, 200, &st)
		if len(st.Next) != 1 || st.Next[0] != "review" || len(st.Tasks) != 1 || len(st.Tasks[0].Interrupts) != 1 ||
			st.Tasks[0].Interrupts[0].ID != paused.Interrupt[0].ID || st.Checkpoint.ThreadID != id ||
			st.Checkpoint.CheckpointID == "" || st.ParentCheckpoint == nil || st.CreatedAt == "" {
			t.Fatalf("state while paused = %+v", st)
		}
		if _, ok := thread.Interrupts[st.Tasks[0].ID]; !ok {
			t.Errorf("thread interrupts keyed %v, want the task id %s", thread.Interrupts, st.Tasks[0].ID)
		}

		var search []struct {
			ThreadID string `json:"thread_id"`
		}
		call(t, srv, "POST", "/threads/search", map[string]any{"status": "interrupted"}, 200, &search)
		if len(search) != 1 || search[0].ThreadID != id {
			t.Fatalf("search interrupted = %+v", search)
		}
		call(t, srv, "POST", "/threads/search", map[string]any{"status": "idle"}, 200, &search)
		if len(search) != 0 {
			t.Fatalf("search idle = %+v", search)
		}

		var done waitResult
		call(t, srv, "POST", "/threads/"+id+"/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, &done)
		if len(done.Interrupt) != 0 || !done.Published || done.Decision != "approve" {
			t.Fatalf("after resume = %+v", done)
		}
		thread.Interrupts = nil
		call(t, srv, "GET", "/threads/"+id, nil, 200, &thread)
		if thread.Status != "idle" || len(thread.Interrupts) != 0 {
			t.Fatalf("thread after resume = %+v", thread)
		}
		st.Next, st.Tasks = nil, nil
		call(t, srv, "GET", "/threads/"+id+"/state", nil, 200, &st)
		if len(st.Next) != 0 || len(st.Tasks) != 0 || !st.Values.Published {
			t.Fatalf("state after resume = %+v", st)
		}

		var hist []struct {
			Values Doc      `json:"values"`
			Next   []string `json:"next"`
			Tasks  []struct {
				Name       string      `json:"name"`
				Interrupts []interrupt `json:"interrupts"`
			} `json:"tasks"`
			Checkpoint struct {
				CheckpointID string `json:"checkpoint_id"`
			} `json:"checkpoint"`
		}
		call(t, srv, "POST", "/threads/"+id+"/history", map[string]any{"limit": 10}, 200, &hist)
		if len(hist) < 3 || !hist[0].Values.Published {
			t.Fatalf("history = %+v", hist)
		}
		for i := 1; i < len(hist); i++ {
			if hist[i].Checkpoint.CheckpointID >= hist[i-1].Checkpoint.CheckpointID {
				t.Fatalf("history not newest first: %+v", hist)
			}
		}
		kept := false
		for _, h := range hist {
			for _, tk := range h.Tasks {
				if tk.Name == "review" && len(tk.Interrupts) == 1 && tk.Interrupts[0].ID == paused.Interrupt[0].ID {
					kept = true
				}
			}
		}
		if !kept {
			t.Errorf("history lost the interrupt of the checkpoint that paused: %+v", hist)
		}
		var hist2 []json.RawMessage
		call(t, srv, "GET", "/threads/"+id+"/history?limit=2", nil, 200, &hist2)
		if len(hist2) != 2 {
			t.Errorf("GET history limit=2: %d entries", len(hist2))
		}
	})
}

func TestResumeByInterruptID(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "s-1"}, 200, nil)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "s-1"}, 409, nil)
		var paused struct {
			Interrupt []struct {
				ID    string `json:"id"`
				Value string `json:"value"`
			} `json:"__interrupt__"`
		}
		call(t, srv, "POST", "/threads/s-1/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 200, &paused)
		if len(paused.Interrupt) != 2 {
			t.Fatalf("paused = %+v", paused)
		}
		// A single value is ambiguous with two questions.
		call(t, srv, "POST", "/threads/s-1/runs/wait", map[string]any{"assistant_id": "signoff", "command": map[string]any{"resume": "yes"}}, 422, nil)
		answers := map[string]any{}
		for _, in := range paused.Interrupt {
			answers[in.ID] = "ok " + in.Value
		}
		var done struct {
			Signoff
			Interrupt []any `json:"__interrupt__"`
		}
		call(t, srv, "POST", "/threads/s-1/runs/wait", map[string]any{"assistant_id": "signoff", "command": map[string]any{"resume": answers}}, 200, &done)
		if done.Legal != "ok legal?" || done.Editor != "ok editor?" || done.Interrupt != nil {
			t.Fatalf("done = %+v", done)
		}
	})
}

func TestCommandUpdateAndGoto(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "u-1"}, 200, nil)
	call(t, srv, "POST", "/threads/u-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "x"}}, 200, nil)
	var done Doc
	call(t, srv, "POST", "/threads/u-1/runs/wait", map[string]any{"assistant_id": "review",
		"command": map[string]any{"resume": "approve", "update": map[string]any{"draft": "Edited"}}}, 200, &done)
	if done.Draft != "Edited" || !done.Published {
		t.Fatalf("after update = %+v", done)
	}
	// The signoff workflow is a plain Runner: it cannot apply an update.
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "u-2"}, 200, nil)
	call(t, srv, "POST", "/threads/u-2/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 200, nil)
	call(t, srv, "POST", "/threads/u-2/runs/wait", map[string]any{"assistant_id": "signoff",
		"command": map[string]any{"update": map[string]any{"legal": "x"}}}, 422, nil)
}

func TestStatelessWait(t *testing.T) {
	srv := newServer(t, memstore.New())
	var out waitResult
	call(t, srv, "POST", "/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "t"}}, 200, &out)
	if len(out.Interrupt) != 1 || out.Draft != "About t" {
		t.Fatalf("stateless = %+v", out)
	}
	var search []json.RawMessage
	call(t, srv, "POST", "/threads/search", map[string]any{}, 200, &search)
	if len(search) != 0 {
		t.Fatalf("the stateless run left threads: %s", search)
	}
}

func TestBackgroundRun(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "bg-1"}, 200, nil)
		var run struct {
			RunID    string `json:"run_id"`
			ThreadID string `json:"thread_id"`
			Status   string `json:"status"`
		}
		call(t, srv, "POST", "/threads/bg-1/runs", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "bg"}}, 200, &run)
		// A background run may have ended before its creation is answered
		// (memstore is fast): any status it can have then is fine.
		if run.RunID == "" || run.ThreadID != "bg-1" || (run.Status != "pending" && run.Status != "running" && run.Status != "success") {
			t.Fatalf("run = %+v", run)
		}
		deadline := time.Now().Add(time.Minute)
		for run.Status == "pending" || run.Status == "running" {
			if time.Now().After(deadline) {
				t.Fatalf("run still %s", run.Status)
			}
			time.Sleep(10 * time.Millisecond)
			call(t, srv, "GET", "/threads/bg-1/runs/"+run.RunID, nil, 200, &run)
		}
		if run.Status != "success" {
			t.Fatalf("run ended %s", run.Status)
		}
		var th struct {
			Status string `json:"status"`
		}
		call(t, srv, "GET", "/threads/bg-1", nil, 200, &th)
		if th.Status != "interrupted" {
			t.Fatalf("thread after background run = %s", th.Status)
		}
		var joined waitResult
		call(t, srv, "GET", "/threads/bg-1/runs/"+run.RunID+"/join", nil, 200, &joined)
		if len(joined.Interrupt) != 1 {
			t.Fatalf("join = %+v", joined)
		}
		call(t, srv, "GET", "/threads/bg-1/runs/"+newID(), nil, 404, nil)
		call(t, srv, "POST", "/threads/bg-1/runs/"+run.RunID+"/cancel", nil, 409, nil)
	})
}

func newID() string { return "00000000-0000-4000-8000-000000000000" }

func TestErrors(t *testing.T) {
	srv := newServer(t, memstore.New())
	var e struct {
		Detail string `json:"detail"`
	}
	call(t, srv, "GET", "/nowhere", nil, 404, &e)
	if e.Detail == "" {
		t.Error("404 without detail")
	}
	e.Detail = ""
	call(t, srv, "PUT", "/threads/e-0/state", nil, 405, &e)
	if e.Detail == "" {
		t.Error("405 without detail")
	}
	call(t, srv, "GET", "/threads/missing", nil, 404, &e)
	call(t, srv, "GET", "/assistants/missing", nil, 404, &e)
	call(t, srv, "POST", "/threads/missing/runs/wait", map[string]any{"assistant_id": "review"}, 404, &e)
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "e-1"}, 200, nil)
	call(t, srv, "POST", "/threads/e-1/runs/wait", map[string]any{"assistant_id": "nope"}, 404, &e)
	call(t, srv, "POST", "/threads/e-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": 3}}, 422, &e)
	call(t, srv, "POST", "/threads/search", map[string]any{"status": "weird"}, 422, &e)
}

func TestAssistants(t *testing.T) {
	srv := newServer(t, memstore.New())
	var list []struct {
		AssistantID string `json:"assistant_id"`
		GraphID     string `json:"graph_id"`
	}
	call(t, srv, "POST", "/assistants/search", map[string]any{}, 200, &list)
	if len(list) != 2 || list[0].AssistantID != "review" || list[0].GraphID != "review" {
		t.Fatalf("assistants = %+v", list)
	}
	var g struct {
		Nodes []struct {
			ID string `json:"id"`
		} `json:"nodes"`
		Edges []struct {
			Source string `json:"source"`
			Target string `json:"target"`
		} `json:"edges"`
	}
	call(t, srv, "GET", "/assistants/review/graph", nil, 200, &g)
	if len(g.Nodes) != 5 || len(g.Edges) != 4 {
		t.Fatalf("graph = %+v", g)
	}
	call(t, srv, "GET", "/ok", nil, 200, nil)
	call(t, srv, "GET", "/info", nil, 200, nil)
}

func TestAuth(t *testing.T) {
	srv := newServer(t, memstore.New(), langgraph.WithAuth(func(r *http.Request) (string, error) {
		if r.Header.Get("X-Api-Key") != "secret" {
			return "", errUnauthorized
		}
		return "alice", nil
	}))
	call(t, srv, "GET", "/ok", nil, 200, nil)
	call(t, srv, "POST", "/assistants/search", map[string]any{}, 401, nil)
}

func TestAuthorRecorded(t *testing.T) {
	store := memstore.New()
	srv := newServer(t, store, langgraph.WithAuth(func(r *http.Request) (string, error) {
		if r.Header.Get("Content-Type") != "application/json" {
			return "", errUnauthorized
		}
		return "alice", nil
	}))
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "a-1"}, 200, nil)
	call(t, srv, "POST", "/threads/a-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "a"}}, 200, nil)
	call(t, srv, "POST", "/threads/a-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, nil)
	p, err := store.Interrupts(context.Background(), &checkpoint.InterruptQuery{ThreadID: "a-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Interrupts) != 1 || p.Interrupts[0].Author != "alice" || p.Interrupts[0].Channel != checkpoint.ChannelAPI {
		t.Fatalf("interrupts = %+v", p.Interrupts)
	}
	// A state update is recorded with its author too.
	call(t, srv, "POST", "/threads/a-1/state", map[string]any{"values": map[string]any{"decision": "edited"}}, 200, nil)
	row, err := store.Thread(context.Background(), "a-1")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := store.Checkpoint(context.Background(), "a-1", "", row.Head)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Meta[weft.MetaAuthor] != "alice" || cp.Meta[weft.MetaChannel] != checkpoint.ChannelAPI {
		t.Fatalf("the update's checkpoint meta = %v, want alice through the API", cp.Meta)
	}
}

var errUnauthorized = &authError{}

type authError struct{}

func (*authError) Error() string { return "invalid API key" }

func TestStream(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "st-1"}, 200, nil)
	events := stream(t, srv, "st-1", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "s"}, "stream_mode": []string{"values", "updates"}})
	names := eventNames(events)
	if names[0] != "metadata" || names[len(names)-1] != "values" {
		t.Fatalf("events = %v", names)
	}
	joined := strings.Join(names, ",")
	if !strings.Contains(joined, "values") || !strings.Contains(joined, "updates") {
		t.Fatalf("events = %v", names)
	}
	var sawDraft, sawInterrupt bool
	for _, e := range events {
		if e.name == "updates" && strings.Contains(e.data, `"draft":{"draft":"About s"}`) {
			sawDraft = true
		}
		if e.name == "values" && strings.Contains(e.data, `"__interrupt__":[{"id":`) {
			sawInterrupt = true
		}
	}
	if !sawDraft || !sawInterrupt {
		t.Fatalf("draft update %v, interrupt in values %v: %+v", sawDraft, sawInterrupt, events)
	}
	events = stream(t, srv, "st-1", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}, "stream_mode": "updates"})
	var sawPublish bool
	for _, e := range events {
		if e.name == "updates" && strings.Contains(e.data, `"publish":{"published":true}`) {
			sawPublish = true
		}
		if e.name == "values" {
			t.Errorf("values event with stream_mode updates: %s", e.data)
		}
	}
	if !sawPublish {
		t.Fatalf("no publish update: %+v", events)
	}
}

type sseEvent struct{ name, data string }

func eventNames(evs []sseEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.name)
	}
	return out
}

func stream(t *testing.T, srv *httptest.Server, thread string, body any) []sseEvent {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := srv.Client().Post(srv.URL+"/threads/"+thread+"/runs/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, data)
	}
	var out []sseEvent
	for _, block := range strings.Split(string(data), "\n\n") {
		var e sseEvent
		for _, line := range strings.Split(block, "\n") {
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				e.name = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				e.data += v
			}
		}
		if e.name != "" {
			out = append(out, e)
		}
	}
	return out
}

func TestNewInputToPausedThread(t *testing.T) {
	stores(t, func(t *testing.T, store checkpoint.Store) {
		srv := newServer(t, store)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "n-1"}, 200, nil)
		var first, second waitResult
		call(t, srv, "POST", "/threads/n-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "one"}}, 200, &first)
		call(t, srv, "POST", "/threads/n-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "two"}}, 200, &second)
		if len(second.Interrupt) != 1 || second.Interrupt[0].Value["body"] != "About two" || second.Interrupt[0].ID == first.Interrupt[0].ID {
			t.Fatalf("second run = %+v (first %+v)", second, first)
		}
		// The other workflow may not run on the thread.
		call(t, srv, "POST", "/threads/n-1/runs/wait", map[string]any{"assistant_id": "signoff", "input": map[string]any{}}, 409, nil)
		var done waitResult
		call(t, srv, "POST", "/threads/n-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "reject"}}, 200, &done)
		if done.Decision != "reject" || done.Published || done.Topic != "two" {
			t.Fatalf("done = %+v", done)
		}
	})
}

func TestStreamEvents(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "se-1"}, 200, nil)
	modes := []string{"values", "updates"}
	seq := func(evs []sseEvent) string {
		var out []string
		for _, e := range evs {
			name := e.name
			if e.name == "updates" {
				var m map[string]json.RawMessage
				_ = json.Unmarshal([]byte(e.data), &m)
				for k := range m {
					name += ":" + k
				}
			}
			out = append(out, name)
		}
		return strings.Join(out, " ")
	}
	got := seq(stream(t, srv, "se-1", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "s"}, "stream_mode": modes}))
	if want := "metadata values updates:draft values updates:__interrupt__ values"; got != want {
		t.Errorf("pausing stream:\n got %s\nwant %s", got, want)
	}
	got = seq(stream(t, srv, "se-1", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}, "stream_mode": modes}))
	if want := "metadata values updates:review values updates:publish values"; got != want {
		t.Errorf("resuming stream:\n got %s\nwant %s", got, want)
	}
}

func TestCancelBackgroundRun(t *testing.T) {
	store := memstore.New()
	g := weft.NewGraph[Doc]("slow")
	started := make(chan struct{})
	g.AddNode("wait", func(ctx context.Context, s Doc) (Doc, error) {
		close(started)
		<-ctx.Done()
		return s, ctx.Err()
	})
	g.AddEdge(weft.Start, "wait")
	g.AddEdge("wait", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(langgraph.New([]weft.Runner{wf.Runner()}, store))
	defer srv.Close()
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "c-1"}, 200, nil)
	var run struct {
		RunID  string `json:"run_id"`
		Status string `json:"status"`
	}
	call(t, srv, "POST", "/threads/c-1/runs", map[string]any{"assistant_id": "slow", "input": map[string]any{}}, 200, &run)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not start")
	}
	var th struct {
		Status string `json:"status"`
	}
	call(t, srv, "GET", "/threads/c-1", nil, 200, &th)
	if th.Status != "busy" {
		t.Errorf("thread while running = %s", th.Status)
	}
	call(t, srv, "POST", "/threads/c-1/runs/wait", map[string]any{"assistant_id": "slow", "input": map[string]any{}, "multitask_strategy": "reject"}, 409, nil)
	call(t, srv, "POST", "/threads/c-1/runs/"+run.RunID+"/cancel?wait=true", nil, 204, nil)
	call(t, srv, "GET", "/threads/c-1/runs/"+run.RunID, nil, 200, &run)
	if run.Status != "interrupted" {
		t.Fatalf("cancelled run = %s", run.Status)
	}
	call(t, srv, "GET", "/threads/c-1", nil, 200, &th)
	if th.Status != "idle" {
		t.Errorf("thread after cancel = %s", th.Status)
	}
}
