package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/demo"
)

// bin is the weft binary the tests run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weft-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "weft")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building weft:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// weftIn runs the weft binary in dir with args, with stdin as its input.
func weftIn(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "WEFT_")
	}), "WEFT_AUTHOR=tester")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("weft %v: %v", args, err)
	}
	return res
}

// want checks the exit code and that stdout+stderr contain every string.
func (r result) want(t *testing.T, code int, contains ...string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range contains {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
	return r
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
}

// Ext is the state of a workflow that is not the demo's: the command
// cannot run its threads.
type Ext struct {
	Doc string
	OK  bool
}

func extWorkflow(t *testing.T, store *sqlitestore.Store) *weft.Workflow[Ext] {
	t.Helper()
	g := weft.NewGraph[Ext]("ext-review")
	g.AddNode("check", func(ctx context.Context, e Ext) (Ext, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]string{"doc": e.Doc}, weft.Assign("qa"))
		e.OK = ok
		return e, err
	})
	g.AddEdge(weft.Start, "check")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// fixture makes a SQLite store in a new directory with the demo's seeded
// threads and one thread "ext-1" of a workflow the command does not have,
// and returns the directory (where the store is weft.db, the default).
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "weft.db"), sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runners, err := demo.Workflows(store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, runners); err != nil {
		t.Fatal(err)
	}
	if _, err := extWorkflow(t, store).Run(ctx, "ext-1", Ext{Doc: "spec.md"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

type inboxOut struct {
	Items []questionJSON `json:"items"`
	Next  string         `json:"next"`
}

// question returns the ID of the only pending question of thread.
func question(t *testing.T, dir, thread string) string {
	t.Helper()
	var out inboxOut
	weftIn(t, dir, "", "inbox", "--thread", thread, "--json").want(t, 0).json(t, &out)
	if len(out.Items) != 1 {
		t.Fatalf("thread %s has %d questions, want 1", thread, len(out.Items))
	}
	return out.Items[0].ID
}

func TestHelp(t *testing.T) {
	dir := t.TempDir()
	r := weftIn(t, dir, "", "--help").want(t, 0, "Usage: weft COMMAND", "Exit codes:")
	for _, c := range commands {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("help lacks command %s", c.name)
		}
		h := weftIn(t, dir, "", c.name, "--help").want(t, 0, "Usage: weft "+c.name, "Flags:", "--store", "Exit codes:")
		if !c.noJSON && !strings.Contains(h.stdout, "--json") {
			t.Errorf("%s --help lacks --json", c.name)
		}
		weftIn(t, dir, "", "help", c.name).want(t, 0, "Usage: weft "+c.name)
		weftIn(t, dir, "", c.name, "-h").want(t, 0, "Usage: weft "+c.name)
	}
	weftIn(t, dir, "", "answer", "--help").want(t, 0, "--as", "exactly once", "a worker that has\nthe workflow", "--no-wait")
	weftIn(t, dir, "", "stop", "--help").want(t, 0, "POST /v1/threads/THREAD/stop")
	if _, err := os.Stat(filepath.Join(dir, "weft.db")); err == nil {
		t.Error("--help created a store")
	}
}

func TestUsage(t *testing.T) {
	dir := fixture(t)
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"help", "bogus"},
		{"show"},
		{"show", "a", "b"},
		{"answer", "post-1", "x"},
		{"inbox", "extra"},
		{"inbox", "--nope"},
		{"inbox", "--limit", "0"},
		{"inbox", "--limit", "501"},
		{"inbox", "--older-than", "soon"},
		{"inbox", "--store", "mysql://x"},
		{"inbox", "--store", "sqlite:"},
		{"serve"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := weftIn(t, dir, "", args...)
			r.want(t, exitUsage)
			if r.stdout != "" {
				t.Errorf("usage error printed to stdout: %s", r.stdout)
			}
		})
	}
}

func TestMissingStore(t *testing.T) {
	dir := t.TempDir()
	weftIn(t, dir, "", "inbox").want(t, exitNotFound, "no such store file", "weft migrate")
	weftIn(t, dir, "", "show", "x", "--store", "sqlite:other.db").want(t, exitNotFound, "other.db")
	if _, err := os.Stat(filepath.Join(dir, "weft.db")); err == nil {
		t.Error("inbox created the store file")
	}
}

