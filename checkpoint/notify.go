package checkpoint

import "context"

// Notifier is what a store that can tell other processes at once about new
// work offers besides Store (pgstore, with PostgreSQL's LISTEN/NOTIFY).
// Workers and webhook senders use it as a hint only: a notice can be lost
// (a connection that drops), so they poll the store as well, and a store
// without it (SQLite, memstore) is polled alone.
type Notifier interface {
	// Notify tells the listeners of every process about n, best effort
	// and soon (a store may gather notices for a few milliseconds). A
	// store that implements Notifier notifies by itself after its own
	// writes that make work ready: an Answer that makes a thread ready, a
	// Commit that leaves one ready, RequestStop of a running thread, and,
	// with its outbox on (see Outbox), every write that records an event
	// (NoticeEvent).
	Notify(ctx context.Context, n Notice) error
	// Listen calls fn for every notice of any process (its own included)
	// until ctx ends or the connection it listens on fails; it returns
	// the reason. fn must not block for long.
	Listen(ctx context.Context, fn func(Notice)) error
}

// Notice is what a Notifier tells.
type Notice struct {
	// Kind is NoticeReady, NoticeStop or NoticeEvent. Listeners ignore
	// kinds they do not know (a newer process may send more).
	Kind string
	// Thread and Workflow name the thread (for NoticeEvent, the thread of
	// one of the events recorded).
	Thread   string
	Workflow string
}

// The kinds of Notice.
const (
	NoticeReady = "ready" // a thread is ready to run
	NoticeStop  = "stop"  // a running thread is asked to stop
	// NoticeEvent: events were recorded in the outbox (see Outbox); a
	// webhook sender that hears it claims them at once instead of at its
	// next poll.
	NoticeEvent = "event"
)
