package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// timeLayout is how text output shows a point in time: local time, with
// its offset from UTC, so that a time copied from one machine reads right
// on another.
const timeLayout = "2006-01-02 15:04:05 -07:00"

// maxThreads caps --limit of threads.
const maxThreads = 1000

// threadStatuses are the statuses --status takes.
var threadStatuses = []weft.Status{
	weft.StatusRunning, weft.StatusReady, weft.StatusInterrupted, weft.StatusStopped,
	weft.StatusCompleted, weft.StatusFailed, weft.StatusCancelled,
}

var threadsCmd = &command{
	name:    "threads",
	nargs:   [2]int{0, 0},
	summary: "list the threads in the store, to find stuck and failed ones",
	help: `Threads lists the threads in the store, ordered by ID: each with its
workflow, its status, the process that runs it (while it runs) and when it
last changed, in local time with the offset from UTC, and why it failed. It
works for threads of any workflow. A running thread whose owner no longer
renews its claim is marked "lapsed": its process died, and a worker takes
it over.

--status keeps the threads in one status (running, ready, interrupted,
stopped, completed, failed, cancelled), --workflow those of one workflow,
--older-than those that have not changed for at least that long (a thread
that waits too long, or runs too long). At most --limit threads are listed
(at most 1000); the next ones are read with --after CURSOR, the cursor
printed under the list (or "next" with --json).

  weft threads --status failed
  weft threads --status running --older-than 1h     # stuck?
  weft threads --workflow demo-refund --json`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var q threadsQuery
		var status string
		fs.StringVar(&status, "status", "", "only threads in this `status` (running, ready, interrupted, stopped, completed, failed, cancelled)")
		fs.StringVar(&q.Workflow, "workflow", "", "only threads of this workflow")
		fs.DurationVar(&q.olderThan, "older-than", 0, "only threads that have not changed for at least this long (90m, 24h)")
		fs.IntVar(&q.Limit, "limit", 100, "how many threads to list, at most 1000")
		fs.StringVar(&q.After, "after", "", "the cursor printed under the previous list, to read on from there")
		return func([]string) error {
			q.Status = weft.Status(status)
			return runThreads(c, &q)
		}
	},
}

// threadsQuery is the store's query and the filters the command applies
// itself.
type threadsQuery struct {
	checkpoint.ThreadQuery
	olderThan time.Duration
}

// threadJSON is a thread in the output of threads.
type threadJSON struct {
	ID            string      `json:"id"`
	Workflow      string      `json:"workflow"`
	Status        weft.Status `json:"status"`
	Owner         string      `json:"owner,omitempty"`
	LeaseUntil    time.Time   `json:"lease_until,omitzero"`
	Lapsed        bool        `json:"lapsed,omitempty"`
	StopRequested time.Time   `json:"stop_requested,omitzero"`
	Error         string      `json:"error,omitempty"`
	Version       int64       `json:"version"`
	Created       time.Time   `json:"created"`
	Updated       time.Time   `json:"updated"`
}

// listThreads reads pages of the store until limit threads match q (or
// the store has no more), and returns them with the cursor to read on.
func listThreads(c *cli, store checkpoint.Store, q *threadsQuery, now time.Time) ([]checkpoint.Thread, string, error) {
	limit := q.Limit
	sq := q.ThreadQuery
	var out []checkpoint.Thread
	for {
		sq.Limit = limit - len(out)
		if q.olderThan > 0 {
			sq.Limit = maxThreads // most may not match
		}
		page, err := store.Threads(c.ctx, &sq)
		if err != nil {
			return nil, "", err
		}
		for i, t := range page.Threads {
			if q.olderThan > 0 && now.Sub(t.UpdatedAt) < q.olderThan {
				continue
			}
			out = append(out, t)
			if len(out) == limit {
				if i == len(page.Threads)-1 {
					return out, page.Next, nil
				}
				// Read on after this thread: the store's cursor of a page
				// that ends here.
				next, err := store.Threads(c.ctx, &checkpoint.ThreadQuery{Workflow: sq.Workflow, Status: sq.Status, After: sq.After, Limit: i + 1})
				if err != nil {
					return nil, "", err
				}
				return out, next.Next, nil
			}
		}
		if page.Next == "" {
			return out, "", nil
		}
		sq.After = page.Next
	}
}

func runThreads(c *cli, q *threadsQuery) error {
	if q.Status != "" && !slices.Contains(threadStatuses, q.Status) {
		return usagef("--status %q: want one of %v", q.Status, threadStatuses)
	}
	if q.Limit < 1 || q.Limit > maxThreads {
		return usagef("--limit %d: want 1 to %d", q.Limit, maxThreads)
	}
	if q.olderThan < 0 {
		return usagef("--older-than %s: want a positive duration", q.olderThan)
	}
	store, err := c.openStore(false)
	if err != nil {
		return err
	}
	now := time.Now()
	threads, next, err := listThreads(c, store, q, now)
	if err != nil {
		return err
	}
	lapsed := func(t *checkpoint.Thread) bool {
		return t.Status == weft.StatusRunning && !t.LeaseUntil.IsZero() && !t.LeaseUntil.After(now)
	}
	if c.json {
		out := struct {
			Threads []threadJSON `json:"threads"`
			Next    string       `json:"next"`
		}{Threads: []threadJSON{}, Next: next}
		for i := range threads {
			t := &threads[i]
			out.Threads = append(out.Threads, threadJSON{ID: t.ID, Workflow: t.Workflow, Status: t.Status,
				Owner: t.Owner, LeaseUntil: t.LeaseUntil, Lapsed: lapsed(t), StopRequested: t.StopRequested, Error: t.Error,
				Version: t.Version, Created: t.CreatedAt, Updated: t.UpdatedAt})
		}
		return c.printJSON(out)
	}
	if len(threads) == 0 {
		_, err := fmt.Fprintln(c.stdout, "No threads match.")
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "THREAD\tWORKFLOW\tSTATUS\tOWNER\tUPDATED\tAGO\tERROR")
	for i := range threads {
		t := &threads[i]
		owner := orDash(t.Owner)
		switch {
		case lapsed(t):
			owner += " (lapsed)"
		case !t.StopRequested.IsZero():
			owner += " (stop requested)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Workflow, t.Status, owner, stamp(t.UpdatedAt),
			short(now.Sub(t.UpdatedAt)), orDash(oneLine(t.Error, 60)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stdout, "\nMore: weft threads --after %s (with the same filters)\n", shellQuote(next))
	}
	return nil
}

// oneLine returns s on one line, cut to max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); max > 0 && len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}
