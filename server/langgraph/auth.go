package langgraph

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/weftgraph/weft/server"
)

// AuthFunc authenticates a request: it returns who makes it (recorded as the
// author of answers) or an error, which the handler answers with 401.
type AuthFunc func(*http.Request) (author string, err error)

// WithAuth authenticates every request but GET /ok with auth; whoever it
// accepts may do everything. Without WithAuth or WithTokens the handler
// accepts every request and records answers with an empty author.
func WithAuth(auth AuthFunc) Option {
	return func(h *handler) {
		h.auth = func(r *http.Request) (caller, error) {
			name, err := auth(r)
			return caller{name: name, all: true}, err
		}
	}
}

// WithTokens authenticates requests with weft's tokens (server.LoadTokens):
// the token is the X-Api-Key header (the LangGraph SDKs' apiKey) or an
// Authorization: Bearer header, and its principal's roles grant what they
// grant in weft's own API:
//
//   - server.RoleViewer reads: assistants, threads, states, history, runs,
//     streams;
//   - server.RoleReviewer also answers: a run whose only content is
//     command.resume, for questions assigned to nobody, to its name or to
//     one of its roles (403 otherwise);
//   - server.RoleOperator and server.RoleAdmin do everything: create,
//     copy, update and delete threads, start, cancel and delete runs; an
//     admin answers any question, an operator those a reviewer may.
//
// The principal's name is recorded as the author of its answers. A missing
// or unknown token is 401, a request the roles do not grant 403.
func WithTokens(tokens map[string]server.Principal) Option {
	hashed := make(map[[32]byte]server.Principal, len(tokens))
	for tok, p := range tokens {
		hashed[sha256.Sum256([]byte(tok))] = p
	}
	return func(h *handler) {
		h.auth = func(r *http.Request) (caller, error) {
			tok := strings.TrimSpace(r.Header.Get("X-Api-Key"))
			if tok == "" {
				if scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
					tok = strings.TrimSpace(rest)
				}
			}
			if tok == "" {
				return caller{}, errors.New("missing API key (X-Api-Key or Authorization: Bearer)")
			}
			sum := sha256.Sum256([]byte(tok))
			for k, p := range hashed {
				if subtle.ConstantTimeCompare(k[:], sum[:]) == 1 {
					return caller{name: p.Name, roles: p.Roles}, nil
				}
			}
			return caller{}, errors.New("invalid API key")
		}
	}
}

// caller is who makes a request and what they may do.
type caller struct {
	name  string
	roles []string
	// all: the caller may do everything (WithAuth, or no authentication).
	all bool
}

func (c caller) has(role string) bool { return slices.Contains(c.roles, role) }

func (c caller) mayRead() bool {
	return c.all || c.has(server.RoleViewer) || c.mayAnswerAny()
}

func (c caller) mayAnswerAny() bool {
	return c.all || c.has(server.RoleReviewer) || c.mayOperate()
}

func (c caller) mayOperate() bool {
	return c.all || c.has(server.RoleOperator) || c.has(server.RoleAdmin)
}

// mayAnswer reports whether c may answer a question with these assignees,
// as weft's server decides it.
func (c caller) mayAnswer(assignees []string) bool {
	if c.all || c.has(server.RoleAdmin) {
		return true
	}
	if !c.mayAnswerAny() {
		return false
	}
	if len(assignees) == 0 {
		return true
	}
	for _, a := range assignees {
		if a == c.name || c.has(a) {
			return true
		}
	}
	return false
}

type callerKey struct{}

// callerOf is who makes the request (everything is allowed without
// authentication).
func callerOf(r *http.Request) caller {
	c, ok := r.Context().Value(callerKey{}).(caller)
	if !ok {
		return caller{all: true}
	}
	return c
}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// author is who makes the request ("" without authentication).
func author(r *http.Request) string { return callerOf(r).name }

func mayOperate(r *http.Request) bool { return callerOf(r).mayOperate() }

// answerer returns the check of the questions the request's caller may
// answer.
func answerer(r *http.Request) func([]string) bool { return callerOf(r).mayAnswer }

// forbidden is the detail of a 403: who may not do what.
func forbidden(r *http.Request, what string) string {
	c := callerOf(r)
	return fmt.Sprintf("principal %q (roles %s) may not %s", c.name, strings.Join(c.roles, ", "), what)
}

// errForbidden marks a request the caller's roles do not grant (403).
var errForbidden = errors.New("forbidden")

// Permissions of the routes.
type permission int

const (
	permRead permission = iota
	permAnswer
	permOperate
)

// need wraps a route with the permission it requires: reads need a
// viewer, runs check answers themselves (prepare), the rest an operator.
func need(perm permission, f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := callerOf(r)
		ok := false
		switch perm {
		case permRead:
			ok = c.mayRead()
		case permAnswer:
			ok = c.mayAnswerAny()
		case permOperate:
			ok = c.mayOperate()
		}
		if !ok {
			what := map[permission]string{permRead: "read", permAnswer: "answer", permOperate: "change threads and runs"}[perm]
			writeError(w, http.StatusForbidden, forbidden(r, what))
			return
		}
		f(w, r)
	}
}
