package checkpoint

import (
	"errors"
	"fmt"
)

// DefaultLimit is the page size of ThreadQuery and InterruptQuery when
// their Limit is 0.
const DefaultLimit = 100

// PageLimit is the page size a Limit asks for: DefaultLimit for 0 (or
// less).
func PageLimit(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return limit
}

// Cursor decodes q.After: nil for the first page, an error wrapping
// ErrBadCursor for a cursor no store made.
func (q *InterruptQuery) Cursor() (*InterruptCursor, error) {
	if q.After == "" {
		return nil, nil
	}
	c, err := ParseInterruptCursor(q.After)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Check refuses a commit a store must not apply: one without a thread ID,
// or whose checkpoint ID or blob versions are set to another version than
// the one the commit creates (ExpectedVersion+1). Stores call it first.
func (c *Commit) Check() error {
	if c == nil || c.Thread.ID == "" {
		return errors.New("commit without a thread ID")
	}
	cp := c.Checkpoint
	if cp == nil {
		if c.Carry != nil {
			return fmt.Errorf("thread %q: a commit that carries writes needs a checkpoint", c.Thread.ID)
		}
		return nil
	}
	version := c.ExpectedVersion + 1
	if want := FormatID(version); cp.ID != "" && cp.ID != want {
		return fmt.Errorf("thread %q: checkpoint ID %q of a commit at version %d, want %q", c.Thread.ID, cp.ID, version, want)
	}
	for _, b := range cp.Blobs {
		if b.Version != 0 && b.Version != version {
			return fmt.Errorf("thread %q: blob %s of version %d in a commit at version %d", c.Thread.ID, b.Field, b.Version, version)
		}
	}
	return nil
}
