package server

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// threadSnapshot is what a refused request must leave as it was: the
// thread's row and every question it asked, in any status.
type threadSnapshot struct {
	Row        *checkpoint.Thread
	Interrupts []checkpoint.InterruptRecord
}

func snapshotThread(t testing.TB, store checkpoint.Store, thread string) threadSnapshot {
	t.Helper()
	ctx := context.Background()
	row, err := store.Thread(ctx, thread)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return threadSnapshot{}
	}
	if err != nil {
		t.Fatal(err)
	}
	page, err := store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: thread, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return threadSnapshot{Row: row, Interrupts: page.Interrupts}
}

// withdrawnBy checks that thread asked something and that every question
// it asked was withdrawn by author through channel with the note.
func withdrawnBy(t testing.TB, store checkpoint.Store, thread, author, channel, note string) {
	t.Helper()
	s := snapshotThread(t, store, thread)
	if len(s.Interrupts) == 0 {
		t.Fatalf("thread %s asked nothing", thread)
	}
	for _, rec := range s.Interrupts {
		if rec.Status != checkpoint.InterruptCancelled || rec.Author != author || rec.Channel != channel || rec.Note != note {
			t.Errorf("question %s of %s: %s by %q via %q (%q), want cancelled by %q via %q (%q)",
				rec.ID, thread, rec.Status, rec.Author, rec.Channel, rec.Note, author, channel, note)
		}
	}
}

// makeThread puts a thread of the server's test workflows in a state:
// paused (review waits in approve), ready (submitted), stopped (submitted,
// then stopped), failed (publish failed), completed, cancelled, running
// (slow, blocked in its node until stopped) or missing. It returns a
// function that ends what it started.
func (e *env) makeThread(thread, state string) (cleanup func()) {
	e.t.Helper()
	cleanup = func() {}
	switch state {
	case "missing":
		return cleanup
	case "paused":
		e.start("review", thread, Review{Topic: thread})
	case "ready", "stopped":
		e.json("POST", "/v1/workflows/review/threads", "olga-token-for-tests",
			map[string]any{"thread": thread, "input": Review{Topic: thread}, "wait": false}, http.StatusAccepted, nil)
		if state == "stopped" {
			var stop stopResponse
			e.json("POST", "/v1/threads/"+thread+"/stop", "olga-token-for-tests", nil, http.StatusAccepted, &stop)
			if stop.Status != stopStopped {
				e.t.Fatalf("stop of a ready thread: %+v", stop)
			}
		}
	case "failed", "completed":
		e.start("review", thread, Review{Topic: thread})
		q := e.pending(thread)
		e.hooks.failNext.Store(state == "failed")
		e.json("POST", "/v1/threads/"+thread+"/answers", "admin-token-for-tests",
			map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusOK, nil)
		e.hooks.failNext.Store(false)
	case "cancelled":
		e.start("review", thread, Review{Topic: thread})
		e.json("POST", "/v1/threads/"+thread+"/cancel", "olga-token-for-tests", map[string]string{"reason": "first"}, http.StatusOK, nil)
	case "running":
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.do("POST", "/v1/workflows/slow/threads", "olga-token-for-tests", map[string]any{"thread": thread})
		}()
		select {
		case <-e.hooks.slowStart:
		case <-time.After(20 * time.Second):
			e.t.Fatal("the slow node did not start")
		}
		cleanup = func() {
			e.do("POST", "/v1/threads/"+thread+"/stop", "olga-token-for-tests", nil) // 409 if stopped already
			<-done
		}
	default:
		e.t.Fatalf("no state %q", state)
	}
	if row, err := e.store.Thread(context.Background(), thread); err != nil || string(row.Status) != strings.Replace(state, "paused", "interrupted", 1) {
		e.t.Fatalf("thread %s is not %s: %v %+v", thread, state, err, row)
	}
	return cleanup
}

