-- weft PostgreSQL schema, version 2: claims, leases and cancellations.
--
-- A thread is claimed by one process at a time (threads.owner until
-- threads.lease_until); every claim increments threads.epoch, which fences
-- the pending writes of a process that lost its claim. stop_requested is
-- when someone asked the running thread to stop. Existing threads start at
-- epoch 0 with no stop requested.
ALTER TABLE {{schema}}.threads
	ADD COLUMN epoch bigint NOT NULL DEFAULT 0,
	ADD COLUMN stop_requested timestamptz;

-- ClaimReady: the threads that wait for someone to run them (ready, or
-- running on a lapsed lease) of some workflows, oldest first. The index
-- holds only threads that are ready or running, a small part of the table
-- once most threads have ended.
CREATE INDEX threads_claimable ON {{schema}}.threads (workflow, updated_at, id)
	WHERE status IN ('ready', 'running');

-- note says why a question was cancelled; fallback_at is when its fallback
-- answer is due (NULL: at its deadline).
ALTER TABLE {{schema}}.interrupts
	ADD COLUMN note text NOT NULL DEFAULT '',
	ADD COLUMN fallback_at timestamptz;

-- Named leases (Store.Lease): one owner at a time holds a name until its
-- lease lapses. Maintenance that must run in one process at a time is
-- guarded by one.
CREATE TABLE {{schema}}.leases (
	name  text COLLATE "C" NOT NULL PRIMARY KEY,
	owner text COLLATE "C" NOT NULL,
	until timestamptz NOT NULL
);