func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	weftIn(t, dir, "", "migrate", "--store", "sqlite:new.db").want(t, 0, fmt.Sprintf("schema version %d", sqlitestore.LatestSchemaVersion()))
	var out struct{ Version, Latest int }
	weftIn(t, dir, "", "migrate", "--store", "sqlite:new.db", "--json").want(t, 0).json(t, &out)
	if out.Version != out.Latest || out.Version < 1 {
		t.Errorf("migrate --json: %+v", out)
	}
	weftIn(t, dir, "", "inbox", "--store", "sqlite:new.db").want(t, 0, "No questions are waiting.")
	// WEFT_STORE is the default store.
	cmd := exec.Command(bin, "inbox", "--json")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "WEFT_STORE=sqlite:new.db")
	if data, err := cmd.Output(); err != nil || !strings.Contains(string(data), `"items": []`) {
		t.Errorf("WEFT_STORE: %v %s", err, data)
	}
}

func TestInbox(t *testing.T) {
	dir := fixture(t)
	weftIn(t, dir, "", "inbox").want(t, 0, "THREAD", "post-1", "essay-1", "refund-small-1", "in 14m → fallback",
		"in 59m → finance-leads", "agent-1", "ext-1", "ext-review")

	var all inboxOut
	weftIn(t, dir, "", "inbox", "--json").want(t, 0).json(t, &all)
	if len(all.Items) != 9 || all.Next != "" {
		t.Fatalf("%d items, next %q; want 9", len(all.Items), all.Next)
	}
	first := all.Items[0]
	if first.Thread != "post-1" || first.Workflow != demo.Approval || first.Node != "review" || first.Status != "pending" ||
		!slices.Equal(first.Assignees, []string{"editors"}) || len(first.Schema) == 0 || first.Created.IsZero() {
		t.Errorf("first item %+v", first)
	}

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--workflow", demo.Agent}, 3},
		{[]string{"--assignee", "ops,dba"}, 2},
		{[]string{"--assignee", "ops", "--assignee", "qa"}, 2},
		{[]string{"--node", "check"}, 3},
		{[]string{"--thread", "essay-1"}, 1},
		{[]string{"--older-than", "1h"}, 0},
		{[]string{"--workflow", "nope"}, 0},
	} {
		var out inboxOut
		weftIn(t, dir, "", append([]string{"inbox", "--json"}, tc.args...)...).want(t, 0).json(t, &out)
		if len(out.Items) != tc.want {
			t.Errorf("inbox %v: %d items, want %d", tc.args, len(out.Items), tc.want)
		}
	}

	// Pages.
	var page inboxOut
	var seen []string
	args := []string{"inbox", "--json", "--limit", "4"}
	for range 5 {
		weftIn(t, dir, "", args...).want(t, 0).json(t, &page)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.Next == "" {
			break
		}
		args = []string{"inbox", "--json", "--limit", "4", "--after", page.Next}
	}
	if len(seen) != 9 {
		t.Errorf("pages gave %d items, want 9", len(seen))
	}
	weftIn(t, dir, "", "inbox", "--limit", "4").want(t, 0, "More: weft inbox --after ")
	var everything inboxOut
	weftIn(t, dir, "", "inbox", "--limit", "2", "--all", "--json").want(t, 0).json(t, &everything)
	if len(everything.Items) != 9 {
		t.Errorf("--all: %d items", len(everything.Items))
	}
	weftIn(t, dir, "", "inbox", "--after", "garbage").want(t, exitError, "malformed cursor")
}

