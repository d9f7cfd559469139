package main

import (
	"bytes"
	"context"
	"testing"
)

func TestStop(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `run: stopped with {Fetched:true Batches:0 Finished:false}
thread: stopped, next [process]
stop again: thread "job-1" is stopped: weft: thread is not running
resume: completed with {Fetched:true Batches:3 Finished:true}
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
