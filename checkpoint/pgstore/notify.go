package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

// channelPrefix starts the name of the NOTIFY channel of every schema.
const channelPrefix = "weft_notices"

// channelOf returns the NOTIFY channel of schema: "weft_notices" for the
// default schema, "weft_notices:" and the schema's name for another (or,
// for a name too long for a channel, a hash of it), so that stores on
// different schemas of one database do not hear each other.
func channelOf(schema string) string {
	if schema == DefaultSchema {
		return channelPrefix
	}
	const maxChannel = 63 // NAMEDATALEN - 1
	if ch := channelPrefix + ":" + schema; len(ch) <= maxChannel {
		return ch
	}
	sum := sha256.Sum256([]byte(schema))
	return channelPrefix + ":" + hex.EncodeToString(sum[:16])
}

// Channel returns the PostgreSQL channel the store notifies on and listens
// to (see Listen).
func (s *Store) Channel() string { return s.channel }

// hint queues a notice of kind about t for the next batch, if the store
// notifies.
func (s *Store) hint(kind string, t *checkpoint.Thread) {
	if s.notices != nil {
		s.notices.Add(checkpoint.Notice{Kind: kind, Thread: t.ID, Workflow: t.Workflow})
	}
}

// sendNotices sends a batch of notices with one statement, a transaction
// of its own.
func (s *Store) sendNotices(ctx context.Context, batch []checkpoint.Notice) error {
	payloads := make([]string, len(batch))
	for i, n := range batch {
		p, err := json.Marshal(notice(n))
		if err != nil {
			return fmt.Errorf("pgstore: notify: %w", err)
		}
		payloads[i] = string(p)
	}
	if _, err := s.pool.Exec(ctx, s.sql.notifyBatch, s.channel, payloads); err != nil {
		return fmt.Errorf("pgstore: notify: %w", err)
	}
	return nil
}

// notice is the payload of a notification: compact JSON.
type notice struct {
	Kind     string `json:"kind"`
	Thread   string `json:"thread"`
	Workflow string `json:"workflow"`
}

// Notify tells the listeners of every process about n with pg_notify on
// the store's channel; PostgreSQL delivers it at once (it is not inside a
// transaction).
func (s *Store) Notify(ctx context.Context, n checkpoint.Notice) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	payload, err := json.Marshal(notice(n))
	if err != nil {
		return fmt.Errorf("pgstore: notify: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.sql.notify, s.channel, string(payload)); err != nil {
		return fmt.Errorf("pgstore: notify: %w", err)
	}
	return nil
}

// Listen calls fn for every notice on the store's channel, from any
// process (this one included), until ctx ends or the connection fails,
// and returns why. It takes a connection of its own out of the pool (the
// pool has one fewer while Listen runs) and closes it when it returns.
// Payloads that are not notices are skipped.
//
// The store itself notifies, unless Options.NoNotify, after an Answer that
// makes a thread ready, a Commit that leaves one ready, and RequestStop of
// a running thread (checkpoint.NoticeReady, checkpoint.NoticeStop), and,
// with Options.Outbox, after every write that may have recorded an event
// (checkpoint.NoticeEvent: a Commit with a pending question or that fails
// its thread, an Answer, a Reassign, an AddEvent that recorded one), which
// wakes the webhook senders: after the write has committed (never for a
// write rolled back), in batches of at most one statement per
// Options.NotifyInterval, with one ready notice per workflow and one event
// notice in a batch (its Thread is one of the threads concerned). Not inside the writing
// transaction: PostgreSQL serialises the commits of the transactions that
// notify, WAL flush included, so writers that all notified would commit
// one at a time (see internal/notifier for the figures). A notice is a
// hint: one lost with a process that dies between its write and the
// batch costs a listener one poll.
func (s *Store) Listen(ctx context.Context, fn func(checkpoint.Notice)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: listen: %w", err)
	}
	// The connection leaves the pool: a connection that listens must not
	// serve other callers.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck // the connection is discarded
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return listenError(ctx, err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return listenError(ctx, err)
		}
		if n.Channel != s.channel {
			continue
		}
		var x notice
		if err := json.Unmarshal([]byte(n.Payload), &x); err != nil || x.Kind == "" {
			continue
		}
		fn(checkpoint.Notice(x))
	}
}

// listenError is what Listen returns for err: ctx's error once ctx has
// ended.
func listenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("pgstore: listen: %w", err)
}