func TestShow(t *testing.T) {
	dir := fixture(t)
	id := question(t, dir, "post-1")
	weftIn(t, dir, "", "show", "post-1").want(t, 0, "workflow    demo-approval", "status      interrupted",
		`"Title": "Weft 0.1 is out"`, "waiting for 1 question(s)", id, `"action": ["approve","edit","reject"]`,
		"weft answer post-1 "+id)

	var s snapshotJSON
	weftIn(t, dir, "", "--json", "show", "post-1").want(t, exitUsage) // flags after the command
	r := weftIn(t, dir, "", "show", "--json", "post-1").want(t, 0)
	r.json(t, &s)
	values, _ := s.Values.(map[string]any)
	if s.Status != weft.StatusInterrupted || !s.Runnable || values["Title"] != "Weft 0.1 is out" ||
		len(s.Questions) != 1 || s.Questions[0].ID != id || s.Questions[0].AnswerUsing == "" {
		t.Errorf("show --json: %+v", s)
	}

	// A workflow the command does not have: the state as stored.
	weftIn(t, dir, "", "show", "ext-1", "--json").want(t, 0).json(t, &s)
	values, _ = s.Values.(map[string]any)
	if s.Runnable || s.Workflow != "ext-review" || values["Doc"] != "spec.md" || len(s.Questions) != 1 {
		t.Errorf("show ext-1: %+v", s)
	}
	weftIn(t, dir, "", "show", "nope").want(t, exitNotFound, "not found")
	r = weftIn(t, dir, "", "show", "nope", "--json").want(t, exitNotFound)
	var e struct {
		Error, Code string
		Exit        int
	}
	if err := json.Unmarshal([]byte(r.stderr), &e); err != nil || e.Code != "not_found" || e.Exit != exitNotFound || r.stdout != "" {
		t.Errorf("--json error: %v %q %q", err, r.stderr, r.stdout)
	}
}

