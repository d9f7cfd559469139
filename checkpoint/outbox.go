package checkpoint

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// Outbox is what a store offers besides Store when it records, in the same
// transaction as the change they report, the events that a person is
// needed or that something happened to a question or a thread: a durable
// queue from which a sender (package webhook) delivers notifications. A
// commit that is kept has its events; one rolled back has none; a crash
// loses none.
//
// A store writes events only when its outbox is on (memstore.WithOutbox,
// sqlitestore.Options.Outbox, pgstore.Options.Outbox, or, for the stores
// that share a database between processes, a database marked as using its
// outbox: see OutboxMark); OutboxEnabled says whether it is. With the
// outbox on, the store writes:
//
//   - EventQuestionAsked for every pending question a Commit inserts (not
//     for one that exists already);
//   - EventQuestionAnswered for every question an Answer answers;
//   - EventQuestionEscalated for every question Reassign reassigns;
//   - EventThreadFailed for a Commit that leaves its thread StatusFailed.
//
// EventDeadlineNear is found by the sender, which adds it with AddEvent
// under a Dedup key, so it is recorded once per question and deadline.
// Each event carries a snapshot of what it reports (the question's node,
// key, reason, assignees and deadline at that moment).
//
// Delivery is at least once: a sender claims due events (ClaimEvents), each
// for a lease; it marks one delivered (DeliveredEvent) once every receiver
// acknowledged it, or records a failed attempt with the time of the next
// one (RetryEvent). A delivered event is never claimed again; an event
// whose sender died is claimed again once its claim's lease lapses.
// Concurrent claimers never get the same event while its claim is live.
type Outbox interface {
	// OutboxEnabled reports whether the store writes events with its
	// commits, answers and reassignments.
	OutboxEnabled() bool

	// AddEvent records e as a pending event, due at once, and reports
	// whether it did: an event whose Dedup key is recorded already (in any
	// status) is not recorded again, and AddEvent returns false. The store
	// sets ID (a new unique one), Status, Attempts, NextAttempt and
	// CreatedAt (e.CreatedAt if set, else the store's now); e.Type and
	// e.ThreadID are required. AddEvent works whether the outbox is on or
	// not.
	AddEvent(ctx context.Context, e *Event) (bool, error)

	// ClaimEvents claims up to q.Limit pending events that are due (their
	// NextAttempt is at or before the store's now) and not claimed on a
	// live lease, oldest due first, for q.Owner until the store's now +
	// q.Lease. It returns them, none if nothing is due.
	ClaimEvents(ctx context.Context, q *EventClaim) ([]Event, error)

	// DeliveredEvent marks the event delivered (EventDelivered, with
	// DeliveredAt d.At): it is never claimed again. Marking one that is
	// delivered already changes nothing and succeeds; ErrNotFound if it
	// does not exist. It does not check the claim: delivery happened,
	// whoever reports it.
	DeliveredEvent(ctx context.Context, d *EventDone) error

	// RetryEvent records a failed attempt of a pending event claimed by
	// r.Owner: Attempts+1, LastError r.Error, Done r.Done, the claim
	// released, and NextAttempt r.At, or, with r.GiveUp, status
	// EventDead (never claimed again). ErrConflict, changing nothing, if
	// the event is not pending or not claimed by r.Owner (a sender whose
	// lease lapsed and whose event was claimed by another); ErrNotFound if
	// it does not exist.
	RetryEvent(ctx context.Context, r *EventRetry) error

	// Events lists events matching q, in the order they were recorded.
	Events(ctx context.Context, q *EventQuery) ([]Event, error)

	// PruneEvents removes delivered and dead events recorded before
	// p.Before and returns how many it removed. It keeps the newest event
	// of the store whatever its age, so that a store whose outbox was used
	// keeps showing it (the command line turns the outbox on for such a
	// store).
	PruneEvents(ctx context.Context, p *EventPrune) (int, error)
}

// OutboxMark is the name of the named lease (see Store.Lease) with which
// pgstore and sqlitestore mark a database whose outbox is in use: a store
// opened with its outbox on records it, for good (it never lapses), and
// a store opened without it on a marked database turns its outbox on; one
// opened before the mark checks for it in every write that would record
// an event. So no process that writes to the database can leave out the
// events of a change made after a store with its outbox on was opened,
// whatever its options. Removing the lease (by hand) unmarks the
// database.
const OutboxMark = "weft.outbox"

