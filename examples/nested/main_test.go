package main

import (
	"bytes"
	"context"
	"testing"
)

func TestNested(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `paused at inner/approval: approve this refund? {"amount":40,"note":"refund of 40 checked"}
inside inner: {Amount:40 Approved:false Note:refund of 40 checked}, next [approval]
completed: refunded
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
