-- weft PostgreSQL schema, version 4: the outbox of events (see
-- checkpoint.Outbox), from which a sender delivers webhooks.
--
-- A store opened with Options.Outbox writes an event in the transaction of
-- the commit, answer or reassignment it reports; without it, the table
-- stays empty and costs nothing. Events do not reference threads: one
-- outlives the deletion of its thread until it is delivered.
--
-- seq orders events as recorded; id is the stable ID receivers
-- de-duplicate by; dedup, when not NULL, is unique (a deadline.near event
-- per question and deadline). status is 'pending', 'delivered' or 'dead'.
-- A sender claims pending events that are due (next_attempt <= now) and
-- not claimed on a live lease (claim_until) with SELECT ... FOR UPDATE SKIP
-- LOCKED, so concurrent senders never claim one event and never wait for
-- each other.
CREATE TABLE {{schema}}.outbox (
	seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id           text COLLATE "C" NOT NULL UNIQUE,
	type         text NOT NULL,
	thread_id    text COLLATE "C" NOT NULL,
	workflow     text NOT NULL,
	interrupt_id text NOT NULL,
	node         text NOT NULL,
	key          text NOT NULL,
	reason       text NOT NULL,
	assignees    text[],
	deadline     timestamptz,
	author       text NOT NULL,
	channel      text NOT NULL,
	error        text NOT NULL,
	dedup        text COLLATE "C" UNIQUE,
	created_at   timestamptz NOT NULL,
	status       text COLLATE "C" NOT NULL,
	attempts     integer NOT NULL,
	next_attempt timestamptz NOT NULL,
	last_error   text NOT NULL,
	done         text[],
	delivered_at timestamptz,
	claimed_by   text NOT NULL,
	claim_until  timestamptz
);

-- ClaimEvents: the pending events, by when they are due. The index is
-- partial, so delivered events (most of them, in time) are not in it.
CREATE INDEX outbox_due ON {{schema}}.outbox (next_attempt, seq) WHERE status = 'pending';
