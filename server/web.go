package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

//go:embed web/templates/*.html
var templateFS embed.FS

//go:embed web/assets
var assetFS embed.FS

// pageFiles are the templates that are whole pages; the others are
// partials every page may use.
var pageFiles = []string{"login", "inbox", "question", "error", "thread", "threads"}

// parsePages parses the page templates once: they are embedded, the same
// for every Server, and only read after.
var parsePages = sync.OnceValues(func() (map[string]*template.Template, error) {
	funcs := template.FuncMap{"join": strings.Join}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "web/templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("server: templates: %w", err)
	}
	// Each page defines "content": give each its own copy of the partials.
	sets := map[string]*template.Template{}
	for _, name := range pageFiles {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("server: templates: %w", err)
		}
		if t, err = t.ParseFS(templateFS, "web/templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("server: templates: %w", err)
		}
		sets[name] = t
	}
	return sets, nil
})

// pageData is what every page template gets.
type pageData struct {
	Title     string
	LoggedIn  bool
	Principal Principal
	CSRF      string
	Body      any
}

// confirmHandler is the one inline event handler of the pages: the
// confirm() of a destructive button, which asks the question in the
// button's data-confirm. The CSP allows exactly it, by its hash.
const confirmHandler = "return confirm(this.dataset.confirm)"

var confirmHash = func() string {
	sum := sha256.Sum256([]byte(confirmHandler))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}()

// render executes a page (or, with a partial name, a fragment) into a
// buffer and writes it with status.
func (s *Server) render(w http.ResponseWriter, status int, page, tmpl string, data any) error {
	set := s.pages[page]
	if set == nil {
		return fmt.Errorf("server: no page %q", page)
	}
	var b bytes.Buffer
	if err := set.ExecuteTemplate(&b, tmpl, data); err != nil {
		return fmt.Errorf("server: render %s: %w", page, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-hashes' '"+confirmHash+"'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
	return nil
}

// page fills the common page data of a logged-in request.
func (s *Server) page(r *http.Request, p Principal, title string, body any) pageData {
	d := pageData{Title: title, Principal: p, Body: body}
	sess, ok := r.Context().Value(sessionKey{}).(session)
	if !ok { // a public route: verify the cookie here
		sess, _, ok = s.session(r)
	}
	if ok {
		d.LoggedIn, d.CSRF = true, s.csrfToken(sess)
	}
	return d
}

// webError shows err as an HTML page (see report).
func (s *Server) webError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, ok := s.report(r, err)
	if !ok {
		return
	}
	p, ok := PrincipalFrom(r.Context())
	if !ok { // a public route (the 404 of unknown pages): who is logged in, if anyone
		_, p, _ = s.session(r)
	}
	body := struct{ Status, Code, Message, SignIn string }{fmt.Sprintf("%d %s", status, http.StatusText(status)), code, msg, ""}
	if status == http.StatusUnauthorized {
		body.Message = "You are not signed in, or your session ended. Sign in to carry on."
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = r.Referer()
			if u, err := url.Parse(next); err == nil {
				next = u.RequestURI()
			}
		}
		body.SignIn = "/login?next=" + url.QueryEscape(safeNext(next))
	}
	if rerr := s.render(w, status, "error", "layout", s.page(r, p, http.StatusText(status), body)); rerr != nil {
		http.Error(w, msg, status)
	}
}

// webNotFound is the HTML 404 page of every path no route has.
func (s *Server) webNotFound(w http.ResponseWriter, r *http.Request, _ Principal) error {
	return &apiError{http.StatusNotFound, CodeNotFound, "There is no page at " + r.URL.Path + "."}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ Principal) error {
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	return nil
}

func (s *Server) assets(w http.ResponseWriter, r *http.Request, _ Principal) error {
	sub, err := fs.Sub(assetFS, "web/assets")
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-cache")
	http.StripPrefix("/assets/", http.FileServerFS(sub)).ServeHTTP(w, r)
	return nil
}

type loginView struct {
	CSRF  string
	Next  string
	Error string
}

// defaultNext is where a login goes when it has no (acceptable) next page.
const defaultNext = "/inbox"

// maxNext caps the length of a post-login redirect.
const maxNext = 2048

