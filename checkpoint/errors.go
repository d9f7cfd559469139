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
	// ErrNotMigrated: the database lacks migrations this program needs (a
	// new database, or one written by an older program) and the store was
	// not asked to apply them; migrate it (the store's Migrate option or
	// `weft migrate`). Both SQL stores wrap it.
	ErrNotMigrated = errors.New("database schema is older than this program: migrate it")
	// ErrSchemaTooNew: the database holds a schema version newer than this
	// store knows; upgrade the program instead of writing to it.
	ErrSchemaTooNew = errors.New("database schema is newer than this program knows")
	// ErrBadCursor: a page cursor (InterruptQuery.After, ThreadQuery.After)
	// that the store did not make.
	ErrBadCursor = errors.New("malformed cursor")
	// ErrCorrupt: a stored row could not be decoded.
	ErrCorrupt = errors.New("corrupt stored data")
)
