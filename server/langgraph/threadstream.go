package langgraph

import (
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

// threadStream returns the stream of thread id, made if it has none.
// h.mu is held.
func (h *handler) threadStream(id string) *eventLog {
	tl, ok := h.threadLogs[id]
	if !ok {
		tl = &threadLog{log: newEventLog()}
		h.threadLogs[id] = tl
	}
	return tl.log
}

// joinThread makes the events of run rr, from its first, part of its
// thread's stream; the run has begun (the runs ahead of it ended).
func (h *handler) joinThread(rr *runRecord) {
	h.mu.Lock()
	log := h.threadStream(rr.ThreadID)
	h.threadLogs[rr.ThreadID].touched = time.Now()
	h.pruneThreadLogs()
	h.mu.Unlock()
	rr.log.teeTo(log)
}

// pruneThreadLogs drops the oldest streams past maxThreadLogs of threads
// with no run under way here. h.mu is held.
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
// end) and forgets it. h.mu is held.
func (h *handler) dropThreadStream(id string) {
	if tl, ok := h.threadLogs[id]; ok {
		tl.log.close()
		delete(h.threadLogs, id)
	}
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
	h.mu.Lock()
	log := h.threadStream(id)
	h.mu.Unlock()
	if from < 0 {
		_, from, _, _ = log.from(1 << 62)
	}
	writeLog(w, r, log, from, func(string) bool { return true }, func() {})
}
