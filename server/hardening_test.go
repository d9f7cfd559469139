package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// offSite reports whether a browser that follows loc from base lands on
// another origin. Browsers drop tabs and newlines and read backslashes as
// slashes, so do that first.
func offSite(t *testing.T, base, loc string) bool {
	t.Helper()
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(loc)
	if err != nil {
		return true
	}
	return u.Scheme != b.Scheme || u.Host != b.Host
}

var openRedirects = []string{
	"//evil.example/",
	"///evil.example/",
	`/\evil.example/`,
	`\\evil.example/`,
	`/\/evil.example/`,
	"/\t/evil.example/",
	"/\n/evil.example/",
	"/\r\n/evil.example/",
	"/%09/evil.example/",
	"/%0a/evil.example/",
	"/%2F%2Fevil.example/",
	"/%2f/evil.example/",
	"%2F%2Fevil.example/",
	"/%5C/evil.example/",
	"/%5c%5cevil.example/",
	"/./\t/evil.example",
	"/inbox/../\t/evil.example",
	"https://evil.example/",
	"http:evil.example",
	"//user@evil.example",
	"https:/evil.example",
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	" javascript:alert(1)",
	"evil.example",
	"inbox",
	"/\x00/evil.example",
	"/\xff/evil.example",
	"",
}

func TestSafeNext(t *testing.T) {
	for _, next := range openRedirects {
		if got := safeNext(next); got != defaultNext {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, defaultNext)
		}
	}
	for next, want := range map[string]string{
		"/inbox":                   "/inbox",
		"/inbox?workflow=review":   "/inbox?workflow=review",
		"/inbox/t-1/q-2":           "/inbox/t-1/q-2",
		"/inbox/team%20a%2F42/q":   "/inbox/team%20a%2F42/q",
		"/inbox/a/../t-1/q":        "/inbox/t-1/q",
		"/inbox/":                  "/inbox/",
		"/..//evil.example":        "/evil.example",
		"/.//evil.example":         "/evil.example",
		"/\u2028/x":                "/%E2%80%A8/x",
		"/inbox?next=//evil.examp": "/inbox?next=//evil.examp",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestLoginNeverRedirectsOffSite follows next through the login form and
// through /login when already logged in.
func TestLoginNeverRedirectsOffSite(t *testing.T) {
	e := newEnv(t)
	for _, next := range openRedirects {
		b := e.browser()
		_, page := b.get("/login?next=" + url.QueryEscape(next))
		res, body := b.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"ann-token-for-tests"}, "next": {next}})
		if !utf8.ValidString(next) { // refused as a form
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("login with next %q: %d %s", next, res.StatusCode, body)
			}
			b.login("ann-token-for-tests")
		} else if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != defaultNext || offSite(t, e.ts.URL, loc) {
			t.Errorf("login with next %q: %d to %q", next, res.StatusCode, loc)
		}
		// Logged in, /login?next= redirects at once.
		res, _ = b.get("/login?next=" + url.QueryEscape(next))
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != defaultNext || offSite(t, e.ts.URL, loc) {
			t.Errorf("GET /login?next=%q: %d to %q", next, res.StatusCode, loc)
		}
		// The raw query, as an attacker writes it into a link.
		if strings.ContainsFunc(next, func(r rune) bool { return r < ' ' }) {
			continue // not sendable raw
		}
		res, _ = b.get("/login?next=" + next)
		if loc := res.Header.Get("Location"); offSite(t, e.ts.URL, loc) {
			t.Errorf("GET /login?next=%s (raw): to %q", next, loc)
		}
	}
	// The raw form from the brief.
	b := e.browser()
	b.login("ann-token-for-tests")
	res, _ := b.get("/login?next=/%09/evil.example/")
	if loc := res.Header.Get("Location"); loc != defaultNext {
		t.Errorf("/login?next=/%%09/evil.example/: to %q", loc)
	}
}

