package webhook_test

import (
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/webhook"
)

// TestPayloadText checks the sentence of each event, and that it ends
// with the link when the sender knows the public URL, so that chat tools
// that show only the text show where to answer.
func TestPayloadText(t *testing.T) {
	due := time.Date(2025, 3, 1, 10, 30, 0, 0, time.UTC)
	asked := checkpoint.Event{Type: checkpoint.EventQuestionAsked, ThreadID: "r-42", Workflow: "refund",
		InterruptID: "q1", Node: "approve", Key: "refund_approval", Assignees: []string{"alice"}}
	cases := []struct {
		name      string
		event     checkpoint.Event
		publicURL string
		text      string
		link      string
	}{
		{"asked, with a link", asked, "https://weft.example.com/",
			"Refund approval needed on thread r-42 (assigned to alice): https://weft.example.com/inbox/r-42/q1",
			"https://weft.example.com/inbox/r-42/q1"},
		{"asked, under a path", asked, "https://weft.example.com/app",
			"Refund approval needed on thread r-42 (assigned to alice): https://weft.example.com/app/inbox/r-42/q1",
			"https://weft.example.com/app/inbox/r-42/q1"},
		{"asked, no public URL", asked, "",
			"Refund approval needed on thread r-42 (assigned to alice)", ""},
		{"asked of anyone, escaped ID", checkpoint.Event{Type: checkpoint.EventQuestionAsked, ThreadID: "r 7", InterruptID: "q1", Node: "review/sign_off"},
			"https://weft.example.com", "Sign off needed on thread r 7 (anyone may answer): https://weft.example.com/inbox/r%207/q1",
			"https://weft.example.com/inbox/r%207/q1"},
		{"deadline near", checkpoint.Event{Type: checkpoint.EventDeadlineNear, ThreadID: "r-42", InterruptID: "q1", Key: "refund_approval",
			Assignees: []string{"alice", "bob"}, Deadline: due}, "https://weft.example.com/",
			"Refund approval on thread r-42 is due 2025-03-01 10:30 UTC (assigned to alice and bob): https://weft.example.com/inbox/r-42/q1",
			"https://weft.example.com/inbox/r-42/q1"},
		{"answered", checkpoint.Event{Type: checkpoint.EventQuestionAnswered, ThreadID: "r-42", InterruptID: "q1", Key: "refund_approval",
			Author: "bob", Channel: checkpoint.ChannelUI}, "https://weft.example.com/",
			"Refund approval on thread r-42 was answered by bob: https://weft.example.com/inbox/r-42/q1",
			"https://weft.example.com/inbox/r-42/q1"},
		{"failed", checkpoint.Event{Type: checkpoint.EventThreadFailed, ThreadID: "r-42", Workflow: "refund", Error: "card\ndeclined"},
			"https://weft.example.com/", "Thread r-42 (refund) failed: carddeclined: https://weft.example.com/threads/r-42",
			"https://weft.example.com/threads/r-42"},
		{"failed, no public URL", checkpoint.Event{Type: checkpoint.EventThreadFailed, ThreadID: "r-42", Workflow: "refund", Error: "boom"},
			"", "Thread r-42 (refund) failed: boom", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := webhook.NewPayload(&c.event, c.publicURL)
			if p.Text != c.text || p.Link != c.link {
				t.Errorf("text %q, link %q\nwant %q, %q", p.Text, p.Link, c.text, c.link)
			}
		})
	}
}
