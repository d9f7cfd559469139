package main

import (
	"bytes"
	"context"
	"testing"
)

func TestTools(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `asks call#0 (weather): {"call":{"tool":"weather","arg":"Lisbon"},"cost":6}
asks call#1 (calendar): {"call":{"tool":"calendar","arg":"Friday"},"cost":6}
asks call#2 (email): {"call":{"tool":"email","arg":"boss@example.com"},"cost":16}
answered email: interrupted, 2 questions left
answered weather: interrupted, 1 questions left
answered calendar: completed, 0 questions left
Based on calendar: free on Friday; email: rejected (not on a Friday); weather: sunny in Lisbon
ran: weather 1 calendar 1 email 0
estimated: weather 1 calendar 1 email 1
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
