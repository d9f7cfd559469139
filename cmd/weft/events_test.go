package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// follow starts 'weft events THREAD --follow' in dir and returns once it
// has printed its first line; wait waits for it to exit and returns its
// exit code and output.
func follow(t *testing.T, dir string, args ...string) (wait func() (int, string), stop func()) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"events", "--follow", "--interval", "10ms"}, args...)...)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WEFT_") })
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var printed bytes.Buffer
	br := bufio.NewReader(out)
	first, err := br.ReadString('\n')
	printed.WriteString(first)
	if err != nil {
		cmd.Wait()
		t.Fatalf("events --follow printed no line: %v %s", err, stderr.String())
	}
	rest := make(chan struct{})
	go func() {
		io.Copy(&printed, br)
		close(rest)
	}()
	wait = func() (int, string) {
		t.Helper()
		done := make(chan struct{})
		go func() { <-rest; cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute): // a bound for a hang, not a timing
			cmd.Process.Kill()
			<-done
			t.Fatalf("events --follow did not end:\n%s\n%s", printed.String(), stderr.String())
		}
		return cmd.ProcessState.ExitCode(), printed.String() + stderr.String()
	}
	stop = func() { cmd.Process.Signal(os.Interrupt) }
	return wait, stop
}

var readOn = regexp.MustCompile(`To read on: weft events \S+ --after (\d+)`)

func TestEvents(t *testing.T) {
	dir := fixture(t)
	weftIn(t, dir, "", "events", "post-1").want(t, 0, "thread post-1 (demo-approval), interrupted",
		"step 1  draft  completed", "step 2  review  interrupted", "asked ", "assigned editors", "To read on: weft events post-1 --after 3")
	weftIn(t, dir, "", "events", "ext-1").want(t, 0, "ext-review", "step 1  check  interrupted", "assigned qa")
	weftIn(t, dir, "", "events", "nope").want(t, exitNotFound, `thread "nope": not found`)
	weftIn(t, dir, "", "events", "post-1", "--after", "-1").want(t, exitUsage)

	// --follow until the thread, driven here, completes.
	wait, _ := follow(t, dir, "post-1")
	id := question(t, dir, "post-1")
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"approve"}`, "--as", "ann").want(t, 0, "completed")
	code, out := wait()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, s := range []string{"step 1  draft", "asked " + id, "answered " + id + "  by ann via cli: {\"action\":\"approve\"}",
		"review  completed", "publish  completed", "thread completed", "To read on"} {
		if !strings.Contains(out, s) {
			t.Errorf("--follow output lacks %q:\n%s", s, out)
		}
	}
	if n := strings.Count(out, "answered "+id); n != 1 {
		t.Errorf("the answer is printed %d times:\n%s", n, out)
	}
	m := readOn.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no version to read on from:\n%s", out)
	}

	// Read on from there: nothing new. From version 3 (where it asked):
	// the answer and what followed, not the steps before.
	again := weftIn(t, dir, "", "events", "post-1", "--after", m[1]).want(t, 0, "--after "+m[1])
	if strings.Contains(again.stdout, "step ") || strings.Contains(again.stdout, "answered") {
		t.Errorf("--after %s repeats events:\n%s", m[1], again.stdout)
	}
	from3 := weftIn(t, dir, "", "events", "post-1", "--after", "3").want(t, 0, "answered "+id, "publish  completed")
	if strings.Contains(from3.stdout, "draft") || strings.Contains(from3.stdout, "asked") {
		t.Errorf("--after 3 repeats events:\n%s", from3.stdout)
	}
	// A completed thread: --follow prints and ends.
	weftIn(t, dir, "", "events", "post-1", "--follow").want(t, 0, "publish  completed", "To read on")

	// --json: one object a line.
	r := weftIn(t, dir, "", "events", "post-1", "--json").want(t, 0)
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e eventJSON
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		if e.Seq < 1 || e.At.IsZero() {
			t.Errorf("event %+v", e)
		}
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "step step asked answered step step" {
		t.Errorf("--json kinds: %s", got)
	}

	// Ctrl-C ends a --follow of a thread that waits, with exit code 0.
	if runtime.GOOS != "windows" {
		wait, stop := follow(t, dir, "essay-1")
		stop()
		if code, out := wait(); code != 0 || !strings.Contains(out, "To read on: weft events essay-1 --after") {
			t.Errorf("interrupted: exit %d:\n%s", code, out)
		}
	}
}
