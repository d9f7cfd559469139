package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

// claimStatements sets the statements of claims, heartbeats, stop
// requests and leases. The store's clock is an argument of each (see
// Store.now); durations are microseconds (see micros).
func claimStatements(q func(string) string, st *statements) {
	qualified := "t." + strings.ReplaceAll(threadColumns, ", ", ", t.")
	// Claim: $1 thread, $2 expected version, $3 owner, $4 lease, $5 now.
	now := nowSQL(5)
	st.claim = q(`UPDATE {{schema}}.threads SET status = 'running', owner = $3, lease_until = ` + now + ` + ` + durationSQL(4) + `,
	epoch = epoch + 1, version = version + 1, updated_at = ` + now + `
WHERE id = $1 AND version = $2 AND (status <> 'running' OR lease_until IS NULL OR lease_until <= ` + now + `)
RETURNING ` + threadColumns)
	// ClaimReady: $1 workflows, $2 limit, $3 owner, $4 lease, $5 now. SKIP
	// LOCKED passes over threads that a concurrent caller is claiming; a
	// thread claimed by one that committed since this statement began is
	// re-checked on its newest row and left out.
	st.claimReady = q(`WITH c AS (
	SELECT id, updated_at, status = 'running' AS taken_over FROM {{schema}}.threads
	WHERE workflow = ANY($1::text[]) AND status IN ('ready', 'running')
		AND (status = 'ready' OR lease_until IS NULL OR lease_until <= ` + now + `)
	ORDER BY updated_at, id
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), u AS (
	UPDATE {{schema}}.threads t SET status = 'running', owner = $3, lease_until = ` + now + ` + ` + durationSQL(4) + `,
		epoch = t.epoch + 1, version = t.version + 1, updated_at = ` + now + `
	FROM c WHERE t.id = c.id
	RETURNING ` + qualified + `, c.updated_at AS claimable_since, c.taken_over
)
SELECT ` + threadColumns + `, taken_over FROM u ORDER BY claimable_since, id`)
	// Heartbeat: $1 owner, $2 threads, $3 lease, $4 now.
	st.heartbeat = q(`UPDATE {{schema}}.threads SET lease_until = ` + nowSQL(4) + ` + ` + durationSQL(3) + `
WHERE id = ANY($2::text[]) AND status = 'running' AND owner = $1
RETURNING id, stop_requested IS NOT NULL`)
	// RequestStop: $1 thread, $2 when. A thread neither running nor ready
	// is read, not written; the last column says whether it was written.
	st.requestStop = q(`WITH u AS (
	UPDATE {{schema}}.threads SET
		stop_requested = CASE WHEN status = 'running' THEN coalesce(stop_requested, $2) ELSE stop_requested END,
		status = CASE WHEN status = 'ready' THEN 'stopped' ELSE status END,
		version = CASE WHEN status = 'ready' THEN version + 1 ELSE version END,
		updated_at = CASE WHEN status = 'ready' THEN coalesce($2, updated_at) ELSE updated_at END
	WHERE id = $1 AND status IN ('running', 'ready')
	RETURNING ` + threadColumns + `
)
SELECT ` + threadColumns + `, true FROM u
UNION ALL
SELECT ` + threadColumns + `, false FROM {{schema}}.threads WHERE id = $1 AND NOT EXISTS (SELECT FROM u)`)
	// Lease: $1 name, $2 owner, $3 TTL, $4 now.
	st.takeLease = q(`INSERT INTO {{schema}}.leases AS l (name, owner, until) VALUES ($1, $2, ` + nowSQL(4) + ` + ` + durationSQL(3) + `)
ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
WHERE l.until <= ` + nowSQL(4) + ` OR l.owner = EXCLUDED.owner
RETURNING true`)
	st.releaseLease = q(`DELETE FROM {{schema}}.leases WHERE name = $1 AND owner = $2`)
}

// Claim claims the thread for c.Owner if it is at c.ExpectedVersion and not
// running on a live lease: one conditional UPDATE; when it matches
// nothing, the thread is read to tell a missing thread from a conflict.
func (s *Store) Claim(ctx context.Context, c *checkpoint.Claim) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("pgstore: Claim without arguments")
	}
	t, err := scanThread(s.pool.QueryRow(ctx, s.sql.claim, c.ThreadID, c.ExpectedVersion, c.Owner, micros(c.Lease), s.now()))
	if err == nil {
		return &t, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: thread %q: claim: %w", c.ThreadID, err)
	}
	cur, err := s.Thread(ctx, c.ThreadID)
	switch {
	case err != nil:
		return nil, err
	case cur.Version != c.ExpectedVersion:
		return nil, fmt.Errorf("pgstore: thread %q is at version %d, the claim expected %d: %w", c.ThreadID, cur.Version, c.ExpectedVersion, checkpoint.ErrConflict)
	}
	return nil, fmt.Errorf("pgstore: thread %q runs in %q until %v: %w", c.ThreadID, cur.Owner, cur.LeaseUntil, checkpoint.ErrConflict)
}

