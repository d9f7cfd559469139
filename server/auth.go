package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Principal is who a token stands for: a name, recorded as the author of
// its answers, and roles. The built-in roles RoleViewer, RoleReviewer,
// RoleOperator and RoleAdmin grant permissions; every role, built-in or
// not, and the name itself can be what a question is assigned to
// (weft.Assign).
type Principal struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles,omitempty"`
}

// The built-in roles. Each grants what the one before grants, and more.
const (
	// RoleViewer may read: workflows, threads, history, steps, audit, the
	// inbox, event streams, the API document.
	RoleViewer = "viewer"
	// RoleReviewer may also answer the questions it may answer: those
	// assigned to nobody, to its name or to one of its roles.
	RoleReviewer = "reviewer"
	// RoleOperator may also start, resume and stop threads.
	RoleOperator = "operator"
	// RoleAdmin may do everything, including answer questions assigned to
	// others (the answer is recorded with the admin's name).
	RoleAdmin = "admin"
)

// Has reports whether p has the role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// permission is what a route requires.
type permission int

const (
	permPublic  permission = iota // no login
	permRead                      // viewer
	permAnswer                    // reviewer
	permOperate                   // operator
)

func (p permission) String() string {
	switch p {
	case permRead:
		return "read"
	case permAnswer:
		return "answer"
	case permOperate:
		return "start, resume or stop threads"
	}
	return "public"
}

// level is the highest permission the principal's roles grant.
func (p Principal) level() permission {
	switch {
	case p.Has(RoleAdmin), p.Has(RoleOperator):
		return permOperate
	case p.Has(RoleReviewer):
		return permAnswer
	case p.Has(RoleViewer):
		return permRead
	}
	return permPublic
}

func (p Principal) can(perm permission) bool { return p.level() >= perm }

// mayAnswer reports whether p may answer a question with these assignees:
// an admin may answer any; others need the answer permission and, when
// the question is assigned, their name or a role among the assignees.
func (p Principal) mayAnswer(assignees []string) bool {
	if p.Has(RoleAdmin) {
		return true
	}
	if !p.can(permAnswer) {
		return false
	}
	if len(assignees) == 0 {
		return true
	}
	for _, a := range assignees {
		if a == p.Name || p.Has(a) {
			return true
		}
	}
	return false
}

func errNotAssignee(p Principal, assignees []string) error {
	return &apiError{http.StatusForbidden, CodeNotAssignee,
		fmt.Sprintf("the question is assigned to %s; principal %q (roles %s) is not among them",
			strings.Join(assignees, ", "), p.Name, strings.Join(p.Roles, ", "))}
}

type principalKey struct{}

// PrincipalFrom returns the principal of an authenticated request, from
// its context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// principal returns the principal of a token.
func (s *Server) principal(token string) (Principal, bool) {
	if token == "" {
		return Principal{}, false
	}
	p, ok := s.tokens[sha256.Sum256([]byte(token))]
	return p, ok
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// route is one entry of the server's mux.
type route struct {
	pattern string
	perm    permission
	// web routes authenticate with the session cookie, API routes with a
	// bearer token. POSTs to web routes need a CSRF token.
	web bool
	// page: a GET that sends a browser without a session to the login
	// page, instead of a 401.
	page bool
	h    func(w http.ResponseWriter, r *http.Request, p Principal) error
}

// wrap authenticates and authorises a route's requests.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.perm == permPublic {
			s.serve(w, r, rt, Principal{})
			return
		}
		if !rt.web {
			p, ok := s.principal(bearer(r))
			if !ok {
				msg := "missing bearer token"
				if r.Header.Get("Authorization") != "" {
					msg = "unknown bearer token"
				}
				s.writeError(w, r, &apiError{http.StatusUnauthorized, CodeUnauthorized, msg})
				return
			}
			if !p.can(rt.perm) {
				s.writeError(w, r, forbidden(p, rt.perm))
				return
			}
			s.serve(w, r, rt, p)
			return
		}
		sess, p, ok := s.session(r)
		if !ok {
			if rt.page && r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.webError(w, r, &apiError{http.StatusUnauthorized, CodeUnauthorized, "not logged in"})
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
		if r.Method == http.MethodPost {
			if err := s.parseForm(w, r); err != nil {
				s.webError(w, r, err)
				return
			}
		}
		if r.Method == http.MethodPost && !s.validCSRF(r, sess) {
			s.webError(w, r, &apiError{http.StatusForbidden, CodeCSRF, "missing or invalid CSRF token; reload the page and try again"})
			return
		}
		if !p.can(rt.perm) {
			s.webError(w, r, forbidden(p, rt.perm))
			return
		}
		s.serve(w, r, rt, p)
	})
}

