package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/inbox"
)

// Defaults of the options.
const (
	// DefaultMaxBody is the largest request body accepted (WithMaxBody).
	DefaultMaxBody = 1 << 20
	// DefaultHeartbeat is how often an idle event stream sends a comment
	// line to keep proxies from closing it (WithHeartbeat).
	DefaultHeartbeat = 15 * time.Second
	// DefaultSessionTTL is how long a web login lasts (WithSessionTTL).
	DefaultSessionTTL = 12 * time.Hour
)

// Server is the HTTP face of an inbox: a JSON API under /v1, Server-Sent
// Events streams and a web inbox. It is an http.Handler; create it with
// New. It is safe for concurrent use.
type Server struct {
	ib         *inbox.Inbox
	recorder   *inbox.Inbox // ib's store, answers only recorded (inbox.WithQueue)
	queue      bool
	feed       *Feed
	tokens     map[[sha256.Size]byte]Principal
	log        *slog.Logger
	maxBody    int64
	key        []byte
	heartbeat  time.Duration
	sessionTTL time.Duration
	secure     bool
	now        func() time.Time
	revoked    revocations // sessions that logged out
	logins     throttle    // failed logins per client address

	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once

	mux    *http.ServeMux
	routes []route
	pages  map[string]*template.Template
	optErr error
}

// Option configures a Server.
type Option func(*Server)

// MinTokenLen is the length, in bytes, below which New refuses a token.
const MinTokenLen = 16

// WithTokens sets the bearer tokens the server accepts and the principal
// each one stands for. Tokens are secrets: make them long and random (32
// bytes from crypto/rand, hex-encoded, say); New refuses tokens shorter
// than MinTokenLen bytes, naming their principal (never the token). The
// server keeps only their SHA-256 hashes. New fails without any token.
func WithTokens(tokens map[string]Principal) Option {
	return func(s *Server) {
		for tok, p := range tokens {
			if tok == "" || strings.TrimSpace(p.Name) == "" {
				s.optErr = errors.Join(s.optErr, fmt.Errorf("server: WithTokens: empty token or principal name (principal %q)", p.Name))
				continue
			}
			if len(tok) < MinTokenLen {
				s.optErr = errors.Join(s.optErr, fmt.Errorf("server: WithTokens: the token of principal %q is %d bytes, want at least %d (32 random bytes, hex-encoded, say)",
					p.Name, len(tok), MinTokenLen))
				continue
			}
			s.tokens[sha256.Sum256([]byte(tok))] = p
		}
	}
}

// LoadTokens reads a JSON file of tokens for WithTokens: an object that
// maps each token to its principal,
//
//	{
//	  "3f9c...e1": {"name": "ann", "roles": ["reviewer", "editors"]},
//	  "a7d0...42": {"name": "ops", "roles": ["admin"]}
//	}
//
// Unknown fields, empty tokens and principals without a name are errors.
func LoadTokens(path string) (map[string]Principal, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server: load tokens: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var tokens map[string]Principal
	if err := dec.Decode(&tokens); err != nil {
		return nil, fmt.Errorf("server: load tokens from %s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("server: load tokens from %s: data after the object", path)
	}
	for tok, p := range tokens {
		if tok == "" || strings.TrimSpace(p.Name) == "" {
			return nil, fmt.Errorf("server: load tokens from %s: empty token or principal name (principal %q)", path, p.Name)
		}
	}
	return tokens, nil
}

// WithLogger logs failed requests (at Error) and every request (at Debug)
// to l. By default the server logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithMaxBody caps request bodies at n bytes (default DefaultMaxBody);
// larger ones are refused with 413.
func WithMaxBody(n int64) Option {
	return func(s *Server) {
		if n > 0 {
			s.maxBody = n
		}
	}
}

// WithSessionKey sets the key that signs the web inbox's session cookies
// and CSRF tokens (HMAC-SHA256); at least 32 bytes. Without it a random
// key is made, so logins do not survive a restart and are not valid on
// other instances behind the same load balancer.
func WithSessionKey(key []byte) Option {
	return func(s *Server) {
		if len(key) < 32 {
			s.optErr = errors.Join(s.optErr, fmt.Errorf("server: WithSessionKey: %d bytes, want at least 32", len(key)))
			return
		}
		s.key = bytes.Clone(key)
	}
}

// WithFeed makes the server stream the events of f. Give the same feed to
// the inbox (inbox.WithRunOptions(weft.WithObserver(f))), so that the runs
// that answers start are streamed too; see the package documentation.
// Without it the server makes its own, which sees only the runs the server
// starts and resumes itself.
func WithFeed(f *Feed) Option {
	return func(s *Server) {
		if f != nil {
			s.feed = f
		}
	}
}

// WithHeartbeat sets how often an idle event stream sends a comment line
// (default DefaultHeartbeat).
func WithHeartbeat(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.heartbeat = d
		}
	}
}

