package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// The statements of claims, heartbeats, stop requests and leases. They run
// in write transactions (BEGIN IMMEDIATE), which hold the file's write lock
// from their start: what a transaction read stays true until it commits,
// so a read followed by an UPDATE is a compare-and-set, and two processes
// never claim one thread.
const (
	// qClaimThread claims a thread (see claimThread).
	qClaimThread = `UPDATE threads SET status = 'running', owner = ?, lease_until = ?, epoch = epoch + 1,
		version = version + 1, updated_at = ? WHERE id = ? RETURNING ` + threadCols
	// qReadyThread makes an interrupted thread whose questions were
	// answered ready.
	qReadyThread = `UPDATE threads SET status = 'ready', version = version + 1, updated_at = ? WHERE id = ?
		RETURNING ` + threadCols
	// qClaimable lists the threads of the workflows of the JSON array ?1
	// that ClaimReady may claim at time ?2, oldest first, at most ?3. The
	// status IN (...) term is the WHERE of the partial index
	// threads_claimable, repeated word for word so that the index may be
	// used, and INDEXED BY makes the planner use it rather than
	// threads_status, which would read every running thread of every
	// workflow (TestClaimReadyQueryPlan checks it). It reads the ready and
	// running threads of the workflows, and sorts them when there are
	// several workflows.
	qClaimable = `SELECT id, status = 'running' FROM threads INDEXED BY threads_claimable
		WHERE status IN ('ready', 'running') AND workflow IN (SELECT value FROM json_each(?1))
		AND (status = 'ready' OR lease_until IS NULL OR lease_until <= ?2)
		ORDER BY updated_at, id LIMIT ?3`
	// qHeartbeat renews a claim; it returns no row if the owner lost it.
	qHeartbeat = `UPDATE threads SET lease_until = ? WHERE id = ? AND status = 'running' AND owner = ?
		RETURNING stop_requested`
	// qStopRunning records the first stop request of a running thread.
	qStopRunning = `UPDATE threads SET stop_requested = coalesce(stop_requested, ?) WHERE id = ? RETURNING ` + threadCols
	// qStopReady stops a ready thread.
	qStopReady = `UPDATE threads SET status = 'stopped', version = version + 1, updated_at = ? WHERE id = ?
		RETURNING ` + threadCols
	// qTakeLease takes the lease ?1 for ?2 until ?3 if it is free, lapsed
	// at ?4, or ?2's already; it changes no row otherwise.
	qTakeLease = `INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
		WHERE leases.owner = excluded.owner OR leases.until <= ?4`
	// qReleaseLease gives the lease ?1 up if ?2 holds it.
	qReleaseLease = `DELETE FROM leases WHERE name = ? AND owner = ?`
)

// threadTx reads the thread's row in tx; ErrNotFound if it has none.
func threadTx(ctx context.Context, tx txn, id string) (*checkpoint.Thread, error) {
	return scanThreadRow(tx.QueryRowContext(ctx, qThread, id), id)
}

// scanThreadRow scans the row of thread id, which the statement read or
// returned (RETURNING); ErrNotFound if there is none.
func scanThreadRow(row *sql.Row, id string) (*checkpoint.Thread, error) {
	t, err := scanThread(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFoundThread(id)
	case errors.Is(err, checkpoint.ErrCorrupt):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: thread %q: %w", id, err)
	}
	return &t, nil
}

// claimable reports whether t may be claimed at now: it does not run, or
// runs on a lapsed lease.
func claimable(t *checkpoint.Thread, now time.Time) bool {
	return t.Status != checkpoint.StatusRunning || !t.LeaseUntil.After(now)
}

// claimThread claims thread id for owner in tx: StatusRunning, LeaseUntil
// now + lease, Epoch+1, Version+1, UpdatedAt now. It returns the new row.
func claimThread(ctx context.Context, tx txn, id, owner string, lease time.Duration, now time.Time) (*checkpoint.Thread, error) {
	return scanThreadRow(tx.QueryRowContext(ctx, qClaimThread, owner, encodeTime(now.Add(lease)), encodeTime(now), id), id)
}

