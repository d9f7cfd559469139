package langgraph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// threadLog is the stream of a thread: the events of its runs, one run
// after the other, as they run in this handler.
type threadLog struct {
	log     *eventLog
	touched time.Time // when a run last began on it
}

// maxThreadLogs is how many threads keep a stream; past it, the streams
// of the threads whose last run began longest ago (and with none under
// way) are closed and dropped.
const maxThreadLogs = 256

// threadStream returns the stream of thread id, made if it has none. A
// stream made over a store that keeps records (durable: not that of a
// stateless run) goes on from the events stored: its ids continue theirs,
// and its readers read the earlier ones from the store.
func (h *handler) threadStream(ctx context.Context, id string, durable bool) *eventLog {
	h.mu.Lock()
	tl, ok := h.threadLogs[id]
	h.mu.Unlock()
	if ok {
		return tl.log
	}
	log := newEventLog()
	if s := h.threadEvents(id); s != nil && durable {
		// Without the stored ids, the stream is kept in memory only: it
		// would write over them.
		if n, err := s.next(ctx, -1); err == nil {
			log.first = n
			log.persist(s)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if tl, ok := h.threadLogs[id]; ok {
		return tl.log
	}
	h.threadLogs[id] = &threadLog{log: log}
	return log
}

// joinThread makes the events of run rr, from its first, part of its
// thread's stream; the run has begun (the runs ahead of it ended). A
// stream kept in the store goes on after the events another process
// wrote to it since (its runs of the thread).
func (h *handler) joinThread(ctx context.Context, rr *runRecord) {
	log := h.threadStream(ctx, rr.ThreadID, !rr.ephemeral)
	if log.store != nil {
		_, _, after, _, _ := log.from(1 << 62)
		if n, err := log.store.next(ctx, after-1); err == nil {
			log.skipTo(n)
		}
	}
	h.mu.Lock()
	if tl, ok := h.threadLogs[rr.ThreadID]; ok {
		tl.touched = time.Now()
	}
	h.pruneThreadLogs()
	h.mu.Unlock()
	rr.log.teeTo(log)
}

// pruneThreadLogs drops the oldest streams past maxThreadLogs of threads
// with no run under way here (what they keep in the store stays). h.mu
// is held.
func (h *handler) pruneThreadLogs() {
	for len(h.threadLogs) > maxThreadLogs {
		var oldest string
		for id, tl := range h.threadLogs {
			if len(h.active(id)) == 0 && (oldest == "" || tl.touched.Before(h.threadLogs[oldest].touched)) {
				oldest = id
			}
		}
		if oldest == "" {
			return
		}
		h.dropThreadStream(oldest)
	}
}

// dropThreadStream closes the stream of thread id (its readers' streams
// end), forgets it and returns it (nil if it had none). h.mu is held.
func (h *handler) dropThreadStream(id string) *eventLog {
	tl, ok := h.threadLogs[id]
	if !ok {
		return nil
	}
	tl.log.close()
	delete(h.threadLogs, id)
	return tl.log
}

// joinThreadStream is GET /threads/{id}/stream: the events of every run
// of the thread, one run after the other (each from its metadata event
// on, in the modes it was made with), as they happen, with ids of the
// thread's stream; it stays open until the client goes away. Without
// Last-Event-ID it starts with the next event; with "-" or -1, from the
// first the stream keeps; with an id, after it. stream_mode (or
// stream_modes) run_modes is the default and the only mode served:
// lifecycle and state_update are refused (422).
func (h *handler) joinThreadStream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	var names []string
	for _, key := range []string{"stream_mode", "stream_modes"} {
		for _, v := range q[key] {
			var many []string
			if json.Unmarshal([]byte(v), &many) == nil {
				names = append(names, many...)
			} else {
				names = append(names, strings.Split(v, ",")...)
			}
		}
	}
	for _, m := range names {
		switch m {
		case "run_modes":
		case "lifecycle", "state_update":
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("thread stream mode %q is not supported: run_modes (the default) streams the events of the thread's runs", m))
			return
		default:
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("thread stream mode %q is not one of run_modes, lifecycle, state_update", m))
			return
		}
	}
	last := r.Header.Get("Last-Event-ID")
	from := -1 // the next event
	switch last {
	case "":
	case "-", "-1":
		from = 0
	default:
		n, err := strconv.Atoi(last)
		if err != nil || n < 0 {
			writeError(w, http.StatusUnprocessableEntity, "Last-Event-ID must be an event id, or - for the first")
			return
		}
		from = n + 1
	}
	if _, err := h.lookup(r.Context(), id); err != nil {
		writeErr(w, err)
		return
	}
	log := h.threadStream(r.Context(), id, true)
	if from < 0 {
		_, _, from, _, _ = log.from(1 << 62)
	}
	writeLog(w, r, log, from, func(string) bool { return true }, func() {})
}
