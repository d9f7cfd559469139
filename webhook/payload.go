package webhook

import (
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/weftgraph/weft/checkpoint"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	// ID is the event's ID, as in the Weft-Delivery header.
	ID string `json:"id"`
	// Event is the event's type, as in the Weft-Event header.
	Event string `json:"event"`
	// CreatedAt is when the event was recorded.
	CreatedAt time.Time `json:"created_at"`
	// Thread and Workflow name the thread.
	Thread   string `json:"thread"`
	Workflow string `json:"workflow"`
	// Question is the question the event is about (none for
	// thread.failed), as it was when the event was recorded.
	Question *Question `json:"question,omitempty"`
	// AnsweredBy and Channel say who answered and how (question.answered).
	AnsweredBy string `json:"answered_by,omitempty"`
	Channel    string `json:"channel,omitempty"`
	// Error is why the thread failed (thread.failed).
	Error string `json:"error,omitempty"`
	// Text is one sentence for a person, for chat tools, ending with Link
	// when there is one, so that a tool that shows only the text (Slack's
	// and Teams' incoming webhooks) shows where to answer: "Refund
	// approval needed on thread r-42 (assigned to alice):
	// https://weft.example.com/inbox/r-42/q-1f3a".
	Text string `json:"text"`
	// Link is the page of the question in the web inbox (of the thread,
	// for thread.failed), if the sender knows the public URL.
	Link string `json:"link,omitempty"`
}

// Question is a question as a payload describes it.
type Question struct {
	ID        string     `json:"id"`
	Node      string     `json:"node"`
	Key       string     `json:"key,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Assignees []string   `json:"assignees"`
	Deadline  *time.Time `json:"deadline,omitempty"`
}

// NewPayload returns the payload of event e; publicURL, if not empty, is
// the base URL of the web inbox (server.Server's pages), from which Link
// is made.
func NewPayload(e *checkpoint.Event, publicURL string) *Payload {
	p := &Payload{ID: e.ID, Event: e.Type, CreatedAt: e.CreatedAt.UTC(), Thread: e.ThreadID, Workflow: e.Workflow, Error: e.Error}
	if e.InterruptID != "" {
		q := &Question{ID: e.InterruptID, Node: e.Node, Key: e.Key, Reason: e.Reason, Assignees: e.Assignees}
		if q.Assignees == nil {
			q.Assignees = []string{}
		}
		if !e.Deadline.IsZero() {
			d := e.Deadline.UTC()
			q.Deadline = &d
		}
		p.Question = q
	}
	if e.Type == checkpoint.EventQuestionAnswered {
		p.AnsweredBy, p.Channel = e.Author, e.Channel
	}
	p.Link = link(publicURL, e)
	p.Text = text(e)
	if p.Link != "" {
		p.Text += ": " + p.Link
	}
	return p
}

// link is the page of the question (/inbox/{thread}/{interrupt}, the
// server's question page) or of the thread (/threads/{id}).
func link(base string, e *checkpoint.Event) string {
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	var p, raw string
	if e.InterruptID != "" {
		p = path.Join(u.Path, "inbox", e.ThreadID, e.InterruptID)
		raw = strings.TrimSuffix(u.EscapedPath(), "/") + "/inbox/" + url.PathEscape(e.ThreadID) + "/" + url.PathEscape(e.InterruptID)
	} else {
		p = path.Join(u.Path, "threads", e.ThreadID)
		raw = strings.TrimSuffix(u.EscapedPath(), "/") + "/threads/" + url.PathEscape(e.ThreadID)
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p, raw, "", ""
	return u.String()
}

// text is the event's sentence.
func text(e *checkpoint.Event) string {
	what := title(e)
	thread := "thread " + clean(e.ThreadID)
	var s string
	switch e.Type {
	case checkpoint.EventQuestionAsked:
		s = what + " needed on " + thread + " (" + assigned(e.Assignees) + ")"
	case checkpoint.EventDeadlineNear:
		s = what + " on " + thread + " is due " + e.Deadline.UTC().Format("2006-01-02 15:04 MST") + " (" + assigned(e.Assignees) + ")"
	case checkpoint.EventQuestionEscalated:
		if len(e.Assignees) == 0 {
			s = what + " on " + thread + " was escalated (anyone may answer)"
		} else {
			s = what + " on " + thread + " was escalated to " + list(e.Assignees)
		}
	case checkpoint.EventQuestionAnswered:
		by := clean(e.Author)
		if by == "" {
			by = "someone"
		}
		s = what + " on " + thread + " was answered by " + by
		if e.Channel == checkpoint.ChannelDeadline {
			s = what + " on " + thread + " was answered by its deadline's fallback"
		}
	case checkpoint.EventThreadFailed:
		s = "Thread " + clean(e.ThreadID)
		if e.Workflow != "" {
			s += " (" + clean(e.Workflow) + ")"
		}
		s += " failed"
		if e.Error != "" {
			s += ": " + shorten(clean(e.Error), 200)
		}
	default:
		s = clean(e.Type) + " on " + thread
	}
	return s
}

// title names the question for a person: its key, else the last part of
// its node path, as words with a capital ("refund_approval" → "Refund
// approval").
func title(e *checkpoint.Event) string {
	name := e.Key
	if name == "" {
		name = e.Node[strings.LastIndexByte(e.Node, '/')+1:]
	}
	name = strings.Join(strings.FieldsFunc(clean(name), func(r rune) bool { return r == '_' || r == '-' || r == ' ' || r == '.' }), " ")
	if name == "" {
		return "A question"
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return shorten(string(r), 80)
}

func assigned(as []string) string {
	if len(as) == 0 {
		return "anyone may answer"
	}
	return "assigned to " + list(as)
}

// list is "a", "a and b", "a, b and c".
func list(as []string) string {
	cs := make([]string, len(as))
	for i, a := range as {
		cs[i] = clean(a)
	}
	if len(cs) == 1 {
		return cs[0]
	}
	return strings.Join(cs[:len(cs)-1], ", ") + " and " + cs[len(cs)-1]
}

// clean drops control characters (newlines included), which would break
// the sentence or a chat tool's formatting.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
