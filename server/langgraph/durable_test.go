package langgraph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// Talk is the state of the talk graph: its node emits Tokens custom
// events, or blocks after the first when Block.
type Talk struct {
	Tokens int  `json:"tokens,omitempty"`
	Block  bool `json:"block,omitempty"`
	Done   bool `json:"done,omitempty"`
}

func talkWorkflow(t testing.TB, store checkpoint.Store) *weft.Workflow[Talk] {
	t.Helper()
	g := weft.NewGraph[Talk]("talk")
	g.AddNode("talk", func(ctx context.Context, s Talk) (Talk, error) {
		for i := range s.Tokens {
			_ = weft.Emit(ctx, map[string]any{"token": i})
			if s.Block {
				<-ctx.Done()
				return s, ctx.Err()
			}
		}
		s.Done = true
		return s, nil
	})
	g.AddEdge(weft.Start, "talk")
	g.AddEdge("talk", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// eventServer serves the review and talk graphs over store; the handler
// sees handlerStore (store, or a wrapper of it).
func eventServer(t testing.TB, store, handlerStore checkpoint.Store) *httptest.Server {
	t.Helper()
	h := langgraph.New([]weft.Runner{langgraph.Runner(reviewGraph(t, store)), langgraph.Runner(talkWorkflow(t, store))}, handlerStore)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// getEvents reads a whole stream (one that ends) with Last-Event-ID last
// ("" for none).
func getEvents(t *testing.T, srv *httptest.Server, path, last string) []idEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	return idEvents(sse(t, resp))
}

func idEvents(evs []struct{ id, name, data string }) []idEvent {
	out := make([]idEvent, len(evs))
	for i, e := range evs {
		out[i] = idEvent(e)
	}
	return out
}

// postEvents starts a run with POST .../runs/stream and reads its stream.
func postEvents(t *testing.T, srv *httptest.Server, thread string, body any) []idEvent {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := srv.Client().Post(srv.URL+"/threads/"+thread+"/runs/stream", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("POST /threads/%s/runs/stream: %d", thread, resp.StatusCode)
	}
	return idEvents(sse(t, resp))
}

// checkSeq fails unless evs have the ids from, from+1, ... in order.
func checkSeq(t *testing.T, what string, evs []idEvent, from int) {
	t.Helper()
	for i, e := range evs {
		if e.id != strconv.Itoa(from+i) {
			t.Fatalf("%s: event %d has id %q, want %d (ids %v)", what, i, e.id, from+i, ids(evs))
		}
	}
}

func ids(evs []idEvent) []string {
	out := make([]string, 0, len(evs))
	for i, e := range evs {
		if i == 40 {
			return append(out, "...")
		}
		out = append(out, e.id)
	}
	return out
}

func sameEvents(t *testing.T, what string, got, want []idEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events %v, want %d %v", what, len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		if got[i].id != want[i].id || got[i].name != want[i].name || !jsonSame(got[i].data, want[i].data) {
			t.Fatalf("%s: event %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func jsonSame(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// runIDOf is the run_id of a stream's metadata event.
func runIDOf(t *testing.T, evs []idEvent) string {
	t.Helper()
	if len(evs) == 0 || evs[0].name != "metadata" {
		t.Fatalf("stream does not start with metadata: %+v", evs)
	}
	var m struct {
		RunID string `json:"run_id"`
	}
	_ = json.Unmarshal([]byte(evs[0].data), &m)
	return m.RunID
}

// countRecords counts the records of kind of thread.
func countRecords(t *testing.T, rs checkpoint.Records, kind, thread string) int {
	t.Helper()
	n := 0
	q := &checkpoint.RecordQuery{Kind: kind, ThreadID: thread, Limit: 1000}
	for {
		p, err := rs.Records(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Records)
		if p.Next == "" {
			return n
		}
		q.After = p.Next
	}
}

// TestEventsSurviveRestart: a run's stream events and its thread's stream
// are in the store, so a new handler on the same database (a restarted
// server) replays them, and resumes after any Last-Event-ID exactly: the
// events after it, each once, none missing. The thread's stream goes on
// with the ids after the stored ones. Deleting the run, then the thread,
// deletes them.
func TestEventsSurviveRestart(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		st := open()
		srv := eventServer(t, st, st)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "ev"}, 200, nil)
		modes := []string{"values", "updates", "custom", "tasks", "checkpoints"}
		first := postEvents(t, srv, "ev", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "restarts"}, "stream_mode": modes})
		second := postEvents(t, srv, "ev", map[string]any{"assistant_id": "review", "command": map[string]any{"resume": "approve"}, "stream_mode": modes})
		checkSeq(t, "first run", first, 0)
		checkSeq(t, "second run", second, 0)
		run1, run2 := runIDOf(t, first), runIDOf(t, second)
		// The thread's stream as this process has it: both runs.
		next, stop := openThreadStream(t, srv, "ev", "-")
		t.Cleanup(stop)
		var thread []idEvent
		for range len(first) + len(second) {
			thread = append(thread, next())
		}
		stop()
		checkSeq(t, "thread stream", thread, 0)
		srv.Close()

		srv = eventServer(t, open(), open())
		for _, c := range []struct {
			run  string
			want []idEvent
		}{{run1, first}, {run2, second}} {
			path := "/threads/ev/runs/" + c.run + "/stream"
			sameEvents(t, "replay", getEvents(t, srv, path, ""), c.want)
			sameEvents(t, "replay from -1", getEvents(t, srv, path, "-1"), c.want)
			for k := range c.want {
				sameEvents(t, fmt.Sprintf("resume after %d", k), getEvents(t, srv, path, strconv.Itoa(k)), c.want[k+1:])
			}
		}
		// The thread's stream: the stored events, from any id.
		for _, k := range []int{-1, 0, len(first) - 1, len(thread) - 2} {
			last := strconv.Itoa(k)
			if k < 0 {
				last = "-"
			}
			next, stop := openThreadStream(t, srv, "ev", last)
			t.Cleanup(stop)
			var got []idEvent
			for range len(thread) - k - 1 {
				got = append(got, next())
			}
			stop()
			sameEvents(t, "thread stream after "+last, got, thread[k+1:])
		}
		// A new run here goes on with the thread stream's ids.
		next, stop = openThreadStream(t, srv, "ev", strconv.Itoa(len(thread)-1))
		t.Cleanup(stop)
		third := postEvents(t, srv, "ev", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "again"},
			"stream_mode": []string{"values", "updates", "custom"}})
		for i := range third {
			e := next()
			if e.id != strconv.Itoa(len(thread)+i) || e.name != third[i].name {
				t.Fatalf("thread stream event %d after the restart = %+v, want id %d %s", i, e, len(thread)+i, third[i].name)
			}
		}
		stop()
		srv.Close()

		// Deletions: the run's events, then all the thread's.
		st = open()
		rs := st.(checkpoint.Records)
		srv = eventServer(t, st, st)
		before := countRecords(t, rs, "langgraph.run_events", "ev")
		call(t, srv, "DELETE", "/threads/ev/runs/"+run1, nil, 204, nil)
		if after := countRecords(t, rs, "langgraph.run_events", "ev"); after >= before || after == 0 {
			t.Fatalf("records of run events: %d before deleting a run, %d after", before, after)
		}
		call(t, srv, "GET", "/threads/ev/runs/"+run1+"/stream", nil, 404, nil)
		sameEvents(t, "the other run", getEvents(t, srv, "/threads/ev/runs/"+run2+"/stream", ""), second)
		call(t, srv, "DELETE", "/threads/ev", nil, 204, nil)
		for _, kind := range []string{"langgraph.run_events", "langgraph.thread_events", "langgraph.run"} {
			if n := countRecords(t, rs, kind, "ev"); n != 0 {
				t.Errorf("%d records of %s left after deleting the thread", n, kind)
			}
		}
	})
}