// TestCancelThread walks POST /v1/threads/{id}/cancel through every
// outcome: a thread that waits in any way is cancelled, its questions
// withdrawn by the caller with the reason; every refusal is reported
// with its status and code and changes nothing.
func TestCancelThread(t *testing.T) {
	long := strings.Repeat("x", maxReason+1)
	reason := map[string]string{"reason": "duplicate of r-7"}
	cases := []struct {
		name, state string
		token       string
		body        any
		status      int
		code        string // of a refusal
	}{
		{"paused", "paused", "olga-token-for-tests", reason, http.StatusOK, ""},
		{"paused, by an admin", "paused", "admin-token-for-tests", reason, http.StatusOK, ""},
		{"ready", "ready", "olga-token-for-tests", reason, http.StatusOK, ""},
		{"stopped", "stopped", "olga-token-for-tests", reason, http.StatusOK, ""},
		{"failed", "failed", "olga-token-for-tests", reason, http.StatusOK, ""},
		{"unknown thread", "missing", "olga-token-for-tests", reason, http.StatusNotFound, CodeNotFound},
		{"completed", "completed", "olga-token-for-tests", reason, http.StatusConflict, CodeThreadCompleted},
		{"second cancel", "cancelled", "olga-token-for-tests", reason, http.StatusConflict, CodeThreadCancelled},
		{"running, not stopped", "running", "olga-token-for-tests", reason, http.StatusConflict, CodeBusy},
		{"reviewer", "paused", "ann-token-for-tests", reason, http.StatusForbidden, CodeForbidden},
		{"viewer", "paused", "vera-token-for-tests", reason, http.StatusForbidden, CodeForbidden},
		{"no token", "paused", "", reason, http.StatusUnauthorized, CodeUnauthorized},
		{"no body", "paused", "olga-token-for-tests", nil, http.StatusBadRequest, CodeBadRequest},
		{"no reason", "paused", "olga-token-for-tests", `{}`, http.StatusBadRequest, CodeBadRequest},
		{"blank reason", "paused", "olga-token-for-tests", `{"reason": " \t "}`, http.StatusBadRequest, CodeBadRequest},
		{"reason too long", "paused", "olga-token-for-tests", map[string]string{"reason": long}, http.StatusBadRequest, CodeBadRequest},
		{"unknown field", "paused", "olga-token-for-tests", `{"reason": "x", "force": true}`, http.StatusBadRequest, CodeBadRequest},
		{"not JSON", "paused", "olga-token-for-tests", `reason=x`, http.StatusBadRequest, CodeBadRequest},
		{"invalid UTF-8", "paused", "olga-token-for-tests", []byte("{\"reason\": \"\xff\"}"), http.StatusBadRequest, CodeBadRequest},
	}
	e := newEnv(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			thread := "c" + string(rune('a'+i))
			cleanup := e.makeThread(thread, c.state)
			defer cleanup()
			before := snapshotThread(t, e.store, thread)
			path := "/v1/threads/" + thread + "/cancel"
			if c.code != "" {
				ej := e.apiErr("POST", path, c.token, c.body, c.status, c.code)
				if ej.Error == "" {
					t.Error("a refusal without a message")
				}
				if after := snapshotThread(t, e.store, thread); !reflect.DeepEqual(before, after) {
					t.Errorf("the refusal changed the thread:\nbefore %+v\nafter  %+v", before, after)
				}
				return
			}
			res, _ := e.do("POST", path, c.token, c.body)
			var out resultJSON
			e.json("GET", "/v1/threads/"+thread, "vera-token-for-tests", nil, http.StatusOK, &out)
			if res.StatusCode != c.status || out.Status != weft.StatusCancelled || len(out.Interrupts) != 0 {
				t.Fatalf("cancel: %d, thread %s with %d questions", res.StatusCode, out.Status, len(out.Interrupts))
			}
			if loc := res.Header.Get("Location"); loc != "/v1/threads/"+thread {
				t.Errorf("Location %q", loc)
			}
			if c.state == "paused" {
				var p Principal
				for tok, pr := range testTokens {
					if tok == c.token {
						p = pr
					}
				}
				withdrawnBy(t, e.store, thread, p.Name, checkpoint.ChannelAPI, reason["reason"])
				var audit []entryJSON
				e.json("GET", "/v1/threads/"+thread+"/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
				if len(audit) == 0 || audit[0].Author != p.Name || audit[0].Channel != checkpoint.ChannelAPI {
					t.Errorf("audit %+v", audit)
				}
			}
			// The cancelled thread cannot be cancelled or resumed again.
			e.apiErr("POST", path, c.token, c.body, http.StatusConflict, CodeThreadCancelled)
			e.apiErr("POST", "/v1/threads/"+thread+"/resume", c.token, nil, http.StatusConflict, CodeThreadCancelled)
		})
	}
}

// TestStopThread walks POST /v1/threads/{id}/stop through every outcome:
// a running thread is stopping (and stops), a ready one is stopped, one
// that waits for answers is cancelled with its questions withdrawn by the
// caller; every refusal changes nothing.
func TestStopThread(t *testing.T) {
	cases := []struct {
		name, state string
		token       string
		body        any
		status      int
		outcome     string // of a success
		code        string // of a refusal
		after       weft.Status
	}{
		{"running", "running", "olga-token-for-tests", nil, http.StatusAccepted, stopStopping, "", weft.StatusStopped},
		{"ready", "ready", "olga-token-for-tests", nil, http.StatusAccepted, stopStopped, "", weft.StatusStopped},
		{"paused", "paused", "olga-token-for-tests", `{}`, http.StatusAccepted, stopCancelled, "", weft.StatusCancelled},
		{"stopped", "stopped", "olga-token-for-tests", nil, http.StatusConflict, "", CodeNotRunning, ""},
		{"failed", "failed", "olga-token-for-tests", nil, http.StatusConflict, "", CodeNotRunning, ""},
		{"completed", "completed", "olga-token-for-tests", nil, http.StatusConflict, "", CodeNotRunning, ""},
		{"cancelled", "cancelled", "olga-token-for-tests", nil, http.StatusConflict, "", CodeNotRunning, ""},
		{"unknown thread", "missing", "olga-token-for-tests", nil, http.StatusNotFound, "", CodeNotFound, ""},
		{"reviewer", "paused", "ann-token-for-tests", nil, http.StatusForbidden, "", CodeForbidden, ""},
		{"unknown field", "paused", "olga-token-for-tests", `{"now": true}`, http.StatusBadRequest, "", CodeBadRequest, ""},
	}
	e := newEnv(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			thread := "s" + string(rune('a'+i))
			cleanup := e.makeThread(thread, c.state)
			defer cleanup()
			before := snapshotThread(t, e.store, thread)
			path := "/v1/threads/" + thread + "/stop"
			if c.code != "" {
				e.apiErr("POST", path, c.token, c.body, c.status, c.code)
				if after := snapshotThread(t, e.store, thread); !reflect.DeepEqual(before, after) {
					t.Errorf("the refusal changed the thread:\nbefore %+v\nafter  %+v", before, after)
				}
				return
			}
			var out stopResponse
			e.json("POST", path, c.token, c.body, c.status, &out)
			if out.Thread != thread || out.Status != c.outcome {
				t.Errorf("stop: %+v, want %s", out, c.outcome)
			}
			waitThread(t, e.store, thread, c.after)
			if c.state == "paused" {
				withdrawnBy(t, e.store, thread, "olga", checkpoint.ChannelAPI, "stopped")
			}
		})
	}
}
