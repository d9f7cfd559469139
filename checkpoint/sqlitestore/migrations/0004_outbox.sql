-- weft schema for SQLite, version 4: the outbox of events (see
-- checkpoint.Outbox), from which a sender delivers webhooks.
--
-- The conventions of the first migration (init) hold: times are unix microseconds, NULL
-- for the zero time; lists are JSON text, NULL when empty. A store opened
-- with Options.Outbox writes an event in the transaction of the commit,
-- answer or reassignment it reports; without it, the table stays empty
-- and costs nothing. Events do not reference threads: one outlives the
-- deletion of its thread until it is delivered.
--
-- seq orders events as recorded; id is the stable ID receivers
-- de-duplicate by; dedup, when not NULL, is unique (a deadline.near event
-- per question and deadline). status is 'pending', 'delivered' or 'dead';
-- a sender claims a pending event that is due (next_attempt <= now) and
-- not claimed on a live lease (claim_until), for a lease.
CREATE TABLE outbox (
	seq          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	id           TEXT    NOT NULL UNIQUE,
	type         TEXT    NOT NULL,
	thread_id    TEXT    NOT NULL,
	workflow     TEXT    NOT NULL,
	interrupt_id TEXT    NOT NULL,
	node         TEXT    NOT NULL,
	key          TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	assignees    TEXT,
	deadline     INTEGER,
	author       TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	error        TEXT    NOT NULL,
	dedup        TEXT    UNIQUE,
	created_at   INTEGER NOT NULL,
	status       TEXT    NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT    NOT NULL,
	done         TEXT,
	delivered_at INTEGER,
	claimed_by   TEXT    NOT NULL,
	claim_until  INTEGER
);

-- ClaimEvents: the pending events, by when they are due. The index is
-- partial, so delivered events (most of them, in time) are not in it.
CREATE INDEX outbox_due ON outbox (next_attempt, seq) WHERE status = 'pending';