func forbidden(p Principal, perm permission) error {
	return &apiError{http.StatusForbidden, CodeForbidden,
		fmt.Sprintf("principal %q (roles %s) may not %s", p.Name, strings.Join(p.Roles, ", "), perm)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt route, p Principal) {
	if rt.perm != permPublic {
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	}
	if err := rt.h(w, r, p); err != nil {
		if rt.web {
			s.webError(w, r, err)
		} else {
			s.writeError(w, r, err)
		}
	}
}

// Sessions of the web inbox are signed cookies. The cookie holds the
// SHA-256 of the login token (so removing a token ends its sessions), an
// expiry and a nonce, the session's ID, signed with HMAC-SHA256 under the
// session key. The only server-side state is the IDs of the sessions that
// logged out, until they expire (revocations). CSRF tokens are an HMAC of
// the session cookie: bound to the session, checked on every POST.
//
// The session cookie is SameSite=Lax, not Strict: a link to a question
// from mail or chat is a cross-site navigation, which must carry the
// session to open the question. Every state-changing request is a POST,
// which Lax cookies do not go with from other sites, and needs the CSRF
// token besides.

const (
	sessionCookie = "weft_session"
	loginCookie   = "weft_login"
)

type sessionData struct {
	Token  string `json:"k"` // hex SHA-256 of the token
	Expiry int64  `json:"x"` // Unix seconds
	Nonce  string `json:"n"`
}

// session is a verified session cookie.
type session struct {
	raw    string    // the cookie's payload, what the CSRF token is bound to
	id     string    // its nonce: what logout revokes
	expiry time.Time // when it ends anyway
}

// revocations are the sessions that logged out before they expired, kept
// in memory until they would have expired: a copied cookie stops working
// at logout. They are this process's: another instance that shares the
// session key (WithSessionKey) does not know of them.
type revocations struct {
	mu   sync.Mutex
	ids  map[string]time.Time // session ID -> its expiry
	next time.Time            // when to drop the expired ones next
}

// revoke ends the session id, which would expire at exp.
func (rv *revocations) revoke(id string, exp, now time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.ids == nil {
		rv.ids = map[string]time.Time{}
	}
	if !now.Before(rv.next) {
		for k, x := range rv.ids {
			if !now.Before(x) {
				delete(rv.ids, k)
			}
		}
		rv.next = now.Add(time.Minute)
	}
	rv.ids[id] = exp
}

// revoked reports whether the session id logged out.
func (rv *revocations) revoked(id string) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	_, ok := rv.ids[id]
	return ok
}

// sessionKey holds the session of a web request in its context, once
// verified.
type sessionKey struct{}

func (s *Server) mac(purpose, data string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(data))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session returns the request's session and principal, if it has a valid
// one.
func (s *Server) session(r *http.Request) (session, Principal, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, Principal{}, false
	}
	payload, sig, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.mac("session", payload))) {
		return session{}, Principal{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return session{}, Principal{}, false
	}
	var sd sessionData
	if json.Unmarshal(raw, &sd) != nil || s.now().Unix() >= sd.Expiry {
		return session{}, Principal{}, false
	}
	sum, err := hex.DecodeString(sd.Token)
	if err != nil || len(sum) != sha256.Size {
		return session{}, Principal{}, false
	}
	p, ok := s.tokens[[sha256.Size]byte(sum)]
	if !ok || sd.Nonce == "" || s.revoked.revoked(sd.Nonce) {
		return session{}, Principal{}, false
	}
	return session{raw: payload, id: sd.Nonce, expiry: time.Unix(sd.Expiry, 0)}, p, true
}

// setSession logs the browser in with token.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, token string) error {
	sum := sha256.Sum256([]byte(token))
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	exp := s.now().Add(s.sessionTTL)
	raw, err := json.Marshal(sessionData{Token: hex.EncodeToString(sum[:]), Expiry: exp.Unix(), Nonce: hex.EncodeToString(nonce)})
	if err != nil {
		return err
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: payload + "." + s.mac("session", payload), Path: "/",
		Expires: exp, MaxAge: int(s.sessionTTL / time.Second),
		HttpOnly: true, Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// clearSession tells the browser to drop its session cookie.
func (s *Server) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secureRequest(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) secureRequest(r *http.Request) bool { return s.secure || r.TLS != nil }

// csrfToken is the CSRF token of a session.
func (s *Server) csrfToken(sess session) string { return s.mac("csrf", sess.raw) }

// parseForm parses a POSTed form, at most the body limit.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return mbe
		}
		return errBadRequest("invalid form: " + err.Error())
	}
	// Turned into JSON, invalid UTF-8 would become U+FFFD: refuse it.
	for k, vs := range r.PostForm {
		if !utf8.ValidString(k) {
			return errBadRequest("invalid form: a field name is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return errBadRequest(fmt.Sprintf("invalid form: field %q is not valid UTF-8", k))
			}
		}
	}
	return nil
}

// validCSRF checks the CSRF token of a POST (after parseForm): the form
// field "csrf" or the header X-CSRF-Token.
func (s *Server) validCSRF(r *http.Request, sess session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostForm.Get("csrf")
	}
	return tok != "" && hmac.Equal([]byte(tok), []byte(s.csrfToken(sess)))
}

// The login form has no session yet: its CSRF token is bound to a random
// cookie set with the form (double submit, signed).

func (s *Server) loginCSRF(w http.ResponseWriter, r *http.Request) (string, error) {
	var val string
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 16 {
		val = c.Value
	} else {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		val = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name: loginCookie, Value: val, Path: "/login", MaxAge: 3600,
			HttpOnly: true, Secure: s.secureRequest(r), SameSite: http.SameSiteStrictMode,
		})
	}
	return s.mac("login", val), nil
}

func (s *Server) validLoginCSRF(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return false
	}
	tok := r.PostForm.Get("csrf")
	return tok != "" && hmac.Equal([]byte(tok), []byte(s.mac("login", c.Value)))
}
