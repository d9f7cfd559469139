package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/internal/pgtest"
)

func TestSchemaIsFreshAndDropped(t *testing.T) {
	pool := pgtest.Pool(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		name = pgtest.Schema(t)
		if !strings.HasPrefix(name, "weft_test_") {
			t.Fatalf("Schema() = %q, want a weft_test_ prefix", name)
		}
		var n int
		if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_tables WHERE schemaname = $1", name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("new schema %s has %d tables", name, n)
		}
	})
	var exists bool
	if err := pool.QueryRow(context.Background(), "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatalf("schema %s still exists after its test ended", name)
	}
}

func TestDatabase(t *testing.T) {
	u := pgtest.Database(t)
	conn, err := pgx.Connect(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var db string
	if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db, "weft_test_") {
		t.Fatalf("connected to %q, want a weft_test_ database", db)
	}
}

func TestNameIsUnique(t *testing.T) {
	a, b := pgtest.Name("x"), pgtest.Name("x")
	if a == b || len(a) != len("x_")+16 {
		t.Fatalf("Name: %q, %q", a, b)
	}
}

// TestUnreachable runs this test binary again against a port where no
// server listens: the test that needs a server is skipped, or fails when
// CI=true.
func TestUnreachable(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		pgtest.URL(t)
		t.Log("reached an unreachable server")
		return
	}
	for _, c := range []struct {
		ci   string
		want string
	}{{"", "--- SKIP"}, {"true", "--- FAIL"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachable$", "-test.v")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", "CI="+c.ci, pgtest.EnvURL+"=postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "pg_ctlcluster") {
			t.Errorf("CI=%q: want %q and how to start a server in:\n%s", c.ci, c.want, out)
		}
	}
}