// ClaimReady claims up to q.Limit threads of q.Workflows that wait for
// someone to run them, oldest first, in one statement: SELECT ... FOR
// UPDATE SKIP LOCKED picks them (served by the partial index
// threads_claimable) and an UPDATE claims them, so concurrent callers
// never claim the same thread and never wait for each other.
func (s *Store) ClaimReady(ctx context.Context, q *checkpoint.ClaimReady) ([]checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		return nil, errors.New("pgstore: ClaimReady without arguments")
	}
	out := []checkpoint.Thread{}
	if len(q.Workflows) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, s.sql.claimReady, q.Workflows, max(q.Limit, 1), q.Owner, micros(q.Lease), s.now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim ready threads: %w", err)
	}
	for rows.Next() {
		var x threadRow
		var takeover bool
		if err := rows.Scan(append(x.scanDest(), &takeover)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: claim ready threads: %w", err)
		}
		t := x.decode()
		t.TakenOver = takeover
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: claim ready threads: %w", err)
	}
	return out, nil
}

// Heartbeat renews h.Owner's claims on h.Threads with one UPDATE, without
// a new version. Held and Stop follow the order of h.Threads.
func (s *Store) Heartbeat(ctx context.Context, h *checkpoint.Heartbeat) (*checkpoint.Beat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, errors.New("pgstore: Heartbeat without arguments")
	}
	beat := &checkpoint.Beat{}
	if len(h.Threads) == 0 {
		return beat, nil
	}
	// Sorted, so that overlapping heartbeats lock rows in one order.
	ids := slices.Clone(h.Threads)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := s.pool.Query(ctx, s.sql.heartbeat, h.Owner, ids, micros(h.Lease), s.now())
	if err != nil {
		return nil, fmt.Errorf("pgstore: heartbeat: %w", err)
	}
	held := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		var stop bool
		if err := rows.Scan(&id, &stop); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: heartbeat: %w", err)
		}
		held[id] = stop
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: heartbeat: %w", err)
	}
	for _, id := range h.Threads {
		stop, ok := held[id]
		if !ok || slices.Contains(beat.Held, id) {
			continue
		}
		beat.Held = append(beat.Held, id)
		if stop {
			beat.Stop = append(beat.Stop, id)
		}
	}
	return beat, nil
}

// RequestStop asks a thread to stop, in one statement: a running thread
// gets StopRequested (and the listeners a stop notice), a ready one
// becomes stopped; others are read as they are.
func (s *Store) RequestStop(ctx context.Context, r *checkpoint.StopRequest) (*checkpoint.Thread, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("pgstore: RequestStop without arguments")
	}
	var x threadRow
	var written bool
	err := s.pool.QueryRow(ctx, s.sql.requestStop, r.ThreadID, nullTime(r.At)).Scan(append(x.scanDest(), &written)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFoundThread(r.ThreadID)
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: thread %q: request stop: %w", r.ThreadID, err)
	}
	t := x.decode()
	if written && t.Status == checkpoint.StatusRunning {
		s.hint(checkpoint.NoticeStop, &t)
	}
	return &t, nil
}

// Lease takes, renews or gives up the named lease for l.Owner, with one
// INSERT ... ON CONFLICT DO UPDATE that takes the lease only if it lapsed
// or is the owner's already (or, to release it, one DELETE of the owner's
// lease).
func (s *Store) Lease(ctx context.Context, l *checkpoint.Lease) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if l == nil || l.Name == "" || l.Owner == "" {
		return false, errors.New("pgstore: Lease needs a name and an owner")
	}
	if l.Release {
		if _, err := s.pool.Exec(ctx, s.sql.releaseLease, l.Name, l.Owner); err != nil {
			return false, fmt.Errorf("pgstore: release lease %q: %w", l.Name, err)
		}
		return false, nil
	}
	var held bool
	err := s.pool.QueryRow(ctx, s.sql.takeLease, l.Name, l.Owner, micros(l.TTL), s.now()).Scan(&held)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("pgstore: lease %q: %w", l.Name, err)
	}
	return held, nil
}
