package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// startDemo runs 'weft demo' with args in dir and returns what it printed
// up to "Stop with Ctrl-C." and a function that interrupts it and returns
// its exit code.
func startDemo(t *testing.T, dir string, args ...string) (string, func() int) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("stops the demo with an interrupt signal")
	}
	cmd := exec.Command(bin, append([]string{"demo", "--addr", "127.0.0.1:0"}, args...)...)
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
	var printed strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if sc.Text() == "Stop with Ctrl-C." {
			break
		}
	}
	if !strings.Contains(printed.String(), "Stop with Ctrl-C.") {
		cmd.Wait()
		t.Fatalf("weft demo %v exited:\n%s\n%s", args, printed.String(), stderr.String())
	}
	go io.Copy(io.Discard, out)
	stopped := false
	stop := func() int {
		if stopped {
			return cmd.ProcessState.ExitCode()
		}
		stopped = true
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("the demo did not stop on interrupt")
		}
		return cmd.ProcessState.ExitCode()
	}
	t.Cleanup(func() { stop() })
	return printed.String(), stop
}

// printedField returns the rest of the line that starts with label.
func printedField(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

func TestDemoToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "demo.db.token")

	out, stop := startDemo(t, dir, "--store", "sqlite:demo.db")
	stop()
	first := printedField(out, "token ")
	if len(first) < minToken || !strings.Contains(out, "kept in demo.db.token") {
		t.Fatalf("first run:\n%s", out)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}

	for _, tc := range []struct {
		name string
		args []string
		same bool   // the token of the run before
		want string // this token
	}{
		{"again", nil, true, ""},
		{"new", []string{"--new-token"}, false, ""},
		{"kept after new", nil, true, ""},
		{"given", []string{"--token", "a-token-of-my-own-1"}, false, "a-token-of-my-own-1"},
		{"kept after given", nil, true, "a-token-of-my-own-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(file)
			out, stop := startDemo(t, dir, append([]string{"--store", "sqlite:demo.db"}, tc.args...)...)
			if code := stop(); code != 0 {
				t.Errorf("exit %d", code)
			}
			tok := printedField(out, "token ")
			if (tok == strings.TrimSpace(string(before))) != tc.same || tc.want != "" && tok != tc.want {
				t.Errorf("token %q, the one before %q:\n%s", tok, before, out)
			}
			if kept, _ := os.ReadFile(file); strings.TrimSpace(string(kept)) != tok {
				t.Errorf("kept %q, printed %q", kept, tok)
			}
		})
	}
	weftIn(t, dir, "", "demo", "--store", "sqlite:demo.db", "--token", "x", "--new-token").want(t, exitUsage, "give one")
	weftIn(t, dir, "", "demo", "--store", "sqlite:demo.db", "--token", "short").want(t, exitUsage, "at least 16 bytes")
}

// TestDemoPrintedCommands runs the commands the demo prints, as printed,
// in a shell, while it runs.
func TestDemoPrintedCommands(t *testing.T) {
	dir := t.TempDir()
	out, stop := startDemo(t, dir, "--store", "sqlite:demo.db")
	var cmds []string
	if api := printedField(out, "API "); api != "" {
		cmds = append(cmds, api)
	}
	in := false
	for _, line := range strings.Split(out, "\n") {
		s := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(s, "CLI "); ok {
			in, s = true, strings.TrimSpace(rest)
		}
		if in && strings.HasPrefix(s, "weft ") {
			cmds = append(cmds, s)
		} else if in && s == "" {
			in = false
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("the demo printed %d commands:\n%s", len(cmds), out)
	}
	path := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")
	for _, line := range cmds {
		if strings.HasPrefix(line, "curl ") {
			if _, err := exec.LookPath("curl"); err != nil {
				continue
			}
			line = strings.Replace(line, "curl ", "curl -sf ", 1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "WEFT_") || strings.HasPrefix(kv, "PATH=")
		}), "PATH="+path)
		data, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, data)
			continue
		}
		switch {
		case strings.HasPrefix(line, "curl"):
			if !strings.Contains(string(data), `"items"`) {
				t.Errorf("%s:\n%s", line, data)
			}
		case strings.HasPrefix(line, "weft inbox"):
			if !strings.Contains(string(data), "post-1") {
				t.Errorf("%s:\n%s", line, data)
			}
		case strings.HasPrefix(line, "weft events"):
			// The demo's worker ran long-1 to its end.
			if !strings.Contains(string(data), "thread completed") && !strings.Contains(string(data), "finish  completed") {
				t.Logf("%s:\n%s", line, data)
			}
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("demo exit %d", code)
	}
	weftIn(t, dir, "", "threads", "--status", "completed", "--store", "sqlite:demo.db").want(t, 0, "long-1")
}