func TestAnswer(t *testing.T) {
	dir := fixture(t)
	id := question(t, dir, "post-1")

	// Refused: nothing recorded.
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"maybe"}`).want(t, exitInvalid, "invalid answer", "maybe")
	weftIn(t, dir, "", "answer", "post-1", id, `{action}`).want(t, exitInvalid, "not JSON")
	if question(t, dir, "post-1") != id {
		t.Fatal("the question changed after a refused answer")
	}
	weftIn(t, dir, "", "answer", "post-1", "0123456789abcdef01234567", `{"action":"approve"}`).want(t, exitNotFound)
	weftIn(t, dir, "", "answer", "nope", id, `{"action":"approve"}`).want(t, exitNotFound)

	// Accepted: the demo thread runs on here.
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"edit","text":"Shorter."}`, "--as", "ann").
		want(t, 0, "Answered "+id+" as ann", "thread post-1 is completed")
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"approve"}`).want(t, exitConflict, "already answered")

	var s snapshotJSON
	weftIn(t, dir, "", "show", "post-1", "--json").want(t, 0).json(t, &s)
	values, _ := s.Values.(map[string]any)
	if s.Status != weft.StatusCompleted || values["Body"] != "Shorter." || values["URL"] == "" {
		t.Errorf("after the answer: %+v", s)
	}

	// Standard input, --json, and a thread that asks again.
	eid := question(t, dir, "essay-1")
	var out struct {
		Recorded, Ran bool
		Result        resultJSON
	}
	weftIn(t, dir, `{"action":"edit","text":"more examples"}`, "answer", "essay-1", eid, "-", "--json").want(t, 0).json(t, &out)
	if !out.Recorded || !out.Ran || out.Result.Status != weft.StatusInterrupted || len(out.Result.Questions) != 1 ||
		out.Result.Questions[0].ID == eid {
		t.Errorf("answer --json: %+v", out)
	}
	weftIn(t, dir, "", "answer", "essay-1", eid, `{"action":"approve"}`, "--json").want(t, exitConflict, `"code":"already_answered"`)
}

func TestAnswerOtherWorkflow(t *testing.T) {
	dir := fixture(t)
	id := question(t, dir, "ext-1")
	weftIn(t, dir, "", "answer", "ext-1", id, `"yes"`).want(t, exitInvalid, "invalid answer")
	weftIn(t, dir, "", "answer", "ext-1", id, `true`, "--as", "quinn", "--no-wait").
		want(t, 0, "Recorded the answer", "Thread ext-1 is ready for a worker", "ext-review")
	weftIn(t, dir, "", "answer", "ext-1", id, `false`).want(t, exitConflict)
	var s snapshotJSON
	weftIn(t, dir, "", "show", "ext-1", "--json").want(t, 0).json(t, &s)
	if s.Status != weft.StatusReady || s.Runnable {
		t.Errorf("after the answer: %+v", s)
	}
	// Ready already: resume leaves it for the worker.
	weftIn(t, dir, "", "resume", "ext-1", "--no-wait").want(t, 0, "Thread ext-1 is ready: a worker that has workflow ext-review")

	// The program resumes it and it carries on with the answer.
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "weft.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	res, err := extWorkflow(t, store).Resume(context.Background(), "ext-1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != weft.StatusCompleted || !res.State.OK {
		t.Errorf("resumed: %+v", res)
	}
}

func TestHistory(t *testing.T) {
	dir := fixture(t)
	id := question(t, dir, "post-2")
	weftIn(t, dir, "", "answer", "post-2", id, `{"action":"approve"}`, "--as", "ann").want(t, 0)
	weftIn(t, dir, "", "history", "post-2").want(t, 0, "checkpoints, newest first", "publish", "steps:", "questions:", id, "ann")

	var h struct {
		Status      weft.Status
		Checkpoints []checkpointJSON
		Steps       []stepJSON
		Questions   []questionJSON
	}
	weftIn(t, dir, "", "history", "post-2", "--json").want(t, 0).json(t, &h)
	if h.Status != weft.StatusCompleted || len(h.Checkpoints) < 3 || h.Checkpoints[0].Values == nil {
		t.Errorf("checkpoints %+v", h.Checkpoints)
	}
	var nodes []string
	for _, st := range h.Steps {
		nodes = append(nodes, st.Node+":"+st.Status)
	}
	if got := strings.Join(nodes, " "); got != "draft:completed review:interrupted review:completed publish:completed" {
		t.Errorf("steps %s", got)
	}
	if len(h.Questions) != 1 || h.Questions[0].Author != "ann" || h.Questions[0].Channel != "cli" ||
		h.Questions[0].Status != "answered" || compact(h.Questions[0].Answer, 0) != `{"action":"approve"}` {
		t.Errorf("questions %+v", h.Questions)
	}
	// Another workflow: checkpoints without states.
	var ext struct {
		Checkpoints []checkpointJSON
		Questions   []questionJSON
	}
	weftIn(t, dir, "", "history", "ext-1", "--json").want(t, 0).json(t, &ext)
	if len(ext.Checkpoints) == 0 || ext.Checkpoints[0].Values != nil || len(ext.Questions) != 1 || ext.Questions[0].Status != "pending" {
		t.Errorf("ext-1 history %+v", ext)
	}
	weftIn(t, dir, "", "history", "nope").want(t, exitNotFound)
}

// setup opens the fixture's store for fn, to put threads in states the
// command line cannot.
func setup(t *testing.T, dir string, fn func(ctx context.Context, store *sqlitestore.Store, runners []weft.Runner)) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "weft.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runners, err := demo.Workflows(store)
	if err != nil {
		t.Fatal(err)
	}
	fn(ctx, store, runners)
}

func TestStopResume(t *testing.T) {
	dir := fixture(t)
	setup(t, dir, func(ctx context.Context, store *sqlitestore.Store, runners []weft.Runner) {
		// post-9: a demo thread submitted, not run yet (ready).
		if err := runners[0].Submit(ctx, "post-9", json.RawMessage(`{"Title":"Later"}`)); err != nil {
			t.Fatal(err)
		}
		// ext-2: a thread another process runs; ext-3: one submitted.
		ext := extWorkflow(t, store)
		if _, err := ext.Submit(ctx, "ext-2", Ext{Doc: "two"}); err != nil {
			t.Fatal(err)
		}
		row, err := store.Thread(ctx, "ext-2")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Claim(ctx, &checkpoint.Claim{ThreadID: "ext-2", ExpectedVersion: row.Version, Owner: "elsewhere", Lease: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if _, err := ext.Submit(ctx, "ext-3", Ext{Doc: "three"}); err != nil {
			t.Fatal(err)
		}
	})
	show := func(thread string) snapshotJSON {
		t.Helper()
		var s snapshotJSON
		weftIn(t, dir, "", "show", thread, "--json").want(t, 0).json(t, &s)
		return s
	}

	// A thread that waits: its question is withdrawn and it is cancelled,
	// as the workflow's Stop does.
	old := question(t, dir, "essay-1")
	weftIn(t, dir, "", "stop", "essay-1", "--as", "ann").want(t, 0, "Withdrew 1 question(s) of thread essay-1 and cancelled it")
	var out inboxOut
	weftIn(t, dir, "", "inbox", "--thread", "essay-1", "--json").want(t, 0).json(t, &out)
	if len(out.Items) != 0 {
		t.Errorf("a stopped thread is still in the inbox: %+v", out.Items)
	}
	weftIn(t, dir, "", "answer", "essay-1", old, `{"action":"approve"}`).want(t, exitConflict)
	weftIn(t, dir, "", "stop", "essay-1").want(t, 0, "already cancelled")
	var st struct {
		Status    weft.Status
		Withdrawn int
	}
	weftIn(t, dir, "", "stop", "essay-1", "--json").want(t, 0).json(t, &st)
	if st.Status != weft.StatusCancelled || st.Withdrawn != 0 {
		t.Errorf("stop --json: %+v", st)
	}
	weftIn(t, dir, "", "resume", "essay-1", "--json").want(t, exitConflict, `"code":"thread_cancelled"`)
	var h struct{ Questions []questionJSON }
	weftIn(t, dir, "", "history", "essay-1", "--json").want(t, 0).json(t, &h)
	if len(h.Questions) != 1 || h.Questions[0].Status != "cancelled" || h.Questions[0].Author != "ann" || h.Questions[0].Channel != "cli" {
		t.Errorf("the withdrawn question: %+v", h.Questions)
	}

	// A ready demo thread stops at once; resume runs it here.
	weftIn(t, dir, "", "stop", "post-9").want(t, 0, "Stopped thread post-9 before it ran on")
	if s := show("post-9"); s.Status != weft.StatusStopped {
		t.Errorf("post-9 after stop: %s", s.Status)
	}
	weftIn(t, dir, "", "stop", "post-9").want(t, 0, "already stopped")
	weftIn(t, dir, "", "resume", "post-9").want(t, 0, "thread post-9 is waiting for 1 question(s)")
	weftIn(t, dir, "", "resume", "post-9").want(t, 0, "waiting for 1 question(s)")

	// A thread another process runs: the stop is requested, durably, and
	// the thread runs on until that process's next heartbeat.
	before := show("ext-2")
	if before.Status != weft.StatusRunning || before.Owner != "elsewhere" || before.LeaseUntil.IsZero() ||
		before.Epoch == 0 || !before.StopRequested.IsZero() {
		t.Fatalf("ext-2 before stop: %+v", before)
	}
	weftIn(t, dir, "", "stop", "ext-2", "--no-wait").want(t, 0, "Asked elsewhere, which runs thread ext-2, to stop it")
	after := show("ext-2")
	if after.Status != weft.StatusRunning || after.Owner != "elsewhere" || after.Epoch != before.Epoch || after.StopRequested.IsZero() {
		t.Errorf("ext-2 after stop: %+v", after)
	}
	weftIn(t, dir, "", "show", "ext-2").want(t, 0, "owner       elsewhere", "stop        requested")
	weftIn(t, dir, "", "resume", "ext-2").want(t, exitConflict, "running")
	weftIn(t, dir, "", "cancel", "ext-2").want(t, exitConflict, "stop it first")

	// Another workflow's stopped thread: resume makes it ready for a
	// worker that has the workflow.
	weftIn(t, dir, "", "stop", "ext-3").want(t, 0, "Stopped thread ext-3")
	weftIn(t, dir, "", "resume", "ext-3", "--no-wait").want(t, 0, "Thread ext-3 is ready: a worker that has workflow ext-review")
	if s := show("ext-3"); s.Status != weft.StatusReady {
		t.Errorf("ext-3 after resume: %s", s.Status)
	}

	// Cancel of another workflow's waiting thread, with a reason.
	weftIn(t, dir, "", "cancel", "ext-1", "--reason", "superseded", "--as", "bo").want(t, 0, "Cancelled thread ext-1; withdrew 1 question(s)")
	weftIn(t, dir, "", "history", "ext-1", "--json").want(t, 0).json(t, &h)
	if s := show("ext-1"); s.Status != weft.StatusCancelled || len(h.Questions) != 1 || h.Questions[0].Status != "cancelled" || h.Questions[0].Author != "bo" {
		t.Errorf("ext-1 after cancel: %s %+v", s.Status, h.Questions)
	}
	weftIn(t, dir, "", "cancel", "ext-1").want(t, exitConflict)

	id := question(t, dir, "post-1")
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"reject","text":"no"}`).want(t, 0, "completed")
	weftIn(t, dir, "", "stop", "post-1").want(t, exitConflict, "completed")
	weftIn(t, dir, "", "resume", "post-1").want(t, exitConflict)
	weftIn(t, dir, "", "stop", "nope").want(t, exitNotFound)
	weftIn(t, dir, "", "resume", "nope").want(t, exitNotFound)
	weftIn(t, dir, "", "cancel", "nope").want(t, exitNotFound)
}

