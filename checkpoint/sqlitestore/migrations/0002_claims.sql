-- weft schema for SQLite, version 2: claims, stop requests and leases.
--
-- The conventions of 0001_init.sql hold: times are unix microseconds, NULL
-- for the zero time.

-- epoch counts the claims of a thread (checkpoint.Thread.Epoch): every
-- claim increments it, and pending writes outside a commit are fenced by
-- it. stop_requested is when someone asked the running thread to stop,
-- NULL if nobody did.
ALTER TABLE threads ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN stop_requested INTEGER;

-- note says why a cancelled question was cancelled; fallback_at is when a
-- deadline answers the question with its fallback (NULL: at its deadline).
ALTER TABLE interrupts ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE interrupts ADD COLUMN fallback_at INTEGER;

-- ClaimReady: the threads that may wait for someone to run them (ready, or
-- running on a lease that may have lapsed) of one workflow, oldest first.
-- The index is partial, so the threads that ended (most of them, in time)
-- are not in it; the query repeats its WHERE to use it. lease_until is
-- left out, so that a heartbeat changes no index.
CREATE INDEX threads_claimable ON threads (workflow, updated_at, id)
	WHERE status IN ('ready', 'running');

-- Named leases (Store.Lease): one owner at a time holds a name until
-- until (unix microseconds).
CREATE TABLE leases (
	name  TEXT    NOT NULL PRIMARY KEY,
	owner TEXT    NOT NULL,
	until INTEGER NOT NULL
) WITHOUT ROWID;
