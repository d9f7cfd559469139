package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
)

// sseEvent is one event read from a stream.
type sseEvent struct {
	id, typ, data string
	comment       bool
}

// sseStream reads a Server-Sent Events response.
type sseStream struct {
	t      *testing.T
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

func (e *env) follow(t *testing.T, path, token, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseStream{t: t, res: res, events: make(chan sseEvent, 1024), cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.typ != "" || ev.comment {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data += line[6:]
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event that is not a comment.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("stream ended")
			}
			if !ev.comment {
				return ev
			}
		case <-timeout:
			s.t.Fatal("no event within 10s")
		}
	}
}

// until reads events up to and including one of type typ.
func (s *sseStream) until(typ string) []sseEvent {
	s.t.Helper()
	var evs []sseEvent
	for {
		ev := s.next()
		evs = append(evs, ev)
		if ev.typ == typ {
			return evs
		}
	}
}

func types(evs []sseEvent) string {
	var ts []string
	for _, e := range evs {
		ts = append(ts, e.typ)
	}
	return strings.Join(ts, " ")
}

func TestThreadEventsLiveAndReplay(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")

	// From the oldest buffered event: the first run.
	s := e.follow(t, "/v1/threads/r1/events?since=0", "vera-token-for-tests", "")
	first := s.until("interrupted")
	if got := types(first); got != "run_started node_started node_finished step_committed node_started interrupted" {
		t.Errorf("first run: %s", got)
	}
	var ev eventJSON
	if err := json.Unmarshal([]byte(first[len(first)-1].data), &ev); err != nil || len(ev.Questions) != 1 || ev.Questions[0].ID != q || ev.Thread != "r1" {
		t.Errorf("interrupted event: %v %s", err, first[len(first)-1].data)
	}

	// Live: the answer and what follows.
	e.json("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "edit"}}}, http.StatusOK, nil)
	second := s.until("completed")
	if got := types(second); !strings.HasPrefix(got, "answered resumed node_started") {
		t.Errorf("second run: %s", got)
	}
	if err := json.Unmarshal([]byte(second[0].data), &ev); err != nil || ev.Answer == nil || ev.Answer.Author != "ann" || ev.Answer.Channel != "api" || ev.Answer.ID != q {
		t.Errorf("answered event: %s", second[0].data)
	}
	all := append(first, second...)
	for i := 1; i < len(all); i++ {
		if seqOf(t, all[i].id) <= seqOf(t, all[i-1].id) {
			t.Fatalf("IDs not increasing: %s then %s", all[i-1].id, all[i].id)
		}
	}

	// Reconnect after the third event: the rest again, nothing else.
	r := e.follow(t, "/v1/threads/r1/events", "vera-token-for-tests", all[2].id)
	rest := r.until("completed")
	if len(rest) != len(all)-3 || rest[0].id != all[3].id {
		t.Errorf("replay after %s: %s, want %s", all[2].id, types(rest), types(all[3:]))
	}

	// Without an ID, a stream starts with the next event.
	n := e.follow(t, "/v1/threads/r1/events", "vera-token-for-tests", "")
	e.start("review", "r1", Review{Topic: "Again"}) // a new turn
	if ev := n.next(); ev.typ != "run_started" {
		t.Errorf("fresh stream starts with %s", ev.typ)
	}
}

func seqOf(t *testing.T, id string) int64 {
	t.Helper()
	_, n, ok := strings.Cut(id, "-")
	if !ok {
		t.Fatalf("event ID %q", id)
	}
	var v int64
	for _, c := range n {
		v = v*10 + int64(c-'0')
	}
	return v
}

func TestEventsResetWhenMissed(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	// An ID from another epoch (a restart): reset, then what the feed has.
	s := e.follow(t, "/v1/threads/r1/events", "vera-token-for-tests", "deadbeef-3")
	if ev := s.next(); ev.typ != "reset" {
		t.Fatalf("first event %s, want reset", ev.typ)
	}
	if ev := s.next(); ev.typ != "run_started" {
		t.Errorf("after reset: %s", ev.typ)
	}
	// Garbage is treated the same way.
	g := e.follow(t, "/v1/events", "vera-token-for-tests", "garbage")
	if ev := g.next(); ev.typ != "reset" {
		t.Errorf("garbage ID: %s", ev.typ)
	}

	// A small buffer: a client too far behind gets a reset.
	small := NewFeed(FeedBuffer(3, 4))
	e2 := newEnv(t, WithFeed(small)) // the runs the server starts go to small
	e2.start("review", "r1", Review{Topic: "Go"})
	s2 := e2.follow(t, "/v1/threads/r1/events", "vera-token-for-tests", small.formatID(1))
	if ev := s2.next(); ev.typ != "reset" {
		t.Errorf("behind the buffer: %s", ev.typ)
	}
	if ev := s2.next(); ev.typ != "step_committed" {
		t.Errorf("after the reset: %s, want the oldest buffered event", ev.typ)
	}
	// Asking for the oldest buffered event is no reset.
	s3 := e2.follow(t, "/v1/threads/r1/events?since=0", "vera-token-for-tests", "")
	if ev := s3.next(); ev.typ != "step_committed" {
		t.Errorf("since=0: %s, want the oldest buffered event", ev.typ)
	}
}

func TestGlobalEventsFilter(t *testing.T) {
	e := newEnv(t)
	all := e.follow(t, "/v1/events", "vera-token-for-tests", "")
	exp := e.follow(t, "/v1/events?workflow=expense", "vera-token-for-tests", "")
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("expense", "x1", Expense{Item: "taxi"})
	evs := all.until("interrupted")
	evs = append(evs, all.until("interrupted")...)
	var threads []string
	for _, ev := range evs {
		var ej eventJSON
		if err := json.Unmarshal([]byte(ev.data), &ej); err != nil {
			t.Fatal(err)
		}
		threads = append(threads, ej.Thread)
	}
	if threads[0] != "r1" || threads[len(threads)-1] != "x1" {
		t.Errorf("threads %v", threads)
	}
	if ev := exp.next(); !strings.Contains(ev.data, `"thread":"x1"`) {
		t.Errorf("filtered stream: %s", ev.data)
	}
}

func TestEventsHeartbeat(t *testing.T) {
	e := newEnv(t, WithHeartbeat(20*time.Millisecond))
	s := e.follow(t, "/v1/events", "vera-token-for-tests", "")
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.comment {
				return
			}
		case <-timeout:
			t.Fatal("no heartbeat")
		}
	}
}