// ErrOutboxOff is returned (wrapped) by a sender given a store whose
// outbox is off: the store records no events to send.
var ErrOutboxOff = errors.New("the store's outbox is off: open it with the outbox on")

// The types of events.
const (
	// EventQuestionAsked: a question waits for a person.
	EventQuestionAsked = "question.asked"
	// EventDeadlineNear: a pending question's deadline is near.
	EventDeadlineNear = "deadline.near"
	// EventQuestionEscalated: a question was reassigned (its deadline
	// passed and it went to EscalateTo).
	EventQuestionEscalated = "question.escalated"
	// EventQuestionAnswered: a question was answered (by a person, a
	// resolver or a deadline's fallback).
	EventQuestionAnswered = "question.answered"
	// EventThreadFailed: a thread failed.
	EventThreadFailed = "thread.failed"
)

// EventTypes lists every type of event, in the order of a question's life.
var EventTypes = []string{EventQuestionAsked, EventDeadlineNear, EventQuestionEscalated, EventQuestionAnswered, EventThreadFailed}

// EventStatus is where an event's delivery stands.
type EventStatus string

// The statuses of an event.
const (
	EventPending   EventStatus = "pending"
	EventDelivered EventStatus = "delivered"
	// EventDead: the sender gave up after too many failed attempts.
	EventDead EventStatus = "dead"
)

// Event is one entry of a store's outbox.
type Event struct {
	// ID is unique and stable: receivers de-duplicate deliveries by it.
	ID string
	// Type is one of the Event* constants.
	Type string
	// ThreadID and Workflow name the thread.
	ThreadID string
	Workflow string
	// InterruptID names the question ("" for EventThreadFailed); Node,
	// Key, Reason, Assignees and Deadline are the question's when the
	// event was recorded.
	InterruptID string
	Node        string
	Key         string
	Reason      string
	Assignees   []string
	Deadline    time.Time
	// Author is who answered (EventQuestionAnswered) and Channel how.
	Author  string
	Channel string
	// Error is the thread's error (EventThreadFailed).
	Error string
	// Dedup, if set, is unique among the store's events: see AddEvent.
	Dedup string
	// CreatedAt is when the event was recorded.
	CreatedAt time.Time

	// Status, Attempts (failed attempts so far), NextAttempt, LastError
	// (the error of the last failed attempt), Done (the receivers that
	// acknowledged the event, when it has several) and DeliveredAt are
	// the delivery's state.
	Status      EventStatus
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Done        []string
	DeliveredAt time.Time
}

// EventClaim is the argument of Outbox.ClaimEvents.
type EventClaim struct {
	// Owner claims the events, for Lease.
	Owner string
	Lease time.Duration
	// Limit caps how many events are claimed; 0 means 1.
	Limit int
}

// EventDone is the argument of Outbox.DeliveredEvent.
type EventDone struct {
	ID string
	At time.Time
}

// EventRetry is the argument of Outbox.RetryEvent.
type EventRetry struct {
	ID    string
	Owner string
	// At is when the next attempt is due.
	At time.Time
	// Error says why the attempt failed.
	Error string
	// Done lists the receivers that acknowledged the event so far.
	Done []string
	// GiveUp makes the event EventDead instead.
	GiveUp bool
}

// EventQuery selects events. Zero fields do not filter.
type EventQuery struct {
	ThreadID string
	Type     string
	Status   EventStatus
	// Limit caps the list; 0 means 100.
	Limit int
}

// EventPrune is the argument of Outbox.PruneEvents.
type EventPrune struct {
	// Before removes delivered and dead events created before it.
	Before time.Time
}

// Check reports an error for an event that AddEvent refuses.
func (e *Event) Check() error {
	switch {
	case e == nil:
		return errors.New("AddEvent without an event")
	case e.Type == "":
		return errors.New("event without a type")
	case e.ThreadID == "":
		return errors.New("event without a thread")
	}
	return nil
}

// NewEventID returns a new random event ID: 32 hexadecimal digits.
func NewEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// QuestionEvent returns the event of type typ about question r, as a store
// records it.
func QuestionEvent(typ string, r *InterruptRecord) Event {
	return Event{
		Type: typ, ThreadID: r.ThreadID, Workflow: r.Workflow, InterruptID: r.ID, Node: r.Node, Key: r.Key,
		Reason: r.Reason, Assignees: append([]string(nil), r.Assignees...), Deadline: r.Deadline,
	}
}
