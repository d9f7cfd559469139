package langgraph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server/langgraph"
)

// TestRefusedStreamModes: messages (LLM tokens), which weft cannot fill,
// is refused with 422 naming the mode, and starts no run.
func TestRefusedStreamModes(t *testing.T) {
	store := memstore.New()
	srv := newServer(t, store)
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "m-1"}, 200, nil)
	for _, mode := range []any{"messages", []string{"values", "messages"}} {
		var e struct {
			Detail string `json:"detail"`
		}
		for _, route := range []string{"/threads/m-1/runs/stream", "/threads/m-1/runs", "/runs/stream"} {
			call(t, srv, "POST", route, map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "x"}, "stream_mode": mode}, 422, &e)
			name := fmt.Sprint(mode)
			if s, ok := mode.([]string); ok {
				name = s[1]
			}
			if !strings.Contains(e.Detail, `"`+name+`"`) {
				t.Errorf("POST %s stream_mode %v: detail %q does not name the mode", route, mode, e.Detail)
			}
		}
	}
	var runs []runBody
	call(t, srv, "GET", "/threads/m-1/runs", nil, 200, &runs)
	if len(runs) != 0 {
		t.Fatalf("refused runs were recorded: %+v", runs)
	}
	if _, err := store.Thread(t.Context(), "m-1"); err == nil {
		t.Fatal("a refused run ran the thread")
	}
}

// TestTasksCheckpointsDebug: the tasks mode reports each task's start
// (input, triggers) and result (its writes, or the interrupts it asked),
// checkpoints each checkpoint's state with config and parent_config, and
// debug both, typed; ids agree with the thread's state and history.
func TestTasksCheckpointsDebug(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "d-1"}, 200, nil)
	evs := stream(t, srv, "d-1", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "t"},
		"stream_mode": []string{"tasks", "checkpoints", "debug"}})
	var got []string
	var checkpoints []map[string]any
	var reviewInterrupt string
	for _, e := range evs {
		var d map[string]any
		_ = json.Unmarshal([]byte(e.data), &d)
		switch e.name {
		case "tasks":
			switch {
			case d["input"] != nil:
				got = append(got, "task:"+d["name"].(string))
			case d["error"] == nil && len(d["interrupts"].([]any)) > 0:
				got = append(got, "interrupted:"+d["name"].(string))
				reviewInterrupt = d["id"].(string)
			default:
				res, _ := json.Marshal(d["result"])
				got = append(got, "result:"+d["name"].(string)+string(res))
			}
		case "checkpoints":
			got = append(got, "checkpoint")
			checkpoints = append(checkpoints, d)
		case "debug":
			got = append(got, "debug:"+d["type"].(string))
		default:
			got = append(got, e.name)
		}
	}
	want := "metadata checkpoint debug:checkpoint task:draft debug:task result:draft[[\"draft\",\"About t\"]] debug:task_result " +
		"checkpoint debug:checkpoint task:review debug:task interrupted:review debug:task_result"
	if strings.Join(got, " ") != want {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	var state struct {
		Checkpoint struct {
			CheckpointID string `json:"checkpoint_id"`
		} `json:"checkpoint"`
		Tasks []struct {
			ID string `json:"id"`
		} `json:"tasks"`
	}
	call(t, srv, "GET", "/threads/d-1/state", nil, 200, &state)
	last := checkpoints[len(checkpoints)-1]
	cfg := last["config"].(map[string]any)["configurable"].(map[string]any)
	if cfg["checkpoint_id"] != state.Checkpoint.CheckpointID || cfg["thread_id"] != "d-1" || last["parent_config"] == nil {
		t.Errorf("last checkpoint event %v, state's checkpoint %s", last, state.Checkpoint.CheckpointID)
	}
	if next, _ := last["next"].([]any); len(next) != 1 || next[0] != "review" {
		t.Errorf("last checkpoint's next = %v", last["next"])
	}
	if len(state.Tasks) != 1 || state.Tasks[0].ID != reviewInterrupt {
		t.Errorf("the interrupted task's id %s is not the state's %+v", reviewInterrupt, state.Tasks)
	}
}

// Chat is a state with LangGraph's messages field.
type Chat struct {
	Messages []map[string]any `json:"messages"`
}

// TestMessagesTuple: messages-tuple streams, as messages events
// [message, metadata], each message a node adds to the state's messages.
func TestMessagesTuple(t *testing.T) {
	store := memstore.New()
	g := weft.NewGraph[Chat]("chat")
	g.AddNode("bot", func(ctx context.Context, s Chat) (Chat, error) {
		last := s.Messages[len(s.Messages)-1]["content"]
		s.Messages = append(s.Messages,
			map[string]any{"type": "ai", "id": "a1", "content": fmt.Sprint("you said ", last)},
			map[string]any{"type": "ai", "id": "a2", "content": "anything else?"})
		return s, nil
	})
	g.AddNode("quiet", func(ctx context.Context, s Chat) (Chat, error) { return s, nil })
	g.AddEdge(weft.Start, "bot")
	g.AddEdge("bot", "quiet")
	g.AddEdge("quiet", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(langgraph.New([]weft.Runner{langgraph.Runner(wf)}, store))
	t.Cleanup(srv.Close)
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "c-1"}, 200, nil)
	evs := stream(t, srv, "c-1", map[string]any{"assistant_id": "chat", "stream_mode": "messages-tuple",
		"input": map[string]any{"messages": []any{map[string]any{"type": "human", "id": "h1", "content": "hi"}}}})
	var got []string
	for _, e := range evs {
		if e.name != "messages" {
			got = append(got, e.name)
			continue
		}
		var tuple []map[string]any
		if err := json.Unmarshal([]byte(e.data), &tuple); err != nil || len(tuple) != 2 {
			t.Fatalf("messages event %s: %v", e.data, err)
		}
		got = append(got, fmt.Sprintf("%s@%s", tuple[0]["id"], tuple[1]["langgraph_node"]))
	}
	if g := strings.Join(got, " "); g != "metadata a1@bot a2@bot" {
		t.Fatalf("events = %s, want metadata a1@bot a2@bot", g)
	}
}

var _ checkpoint.Store = memstore.New()

// TestEventsMode: the events mode reports each node as LangChain's
// astream_events does: on_chain_start with its input, on_chain_end with
// what it wrote (a node that paused does not end).
func TestEventsMode(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ev-1"}, 200, nil)
	var got []string
	for _, e := range stream(t, srv, "ev-1", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "t"}, "stream_mode": "events"}) {
		if e.name != "events" {
			got = append(got, e.name)
			continue
		}
		var d struct {
			Event, Name string
			Data        map[string]json.RawMessage
			Metadata    map[string]any
		}
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatal(err)
		}
		s := d.Event + ":" + d.Name
		if out, ok := d.Data["output"]; ok {
			s += string(out)
		}
		if d.Metadata["langgraph_node"] != d.Name {
			t.Errorf("event %s: metadata %v", e.data, d.Metadata)
		}
		got = append(got, s)
	}
	if g, want := strings.Join(got, " "), `metadata on_chain_start:draft on_chain_end:draft{"draft":"About t"} on_chain_start:review`; g != want {
		t.Fatalf("events:\n got %s\nwant %s", g, want)
	}
}
