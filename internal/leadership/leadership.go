// Package leadership elects one process at a time, among any number that
// share a store, to do what must not run everywhere at once (firing due
// deadlines, pruning history), with a named lease in the store
// (checkpoint.Store.Lease). A leader that stops renewing (it died, froze,
// or lost the store) loses the lease after its TTL, and another takes it.
package leadership

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Elector takes part in one election.
type Elector struct {
	Store checkpoint.Store
	// Name names the lease; Owner this process.
	Name, Owner string
	// TTL is how long the lease lasts without a renewal; the elector
	// renews it every TTL/3.
	TTL    time.Duration
	Logger *slog.Logger
}

// Run takes part in the election until ctx ends: whenever this process
// holds the lease, lead runs with a context that ends when it loses it (or
// ctx ends). Run waits for lead to return before it gives the lease up.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) {
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := max(e.TTL/3, time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var (
		cancel context.CancelFunc
		wg     sync.WaitGroup
	)
	stopLeading := func() {
		if cancel != nil {
			cancel()
			wg.Wait()
			cancel = nil
		}
	}
	defer func() {
		stopLeading()
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), every)
		defer done()
		_, _ = e.Store.Lease(rctx, &checkpoint.Lease{Name: e.Name, Owner: e.Owner, Release: true})
	}()
	for {
		held, err := e.Store.Lease(ctx, &checkpoint.Lease{Name: e.Name, Owner: e.Owner, TTL: e.TTL})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.WarnContext(ctx, "leadership: lease", "name", e.Name, "error", err)
			held = false
		}
		if held && cancel == nil {
			log.InfoContext(ctx, "leadership: leading", "name", e.Name, "owner", e.Owner)
			var lctx context.Context
			lctx, cancel = context.WithCancel(ctx)
			wg.Add(1)
			go func() {
				defer wg.Done()
				lead(lctx)
			}()
		}
		if !held && cancel != nil {
			log.InfoContext(ctx, "leadership: lost the lease", "name", e.Name, "owner", e.Owner)
			stopLeading()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