func TestStartRefusesBadThreadIDs(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{".", "..", "a/b", "/", "a/", "/a", "../x", "a\x00b", "a\tb", "a\nb", "a\x7fb", strings.Repeat("x", maxThreadID+1)} {
		ej := e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests",
			map[string]any{"thread": id, "input": Review{Topic: "x"}}, http.StatusBadRequest, CodeBadRequest)
		if !strings.Contains(ej.Error, "thread ID") {
			t.Errorf("thread %q: message %q does not say what is wrong", id, ej.Error)
		}
		if _, err := e.store.Thread(t.Context(), id); err == nil {
			t.Errorf("thread %q was created", id)
		}
	}
	// Dots and other punctuation inside an ID are fine.
	for _, id := range []string{"...", ".a", "a..b", "team a:42?x", "é"} {
		e.start("review", id, Review{Topic: "x"})
	}
}

// TestStartUnderAnotherWorkflow: a thread of one workflow cannot be
// started (or given a new turn) under another, and nothing changes.
func TestStartUnderAnotherWorkflow(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("review", "s1", Review{Topic: "Go"}) // completed: Run would start a new turn
	e.json("POST", "/v1/threads/s1/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{e.pending("s1"): Verdict{Action: "approve"}}}, http.StatusOK, nil)
	for _, c := range []struct{ workflow, thread string }{
		{"expense", "r1"}, {"pair", "r1"}, {"expense", "s1"}, {"slow", "s1"},
	} {
		before, _ := e.store.Thread(t.Context(), c.thread)
		steps, _ := e.store.Steps(t.Context(), c.thread, 0)
		ej := e.apiErr("POST", "/v1/workflows/"+c.workflow+"/threads", "admin-token-for-tests",
			map[string]any{"thread": c.thread}, http.StatusConflict, CodeWrongWorkflow)
		if !strings.Contains(ej.Error, before.Workflow) {
			t.Errorf("%s under %s: message %q does not name the thread's workflow", c.thread, c.workflow, ej.Error)
		}
		after, _ := e.store.Thread(t.Context(), c.thread)
		steps2, _ := e.store.Steps(t.Context(), c.thread, 0)
		if after.Workflow != before.Workflow || after.Head != before.Head || after.Status != before.Status || len(steps2) != len(steps) {
			t.Errorf("%s under %s: thread changed: %+v, was %+v", c.thread, c.workflow, after, before)
		}
	}
}

// TestConcurrentAnswersLosersAlreadyAnswered: of many concurrent answers
// to one question, exactly one is recorded and reported as a success; the
// others get 409 already_answered, never busy.
func TestConcurrentAnswersLosersAlreadyAnswered(t *testing.T) {
	for round := range 5 {
		e := newEnv(t)
		thread := fmt.Sprintf("r%d", round)
		e.start("review", thread, Review{Topic: "Go"})
		q := e.pending(thread)
		const n = 16
		type reply struct {
			status int
			body   []byte
		}
		replies := make([]reply, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				res, body := e.do("POST", "/v1/threads/"+thread+"/answers", "ann-token-for-tests",
					map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}})
				replies[i] = reply{res.StatusCode, body}
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, r := range replies {
			switch r.status {
			case http.StatusOK, http.StatusAccepted:
				won++
				var res resultJSON
				if err := json.Unmarshal(r.body, &res); err != nil || res.Thread != thread || res.Status == "" {
					t.Errorf("success without the thread's status: %s", r.body)
				}
			case http.StatusConflict:
				var ej errorJSON
				if json.Unmarshal(r.body, &ej) != nil || ej.Code != CodeAlreadyAnswered {
					t.Errorf("loser: %d %s, want 409 %s", r.status, r.body, CodeAlreadyAnswered)
				}
			default:
				t.Errorf("status %d: %s", r.status, r.body)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d answers succeeded, want 1", round, won)
		}
		var audit []entryJSON
		e.json("GET", "/v1/threads/"+thread+"/audit", "ann-token-for-tests", nil, http.StatusOK, &audit)
		if len(audit) != 1 || audit[0].Status != checkpoint.InterruptAnswered || audit[0].Author != "ann" {
			t.Errorf("audit %+v", audit)
		}
	}
}

// TestConcurrentWebAnswers: the same through the web inbox: one answer
// wins (a redirect to the question), the others see 409 on the page.
func TestConcurrentWebAnswers(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	const n = 16
	codes := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		b := e.browser()
		csrf := b.login("ann-token-for-tests")
		wg.Go(func() {
			<-start
			res, body := b.post(questionURL("r1", q), url.Values{"csrf": {csrf}, "answer.action": {`"approve"`}})
			codes[i], bodies[i] = res.StatusCode, body
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, c := range codes {
		switch c {
		case http.StatusSeeOther:
			won++
		case http.StatusConflict:
			if strings.Contains(bodies[i], "busy") {
				t.Errorf("loser told the thread is busy: %s", bodies[i])
			}
		default:
			t.Errorf("status %d: %s", c, bodies[i])
		}
	}
	if won != 1 {
		t.Errorf("%d answers won (%v), want 1", won, codes)
	}
}

// claimElsewhere makes the thread run in another (pretend) process.
func (e *env) claimElsewhere(thread string) {
	e.t.Helper()
	row, err := e.store.Thread(e.t.Context(), thread)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.store.Claim(e.t.Context(), &checkpoint.Claim{ThreadID: thread, ExpectedVersion: row.Version,
		Owner: "another-process", Lease: time.Hour}); err != nil {
		e.t.Fatal(err)
	}
}

// TestAnswerToThreadRunningElsewhere: an answer recorded to a thread that
// runs in another process (a *weft.AnsweredError wrapping ErrBusy) is a
// success, 202 with the thread's status; a second answer is 409
// already_answered.
func TestAnswerToThreadRunningElsewhere(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	e.claimElsewhere("r1")
	body := map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}
	res, data := e.do("POST", "/v1/threads/r1/answers", "ann-token-for-tests", body)
	var out resultJSON
	if res.StatusCode != http.StatusAccepted || json.Unmarshal(data, &out) != nil || out.Thread != "r1" || out.Status != weft.StatusRunning {
		t.Fatalf("answer: %d %s, want 202 with status running", res.StatusCode, data)
	}
	if loc := res.Header.Get("Location"); loc != "/v1/threads/r1" {
		t.Errorf("Location %q", loc)
	}
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", body, http.StatusConflict, CodeAlreadyAnswered)
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "ann-token-for-tests", nil, http.StatusOK, &audit)
	if len(audit) != 1 || audit[0].Status != checkpoint.InterruptAnswered || audit[0].Author != "ann" {
		t.Errorf("audit %+v", audit)
	}

	// Through the web inbox: the answer goes back to the question's page.
	e.start("review", "r2", Review{Topic: "Go"})
	q2 := e.pending("r2")
	e.claimElsewhere("r2")
	b := e.browser()
	csrf := b.login("ann-token-for-tests")
	res, page := b.post(questionURL("r2", q2), url.Values{"csrf": {csrf}, "answer.action": {`"approve"`}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != questionURL("r2", q2) {
		t.Errorf("web answer: %d %s", res.StatusCode, page)
	}
	res, page = b.post(questionURL("r2", q2), url.Values{"csrf": {csrf}, "answer.action": {`"reject"`}})
	if res.StatusCode != http.StatusConflict || strings.Contains(page, "busy") {
		t.Errorf("second web answer: %d %s", res.StatusCode, page)
	}
}

func TestNewRefusesShortTokens(t *testing.T) {
	ib := inbox.New(memstore.New(), nil)
	for _, tok := range []string{"zq", "s3cret", "fifteen-bytes!!", strings.Repeat("a", MinTokenLen-1)} {
		_, err := New(ib, WithTokens(map[string]Principal{tok: {Name: "ann", Roles: []string{RoleAdmin}}}))
		if err == nil {
			t.Errorf("token of %d bytes: no error", len(tok))
			continue
		}
		if !strings.Contains(err.Error(), `"ann"`) || strings.Contains(err.Error(), tok) {
			t.Errorf("token of %d bytes: error %q should name the principal and not the token", len(tok), err)
		}
	}
	if _, err := New(ib, WithTokens(map[string]Principal{strings.Repeat("a", MinTokenLen): {Name: "ann"}})); err != nil {
		t.Errorf("token of %d bytes: %v", MinTokenLen, err)
	}
}

// TestLoginRefusesPrincipalWithoutPermissions: a principal whose roles
// grant nothing cannot log in, and is told why.
func TestLoginRefusesPrincipalWithoutPermissions(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page := b.get("/login")
	res, body := b.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"nobody-token-for-tests"}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "nobody has no role that grants access") {
		t.Errorf("login: %d %s", res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			t.Errorf("session cookie set: %+v", c)
		}
	}
	if res, _ := b.get("/inbox"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox after a refused login: %d", res.StatusCode)
	}
}

// TestLogout: logout needs no permission but the session's CSRF token,
// and ends the session on the server: a copy of the cookie stops working.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	for _, token := range []string{"ann-token-for-tests", "nobody-token-for-tests"} {
		b := e.browser()
		csrf := b.session(token)
		copied := b.c.Jar.Cookies(mustURL(t, e.ts.URL))
		inbox := func() int {
			req := httptest.NewRequest("GET", "/inbox", nil)
			for _, c := range copied {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			e.srv.ServeHTTP(rec, req)
			return rec.Code
		}
		before := inbox()
		if before != http.StatusOK && before != http.StatusForbidden {
			t.Fatalf("%s: inbox with the session: %d", token, before)
		}
		for _, bad := range []string{"", "forged"} {
			if res, body := b.post("/logout", url.Values{"csrf": {bad}}); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("%s: logout with csrf %q: %d", token, bad, res.StatusCode)
			}
		}
		if got := inbox(); got != before {
			t.Errorf("%s: a refused logout ended the session: %d", token, got)
		}
		res, body := b.post("/logout", url.Values{"csrf": {csrf}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("%s: logout: %d %s", token, res.StatusCode, body)
		}
		if got := inbox(); got != http.StatusSeeOther {
			t.Errorf("%s: the copied cookie still works after logout: %d", token, got)
		}
		// Logging out again, without a session, still works.
		if res, _ := b.post("/logout", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: logout without a session: %d", token, res.StatusCode)
		}
	}
	// Another login of the same principal is a new session.
	b := e.browser()
	b.login("ann-token-for-tests")
	if res, _ := b.get("/inbox"); res.StatusCode != http.StatusOK {
		t.Errorf("new login after logout: %d", res.StatusCode)
	}
}