func TestFeedDropsDuplicates(t *testing.T) {
	f := NewFeed()
	at := time.Now()
	for _, e := range []weft.Event{
		{Seq: 1, Type: weft.EventRunStarted, Thread: "a", Time: at},
		{Seq: 1, Type: weft.EventRunStarted, Thread: "a", Time: at}, // the same event, observed twice
		{Seq: 2, Type: weft.EventNodeStarted, Thread: "a", Task: "x", Time: at},
		{Seq: 2, Type: weft.EventNodeStarted, Thread: "a", Task: "x", Time: at},
		{Seq: 1, Type: weft.EventRunStarted, Thread: "a", Time: at.Add(time.Second)}, // a new run
	} {
		f.Observe(context.Background(), e)
	}
	evs, lost, upTo, _ := f.next(0, filter{thread: "a"}, nil)
	if len(evs) != 3 || lost || upTo != 3 {
		t.Errorf("%d events, lost %v, up to %d", len(evs), lost, upTo)
	}
}

func TestFeedForgetsOldThreads(t *testing.T) {
	f := NewFeed(FeedThreads(2), FeedBuffer(10, 10))
	at := time.Now()
	for i, th := range []string{"a", "a", "b", "c"} {
		f.Observe(context.Background(), weft.Event{Seq: 1, Type: weft.EventRunStarted, Thread: th, Time: at.Add(time.Duration(i))})
	}
	if f.has("a") || !f.has("b") || !f.has("c") {
		t.Errorf("threads kept: a %v b %v c %v", f.has("a"), f.has("b"), f.has("c"))
	}
	// A client that saw a's event 1 missed event 2, forgotten: reset.
	if _, lost, _, _ := f.next(1, filter{thread: "a"}, nil); !lost {
		t.Error("forgotten thread: not reported lost")
	}
	if _, lost, _, _ := f.next(2, filter{thread: "a"}, nil); lost {
		t.Error("forgotten thread: reported lost to a client that saw everything")
	}
	// A new thread after that is not a loss for a client that started later.
	f.Observe(context.Background(), weft.Event{Seq: 1, Type: weft.EventRunStarted, Thread: "d", Time: at})
	if evs, lost, _, _ := f.next(4, filter{thread: "d"}, nil); lost || len(evs) != 1 {
		t.Errorf("new thread: lost %v, %d events", lost, len(evs))
	}
}

func TestFeedEncodesUnencodableData(t *testing.T) {
	f := NewFeed()
	f.Observe(context.Background(), weft.Event{Seq: 1, Type: weft.EventCustom, Thread: "a", Data: make(chan int)})
	evs, _, _, _ := f.next(0, filter{}, nil)
	if len(evs) != 1 || !strings.Contains(string(evs[0].data), "not encodable") {
		t.Errorf("events %v", evs)
	}
}

func TestCloseStreams(t *testing.T) {
	e := newEnv(t)
	s := e.follow(t, "/v1/events", "vera-token-for-tests", "")
	e.srv.CloseStreams()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("stream still open after CloseStreams")
		}
	}
}
