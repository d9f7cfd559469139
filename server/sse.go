package server

import (
	"bufio"
	"net/http"
	"time"
)

func (s *Server) threadEvents(w http.ResponseWriter, r *http.Request, _ Principal) error {
	thread := r.PathValue("id")
	if !s.feed.has(thread) {
		if _, err := s.ib.Store().Thread(r.Context(), thread); err != nil {
			return err
		}
	}
	s.stream(w, r, filter{thread: thread})
	return nil
}

// allEvents serves GET /v1/events and the web inbox's GET /inbox/events.
func (s *Server) allEvents(w http.ResponseWriter, r *http.Request, _ Principal) error {
	q := r.URL.Query()
	s.stream(w, r, filter{thread: q.Get("thread"), workflow: q.Get("workflow")})
	return nil
}

// stream serves the feed's events that pass flt as Server-Sent Events until
// the client goes away.
//
// Each event is sent as "id: <epoch>-<n>", "event: <type>" and one "data:"
// line of JSON, and flushed. The stream starts after the request's
// Last-Event-ID (or its "since" query parameter: "0" for the oldest
// buffered event); without either it starts with the next event. If the
// client may have missed events (its ID is from before a restart, or older
// than the buffer), a "reset" event comes first: the client should reload
// the state it shows. Idle streams get a comment line every heartbeat.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, flt filter) {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("since")
	}
	pos := s.feed.parsePosition(last)

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 8<<10)
	write := func() bool {
		if bw.Flush() != nil {
			return false
		}
		return rc.Flush() == nil
	}
	_, _ = bw.WriteString("retry: 2000\n\n")
	reset := func() {
		_, _ = bw.WriteString("event: reset\ndata: {\"type\":\"reset\"}\n\n")
	}
	if pos.reset {
		reset()
	}
	if !write() {
		return
	}
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	var buf []feedEvent
	at, oldest := pos.id, pos.oldest
	for {
		evs, lost, upTo, wake := s.feed.next(at, flt, buf[:0])
		buf = evs
		if oldest {
			lost, oldest = false, false
		}
		if lost {
			reset()
		}
		for _, e := range evs {
			_, _ = bw.WriteString("id: ")
			_, _ = bw.WriteString(s.feed.formatID(e.id))
			_, _ = bw.WriteString("\nevent: ")
			_, _ = bw.WriteString(string(e.typ))
			_, _ = bw.WriteString("\ndata: ")
			_, _ = bw.Write(e.data)
			_, _ = bw.WriteString("\n\n")
			// Flush per event: a client sees each one as soon as it is
			// produced, and a write error stops the stream early.
			if !write() {
				return
			}
		}
		if lost && !write() {
			return
		}
		at = upTo
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-wake:
		case <-heartbeat.C:
			_, _ = bw.WriteString(": keepalive\n\n")
			if !write() {
				return
			}
		}
	}
}