// TestRevocationsExpire: revoked session IDs are kept until the session
// would have expired, then dropped.
func TestRevocationsExpire(t *testing.T) {
	var rv revocations
	now := time.Unix(1000, 0)
	rv.revoke("a", now.Add(time.Hour), now)
	if !rv.revoked("a") || rv.revoked("b") {
		t.Fatal("revoked")
	}
	later := now.Add(2 * time.Hour)
	rv.revoke("b", later.Add(time.Hour), later)
	if rv.revoked("a") || !rv.revoked("b") || len(rv.ids) != 1 {
		t.Errorf("after expiry: %v", rv.ids)
	}
}

func TestSecureCookies(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		tls  bool
		want bool
	}{
		{nil, false, false},
		{nil, true, true},
		{[]Option{WithSecureCookies(true)}, false, true},
		{[]Option{WithSecureCookies(false)}, false, false},
		{[]Option{WithSecureCookies(false)}, true, true},
	} {
		e := newEnv(t, c.opts...)
		req := httptest.NewRequest("GET", "/login", nil)
		if c.tls {
			req.TLS = &tls.ConnectionState{}
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		rec2 := httptest.NewRecorder()
		if err := e.srv.setSession(rec2, req, "ann-token-for-tests"); err != nil {
			t.Fatal(err)
		}
		cookies := append(rec.Result().Cookies(), rec2.Result().Cookies()...)
		if len(cookies) != 2 {
			t.Fatalf("cookies %v", cookies)
		}
		for _, ck := range cookies {
			if ck.Secure != c.want || !ck.HttpOnly {
				t.Errorf("options %d, TLS %v: cookie %s Secure %v HttpOnly %v, want Secure %v", len(c.opts), c.tls, ck.Name, ck.Secure, ck.HttpOnly, c.want)
			}
			if ck.Name == sessionCookie && ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("session cookie SameSite %v, want Lax", ck.SameSite)
			}
		}
	}
}

