package main

import (
	"bytes"
	"context"
	"testing"
)

func TestStream(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `  1 run_started 
  2 node_started generate
  3 custom generate "Thanks "
  4 custom generate "for "
  5 custom generate "writing "
  6 custom generate "in!"
  7 node_finished generate -> {Prompt:hello Text:Thanks for writing in! Sent:false}
  8 step_committed 
  9 node_started confirm
 10 interrupted: send this reply? "Thanks for writing in!"
-- answered
  1 answered confirm
  2 resumed 
  3 node_started confirm
  4 node_finished confirm -> {Prompt:hello Text:Thanks for writing in! Sent:true}
  5 step_committed 
  6 completed 
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