// TestEventsAcrossProcesses: a handler follows the stream of a run that
// another handler on the same database runs, as it runs, to its end.
func TestEventsAcrossProcesses(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		a, b := open(), open()
		srvA, srvB := eventServer(t, a, a), eventServer(t, b, b)
		call(t, srvA, "POST", "/threads", map[string]any{"thread_id": "x"}, 200, nil)
		var run runBody
		call(t, srvA, "POST", "/threads/x/runs", map[string]any{"assistant_id": "talk", "input": map[string]any{"tokens": 1, "block": true},
			"stream_mode": []string{"values", "custom"}}, 200, &run)
		// Once A's custom event is stored (A's run is then under way in
		// its node, which blocks), B follows the run; then A cancels it.
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, err := a.(checkpoint.Records).Records(t.Context(), &checkpoint.RecordQuery{Kind: "langgraph.run_events", ThreadID: "x"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) > 0 && strings.Contains(string(p.Records[len(p.Records)-1].Data), "token") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("A's custom event is not stored")
			}
			time.Sleep(20 * time.Millisecond)
		}
		// B reads the run's first events while A runs it.
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srvB.URL+"/threads/x/runs/"+run.RunID+"/stream", nil)
		resp, err := srvB.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("B's stream: %d", resp.StatusCode)
		}
		var mu sync.Mutex
		var got []idEvent
		done := make(chan struct{})
		go func() {
			defer close(done)
			got1 := idEvents(sse(t, resp))
			mu.Lock()
			got = got1
			mu.Unlock()
		}()
		call(t, srvA, "POST", "/threads/x/runs/"+run.RunID+"/cancel?wait=1", nil, 204, nil)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("B's stream did not end with the run")
		}
		want := getEvents(t, srvA, "/threads/x/runs/"+run.RunID+"/stream", "")
		mu.Lock()
		defer mu.Unlock()
		sameEvents(t, "B's stream of A's run", got, want)
		if names := eventNamesOf(want); len(want) < 3 || names[0] != "metadata" || !strings.Contains(strings.Join(names, ","), "custom") {
			t.Fatalf("A's stream = %v", names)
		}
	})
}

