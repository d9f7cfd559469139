package agentinbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server/langgraph"
	"github.com/weftgraph/weft/server/langgraph/agentinbox"
)

// Mail is the state of the mail graph: a draft the human accepts, edits,
// answers or ignores.
type Mail struct {
	To      string `json:"to,omitempty"`
	Subject string `json:"subject,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Reply   string `json:"reply,omitempty"`
	Sent    bool   `json:"sent,omitempty"`
}

func mailGraph(t testing.TB, store checkpoint.Store, cfg agentinbox.Config) *weft.Workflow[Mail] {
	t.Helper()
	g := weft.NewGraph[Mail]("mail")
	g.AddNode("review", func(ctx context.Context, m Mail) (Mail, error) {
		resp, err := agentinbox.Ask(ctx, agentinbox.Request{
			ActionRequest: agentinbox.ActionRequest{Action: "send_email", Args: map[string]any{"to": m.To, "subject": m.Subject}},
			Config:        cfg,
			Description:   "Send this email?",
		}, weft.Assign("support"))
		if err != nil {
			return m, err
		}
		m.Outcome = resp.Type
		switch resp.Type {
		case agentinbox.Accept:
			m.Sent = true
		case agentinbox.Edit:
			a, _ := resp.Edited()
			m.To, _ = a.Args["to"].(string)
			m.Subject, _ = a.Args["subject"].(string)
			m.Sent = true
		case agentinbox.Respond:
			m.Reply, _ = resp.Text()
		}
		return m, nil
	})
	g.AddEdge(weft.Start, "review")
	g.AddEdge("review", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

var all = agentinbox.Config{AllowAccept: true, AllowEdit: true, AllowRespond: true, AllowIgnore: true}

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config agentinbox.Config
		answer string
		// err is what Resume returns: nil, or an error that wraps
		// weft.ErrInvalidAnswer.
		invalid bool
		// refused: the answer is refused when given (its schema), and the
		// question stays pending; otherwise a malformed args fails the node.
		refused bool
		want    Mail
	}{
		{name: "accept", config: all, answer: `[{"type":"accept","args":null}]`, want: Mail{To: "ann", Subject: "hi", Outcome: "accept", Sent: true}},
		{name: "accept without args", config: all, answer: `[{"type":"accept"}]`, want: Mail{To: "ann", Subject: "hi", Outcome: "accept", Sent: true}},
		{name: "edit", config: all, answer: `[{"type":"edit","args":{"action":"send_email","args":{"to":"bob","subject":"hello"}}}]`, want: Mail{To: "bob", Subject: "hello", Outcome: "edit", Sent: true}},
		{name: "response", config: all, answer: `[{"type":"response","args":"not now"}]`, want: Mail{To: "ann", Subject: "hi", Outcome: "response", Reply: "not now"}},
		{name: "ignore", config: all, answer: `[{"type":"ignore","args":null}]`, want: Mail{To: "ann", Subject: "hi", Outcome: "ignore"}},
		{name: "a type the config does not allow", config: agentinbox.Config{AllowAccept: true, AllowIgnore: true}, answer: `[{"type":"edit","args":{"action":"x","args":{}}}]`, invalid: true, refused: true},
		{name: "an unknown type", config: all, answer: `[{"type":"approve"}]`, invalid: true, refused: true},
		{name: "not a list", config: all, answer: `{"type":"accept"}`, invalid: true, refused: true},
		{name: "an unknown field", config: all, answer: `[{"type":"accept","why":"x"}]`, invalid: true, refused: true},
		{name: "two responses", config: all, answer: `[{"type":"accept"},{"type":"ignore"}]`, invalid: true},
		{name: "edit without an action", config: all, answer: `[{"type":"edit","args":{"to":"bob"}}]`, invalid: true},
		{name: "response that is not text", config: all, answer: `[{"type":"response","args":{"text":"x"}}]`, invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			store := memstore.New()
			wf := mailGraph(t, store, tc.config)
			res, err := wf.Run(ctx, "m-1", Mail{To: "ann", Subject: "hi"})
			if err != nil || !res.Paused() {
				t.Fatalf("run: %v %+v", err, res)
			}
			q := res.Interrupts[0]
			var shown []agentinbox.Request
			if err := json.Unmarshal(q.Value, &shown); err != nil || len(shown) != 1 || shown[0].ActionRequest.Action != "send_email" ||
				shown[0].Config != tc.config || shown[0].Description != "Send this email?" || len(q.Assignees) != 1 {
				t.Fatalf("question = %s (%v)", q.Value, err)
			}
			res, err = wf.Resume(ctx, "m-1", weft.Answer(q.ID, json.RawMessage(tc.answer)))
			if tc.invalid {
				if !errors.Is(err, weft.ErrInvalidAnswer) {
					t.Fatalf("resume: %v, want ErrInvalidAnswer", err)
				}
				st, serr := wf.State(ctx, "m-1")
				if serr != nil {
					t.Fatal(serr)
				}
				if pending := len(st.Interrupts) == 1 && st.Interrupts[0].ID == q.ID; pending != tc.refused {
					t.Fatalf("question still pending: %v, want %v (status %s)", pending, tc.refused, st.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.State != tc.want {
				t.Fatalf("state = %+v, want %+v", res.State, tc.want)
			}
		})
	}
}

func TestNothingAllowed(t *testing.T) {
	wf := mailGraph(t, memstore.New(), agentinbox.Config{})
	if _, err := wf.Run(context.Background(), "m-1", Mail{}); err == nil {
		t.Fatal("a request that allows nothing was asked")
	}
}

// TestThroughLangGraph answers as the Agent Inbox does, through the
// LangGraph Platform API: the interrupt's value is [HumanInterrupt], the
// resume [HumanResponse].
func TestThroughLangGraph(t *testing.T) {
	store := memstore.New()
	wf := mailGraph(t, store, agentinbox.Config{AllowAccept: true, AllowEdit: true, AllowIgnore: true})
	srv := httptest.NewServer(langgraph.New([]weft.Runner{wf.Runner()}, store))
	defer srv.Close()
	post := func(path string, body any, want int) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, want, data)
		}
		return data
	}
	post("/threads", map[string]any{"thread_id": "ai-1"}, 200)
	var paused struct {
		Interrupt []struct {
			ID    string               `json:"id"`
			Value []agentinbox.Request `json:"value"`
		} `json:"__interrupt__"`
	}
	if err := json.Unmarshal(post("/threads/ai-1/runs/wait", map[string]any{"assistant_id": "mail", "input": Mail{To: "ann", Subject: "hi"}}, 200), &paused); err != nil {
		t.Fatal(err)
	}
	if len(paused.Interrupt) != 1 || len(paused.Interrupt[0].Value) != 1 || !paused.Interrupt[0].Value[0].Config.AllowEdit ||
		paused.Interrupt[0].Value[0].ActionRequest.Args["to"] != "ann" {
		t.Fatalf("paused = %+v", paused)
	}
	// Respond is not allowed: refused, nothing recorded.
	post("/threads/ai-1/runs/wait", map[string]any{"assistant_id": "mail", "command": map[string]any{"resume": []any{map[string]any{"type": "response", "args": "x"}}}}, 422)
	var done Mail
	edit := agentinbox.Reply(agentinbox.Response{Type: agentinbox.Edit, Args: json.RawMessage(`{"action":"send_email","args":{"to":"cy","subject":"re"}}`)})
	if err := json.Unmarshal(post("/threads/ai-1/runs/wait", map[string]any{"assistant_id": "mail", "command": map[string]any{"resume": edit}}, 200), &done); err != nil {
		t.Fatal(err)
	}
	if done != (Mail{To: "cy", Subject: "re", Outcome: "edit", Sent: true}) {
		t.Fatalf("done = %+v", done)
	}

	// The Agent Inbox answers through a stream with stream_mode events
	// (each node's on_chain_start and on_chain_end).
	post("/threads", map[string]any{"thread_id": "ai-2"}, 200)
	post("/threads/ai-2/runs/wait", map[string]any{"assistant_id": "mail", "input": Mail{To: "ann"}}, 200)
	accept := agentinbox.Reply(agentinbox.Response{Type: agentinbox.Accept})
	post("/threads/ai-2/runs/stream", map[string]any{"assistant_id": "mail", "command": map[string]any{"resume": accept}, "stream_mode": "events"}, 200)
	st, err := wf.State(context.Background(), "ai-2")
	if err != nil || !st.Values.Sent || st.Values.Outcome != agentinbox.Accept {
		t.Fatalf("after the streamed accept: %+v (%v)", st, err)
	}
}

// TestIgnoreThread ignores a thread as the Agent Inbox does:
// threads.updateState(id, {values: null, asNode: "__end__"}).
func TestIgnoreThread(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	wf := mailGraph(t, store, all)
	srv := httptest.NewServer(langgraph.New([]weft.Runner{wf.Runner()}, store))
	defer srv.Close()
	if _, err := wf.Run(ctx, "ig-1", Mail{To: "ann"}); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"values": nil, "as_node": "__end__"})
	resp, err := http.Post(srv.URL+"/threads/ig-1/state", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ignore: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/threads/ig-1")
	if err != nil {
		t.Fatal(err)
	}
	var th struct {
		Status     string                     `json:"status"`
		Interrupts map[string]json.RawMessage `json:"interrupts"`
	}
	err = json.NewDecoder(resp.Body).Decode(&th)
	resp.Body.Close()
	if err != nil || th.Status != "idle" || len(th.Interrupts) != 0 {
		t.Fatalf("thread after ignore = %+v (%v)", th, err)
	}
	st, err := wf.State(ctx, "ig-1")
	if err != nil || st.Status != weft.StatusCancelled {
		t.Fatalf("weft status after ignore = %v (%v)", st.Status, err)
	}
}