// TestLoginThrottle: after loginFailures failed logins within a minute
// from one address, its logins are refused with 429 and Retry-After, even
// with a good token, until the window ends; other addresses are not
// affected, and successful logins count nothing.
func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	now := time.Unix(1_000_000, 0)
	e.srv.now = func() time.Time { return now }
	const cookie = "0123456789abcdef0123456789abcdef"
	login := func(remote, token string) *httptest.ResponseRecorder {
		t.Helper()
		form := url.Values{"csrf": {e.srv.mac("login", cookie)}, "token": {token}, "next": {"/inbox"}}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCookie, Value: cookie})
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec
	}
	const attacker, other = "203.0.113.7:4000", "198.51.100.2:5000"
	// Successes are not counted, nor slowed.
	for range 2 * loginFailures {
		if rec := login(attacker, "ann-token-for-tests"); rec.Code != http.StatusSeeOther {
			t.Fatalf("good login: %d", rec.Code)
		}
	}
	for i := range loginFailures {
		if rec := login(attacker, fmt.Sprintf("wrong-token-%02d-xxxxxxxx", i)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
	now = now.Add(10 * time.Second)
	for _, token := range []string{"wrong-token-xx-xxxxxxxx", "ann-token-for-tests"} {
		rec := login(attacker, token)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "50" ||
			!strings.Contains(rec.Body.String(), "Too many failed logins") {
			t.Errorf("throttled login with %s: %d, Retry-After %q", token, rec.Code, rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Header().Get("Set-Cookie"), sessionCookie) {
			t.Errorf("throttled login set a session")
		}
	}
	// The same client on another port, another address, an IPv6 neighbour.
	if rec := login("203.0.113.7:4001", "ann-token-for-tests"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("same address, other port: %d", rec.Code)
	}
	if rec := login(other, "ann-token-for-tests"); rec.Code != http.StatusSeeOther {
		t.Errorf("other address: %d", rec.Code)
	}
	for range loginFailures {
		login("[2001:db8::1]:1", "wrong-token-xx-xxxxxxxx")
	}
	if rec := login("[2001:db8::2]:1", "ann-token-for-tests"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("same IPv6 /64: %d", rec.Code)
	}
	// After the window, the address may try again.
	now = now.Add(loginWindow)
	if rec := login(attacker, "ann-token-for-tests"); rec.Code != http.StatusSeeOther {
		t.Errorf("after the window: %d", rec.Code)
	}
}

func TestThrottleBounded(t *testing.T) {
	var th throttle
	now := time.Unix(0, 0)
	for i := range maxThrottled + 100 {
		th.fail(fmt.Sprint(i), now)
	}
	if len(th.keys) > maxThrottled {
		t.Errorf("%d keys, want at most %d", len(th.keys), maxThrottled)
	}
}

// TestAnswerInvalidUTF8: an answer with invalid UTF-8, in JSON or in a
// form, is refused with 400 and records nothing.
func TestAnswerInvalidUTF8(t *testing.T) {
	e := newEnv(t)
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 12})
	q := e.pending("x1")
	for _, body := range []string{
		`{"answers": {"` + q + `": {"approve": true, "amount": 1, "priority": 1, "category": "food", "urgency": "low", "note": "caf` + "\xe9" + `", "details": {"approver": "a"}}}}`,
		`{"answers": {"` + q + `": {"approve": true, "amount": 1, "priority": 1, "category": "food", "urgency": "low", "details": {"approver": "` + "\xff\xfe" + `"}}}}`,
		`{"answers": {"` + q + "\xc3" + `": {"approve": true}}}`,
		`{"answers": {"` + q + `": {"approve": true, "amount": 1, "priority": 1, "category": "food", "urgency": "low", "details": {"approver": "a"}}}, "x` + "\xed\xa0\x80" + `": 1}`,
	} {
		res, data := e.do("POST", "/v1/threads/x1/answers", "admin-token-for-tests", body)
		var ej errorJSON
		if res.StatusCode != http.StatusBadRequest || json.Unmarshal(data, &ej) != nil || (ej.Code != CodeBadRequest && ej.Code != CodeInvalidAnswer) {
			t.Errorf("body %q: %d %s", body, res.StatusCode, data)
		}
	}
	b := e.browser()
	csrf := b.login("admin-token-for-tests")
	for _, form := range []url.Values{
		{"answer.note": {"caf\xe9"}},
		{"answer.details.approver": {"\xff"}},
		{"answer.details.tags": {"[\"\xff\"]"}},
		{"answer.\xff": {"x"}},
	} {
		form.Set("csrf", csrf)
		for k, v := range map[string]string{"answer.approve": "true", "answer.amount": "1", "answer.priority": "1",
			"answer.category": `"food"`, "answer.urgency": `"low"`, "answer.details.approver": "a"} {
			if form.Get(k) == "" {
				form.Set(k, v)
			}
		}
		if res, page := b.post(questionURL("x1", q), form); res.StatusCode != http.StatusBadRequest {
			t.Errorf("form %v: %d %s", form, res.StatusCode, page)
		}
	}
	var audit []entryJSON
	e.json("GET", "/v1/threads/x1/audit", "admin-token-for-tests", nil, http.StatusOK, &audit)
	if len(audit) != 1 || audit[0].Status != checkpoint.InterruptPending {
		t.Errorf("audit %+v", audit)
	}
	// A valid answer after all that.
	res := map[string]any{"approve": true, "amount": 1, "priority": 1, "category": "food", "urgency": "low", "note": "café", "details": map[string]any{"approver": "a"}}
	e.json("POST", "/v1/threads/x1/answers", "admin-token-for-tests", map[string]any{"answers": map[string]any{q: res}}, http.StatusOK, nil)
}

