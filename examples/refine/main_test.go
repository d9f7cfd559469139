package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/weftgraph/weft"
)

func TestRefine(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `review {"draft":"v1: durable workflows in Go","version":1} -> edit add an example
review {"draft":"v2: durable workflows in Go (add an example)","version":2} -> reject 
review {"draft":"v3: durable workflows in Go","version":3} -> edit shorter
review {"draft":"v4: durable workflows in Go (shorter)","version":4} -> approve 
completed after 4 drafts: v4: durable workflows in Go (shorter)
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRefineRefusesUnknownAction(t *testing.T) {
	wf, err := build()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := wf.Run(ctx, "t", Review{Topic: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, Decision{Action: "shrug"}))
	if !errors.Is(err, weft.ErrInvalidAnswer) {
		t.Fatalf("err = %v, want ErrInvalidAnswer", err)
	}
}
