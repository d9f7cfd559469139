package main

import (
	"bytes"
	"context"
	"testing"
)

func TestApproval(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `paused at approval: publish this draft? {"draft":"Blog post about: Go generics"}
completed: Published (approved: looks great): Blog post about: Go generics
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
