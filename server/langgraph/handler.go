package langgraph

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
)

// Option configures the handler New returns.
type Option func(*handler)

// WithMaxBody caps request bodies at n bytes (1 MiB by default).
func WithMaxBody(n int64) Option {
	return func(h *handler) { h.maxBody = n }
}

// WithBaseContext runs every run under ctx (context.Background by
// default), not under its request's context: cancelling ctx stops the
// runs under way at their last checkpoint, as cancelling each would.
func WithBaseContext(ctx context.Context) Option {
	return func(h *handler) { h.base = ctx }
}

type handler struct {
	mux     *http.ServeMux
	runners map[string]weft.Runner
	order   []string
	store   checkpoint.Store
	// records is the store as checkpoint.Records when it is one: run
	// records and thread metadata are kept there too, not in memory only.
	records checkpoint.Records
	auth    func(*http.Request) (caller, error)
	maxBody int64
	started time.Time

	// base is the context of background runs: not tied to any request.
	base context.Context

	mu      sync.Mutex
	threads map[string]*threadMeta // metadata of threads, in memory (and in records)
	runs    map[string]*runRecord  // run records, in memory (and in records)
	// threadLogs are the streams of threads (GET /threads/{id}/stream).
	threadLogs map[string]*threadLog

	// assistantRecs keeps the assistants made with POST /assistants and
	// the items of the store API: records, or records in memory for a
	// store without them; amu orders their changes.
	assistantRecs checkpoint.Records
	amu           sync.Mutex
}

// New returns an http.Handler that serves the LangGraph Platform API over
// runners, one assistant per workflow. store is where the runners keep their
// threads; it is used to list and look threads up. See the package
// documentation for the routes and what they support.
func New(runners []weft.Runner, store checkpoint.Store, opts ...Option) http.Handler {
	h := &handler{
		mux:     http.NewServeMux(),
		runners: make(map[string]weft.Runner, len(runners)),
		store:   store,
		maxBody: 1 << 20,
		started: time.Now().UTC(),
		base:    context.Background(),
		threads: make(map[string]*threadMeta),
		runs:    make(map[string]*runRecord),

		threadLogs: make(map[string]*threadLog),
	}
	h.records, _ = store.(checkpoint.Records)
	h.assistantRecs = h.records
	if h.assistantRecs == nil {
		h.assistantRecs = memstore.New()
	}
	for _, r := range runners {
		if _, dup := h.runners[r.Name()]; !dup {
			h.order = append(h.order, r.Name())
		}
		h.runners[r.Name()] = r
	}
	for _, o := range opts {
		o(h)
	}
	h.routes()
	return h
}

func (h *handler) routes() {
	m := h.mux
	handle := m.HandleFunc
	read := func(pattern string, f http.HandlerFunc) { handle(pattern, need(permRead, f)) }
	operate := func(pattern string, f http.HandlerFunc) { handle(pattern, need(permOperate, f)) }
	// Runs check what they do themselves: a reviewer may answer.
	run := func(pattern string, f http.HandlerFunc) { handle(pattern, need(permAnswer, f)) }

	handle("GET /ok", h.ok)
	read("GET /info", h.info)
	read("POST /assistants/search", h.searchAssistants)
	read("POST /assistants/count", h.countAssistants)
	read("GET /assistants/{id}", h.getAssistant)
	read("GET /assistants/{id}/graph", h.assistantGraph)
	read("GET /assistants/{id}/schemas", h.assistantSchemas)
	operate("POST /assistants", h.createAssistant)
	operate("PATCH /assistants/{id}", h.patchAssistant)
	operate("DELETE /assistants/{id}", h.deleteAssistant)
	read("POST /assistants/{id}/versions", h.assistantVersions)
	operate("POST /assistants/{id}/latest", h.setLatest)
	operate("PUT /store/items", h.putItem)
	read("GET /store/items", h.getItem)
	operate("DELETE /store/items", h.deleteItem)
	read("POST /store/items/search", h.searchItems)
	read("POST /store/namespaces", h.listNamespaces)
	for _, pattern := range []string{"POST /threads/{id}/runs/crons", "POST /runs/crons", "POST /runs/crons/search",
		"POST /runs/crons/count", "DELETE /runs/crons/{cron}", "PATCH /runs/crons/{cron}"} {
		read(pattern, cronsUnsupported)
	}

	operate("POST /threads", h.createThread)
	read("POST /threads/search", h.searchThreads)
	read("POST /threads/count", h.countThreads)
	read("GET /threads/{id}", h.getThread)
	operate("PATCH /threads/{id}", h.patchThread)
	operate("DELETE /threads/{id}", h.deleteThread)
	operate("POST /threads/{id}/copy", h.copyThread)
	read("GET /threads/{id}/state", h.threadState)
	operate("POST /threads/{id}/state", h.updateState)
	read("GET /threads/{id}/state/{checkpoint}", h.threadStateAt)
	read("POST /threads/{id}/state/checkpoint", h.threadStateAt)
	read("GET /threads/{id}/history", h.threadHistory)
	read("GET /threads/{id}/stream", h.joinThreadStream)
	read("POST /threads/{id}/history", h.threadHistory)

	run("POST /threads/{id}/runs/wait", h.waitRun)
	run("POST /runs/wait", h.waitRun)
	run("POST /runs/stream", h.streamRun)
	run("POST /runs", h.backgroundRun)
	operate("POST /runs/cancel", h.cancelRuns)
	run("POST /threads/{id}/runs/stream", h.streamRun)
	run("POST /threads/{id}/runs", h.backgroundRun)
	read("GET /threads/{id}/runs", h.listRuns)
	read("GET /threads/{id}/runs/{run}", h.getRun)
	operate("DELETE /threads/{id}/runs/{run}", h.deleteRun)
	read("GET /threads/{id}/runs/{run}/join", h.joinRun)
	read("GET /threads/{id}/runs/{run}/stream", h.joinStream)
	operate("POST /threads/{id}/runs/{run}/cancel", h.cancelRun)

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A path that other methods take is 405, others 404.
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
			other := r.Clone(r.Context())
			other.Method = method
			if _, pattern := h.mux.Handler(other); pattern != "/" {
				writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
				return
			}
		}
		writeError(w, http.StatusNotFound, "Not Found")
	})
}

