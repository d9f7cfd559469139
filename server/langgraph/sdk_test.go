package langgraph_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server/langgraph"
)

// sdkVersion is the @langchain/langgraph-sdk the JS test runs, pinned.
const sdkVersion = "1.15.0"

// TestJSSDK runs testdata/sdk.mjs, which drives the handler with the
// LangGraph JS SDK. It installs the SDK into ~/.cache/weft-lgsdk (or
// $WEFT_LGSDK_DIR) when it is not there, and skips without node and npm,
// unless CI=true, where it fails.
func TestJSSDK(t *testing.T) {
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
	dir := os.Getenv("WEFT_LGSDK_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "weft-lgsdk")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if installed(dir) != sdkVersion {
		t.Logf("installing @langchain/langgraph-sdk@%s into %s", sdkVersion, dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund",
			"@langchain/langgraph-sdk@"+sdkVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm install: %v\n%s", err, out)
		}
		if v := installed(dir); v != sdkVersion {
			t.Fatalf("npm installed @langchain/langgraph-sdk %q, want %s", v, sdkVersion)
		}
	}

	store := memstore.New()
	h := langgraph.New([]weft.Runner{langgraph.Runner(reviewGraph(t, store))}, store,
		langgraph.WithAuth(func(r *http.Request) (string, error) {
			if r.Header.Get("X-Api-Key") != "test-key" {
				return "", errors.New("invalid API key")
			}
			return "sdk", nil
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	runCtx, cancelRun := context.WithTimeout(ctx, time.Minute)
	defer cancelRun()
	cmd := exec.CommandContext(runCtx, node, filepath.Join("testdata", "sdk.mjs"))
	cmd.Env = append(os.Environ(), "LG_API_URL="+srv.URL, "LG_API_KEY=test-key", "LGSDK_DIR="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("sdk.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("sdk.mjs: %v", err)
	}
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