// startServer runs weft with args, which serve HTTP, and returns the base
// URL it prints and a function that stops it with an interrupt and
// returns its exit code and output.
func startServer(t *testing.T, dir string, args ...string) (string, func() (int, string)) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("stops the server with an interrupt signal")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WEFT_") })
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var printed bytes.Buffer
	urls := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			printed.WriteString(line + "\n")
			if _, u, ok := strings.Cut(line, "http://"); ok && len(urls) == 0 {
				urls <- "http://" + strings.Fields(u)[0]
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	stop := func() (int, string) {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("the server did not stop on interrupt")
		}
		return cmd.ProcessState.ExitCode(), printed.String() + stderr.String()
	}
	select {
	case u := <-urls:
		return u, stop
	case <-exited:
		t.Fatalf("weft %v exited: %s\n%s", args, printed.String(), stderr.String())
	case <-time.After(time.Minute):
		stop()
		t.Fatalf("weft %v printed no URL: %s\n%s", args, printed.String(), stderr.String())
	}
	return "", nil
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	url, stop := startServer(t, dir, "demo", "--addr", "127.0.0.1:0", "--token", "s3cret-demo-token-1", "--store", "sqlite:demo.db")
	code, body := get(t, url+"v1/inbox", "s3cret-demo-token-1")
	var page inboxOut
	if err := json.Unmarshal(body, &page); code != http.StatusOK || err != nil || len(page.Items) != 8 {
		t.Errorf("GET /v1/inbox: %d %v %s", code, err, body)
	}
	if code, _ := get(t, url+"v1/inbox", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	if code, _ := get(t, url, ""); code >= 500 {
		t.Errorf("GET /: %d", code)
	}
	// The command line works on the demo's store while it serves.
	weftIn(t, dir, "", "inbox", "--store", "sqlite:demo.db").want(t, 0, "post-1", "agent-1")
	code, out := stop()
	if code != 0 || !strings.Contains(out, "token  s3cret-demo-token-1") || !strings.Contains(out, "started 6 threads; 8 questions waiting") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}

	// Again on the same store: nothing new while the seeded threads wait.
	_, stop = startServer(t, dir, "demo", "--addr", "127.0.0.1:0", "--store", "sqlite:demo.db")
	code, out = stop()
	if code != 0 || !strings.Contains(out, "started 0 threads; 8 questions waiting") || !strings.Contains(out, "token  ") {
		t.Errorf("second run: exit %d, output:\n%s", code, out)
	}
}