// WithSessionTTL sets how long a web login lasts (default
// DefaultSessionTTL).
func WithSessionTTL(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.sessionTTL = d
		}
	}
}

// WithSecureCookies(true) marks the web inbox's cookies Secure even on
// requests that did not come over TLS: for a server behind a proxy that
// terminates TLS. Requests that came over TLS always get Secure cookies,
// whatever on says; false, the default, leaves plain HTTP requests (a
// server on localhost) with cookies that are not Secure.
func WithSecureCookies(on bool) Option {
	return func(s *Server) { s.secure = on }
}

// WithQueue makes answers (through the API and the web inbox) only
// recorded: the answered thread becomes ready, for the workers that run
// the deployment's threads (package worker) to carry on, and
// POST /v1/threads/{id}/answers answers 202 with the thread's status.
// Without it, an answer runs the thread on in the request, unless the
// client asks not to wait ("wait": false). Starts stay synchronous by
// default either way; a client submits one with "wait": false.
func WithQueue() Option {
	return func(s *Server) { s.queue = true }
}

// New returns a server over ib. It fails if an option is invalid or no
// token was given (WithTokens).
func New(ib *inbox.Inbox, opts ...Option) (*Server, error) {
	if ib == nil {
		return nil, errors.New("server: New: nil inbox")
	}
	s := &Server{
		ib:         ib,
		tokens:     map[[sha256.Size]byte]Principal{},
		log:        slog.New(slog.DiscardHandler),
		maxBody:    DefaultMaxBody,
		heartbeat:  DefaultHeartbeat,
		sessionTTL: DefaultSessionTTL,
		now:        time.Now,
		closing:    make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	if s.optErr != nil {
		return nil, s.optErr
	}
	if len(s.tokens) == 0 {
		return nil, errors.New("server: New: no tokens; give some with WithTokens")
	}
	if s.key == nil {
		s.key = make([]byte, 32)
		if _, err := rand.Read(s.key); err != nil {
			return nil, fmt.Errorf("server: session key: %w", err)
		}
	}
	if s.feed == nil {
		s.feed = NewFeed()
	}
	s.recorder = inbox.New(ib.Store(), nil, inbox.WithQueue(), inbox.WithLogger(s.log))
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.mux = http.NewServeMux()
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	return s, nil
}

// Feed returns the feed the server streams events from.
func (s *Server) Feed() *Feed { return s.feed }

// RunOptions returns the options the server adds to the runs it makes:
// its feed as an observer. Give them to other code that runs the same
// threads in this process so that their events are streamed too.
func (s *Server) RunOptions() []weft.RunOption {
	return []weft.RunOption{weft.WithObserver(s.feed)}
}

// CloseStreams ends the open event streams and makes new ones end at once,
// so that http.Server.Shutdown, which waits for every request to finish,
// can: register it with http.Server.RegisterOnShutdown. Clients reconnect
// (elsewhere) with Last-Event-ID. The rest of the server keeps working.
func (s *Server) CloseStreams() {
	s.closeOnce.Do(func() { close(s.closing) })
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.log.DebugContext(r.Context(), "weft server: request", "method", r.Method, "path", r.URL.Path,
		"status", rec.status, "duration", time.Since(start))
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writeJSON writes v as the JSON body of a response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(errorJSON{Error: "response not encodable as JSON: " + err.Error(), Code: CodeInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// readJSON decodes the request's JSON body into v: one value, no unknown
// fields, at most the body limit. An empty body leaves v as it is when
// optional.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errBadRequest("request body is empty; want a JSON object")
	}
	// The decoder would replace invalid UTF-8 in strings with U+FFFD, and
	// record what the client did not send.
	if !utf8.Valid(body) {
		return errBadRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid JSON body: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadRequest("invalid JSON body: data after the value")
	}
	return nil
}
