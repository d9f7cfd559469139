package langgraph_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/server"
	"github.com/weftgraph/weft/server/langgraph"
)

// sdkVersion is the @langchain/langgraph-sdk the JS test runs: the one
// testdata/npm pins, with its dependencies, in its package-lock.json.
const sdkVersion = "2.0.0"

// The tokens of the weft serve the JS test drives (see testdata/sdk.mjs).
var sdkTokens = map[string]map[string]any{
	"admin-token-0123456789":    {"name": "sdk-admin", "roles": []string{"admin"}},
	"viewer-token-0123456789":   {"name": "watcher", "roles": []string{"viewer"}},
	"reviewer-token-0123456789": {"name": "ed", "roles": []string{"reviewer", "editors"}},
}

// TestJSSDK builds the weft command, starts `weft serve --demo --langgraph
// /lg` on a fresh SQLite store as a real process, and runs
// testdata/sdk.mjs, which drives it with the LangGraph JS SDK from Node. It
// installs the SDK (npm ci of testdata/npm) into ~/.cache/weft-lgsdk (or
// $WEFT_LGSDK_DIR) when it is not there, and skips without go, node and
// npm, unless CI=true, where it fails.
func TestJSSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("the JS SDK test runs node; skipped with -short")
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	// The go that runs the test, else the one on the PATH.
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	_, errGo := os.Stat(goTool)
	if errGo != nil {
		goTool, errGo = exec.LookPath("go")
	}
	if err := errors.Join(errNode, errNpm, errGo); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the JS SDK test needs go, node and npm: %v", err)
		}
		t.Skipf("skipping the JS SDK test: go, node and npm are needed: %v", err)
	}
	dir := sdkDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := installSDK(ctx, t, npm, dir); err != nil {
		t.Fatal(err)
	}
	readSources(t)

	url, storePath := startServe(ctx, t, goTool)
	runCtx, cancelRun := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelRun()
	cmd := exec.CommandContext(runCtx, node, filepath.Join("testdata", "sdk.mjs"))
	cmd.Env = append(os.Environ(), "LG_API_URL="+url, "LGSDK_DIR="+dir,
		"LG_ADMIN_KEY=admin-token-0123456789", "LG_VIEWER_KEY=viewer-token-0123456789",
		"LG_REVIEWER_KEY=reviewer-token-0123456789")
	out, err := cmd.CombinedOutput()
	t.Logf("sdk.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("sdk.mjs: %v", err)
	}

	// The answers given through the API are in weft's audit trail, with
	// the principal of the token as their author.
	st, err := sqlitestore.Open(ctx, storePath, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	authors := map[string]int{}
	q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptAnswered}
	for {
		p, err := st.Interrupts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range p.Interrupts {
			if rec.Channel != checkpoint.ChannelAPI {
				t.Errorf("question %s answered through %q, want %q", rec.ID, rec.Channel, checkpoint.ChannelAPI)
			}
			authors[rec.Author]++
		}
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	// ed answered demo-approval once; sdk-admin one question of
	// demo-approval and three of demo-agent.
	if authors["ed"] != 1 || authors["sdk-admin"] != 4 || len(authors) != 2 {
		t.Errorf("authors of the answers = %v, want ed 1 and sdk-admin 4", authors)
	}
}

// TestJSSDKTyped runs testdata/typed.mjs, which drives the handler, here in
// the test process, over workflows wrapped with Runner with the JS SDK:
// state updates, copies, time travel, rollbacks. It installs and skips as
// TestJSSDK does.
func TestJSSDKTyped(t *testing.T) {
	if testing.Short() {
		t.Skip("the JS SDK test runs node; skipped with -short")
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if err := errors.Join(errNode, errNpm); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the JS SDK test needs node and npm: %v", err)
		}
		t.Skipf("skipping the JS SDK test: node and npm are needed: %v", err)
	}
	dir := sdkDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := installSDK(ctx, t, npm, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(filepath.Join("testdata", "typed.mjs")); err != nil { // for go test's cache
		t.Fatal(err)
	}
	store := sqlitestoreOpen(t)
	job := jobWorkflow(t, store)
	srv := httptest.NewServer(langgraph.New([]weft.Runner{langgraph.Runner(reviewGraph(t, store)), langgraph.Runner(job)}, store,
		langgraph.WithTokens(map[string]server.Principal{"typed-key-0123456789": {Name: "sdk", Roles: []string{server.RoleAdmin}}})))
	defer srv.Close()
	runCtx, cancelRun := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelRun()
	cmd := exec.CommandContext(runCtx, node, filepath.Join("testdata", "typed.mjs"))
	cmd.Env = append(os.Environ(), "LG_API_URL="+srv.URL, "LGSDK_DIR="+dir, "LG_API_KEY=typed-key-0123456789")
	out, err := cmd.CombinedOutput()
	t.Logf("typed.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("typed.mjs: %v", err)
	}
}

