package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

func TestStart(t *testing.T) {
	dir := fixture(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		has  []string
	}{
		{"not JSON", []string{"start", "demo-approval", "post-7", "{Title}"}, exitInvalid, []string{"the input is not JSON"}},
		{"wrong fields", []string{"start", "demo-approval", "post-7", `{"Nope":1}`}, exitInvalid, []string{"invalid input"}},
		{"a workflow the store has no thread of", []string{"start", "ext-reveiw", "ext-9", `{"Doc":"x"}`}, exitError,
			[]string{`the store has no thread of workflow "ext-reveiw"`, "--new", "'weft threads' lists"}},
		{"not JSON, another workflow", []string{"start", "ext-review", "ext-9", `{Doc`}, exitInvalid, nil},
		{"a thread that waits", []string{"start", "demo-approval", "post-1", `{"Title":"again"}`}, exitConflict, nil},
		{"no thread", []string{"start", "demo-approval"}, exitUsage, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			weftIn(t, dir, "", tc.args...).want(t, tc.code, tc.has...)
		})
	}
	weftIn(t, dir, "", "show", "ext-9").want(t, exitNotFound) // refused: nothing recorded
	weftIn(t, dir, "", "show", "post-7").want(t, exitNotFound)

	// Submitted: ready for a worker.
	weftIn(t, dir, "", "start", "demo-approval", "post-7", `{"Title":"Release notes"}`, "--no-wait").
		want(t, 0, "Submitted thread post-7 of demo-approval: it is ready", "weft events post-7 --follow")
	var s snapshotJSON
	weftIn(t, dir, "", "show", "post-7", "--json").want(t, 0).json(t, &s)
	if s.Status != weft.StatusReady {
		t.Errorf("post-7 after start: %s", s.Status)
	}
	// Resumed here, it runs to its question.
	weftIn(t, dir, "", "resume", "post-7").want(t, 0, "thread post-7 is waiting for 1 question(s)")

	// By default a demo thread runs here; the input from standard input.
	var res resultJSON
	weftIn(t, dir, `{"Title":"Inline"}`, "start", "demo-approval", "post-8", "-", "--json").want(t, 0).json(t, &res)
	if res.Status != weft.StatusInterrupted || len(res.Questions) != 1 || res.Questions[0].Node != "review" {
		t.Errorf("start: %+v", res)
	}
	weftIn(t, dir, "", "start", "demo-refund", "refund-9", `{"Customer":"ann","Amount":20}`).
		want(t, 0, "Started; thread refund-9 is waiting for 1 question(s)", "weft answer refund-9 ")
	var out struct{ Status weft.Status }
	weftIn(t, dir, "", "start", "demo-long", "long-9", `{"Seconds":0}`, "--json", "--no-wait").want(t, 0).json(t, &out)
	if out.Status != weft.StatusReady {
		t.Errorf("start --json: %+v", out)
	}
	weftIn(t, dir, "", "start", "--help").want(t, 0, "a worker that has the workflow", "--no-wait", "--timeout")
}

// TestStartWorker starts a thread for the worker of a running server and
// follows it to its end with events --follow.
func TestStartWorker(t *testing.T) {
	dir := fixture(t)
	tokens := writeTokens(t, dir)
	_, stop := startServer(t, dir, "serve", "--demo", "--addr", "127.0.0.1:0", "--tokens", tokens)
	defer stop()
	weftIn(t, dir, "", "start", "demo-long", "long-7", `{"Seconds":0.2}`, "--no-wait").want(t, 0, "Submitted")
	wait, _ := follow(t, dir, "long-7")
	code, out := wait()
	if code != 0 || !strings.Contains(out, "thread completed") || !strings.Contains(out, "work  completed") && !strings.Contains(out, "step ") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	row := waitRow(t, dir, "long-7", "completed", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusCompleted })
	if row.Owner != "" {
		t.Errorf("long-7: %+v", row)
	}
}

// writeTokens writes a tokens file with an admin token and returns its path.
func writeTokens(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(path, []byte(`{"tok-0123456789abcdef": {"name": "ann", "roles": ["admin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
