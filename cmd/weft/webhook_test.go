package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/webhook"
)

const hookSecret = "cli-webhook-secret-0123456789"

// hookReceiver is a real HTTP receiver that verifies deliveries and keeps
// their payloads, once per Weft-Delivery.
type hookReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []webhook.Payload
	seen map[string]int
	bad  []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := webhook.VerifyRequest(req, hookSecret, 0)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.bad = append(r.bad, err.Error())
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			r.bad = append(r.bad, err.Error())
			return
		}
		if r.seen[p.ID]++; r.seen[p.ID] == 1 {
			r.got = append(r.got, p)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait returns the first payload that matches ok, polling with a
// generous deadline.
func (r *hookReceiver) wait(t *testing.T, what string, ok func(webhook.Payload) bool) webhook.Payload {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, p := range r.got {
			if ok(p) {
				r.mu.Unlock()
				return p
			}
		}
		bad := r.bad
		r.mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("the receiver refused deliveries: %v", bad)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no %s among %+v", what, r.got)
	return webhook.Payload{}
}

// TestServeWebhook: weft serve --webhook delivers, signed, the question a
// program asked on the store and the answer given with weft answer (whose
// store the command opens with the outbox on, as it is in use); the link
// of a question opens its page on the server.
func TestServeWebhook(t *testing.T) {
	dir := fixture(t)
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "weft.db"), sqlitestore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := extWorkflow(t, store).Run(ctx, "ext-2", Ext{Doc: "plan.md"})
	store.Close()
	if err != nil || !res.Paused() {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	tokens := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tokens, []byte(`{"tok-0123456789abcdef": {"name": "ann", "roles": ["admin"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := newHookReceiver(t)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook", rcv.srv.URL}, "needs a secret"},
		{[]string{"--webhook", rcv.srv.URL, "--webhook-secret", "short"}, "at least 16 bytes"},
		{[]string{"--webhook", "ftp://example.com/x", "--webhook-secret", hookSecret}, "http or https"},
		{[]string{"--webhook", rcv.srv.URL, "--webhook-secret", hookSecret, "--webhook-events", "question.lost"}, "unknown event"},
		{[]string{"--webhook-secret", hookSecret}, "need --webhook"},
		{[]string{"--webhook", rcv.srv.URL, "--webhook-secret", hookSecret, "--public-url", "weft.example.com"}, "--public-url"},
	} {
		weftIn(t, dir, "", append([]string{"serve", "--tokens", tokens}, tc.args...)...).want(t, exitUsage, tc.want)
	}

	url, stop := startServer(t, dir, "serve", "--demo", "--addr", "127.0.0.1:0", "--tokens", tokens,
		"--webhook", rcv.srv.URL+"/weft", "--webhook-secret", hookSecret, "--shutdown-timeout", "1s")
	asked := rcv.wait(t, "question.asked of ext-2", func(p webhook.Payload) bool {
		return p.Event == checkpoint.EventQuestionAsked && p.Thread == "ext-2"
	})
	if asked.Question == nil || asked.Question.ID != res.Interrupts[0].ID || asked.Text != "Check needed on thread ext-2 (assigned to qa): "+asked.Link ||
		asked.Link != url+"inbox/ext-2/"+res.Interrupts[0].ID {
		t.Errorf("question.asked = %+v (question %+v), served at %s", asked, asked.Question, url)
	}
	if code, body := loginAndGet(t, url, "tok-0123456789abcdef", asked.Link); code != http.StatusOK || !strings.Contains(body, "plan.md") {
		t.Errorf("GET %s after logging in: %d\n%.300s", asked.Link, code, body)
	}

	// An answer given with the command line is reported too.
	id := question(t, dir, "post-1")
	weftIn(t, dir, "", "answer", "post-1", id, `{"action":"approve"}`, "--no-wait").want(t, 0)
	answered := rcv.wait(t, "question.answered of post-1", func(p webhook.Payload) bool {
		return p.Event == checkpoint.EventQuestionAnswered && p.Thread == "post-1"
	})
	if answered.AnsweredBy != "tester" || answered.Channel != checkpoint.ChannelCLI || answered.Question == nil || answered.Question.ID != id {
		t.Errorf("question.answered = %+v", answered)
	}
	code, out := stop()
	if code != 0 || !strings.Contains(out, "Webhooks: 1 receiver(s), links to "+url) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, hookSecret) {
		t.Errorf("the output shows the secret:\n%s", out)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for id, n := range rcv.seen {
		if n != 1 {
			t.Errorf("delivery %s received %d times", id, n)
		}
	}
}

// TestWebhookFlags checks the flags' values, the secret from the
// environment included, without a server.
func TestWebhookFlags(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == envWebhookSecret {
				return v
			}
			return ""
		}
	}
	o := webhookOpts{urls: []string{"https://a.example.com/x", "http://b.example.com/y"}, events: "question.asked, deadline.near",
		workflows: "refund", assignees: "alice,,bob", publicURL: "https://weft.example.com/", window: time.Minute}
	cfg, err := o.config(env(hookSecret))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hooks) != 2 || cfg.Hooks[1].Secret != hookSecret || strings.Join(cfg.Hooks[0].Events, "|") != "question.asked|deadline.near" ||
		strings.Join(cfg.Hooks[1].Assignees, "|") != "alice|bob" || cfg.Hooks[0].Workflows[0] != "refund" || cfg.DeadlineWindow != time.Minute ||
		cfg.PublicURL != "https://weft.example.com/" {
		t.Errorf("config = %+v", cfg)
	}
	// The flag wins over the environment; a short one is refused wherever
	// it comes from.
	o.secret = "flag-secret-0123456789"
	if cfg, err := o.config(env(hookSecret)); err != nil || cfg.Hooks[0].Secret != o.secret {
		t.Errorf("with --webhook-secret: %+v, %v", cfg, err)
	}
	o.secret = ""
	if _, err := o.config(env("too-short")); err == nil {
		t.Error("a short secret from the environment was accepted")
	}
	if cfg, err := (&webhookOpts{}).config(env(hookSecret)); err != nil || len(cfg.Hooks) != 0 {
		t.Errorf("no --webhook: %+v, %v", cfg, err)
	}
}

// loginAndGet logs in to the server at base with token, as a browser
// does, with link as the page to go to, and returns where it landed.
func loginAndGet(t *testing.T, base, token, link string) (int, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	res, err := client.Get(base + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	u, err := neturl.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	res, err = client.PostForm(base+"login", neturl.Values{"csrf": {string(m[1])}, "token": {token}, "next": {u.EscapedPath()}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.Request.URL.Path != u.Path {
		t.Errorf("logged in, landed on %s, want %s", res.Request.URL, link)
	}
	return res.StatusCode, string(body)
}

// TestAnswerReportsWhenOutboxUsed: weft answer records no event on a
// store whose outbox was never used, and records one once it has been.
func TestAnswerReportsWhenOutboxUsed(t *testing.T) {
	dir := fixture(t)
	path := filepath.Join(dir, "weft.db")
	events := func() []checkpoint.Event {
		t.Helper()
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		es, err := s.Events(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	weftIn(t, dir, "", "answer", "post-1", question(t, dir, "post-1"), `{"action":"approve"}`).want(t, 0)
	if es := events(); len(es) != 0 {
		t.Fatalf("events after an answer on a store whose outbox is unused: %+v", es)
	}
	// A sender's store (or any with the outbox on) leaves an event.
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(context.Background(), &checkpoint.Event{Type: checkpoint.EventThreadFailed, ThreadID: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	id := question(t, dir, "ext-1")
	weftIn(t, dir, "", "answer", "ext-1", id, "true", "--no-wait").want(t, 0)
	es := events()
	if len(es) != 2 || es[1].Type != checkpoint.EventQuestionAnswered || es[1].ThreadID != "ext-1" || es[1].InterruptID != id ||
		es[1].Author != "tester" || es[1].Channel != checkpoint.ChannelCLI {
		t.Fatalf("events after weft answer on a store whose outbox is used: %+v", es)
	}
}