// TestStartAsync: "wait": false (or ?wait=false) submits the run: 202,
// status ready, a Location of the thread, and nothing runs; resume runs
// it. The default stays synchronous.
func TestStartAsync(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		thread, query string
		body          map[string]any
	}{
		{"a1", "", map[string]any{"thread": "a1", "input": Review{Topic: "Go"}, "wait": false}},
		{"a2", "?wait=false", map[string]any{"thread": "a2", "input": Review{Topic: "Go"}}},
		{"a3", "?wait=true", map[string]any{"thread": "a3", "input": Review{Topic: "Go"}, "wait": false}}, // the body wins
	} {
		res, data := e.do("POST", "/v1/workflows/review/threads"+c.query, "olga-token-for-tests", c.body)
		var out resultJSON
		if res.StatusCode != http.StatusAccepted || json.Unmarshal(data, &out) != nil || out.Thread != c.thread || out.Status != weft.StatusReady {
			t.Fatalf("%s: %d %s, want 202 ready", c.thread, res.StatusCode, data)
		}
		if loc := res.Header.Get("Location"); loc != "/v1/threads/"+c.thread {
			t.Errorf("%s: Location %q", c.thread, loc)
		}
		row, err := e.store.Thread(t.Context(), c.thread)
		if err != nil || row.Status != weft.StatusReady {
			t.Fatalf("%s: row %+v %v", c.thread, row, err)
		}
		if steps, _ := e.store.Steps(t.Context(), c.thread, 0); len(steps) != 0 {
			t.Errorf("%s: a submitted thread ran: %+v", c.thread, steps)
		}
		var after resultJSON
		e.json("POST", "/v1/threads/"+c.thread+"/resume", "olga-token-for-tests", nil, http.StatusOK, &after)
		if after.Status != weft.StatusInterrupted {
			t.Errorf("%s: resumed: %+v", c.thread, after)
		}
	}
	// Refusals are those of a start.
	e.apiErr("POST", "/v1/workflows/review/threads", "olga-token-for-tests",
		map[string]any{"thread": "a1", "wait": false}, http.StatusConflict, CodeThreadPaused)
	e.apiErr("POST", "/v1/workflows/expense/threads", "olga-token-for-tests",
		map[string]any{"thread": "a1", "wait": false}, http.StatusConflict, CodeWrongWorkflow)
	e.apiErr("POST", "/v1/workflows/review/threads?wait=later", "olga-token-for-tests",
		map[string]any{"thread": "a9"}, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/workflows/review/threads", "olga-token-for-tests",
		map[string]any{"thread": "a9", "input": map[string]any{"nope": 1}, "wait": false}, http.StatusBadRequest, CodeInvalidInput)
	// The default waits.
	if res := e.start("review", "s1", Review{Topic: "Go"}); res.Status != weft.StatusInterrupted {
		t.Errorf("default start: %+v", res)
	}
}