// sdkDir is where the SDK is installed: $WEFT_LGSDK_DIR, or
// ~/.cache/weft-lgsdk.
func sdkDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("WEFT_LGSDK_DIR"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "weft-lgsdk")
}

func sqlitestoreOpen(t *testing.T) checkpoint.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// startServe builds weft, migrates a SQLite store in a temporary directory
// and starts `weft serve --demo --langgraph /lg` on a free port; it returns
// the LangGraph API's URL once GET /ok answers, and stops the server (with
// SIGINT, as Ctrl-C) at the end of the test.
func startServe(ctx context.Context, t *testing.T, goTool string) (url, storePath string) {
	t.Helper()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "weft")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.CommandContext(ctx, goTool, append(args, "github.com/weftgraph/weft/cmd/weft")...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/weft: %v\n%s", err, out)
	}
	storePath = filepath.Join(tmp, "weft.db")
	store := "sqlite:" + storePath
	if out, err := exec.CommandContext(ctx, bin, "migrate", "--store", store).CombinedOutput(); err != nil {
		t.Fatalf("weft migrate: %v\n%s", err, out)
	}
	tokens := filepath.Join(tmp, "tokens.json")
	data, _ := json.Marshal(sdkTokens)
	if err := os.WriteFile(tokens, data, 0o600); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(bin, "serve", "--store", store, "--tokens", tokens, "--demo",
		"--langgraph", "/lg", "--addr", "127.0.0.1:0")
	serve.Stderr = testWriter{t, "serve stderr"}
	dieWithTest(serve)
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			t.Logf("serve: %s", line)
			if u, ok := strings.CutPrefix(line, "LangGraph API: "); ok {
				u, _, _ = strings.Cut(u, " ")
				// serve names localhost; it listens on 127.0.0.1, which
				// localhost may not resolve to first (::1).
				u = strings.Replace(u, "//localhost:", "//127.0.0.1:", 1)
				select {
				case found <- u:
				default:
				}
			}
		}
		exited <- serve.Wait()
	}()
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("weft serve exited: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = serve.Process.Kill()
			t.Errorf("weft serve did not stop within 30s of SIGINT")
		}
	})
	select {
	case url = <-found:
	case err := <-exited:
		t.Fatalf("weft serve exited before it served: %v", err)
	case <-ctx.Done():
		t.Fatal("weft serve did not print the LangGraph API's URL")
	}
	// Poll /ok (public) until it answers: the listener is open once the
	// line is printed, but poll all the same, with a generous deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/ok")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url, storePath
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s/ok: no answer in 30s (%v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testWriter logs what a process writes.
type testWriter struct {
	t    *testing.T
	name string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// readSources reads the module's Go sources and the script: the weft
// binary the test builds, and the script node runs, are made of them, and
// go test caches a result only as long as the files the test read stay the
// same.
func readSources(t *testing.T) {
	t.Helper()
	if _, err := os.ReadFile(filepath.Join("testdata", "sdk.mjs")); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// installSDK installs testdata/npm (the SDK at sdkVersion and everything
// it needs, pinned by the lockfile) into dir with npm ci, unless dir holds
// that lockfile's install already.
func installSDK(ctx context.Context, t *testing.T, npm, dir string) error {
	lock, err := os.ReadFile(filepath.Join("testdata", "npm", "package-lock.json"))
	if err != nil {
		return err
	}
	pkg, err := os.ReadFile(filepath.Join("testdata", "npm", "package.json"))
	if err != nil {
		return err
	}
	have, _ := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if installed(dir) == sdkVersion && bytes.Equal(have, lock) {
		return nil
	}
	t.Logf("installing @langchain/langgraph-sdk@%s (testdata/npm) into %s", sdkVersion, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), lock, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	if v := installed(dir); v != sdkVersion {
		return fmt.Errorf("npm installed @langchain/langgraph-sdk %q, want %s", v, sdkVersion)
	}
	return nil
}

// installed is the version of the SDK installed in dir, "" for none.
func installed(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", "@langchain", "langgraph-sdk", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(data, &pkg) != nil {
		return ""
	}
	return pkg.Version
}
