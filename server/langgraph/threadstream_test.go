package langgraph_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/weftgraph/weft/checkpoint/memstore"
)

type idEvent struct{ id, name, data string }

// openThreadStream opens GET /threads/{id}/stream; it returns once the
// response's headers are in (the stream's start is fixed then) and reads
// events with next.
func openThreadStream(t *testing.T, srv *httptest.Server, thread, lastEventID string) (next func() idEvent, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/threads/"+thread+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /threads/%s/stream: %d", thread, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	next = func() idEvent {
		t.Helper()
		var e idEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && e.name != "":
				return e
			case strings.HasPrefix(line, "event: "):
				e.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.data += strings.TrimPrefix(line, "data: ")
			case strings.HasPrefix(line, "id: "):
				e.id = strings.TrimPrefix(line, "id: ")
			}
		}
		t.Fatalf("thread stream ended: %v", sc.Err())
		return e
	}
	return next, func() { cancel(); resp.Body.Close() }
}

// TestThreadStream: GET /threads/{id}/stream streams the events of the
// thread's runs one run after the other, with ids of its own, from the
// next event without Last-Event-ID, after the one it names with it, from
// the first with "-".
func TestThreadStream(t *testing.T) {
	srv := newServer(t, memstore.New())
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ts-1"}, 200, nil)
	next, stop := openThreadStream(t, srv, "ts-1", "")
	defer stop()
	call(t, srv, "POST", "/threads/ts-1/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "joined"}}, 200, nil)
	call(t, srv, "POST", "/threads/ts-1/runs/wait", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}}, 200, nil)
	// Both runs' events: metadata and values (stream_mode values, the
	// default), until the second run's last values.
	var all []idEvent
	metadata := 0
	for {
		e := next()
		all = append(all, e)
		if e.name == "metadata" {
			metadata++
		}
		if metadata == 2 && e.name == "values" && strings.Contains(e.data, `"published":true`) {
			break
		}
	}
	var names []string
	for i, e := range all {
		if e.id != strconv.Itoa(i) {
			t.Fatalf("event %d has id %s", i, e.id)
		}
		names = append(names, e.name)
	}
	if all[0].name != "metadata" || strings.Count(strings.Join(names, " "), "metadata") != 2 {
		t.Fatalf("thread stream events: %v", names)
	}
	stop()

	// Resumed after event 2, and from the first.
	for _, tc := range []struct {
		last  string
		first int
	}{{"2", 3}, {"-", 0}} {
		next, stop := openThreadStream(t, srv, "ts-1", tc.last)
		for i := tc.first; i < len(all); i++ {
			if e := next(); e != all[i] {
				t.Fatalf("Last-Event-ID %s: event %+v, want %+v", tc.last, e, all[i])
			}
		}
		stop()
	}
	call(t, srv, "GET", "/threads/ts-1/stream?stream_mode=lifecycle", nil, 422, nil)
	call(t, srv, "GET", "/threads/ts-1/stream?stream_modes=state_update", nil, 422, nil)
	call(t, srv, "GET", "/threads/nope/stream", nil, 404, nil)
}
