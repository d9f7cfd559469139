package weft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// processOwner names this process in the claims it takes: host, process ID
// and a random part (a restarted process with the same ID is another
// owner).
var processOwner = sync.OnceValue(func() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
})

// heartbeat renews, every cfg.beat while any run of the workflow is
// active in this process, the claims of the threads they run: however
// long a node takes, the lease does not lapse while the process lives. A
// claim the store no longer has (another process took the thread over) and
// a stop requested from elsewhere cancel the run.
type heartbeat struct {
	beat  func(ctx context.Context)
	every time.Duration

	mu      sync.Mutex
	n       int  // active runs
	running bool // the loop runs; it ends at a tick with no active run
}

func (h *heartbeat) init(wf interface{ beatOnce(context.Context) }, every time.Duration) {
	h.beat, h.every = wf.beatOnce, every
}

// join counts one more active run, starting the beat if it does not run.
func (h *heartbeat) join() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	if !h.running {
		h.running = true
		go h.loop()
	}
}

// leave counts one active run less. The loop ends at its next tick if no
// run is active then, so that a burst of short runs shares one loop.
func (h *heartbeat) leave() {
	h.mu.Lock()
	h.n--
	h.mu.Unlock()
}

func (h *heartbeat) loop() {
	t := time.NewTicker(h.every)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		if h.n == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), h.every)
		h.beat(ctx)
		cancel()
	}
}

// beatOnce renews the claims of the threads this workflow runs here.
func (wf *Workflow[S]) beatOnce(ctx context.Context) {
	var threads []string
	runs := map[string]*activeRun{}
	trs := map[string]*threadRun{}
	wf.active.each(func(id string, a *activeRun) {
		tr := a.tr.Load()
		if tr == nil {
			return
		}
		tr.mu.Lock()
		claimed := tr.row.Status == StatusRunning && tr.row.Owner == wf.owner
		tr.mu.Unlock()
		if claimed {
			threads = append(threads, id)
			runs[id] = a
			trs[id] = tr
		}
	})
	if len(threads) == 0 {
		return
	}
	beat, err := wf.st.Heartbeat(ctx, &checkpoint.Heartbeat{Owner: wf.owner, Threads: threads, Lease: wf.cfg.lease})
	if err != nil {
		wf.log(ctx, "weft: heartbeat failed", "", "error", err)
		return
	}
	now := wf.now()
	for _, id := range threads {
		switch {
		case !slices.Contains(beat.Held, id):
			wf.log(ctx, "weft: claim lost; stopping the run", id)
			runs[id].cancel(errLostLock)
		case slices.Contains(beat.Stop, id):
			wf.log(ctx, "weft: stop requested", id)
			runs[id].cancel(errStopped)
		default:
			trs[id].confirm(now)
		}
	}
}