func eventNamesOf(evs []idEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.name
	}
	return out
}

// recordStore is checkpoint.Records, to embed.
type recordStore interface{ checkpoint.Records }

// countingStore counts the records written, by kind.
type countingStore struct {
	checkpoint.Store
	recordStore
	mu     sync.Mutex
	writes map[string]int
}

func (c *countingStore) PutRecord(ctx context.Context, r *checkpoint.Record) error {
	c.mu.Lock()
	c.writes[r.Kind]++
	c.mu.Unlock()
	return c.recordStore.PutRecord(ctx, r)
}

func (c *countingStore) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes[kind]
}

func counting(st checkpoint.Store) *countingStore {
	return &countingStore{Store: st, recordStore: st.(checkpoint.Records), writes: map[string]int{}}
}

// TestEventsBatched: a run of many events writes them in a few records,
// not one per event, and all of them are replayed.
func TestEventsBatched(t *testing.T) {
	const tokens = 3000
	mem := memstore.New()
	cs := counting(mem)
	srv := eventServer(t, mem, cs)
	call(t, srv, "POST", "/threads", map[string]any{"thread_id": "many"}, 200, nil)
	began := time.Now()
	evs := postEvents(t, srv, "many", map[string]any{"assistant_id": "talk", "input": map[string]any{"tokens": tokens}, "stream_mode": []string{"custom"}})
	took := time.Since(began)
	if len(evs) != tokens+1 {
		t.Fatalf("%d events, want %d", len(evs), tokens+1)
	}
	runWrites, threadWrites := cs.count("langgraph.run_events"), cs.count("langgraph.thread_events")
	t.Logf("%d events in %v: %d records of the run's events, %d of the thread's stream", tokens+4, took, runWrites, threadWrites)
	// A log writes at once, then at most once per 100 ms, and once more at
	// the end, a record of at most 1000 events each time; a run's log
	// then writes its end record.
	bound := int(took/(100*time.Millisecond)) + 3 + (tokens+4)/1000
	if runWrites > bound || threadWrites > bound {
		t.Errorf("%d events written in %d and %d records in %v, more than %d: not batched", tokens+4, runWrites, threadWrites, took, bound)
	}
	srv.Close()
	srv = eventServer(t, mem, mem)
	got := getEvents(t, srv, "/threads/many/runs/"+runIDOf(t, evs)+"/stream", "")
	sameEvents(t, "replay", got, evs)
}

