package main

import (
	"bytes"
	"context"
	"testing"
)

func TestEscalation(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `ticket-1: billing (0.97) 
ticket-2: bug (0.91) 
ticket-3 escalated to [support-leads]: low confidence (0.35) {"confidence":0.35,"guess":"other","text":"do you ship to Mars?"}
ticket-3: other (0.35) human
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