// safeNext keeps a post-login redirect on this site: it returns next when
// it is a same-origin absolute path, judged after parsing and decoding,
// and defaultNext otherwise. Browsers drop tabs and newlines from URLs
// and read a backslash as a slash, so "/\t/evil.example" or "/\\evil.example"
// would leave the site: any control character or backslash, raw or
// percent-encoded, is refused, and so is a path that begins with "//"
// before or after cleaning, a scheme, a host or user information.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || !utf8.ValidString(next) || !strings.HasPrefix(next, "/") ||
		strings.ContainsFunc(next, unsafeInURL) {
		return defaultNext
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.User != nil || u.Host != "" {
		return defaultNext
	}
	p := u.Path
	if !utf8.ValidString(p) || strings.ContainsFunc(p, unsafeInURL) || !strings.HasPrefix(p, "/") ||
		strings.HasPrefix(p, "//") || strings.HasPrefix(u.EscapedPath(), "//") {
		return defaultNext
	}
	clean := path.Clean(p)
	if strings.HasPrefix(clean, "//") {
		return defaultNext
	}
	out := u.EscapedPath()
	if clean != p && clean+"/" != p {
		out = (&url.URL{Path: clean}).EscapedPath()
	}
	if strings.HasPrefix(out, "//") || !strings.HasPrefix(out, "/") {
		return defaultNext
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// unsafeInURL reports the characters a redirect target may not hold:
// controls (which browsers drop) and backslashes (which they read as
// slashes).
func unsafeInURL(r rune) bool { return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError }

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if _, _, ok := s.session(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.showLogin(w, r, http.StatusOK, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	tok, err := s.loginCSRF(w, r)
	if err != nil {
		return err
	}
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostForm.Get("next")
	}
	return s.render(w, status, "login", "layout", pageData{Title: "Log in",
		Body: loginView{CSRF: tok, Next: safeNext(next), Error: msg}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	client := clientKey(r)
	if wait := s.logins.blocked(client, s.now()); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.InfoContext(r.Context(), "weft server: login throttled", "remote", r.RemoteAddr)
		return s.showLogin(w, r, http.StatusTooManyRequests,
			fmt.Sprintf("Too many failed logins from your address. Try again in %d seconds.", secs))
	}
	if !s.validLoginCSRF(r) {
		return s.showLogin(w, r, http.StatusForbidden, "The form expired. Try again.")
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	p, ok := s.principal(token)
	if !ok {
		s.logins.fail(client, s.now())
		s.log.InfoContext(r.Context(), "weft server: login refused", "remote", r.RemoteAddr)
		return s.showLogin(w, r, http.StatusUnauthorized, "Unknown token.")
	}
	if !p.can(permRead) {
		s.log.InfoContext(r.Context(), "weft server: login refused: no role grants anything", "principal", p.Name, "remote", r.RemoteAddr)
		return s.showLogin(w, r, http.StatusForbidden, fmt.Sprintf(
			"%s has no role that grants access to the inbox (viewer, reviewer, operator or admin); ask an administrator for one.", p.Name))
	}
	if err := s.setSession(w, r, token); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "weft server: login", "principal", p.Name)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// logout ends the session: its ID is revoked in this process, so a copy
// of the cookie no longer works either, and the browser is told to drop
// the cookie. It needs no permission (a principal whose roles changed may
// still log out) but, with a valid session, the session's CSRF token.
// Without a valid session there is nothing to end: the cookie is dropped.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if err := s.parseForm(w, r); err != nil {
		return err
	}
	if sess, p, ok := s.session(r); ok {
		if !s.validCSRF(r, sess) {
			return &apiError{http.StatusForbidden, CodeCSRF, "missing or invalid CSRF token; reload the page and try again"}
		}
		s.revoked.revoke(sess.id, sess.expiry, s.now())
		s.log.InfoContext(r.Context(), "weft server: logout", "principal", p.Name)
	}
	s.clearSession(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// rowView is one question in the inbox list.
type rowView struct {
	URL, Thread, ID, Workflow, Node, Reason, Kind string
	Assignees                                     []string
	Age, Created                                  string
	Deadline, DeadlineAt                          string
	Overdue                                       bool
	CanAnswer                                     bool
}

func questionURL(thread, id string) string {
	return "/inbox/" + url.PathEscape(thread) + "/" + url.PathEscape(id)
}

func (s *Server) rowOf(it *inbox.Item, p Principal, now time.Time) rowView {
	v := rowView{
		URL: questionURL(it.Thread, it.ID), Thread: it.Thread, ID: it.ID, Workflow: it.Workflow,
		Node: it.Node, Reason: it.Reason, Kind: it.Kind, Assignees: it.Assignees,
		Age: humanDuration(now.Sub(it.Created)), Created: it.Created.Format(time.RFC3339),
		CanAnswer: p.mayAnswer(it.Assignees),
	}
	if !it.Deadline.IsZero() {
		v.DeadlineAt = it.Deadline.Format(time.RFC3339)
		if d := it.Deadline.Sub(now); d >= 0 {
			v.Deadline = "in " + humanDuration(d)
		} else {
			v.Deadline, v.Overdue = humanDuration(-d)+" overdue", true
		}
	}
	return v
}

// humanDuration formats d coarsely: "40s", "12m", "3h", "5d".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// inboxView is the inbox list page.
type inboxView struct {
	Rows      []rowView
	Next      string // URL of the next page
	RowsURL   string // URL of the rows fragment, for live updates
	Workflows []string
	Filter    struct{ Workflow, Node, Assignee, Thread, OlderThan string }
}

func (s *Server) inboxData(r *http.Request, p Principal) (*inboxView, error) {
	q, err := inboxQuery(r)
	if err != nil {
		return nil, err
	}
	page, err := s.ib.List(r.Context(), q)
	if err != nil {
		return nil, listError(err)
	}
	now := s.now()
	v := &inboxView{Rows: make([]rowView, len(page.Items)), Workflows: s.ib.Workflows()}
	for i := range page.Items {
		v.Rows[i] = s.rowOf(&page.Items[i], p, now)
	}
	params := r.URL.Query()
	v.Filter.Workflow, v.Filter.Node, v.Filter.Thread = params.Get("workflow"), params.Get("node"), params.Get("thread")
	v.Filter.Assignee, v.Filter.OlderThan = params.Get("assignee"), params.Get("older_than")
	if page.Next != "" {
		next := url.Values{}
		for k, vs := range params {
			next[k] = vs
		}
		next.Set("after", page.Next)
		v.Next = "/inbox?" + next.Encode()
	}
	v.RowsURL = "/inbox/rows"
	if enc := params.Encode(); enc != "" {
		v.RowsURL += "?" + enc
	}
	return v, nil
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := s.inboxData(r, p)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "inbox", "layout", s.page(r, p, "Inbox", v))
}

func (s *Server) inboxRows(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := s.inboxData(r, p)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "inbox", "rows", v)
}

// questionView is the page of one question.
type questionView struct {
	Row          rowView
	Item         *inbox.Item
	Title        string
	Payload      string
	State        string
	ThreadStatus string
	Action       string
	Form         *answerForm
	NoFormReason string
	Error        string
	Answered     bool
	Answer       string
	AnsweredAt   string
	// Doc is the payload as a document, AnswerDoc the answer; nil when
	// not JSON.
	Doc, AnswerDoc *docNode
	// DeadlineWords says what happens at the deadline.
	DeadlineWords string
	// After an answer: where the thread is now, and what it asks next.
	ThreadURL string
	NextRows  []rowView
}

func prettyJSON(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "null"
	}
	raw = unescapeJSON(raw)
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

func (s *Server) questionData(ctx context.Context, thread, id string, p Principal) (*questionView, error) {
	d, err := s.ib.Get(ctx, thread, id)
	if err != nil {
		return nil, err
	}
	v := &questionView{
		Row: s.rowOf(&d.Item, p, s.now()), Item: &d.Item, Payload: prettyJSON(d.Value),
		Action: questionURL(thread, id), Title: d.Reason, Doc: parseDoc(d.Value),
		DeadlineWords: deadlineWords(&d.Item), ThreadURL: threadPageURL(thread),
	}
	if v.Title == "" {
		v.Title = "Question from " + d.Node
	}
	if d.State != nil {
		v.ThreadStatus = string(d.State.Status)
		v.State = jsonText(d.State.Values)
	}
	switch {
	case d.Status != checkpoint.InterruptPending:
		v.Answered = true
		if d.State != nil {
			now := s.now()
			for _, q := range d.State.Interrupts {
				if q.ID == id {
					continue
				}
				if it, err := s.ib.Question(ctx, thread, q.ID); err == nil {
					v.NextRows = append(v.NextRows, s.rowOf(it, p, now))
				}
			}
		}
		v.Answer = prettyJSON(d.Answer)
		v.AnswerDoc = parseDoc(d.Answer)
		if !d.AnsweredAt.IsZero() {
			v.AnsweredAt = timeText(d.AnsweredAt)
		}
	case !p.can(permAnswer):
		v.NoFormReason = fmt.Sprintf("You (%s) may only read questions.", p.Name)
	case !p.mayAnswer(d.Assignees):
		v.NoFormReason = fmt.Sprintf("This question is assigned to %s; you (%s) cannot answer it.", strings.Join(d.Assignees, ", "), p.Name)
	default:
		if v.Form, err = buildForm(d.Question); err != nil {
			v.NoFormReason = "This question's answer schema cannot be shown as a form; answer it through the API."
			s.log.Warn("weft server: no form for question", "thread", thread, "interrupt", id, "error", err)
		} else {
			v.Form.prefill(d.Value)
		}
	}
	return v, nil
}

func (s *Server) questionPage(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := s.questionData(r.Context(), r.PathValue("thread"), r.PathValue("interrupt"), p)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "question", "layout", s.page(r, p, v.Title, v))
}

func (s *Server) answerForm(w http.ResponseWriter, r *http.Request, p Principal) error {
	thread, id := r.PathValue("thread"), r.PathValue("interrupt")
	if !p.can(permAnswer) {
		return forbidden(p, permAnswer)
	}
	d, err := s.checkAnswerable(r.Context(), thread, id, p)
	if err != nil {
		if !errors.Is(err, weft.ErrAlreadyAnswered) {
			return err
		}
		return s.showQuestion(w, r, p, http.StatusConflict, err.Error(), nil)
	}
	form, err := buildForm(d.Question)
	if err != nil {
		return err
	}
	value, err := form.decode(r.PostForm)
	if err == nil {
		ctx, done := runContext(r)
		defer done()
		_, err = s.answerer(true).Answer(ctx, thread, id, value, inbox.Author{Name: p.Name, Channel: checkpoint.ChannelUI})
		err = s.answerError(r.Context(), thread, []string{id}, p, err)
	}
	if err != nil && !answeredBusy(err) { // answered busy: recorded, and the thread goes on elsewhere
		if status, _, ok := classify(err); ok {
			return s.showQuestion(w, r, p, status, err, r.PostForm)
		}
		// The answer is recorded; running the thread after it failed. The
		// page shows the thread's status.
		if _, failed := s.failedRun(r, thread); !failed {
			return err
		}
	}
	http.Redirect(w, r, questionURL(thread, id), http.StatusSeeOther)
	return nil
}

// showQuestion shows the question page again with a message (a refused
// answer) and, given the posted form, what was typed, with the error next
// to its field when it is a field's.
func (s *Server) showQuestion(w http.ResponseWriter, r *http.Request, p Principal, status int, problem any, posted url.Values) error {
	v, err := s.questionData(r.Context(), r.PathValue("thread"), r.PathValue("interrupt"), p)
	if err != nil {
		return err
	}
	switch pr := problem.(type) {
	case string:
		v.Error = pr
	case error:
		v.Error = pr.Error()
		var fe *fieldError
		if !errors.As(pr, &fe) {
			if fe = schemaFieldError(v.Form, pr); fe != nil {
				pr = fmt.Errorf("%w (%w)", fe, pr)
			}
		}
		if fe != nil {
			v.Error = "The answer was not sent: " + fe.Label + " " + fe.Msg + ". Correct the field marked below."
		}
		if v.Form != nil && posted != nil {
			v.Form.fill(posted, pr)
		}
	}
	return s.render(w, status, "question", "layout", s.page(r, p, v.Title, v))
}

// deadlineWords says in words what happens at the question's deadline:
// who it goes to, or which answer is given.
func deadlineWords(it *inbox.Item) string {
	if it.Deadline.IsZero() || it.Status != checkpoint.InterruptPending {
		return ""
	}
	by := timeText(it.Deadline)
	if len(it.EscalateTo) > 0 && (it.FallbackAt.IsZero() || it.Deadline.Before(it.FallbackAt)) {
		out := "If nobody answers by " + by + ", it goes to " + strings.Join(it.EscalateTo, ", ") + "."
		if it.HasFallback && !it.FallbackAt.IsZero() {
			out += " If nobody answers by " + timeText(it.FallbackAt) + ", the answer " + fallbackText(it.Fallback) + " is given."
		}
		return out
	}
	if it.HasFallback {
		at := it.Deadline
		if !it.FallbackAt.IsZero() {
			at = it.FallbackAt
		}
		return "If nobody answers by " + timeText(at) + ", the answer " + fallbackText(it.Fallback) + " is given."
	}
	return "The answer is due by " + by + "."
}

// fallbackText shows a fallback answer: a string quoted, an object as
// its fields ("decision: "reject", comment: "late""), anything else as
// compact JSON.
func fallbackText(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "null"
	}
	n := parseDoc(raw)
	if n == nil {
		return valueText(raw)
	}
	return docText(n)
}

// docText is a document in one line.
func docText(n *docNode) string {
	switch n.Kind {
	case "string", "text":
		return "\"" + n.Text + "\""
	case "object":
		parts := make([]string, len(n.Fields))
		for i, f := range n.Fields {
			parts[i] = f.Key + ": " + docText(f.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case "array":
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = docText(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case "null":
		return "null"
	}
	return n.Text
}