// ServeHTTP authenticates the request, then routes it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.auth != nil && r.URL.Path != "/ok" {
		c, err := h.auth(r)
		if err != nil {
			writeError(w, http.StatusUnauthorized, err.Error())
			return
		}
		r = r.WithContext(withCaller(r.Context(), c))
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	}
	h.mux.ServeHTTP(w, r)
}

// ok is the health check; ?check_db=1 also reads the store.
func (h *handler) ok(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("check_db") == "1" && h.store != nil {
		if _, err := h.store.Threads(r.Context(), &checkpoint.ThreadQuery{Limit: 1}); err != nil {
			writeError(w, http.StatusInternalServerError, "the store does not answer: "+err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// info is the Platform's ServerInfo: what the server is and supports.
func (h *handler) info(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"version":              "weft " + weftVersion(),
		"langgraph_py_version": "",
		"flags":                map[string]any{"assistants": true, "crons": false, "langsmith": false, "langsmith_tracing_replicas": false},
		"metadata":             map[string]any{"server": "weft", "assistants": h.order},
	})
}

// weftVersion is the version of the weft module in the running binary
// ("(devel)" when weft is the main module, "unknown" without build
// information).
func weftVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if bi.Main.Path == "github.com/weftgraph/weft" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/weftgraph/weft" {
			return d.Version
		}
	}
	return "unknown"
}

// queryInt is the integer query parameter name, def if absent or not a
// number.
func queryInt(r *http.Request, name string, def int) int {
	if n, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return n
	}
	return def
}

// readAll reads the body of r (nil for none).
func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return data, nil
}

// readCloser gives a reader a no-op Close, to put a body read back.
type readCloser struct{ io.Reader }

// Close does nothing.
func (readCloser) Close() error { return nil }

// decodeBody decodes the JSON body of r into v; an empty body leaves v as
// it is.
func decodeBody(r *http.Request, v any) error {
	data, err := readAll(r)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the Platform's error body, {"detail": ...}.
func writeError(w http.ResponseWriter, code int, detail string) {
	writeJSON(w, code, map[string]any{"detail": detail})
}

// errInvalid marks a request the handler refuses as malformed (422).
var errInvalid = errors.New("invalid request")

// errorCode is the HTTP status of an error from weft or the handler.
func errorCode(err error) int {
	switch {
	case errors.Is(err, weft.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, weft.ErrBusy), errors.Is(err, weft.ErrConflict),
		errors.Is(err, weft.ErrAlreadyAnswered), errors.Is(err, weft.ErrWrongWorkflow),
		errors.Is(err, weft.ErrThreadPaused), errors.Is(err, weft.ErrThreadCompleted),
		errors.Is(err, weft.ErrThreadCancelled), errors.Is(err, weft.ErrNotRunning),
		errors.Is(err, errConflict):
		return http.StatusConflict
	case errors.Is(err, weft.ErrInvalidInput), errors.Is(err, weft.ErrInvalidAnswer),
		errors.Is(err, weft.ErrUnknownInterrupt), errors.Is(err, weft.ErrAmbiguousAnswer),
		errors.Is(err, errInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeErr(w http.ResponseWriter, err error) {
	writeError(w, errorCode(err), err.Error())
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// timestamp formats t as the Platform does (RFC 3339 in UTC, to the
// microsecond, so that timestamps sort as strings); the zero time is now.
func timestamp(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
