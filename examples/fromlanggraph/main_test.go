package main

import (
	"bytes"
	"context"
	"testing"
)

func TestFromLangGraph(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	want := `paused: tool asks approve-search
paused: tool asks approve-email
after one answer: interrupted, 1 question left
after the edit: interrupted, 2 questions
completed: [email: refused search: done]
history: newest loop (step 4), 5 checkpoints
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