// BenchmarkStreamManyEvents measures a run of 2000 custom events streamed
// over memstore, a SQLite file and PostgreSQL, with and without keeping its events
// in the store's records (b.N runs; records/op counts the records of
// events written).
func BenchmarkStreamManyEvents(b *testing.B) {
	for _, kind := range []string{"memstore", "sqlite", "postgres"} {
		for _, durable := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/durable=%v", kind, durable), func(b *testing.B) {
				benchmarkStream(b, kind, durable)
			})
		}
	}
}

func benchmarkStream(b *testing.B, kind string, durable bool) {
	var st checkpoint.Store = memstore.New()
	if kind == "sqlite" {
		sq, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		defer sq.Close()
		st = sq
	}
	if kind == "postgres" {
		pg, err := pgstore.New(context.Background(), pgtest.Pool(b), pgstore.Options{Schema: pgtest.Schema(b), Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		st = pg
	}
	var hs checkpoint.Store = recordless{st}
	cs := counting(st)
	if durable {
		hs = cs
	}
	h := langgraph.New([]weft.Runner{langgraph.Runner(talkWorkflow(b, st))}, hs)
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"assistant_id": "talk", "input": map[string]any{"tokens": 2000}, "if_not_exists": "create", "stream_mode": []string{"custom"}})
	b.ResetTimer()
	for i := range b.N {
		resp, err := srv.Client().Post(fmt.Sprintf("%s/threads/b%d/runs/stream", srv.URL, i), "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	b.ReportMetric(float64(cs.count("langgraph.run_events")+cs.count("langgraph.thread_events"))/float64(b.N), "records/op")
}

// TestStreamOfDeadRun: the stream of a run whose process died (its record
// says running, its events have no end record, its thread is paused) gives
// the events stored, and ends.
func TestStreamOfDeadRun(t *testing.T) {
	durableStores(t, func(t *testing.T, open func() checkpoint.Store) {
		st := open()
		srv := eventServer(t, st, st)
		call(t, srv, "POST", "/threads", map[string]any{"thread_id": "dead"}, 200, nil)
		call(t, srv, "POST", "/threads/dead/runs/wait", map[string]any{"assistant_id": "review", "input": map[string]any{"topic": "crash"}}, 200, nil)
		srv.Close()
		rs := st.(checkpoint.Records)
		run := `{"run_id":"dead-run","thread_id":"dead","assistant_id":"review","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","status":"running","metadata":{},"multitask_strategy":"enqueue"}`
		events := `{"first":0,"events":[{"event":"metadata","data":{"run_id":"dead-run","attempt":1}},{"event":"values","data":{"topic":"crash"}}]}`
		for _, r := range []checkpoint.Record{
			{Kind: "langgraph.run", ID: "dead-run", ThreadID: "dead", Data: []byte(run)},
			{Kind: "langgraph.run_events", ID: "dead-run/000000000001", ThreadID: "dead", Data: []byte(events)},
		} {
			if err := rs.PutRecord(t.Context(), &r); err != nil {
				t.Fatal(err)
			}
		}
		srv = eventServer(t, open(), open())
		got := getEvents(t, srv, "/threads/dead/runs/dead-run/stream", "")
		if len(got) != 2 || got[0].name != "metadata" || got[1].name != "values" || got[1].id != "1" {
			t.Fatalf("the stream of a dead run = %+v", got)
		}
		if got := getEvents(t, srv, "/threads/dead/runs/dead-run/stream", "0"); len(got) != 1 || got[0].id != "1" {
			t.Fatalf("the stream of a dead run after event 0 = %+v", got)
		}
	})
}
