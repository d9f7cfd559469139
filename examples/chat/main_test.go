package main

import (
	"bytes"
	"context"
	"testing"
)

func TestChat(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `alice> hello
bot> (turn 1) you said "HELLO"
bob> hi there
bot> (turn 1) you said "HI THERE"
alice> tell me more
bot> (turn 2) you said "TELL ME MORE"
alice> bye
[alice ended after 5 messages]
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