// TestAnswersQueued: with WithQueue, or "wait": false, an answer is only
// recorded: 202, the thread ready, its next node not run.
func TestAnswersQueued(t *testing.T) {
	for _, c := range []struct {
		name  string
		opts  []Option
		query string
		wait  any
	}{
		{"WithQueue", []Option{WithQueue()}, "", nil},
		{"WithQueue, wait true", []Option{WithQueue()}, "", true},
		{"wait false", nil, "", false},
		{"?wait=false", nil, "?wait=false", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			e.start("review", "r1", Review{Topic: "Go"})
			q := e.pending("r1")
			body := map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}
			if c.wait != nil {
				body["wait"] = c.wait
			}
			res, data := e.do("POST", "/v1/threads/r1/answers"+c.query, "ann-token-for-tests", body)
			var out resultJSON
			if res.StatusCode != http.StatusAccepted || json.Unmarshal(data, &out) != nil || out.Status != weft.StatusReady {
				t.Fatalf("answer: %d %s, want 202 ready", res.StatusCode, data)
			}
			if loc := res.Header.Get("Location"); loc != "/v1/threads/r1" {
				t.Errorf("Location %q", loc)
			}
			select {
			case <-e.hooks.published:
				t.Error("the thread ran on")
			default:
			}
			var audit []entryJSON
			e.json("GET", "/v1/threads/r1/audit", "ann-token-for-tests", nil, http.StatusOK, &audit)
			if len(audit) != 1 || audit[0].Status != checkpoint.InterruptAnswered || audit[0].Author != "ann" || audit[0].Channel != checkpoint.ChannelAPI {
				t.Errorf("audit %+v", audit)
			}
			e.apiErr("POST", "/v1/threads/r1/answers"+c.query, "ann-token-for-tests", body, http.StatusConflict, CodeAlreadyAnswered)
			var after resultJSON
			e.json("POST", "/v1/threads/r1/resume", "olga-token-for-tests", nil, http.StatusOK, &after)
			if after.Status != weft.StatusCompleted {
				t.Errorf("resumed: %+v", after)
			}
		})
	}
	// The web inbox queues too.
	e := newEnv(t, WithQueue())
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	b := e.browser()
	csrf := b.login("ann-token-for-tests")
	if res, page := b.post(questionURL("r1", q), url.Values{"csrf": {csrf}, "answer.action": {`"approve"`}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("web answer: %d %s", res.StatusCode, page)
	}
	if row, _ := e.store.Thread(t.Context(), "r1"); row.Status != weft.StatusReady {
		t.Errorf("after a queued web answer: %s", row.Status)
	}
}

// TestSyncRunEndsWithItsRequest: a client that goes away hands its
// synchronous run back at its last checkpoint: the thread is ready, and
// resume (or a worker) carries it on.
func TestSyncRunEndsWithItsRequest(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", e.ts.URL+"/v1/workflows/slow/threads", strings.NewReader(`{"thread": "s1"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer olga-token-for-tests")
	errc := make(chan error, 1)
	go func() {
		res, err := e.ts.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-e.hooks.slowStart:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow node did not start")
	}
	cancel()
	<-errc
	deadline := time.Now().Add(10 * time.Second)
	for {
		row, err := e.store.Thread(t.Context(), "s1")
		if err == nil && row.Status == weft.StatusReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the client went away: %+v %v, want ready", row, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var res resultJSON
	e.json("POST", "/v1/threads/s1/resume", "olga-token-for-tests", nil, http.StatusOK, &res)
	if res.Status != weft.StatusCompleted {
		t.Errorf("resumed: %+v", res)
	}
}
