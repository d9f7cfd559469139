package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Records is an optional interface of a Store: small JSON documents that a
// server keeps next to the threads it serves, keyed by a kind and an ID and
// indexed by the thread they belong to. The LangGraph API
// (server/langgraph) keeps its run records and the metadata of threads
// created before their first run in it, so that they outlive the process.
// memstore, sqlitestore and pgstore implement it; find it with a type
// assertion:
//
//	if rs, ok := store.(checkpoint.Records); ok { ... }
//
// A record's thread need not exist in the store (a thread the API created
// and has not run). DeleteThread leaves records alone: delete a thread's
// with DeleteRecords.
type Records interface {
	// PutRecord writes r, replacing the record of the same kind and ID.
	// Kind and ID are required and Data must be valid JSON, or nil for
	// null (CheckRecord's error otherwise, and nothing is written). The store sets UpdatedAt
	// to the time of the write, and CreatedAt too when r is new (a
	// replaced record keeps its CreatedAt).
	PutRecord(ctx context.Context, r *Record) error
	// Record returns the record of kind and id (an error wrapping
	// ErrNotFound when there is none).
	Record(ctx context.Context, kind, id string) (*Record, error)
	// Records lists the records q asks for, in ID order.
	Records(ctx context.Context, q *RecordQuery) (*RecordPage, error)
	// DeleteRecord removes the record of kind and id (an error wrapping
	// ErrNotFound when there is none).
	DeleteRecord(ctx context.Context, kind, id string) error
	// DeleteRecords removes every record of thread threadID, of any kind,
	// and returns how many it removed.
	DeleteRecords(ctx context.Context, threadID string) (int, error)
}

// Record is one document of a Records store.
type Record struct {
	// Kind groups records ("run", "thread"); with ID it names the record.
	Kind string
	// ID is the record's ID, unique within its kind.
	ID string
	// ThreadID is the thread the record belongs to ("" for none).
	ThreadID string
	// Data is the document, JSON.
	Data json.RawMessage
	// CreatedAt and UpdatedAt are set by the store.
	CreatedAt, UpdatedAt time.Time
}

// RecordQuery selects records of one kind.
type RecordQuery struct {
	// Kind is required.
	Kind string
	// ThreadID keeps the records of that thread only ("" for all).
	ThreadID string
	// After is the cursor of a page: records with IDs after it (Next of
	// the page before).
	After string
	// Limit is the page size (100 when zero or less, at most 1000).
	Limit int
}

// RecordPage is a page of records.
type RecordPage struct {
	Records []Record
	// Next is the cursor of the next page, "" at the last.
	Next string
}

// RecordLimit is the page size a RecordQuery asks for: 100 by default, at
// most 1000.
func RecordLimit(q *RecordQuery) int {
	switch {
	case q.Limit <= 0:
		return 100
	case q.Limit > 1000:
		return 1000
	}
	return q.Limit
}

// CheckRecord returns the error of PutRecord for a record that cannot be
// written: one without a kind or an ID, or whose Data is not JSON.
func CheckRecord(r *Record) error {
	switch {
	case r == nil:
		return errors.New("checkpoint: PutRecord without a record")
	case r.Kind == "" || r.ID == "":
		return errors.New("checkpoint: a record needs a kind and an ID")
	case len(r.Data) > 0 && !json.Valid(r.Data):
		return errors.New("checkpoint: record " + r.Kind + "/" + r.ID + ": data is not JSON")
	}
	return nil
}
