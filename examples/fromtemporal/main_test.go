package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestFromTemporal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatal(err)
	}
	want := `waiting for approved (assigned to [finance])
completed: reserved hold-120, approved true, paid true after 1 retry; bank called 2 times
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