// Claim claims a thread for c.Owner if it is at c.ExpectedVersion and not
// running on a live lease; see checkpoint.Store.
func (s *Store) Claim(ctx context.Context, c *checkpoint.Claim) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("sqlitestore: Claim without arguments")
	}
	var out *checkpoint.Thread
	err := s.writeTx(ctx, func(tx txn) error {
		th, err := threadTx(ctx, tx, c.ThreadID)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case th.Version != c.ExpectedVersion:
			return fmt.Errorf("sqlitestore: thread %q is at version %d, the claim expected %d: %w",
				c.ThreadID, th.Version, c.ExpectedVersion, checkpoint.ErrConflict)
		case !claimable(th, now):
			return fmt.Errorf("sqlitestore: thread %q runs in %q until %v: %w", c.ThreadID, th.Owner, th.LeaseUntil, checkpoint.ErrConflict)
		}
		out, err = claimThread(ctx, tx, c.ThreadID, c.Owner, c.Lease, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimReady claims up to q.Limit threads of q.Workflows that wait for
// someone to run them (StatusReady, or StatusRunning on a lapsed lease),
// oldest UpdatedAt first, then by ID. It finds and claims them in one write
// transaction, which holds the file's write lock: concurrent callers, in
// this process or others, take turns and never claim the same thread. The
// threads are found from the partial index threads_claimable.
func (s *Store) ClaimReady(ctx context.Context, q *checkpoint.ClaimReady) ([]checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("sqlitestore: ClaimReady without arguments")
	}
	out := []checkpoint.Thread{}
	if len(q.Workflows) == 0 {
		return out, nil
	}
	workflows, err := encodeStrings(q.Workflows)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim ready threads: workflows: %w", err)
	}
	limit := max(q.Limit, 1)
	err = s.writeTx(ctx, func(tx txn) error {
		out = out[:0]
		now := s.now()
		rows, err := tx.QueryContext(ctx, qClaimable, workflows, encodeTime(now), limit)
		if err != nil {
			return fmt.Errorf("sqlitestore: claim ready threads: %w", err)
		}
		var ids []string
		var takeovers []bool
		for rows.Next() {
			var id string
			var takeover bool
			if err := rows.Scan(&id, &takeover); err != nil {
				rows.Close()
				return fmt.Errorf("sqlitestore: claim ready threads: %w", err)
			}
			ids = append(ids, id)
			takeovers = append(takeovers, takeover)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlitestore: claim ready threads: %w", err)
		}
		for i, id := range ids {
			th, err := claimThread(ctx, tx, id, q.Owner, q.Lease, now)
			if err != nil {
				return err
			}
			th.TakenOver = takeovers[i]
			out = append(out, *th)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Heartbeat renews h.Owner's claims on h.Threads, in one write
// transaction; see checkpoint.Store. It changes no version and no index.
func (s *Store) Heartbeat(ctx context.Context, h *checkpoint.Heartbeat) (*checkpoint.Beat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("sqlitestore: Heartbeat without arguments")
	}
	beat := &checkpoint.Beat{}
	if len(h.Threads) == 0 {
		return beat, nil
	}
	err := s.writeTx(ctx, func(tx txn) error {
		beat.Held, beat.Stop = nil, nil
		until := encodeTime(s.now().Add(h.Lease))
		for _, id := range h.Threads {
			if slices.Contains(beat.Held, id) {
				continue
			}
			var stop intCol
			err := tx.QueryRowContext(ctx, qHeartbeat, until, id, h.Owner).Scan(&stop)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				continue // lost
			case err != nil:
				return fmt.Errorf("sqlitestore: thread %q: heartbeat: %w", id, err)
			}
			beat.Held = append(beat.Held, id)
			if !stop.null {
				beat.Stop = append(beat.Stop, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return beat, nil
}

// RequestStop asks a thread to stop: a running thread gets StopRequested
// (if it has none yet), a ready one becomes StatusStopped; see
// checkpoint.Store.
func (s *Store) RequestStop(ctx context.Context, r *checkpoint.StopRequest) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("sqlitestore: RequestStop without arguments")
	}
	var out *checkpoint.Thread
	err := s.writeTx(ctx, func(tx txn) error {
		th, err := threadTx(ctx, tx, r.ThreadID)
		if err != nil {
			return err
		}
		switch th.Status {
		case checkpoint.StatusRunning:
			if th.StopRequested.IsZero() && !r.At.IsZero() {
				th, err = scanThreadRow(tx.QueryRowContext(ctx, qStopRunning, encodeTime(r.At), r.ThreadID), r.ThreadID)
			}
		case checkpoint.StatusReady:
			th, err = scanThreadRow(tx.QueryRowContext(ctx, qStopReady, encodeTime(r.At), r.ThreadID), r.ThreadID)
		}
		out = th
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Lease takes, renews or (with l.Release) gives up the named lease for
// l.Owner, by the store's clock; see checkpoint.Store. Taking is one
// upsert that changes the row only if the lease is free, lapsed or
// l.Owner's.
func (s *Store) Lease(ctx context.Context, l *checkpoint.Lease) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if l == nil || l.Name == "" || l.Owner == "" {
		return false, errors.New("sqlitestore: Lease needs a name and an owner")
	}
	held := false
	err := s.writeTx(ctx, func(tx txn) error {
		if l.Release {
			if _, err := tx.exec(ctx, qReleaseLease, l.Name, l.Owner); err != nil {
				return fmt.Errorf("sqlitestore: release lease %q: %w", l.Name, err)
			}
			return nil
		}
		now := s.now()
		res, err := tx.exec(ctx, qTakeLease, l.Name, l.Owner, encodeTime(now.Add(l.TTL)), encodeTime(now))
		if err != nil {
			return fmt.Errorf("sqlitestore: lease %q: %w", l.Name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlitestore: lease %q: %w", l.Name, err)
		}
		held = n == 1
		return nil
	})
	if err != nil {
		return false, err
	}
	return held, nil
}
