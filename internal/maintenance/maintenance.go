// Package maintenance runs the periodic jobs of a weft deployment (due
// deadlines, retention) as services, each every so often, until its
// context ends. It is run by the one process that leads (see
// internal/leadership).
package maintenance

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Service is one periodic job.
type Service struct {
	Name  string
	Every time.Duration
	// Do does one pass; its error is logged and the next pass goes on.
	Do func(ctx context.Context) error
}

// Run runs every service with a positive Every, each on its own goroutine,
// at once and then every Every, until ctx ends; it returns when all have
// stopped.
func Run(ctx context.Context, log *slog.Logger, services ...Service) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	for _, s := range services {
		if s.Every <= 0 || s.Do == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(s.Every)
			defer t.Stop()
			for {
				if err := s.Do(ctx); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "maintenance: pass failed", "service", s.Name, "error", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}
