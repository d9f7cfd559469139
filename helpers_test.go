package weft_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// backends are the ways a workflow keeps threads; behavioural tests run on
// each.
var backends = map[string]func(t *testing.T) []weft.CompileOption{
	"nostore":  func(*testing.T) []weft.CompileOption { return nil },
	"memstore": func(*testing.T) []weft.CompileOption { return []weft.CompileOption{weft.WithStore(memstore.New())} },
}

func eachBackend(t *testing.T, fn func(t *testing.T, opts []weft.CompileOption)) {
	t.Helper()
	for name, mk := range backends {
		t.Run(name, func(t *testing.T) { fn(t, mk(t)) })
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func wantStatus[S any](t *testing.T, res *weft.Result[S], status weft.Status, questions int) {
	t.Helper()
	if res.Status != status || len(res.Interrupts) != questions {
		t.Fatalf("result: status %s with %d questions, want %s with %d (%+v)", res.Status, len(res.Interrupts), status, questions, res)
	}
}

var ctx = context.Background()