func TestServe(t *testing.T) {
	dir := fixture(t)
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tok-ann-0123456789": {"name": "ann", "roles": ["reviewer", "qa"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	weftIn(t, dir, "", "serve", "--tokens", "missing.json").want(t, exitError, "missing.json")
	url, stop := startServer(t, dir, "serve", "--addr", "127.0.0.1:0", "--tokens", tokens)
	code, body := get(t, url+"v1/inbox?assignee=qa", "tok-ann-0123456789")
	var page inboxOut
	if err := json.Unmarshal(body, &page); code != http.StatusOK || err != nil || len(page.Items) != 1 || page.Items[0].Thread != "ext-1" {
		t.Errorf("GET /v1/inbox: %d %v %s", code, err, body)
	}
	if code, out := stop(); code != 0 {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// waitRow polls the store in dir until thread's row satisfies ok, with a
// generous deadline, and returns it.
func waitRow(t *testing.T, dir, thread, what string, ok func(*checkpoint.Thread) bool) *checkpoint.Thread {
	t.Helper()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "weft.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(30 * time.Second)
	var row *checkpoint.Thread
	for time.Now().Before(deadline) {
		if row, err = store.Thread(context.Background(), thread); err == nil && ok(row) {
			return row
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("thread %s is not %s: %+v (%v)", thread, what, row, err)
	return nil
}

func TestServeWorker(t *testing.T) {
	dir := fixture(t)
	setup(t, dir, func(ctx context.Context, store *sqlitestore.Store, runners []weft.Runner) {
		// post-9: submitted; post-8: left running by a process that died
		// (its lease lapsed); long-1: a long job, submitted.
		for _, id := range []string{"post-9", "post-8"} {
			if err := runners[0].Submit(ctx, id, json.RawMessage(`{"Title":"Later"}`)); err != nil {
				t.Fatal(err)
			}
		}
		row, err := store.Thread(ctx, "post-8")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Claim(ctx, &checkpoint.Claim{ThreadID: "post-8", ExpectedVersion: row.Version, Owner: "dead", Lease: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		long := runners[len(runners)-1]
		if long.Name() != demo.Long {
			t.Fatalf("the last demo workflow is %s", long.Name())
		}
		if err := long.Submit(ctx, "long-1", json.RawMessage(`{"Seconds":600}`)); err != nil {
			t.Fatal(err)
		}
	})
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tok-0123456789abcdef": {"name": "ann", "roles": ["admin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stop := startServer(t, dir, "serve", "--demo", "--addr", "127.0.0.1:0", "--tokens", tokens, "--shutdown-timeout", "1s", "--slots", "4")

	// The server's worker runs the ready thread and takes over the dead
	// one, each to its question.
	for _, id := range []string{"post-9", "post-8"} {
		waitRow(t, dir, id, "interrupted", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusInterrupted })
	}
	running := waitRow(t, dir, "long-1", "running", func(r *checkpoint.Thread) bool {
		return r.Status == weft.StatusRunning && r.Owner != ""
	})

	// Stopped from here, it stops there at a heartbeat.
	weftIn(t, dir, "", "stop", "long-1").want(t, 0, "to stop it", "Thread long-1 is stopped.")
	waitRow(t, dir, "long-1", "stopped", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusStopped })
	// Resumed for the worker, it runs there again.
	weftIn(t, dir, "", "resume", "long-1", "--ready", "--no-wait").want(t, 0, "Thread long-1 is ready")
	waitRow(t, dir, "long-1", "running again", func(r *checkpoint.Thread) bool {
		return r.Status == weft.StatusRunning && r.Epoch > running.Epoch
	})

	// At the interrupt the server hands it back, ready for any worker.
	code, out := stop()
	if code != 0 || !strings.Contains(out, "Worker: runs the ready threads of") || !strings.Contains(out, "weft: stopped") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	row := waitRow(t, dir, "long-1", "ready", func(r *checkpoint.Thread) bool { return true })
	if row.Status != weft.StatusReady || row.Owner != "" {
		t.Errorf("after the server stopped: %+v", row)
	}
}

func TestServeNoWorker(t *testing.T) {
	dir := fixture(t)
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tok-0123456789abcdef": {"name": "ann", "roles": ["admin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	weftIn(t, dir, "", "serve", "--demo", "--tokens", tokens, "--slots", "0").want(t, exitUsage, "--slots")
	_, stop := startServer(t, dir, "serve", "--demo", "--worker=false", "--addr", "127.0.0.1:0", "--tokens", tokens)
	if code, out := stop(); code != 0 || !strings.Contains(out, "Worker: off") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	_, stop = startServer(t, dir, "serve", "--addr", "127.0.0.1:0", "--tokens", tokens)
	if code, out := stop(); code != 0 || !strings.Contains(out, "Worker: none") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// TestServeHandsBackRequests checks that a run a request started is handed
// back at its last checkpoint when the server stops, not orphaned.
func TestServeHandsBackRequests(t *testing.T) {
	dir := fixture(t)
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tok-0123456789abcdef": {"name": "ann", "roles": ["admin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	url, stop := startServer(t, dir, "serve", "--demo", "--worker=false", "--addr", "127.0.0.1:0", "--tokens", tokens, "--shutdown-timeout", "1s")
	replied := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url+"v1/workflows/demo-long/threads",
			strings.NewReader(`{"thread":"long-2","input":{"Seconds":600}}`))
		req.Header.Set("Authorization", "Bearer tok-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			replied <- 0
			return
		}
		resp.Body.Close()
		replied <- resp.StatusCode
	}()
	waitRow(t, dir, "long-2", "running", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusRunning })
	if code, out := stop(); code != 0 {
		t.Errorf("exit %d:\n%s", code, out)
	}
	<-replied
	row := waitRow(t, dir, "long-2", "stored", func(*checkpoint.Thread) bool { return true })
	if row.Status != weft.StatusReady || row.Owner != "" {
		t.Errorf("after the server stopped: %+v", row)
	}
}
