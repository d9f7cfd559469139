package checkpoint

import "errors"

// Sentinel errors every Store returns (wrapped with detail) for the states a
// caller handles.
var (
	// ErrNotFound: no such thread, checkpoint or interrupt.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the thread's version is not the one the commit expected:
	// another run advanced it first. Nothing of the commit was kept.
	ErrConflict = errors.New("conflict: the thread was changed by another run")
	// ErrAlreadyAnswered: the interrupt is no longer pending (answered, or
	// cancelled because the thread moved on). Nothing was recorded.
	ErrAlreadyAnswered = errors.New("interrupt already answered")
)
