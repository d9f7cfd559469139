-- weft schema, version 1.
--
-- Times are unix microseconds (INTEGER, UTC); NULL where the Go value is the
-- zero time and the column is optional. Small lists and maps are JSON text;
-- payloads, answers, blobs and pending writes are opaque BLOBs. A
-- checkpoint's ID is checkpoint.FormatID(version).

CREATE TABLE threads (
	id          TEXT    NOT NULL PRIMARY KEY,
	workflow    TEXT    NOT NULL,
	graph_hash  TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	version     INTEGER NOT NULL,
	head        TEXT    NOT NULL,
	error       TEXT    NOT NULL,
	owner       TEXT    NOT NULL,
	lease_until INTEGER,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

-- Threads(Workflow) and Threads(Status), ordered by ID.
CREATE INDEX threads_workflow ON threads (workflow, id);
CREATE INDEX threads_status ON threads (status, id);

CREATE TABLE checkpoints (
	thread_id  TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace  TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	parent     TEXT    NOT NULL,
	step       INTEGER NOT NULL,
	source     TEXT    NOT NULL,
	next       TEXT,
	versions   TEXT,
	meta       TEXT,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (thread_id, namespace, version)
);

-- One row per field value written; a field that did not change is not
-- written again. base <> 0: data holds only elements appended to the blob
-- of the same field at version base.
CREATE TABLE blobs (
	thread_id TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace TEXT    NOT NULL,
	field     TEXT    NOT NULL,
	version   INTEGER NOT NULL,
	base      INTEGER NOT NULL,
	data      BLOB,
	PRIMARY KEY (thread_id, namespace, field, version)
);

CREATE TABLE pending_writes (
	thread_id     TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace     TEXT NOT NULL,
	checkpoint_id TEXT NOT NULL,
	task          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	key           TEXT NOT NULL,
	data          BLOB,
	PRIMARY KEY (thread_id, namespace, checkpoint_id, task, kind, key)
);

CREATE TABLE interrupts (
	thread_id     TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	id            TEXT    NOT NULL,
	workflow      TEXT    NOT NULL,
	checkpoint_id TEXT    NOT NULL,
	namespace     TEXT    NOT NULL,
	node          TEXT    NOT NULL,
	task          TEXT    NOT NULL,
	kind          TEXT    NOT NULL,
	call_key      TEXT    NOT NULL,
	call_index    INTEGER NOT NULL,
	reason        TEXT    NOT NULL,
	value         BLOB,
	answer_schema BLOB,
	assignees     TEXT,
	deadline      INTEGER,
	fallback      BLOB,
	escalate_to   TEXT,
	status        TEXT    NOT NULL,
	answer        BLOB,
	author        TEXT    NOT NULL,
	channel       TEXT    NOT NULL,
	answered_at   INTEGER,
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (thread_id, id)
);

-- The inbox: interrupts of one status in (created_at, id, thread_id) order,
-- with keyset pagination on the same columns.
CREATE INDEX interrupts_inbox ON interrupts (status, created_at, id, thread_id);
-- The inbox of one workflow (optionally one node of it).
CREATE INDEX interrupts_inbox_workflow ON interrupts (status, workflow, created_at, id, thread_id);
-- Due deadlines.
CREATE INDEX interrupts_due ON interrupts (status, deadline) WHERE deadline IS NOT NULL;

-- interrupt_assignees mirrors interrupts.assignees, one row per assignee,
-- with the interrupt's status and creation time: the inbox of one assignee
-- is a range of its primary key. Triggers keep it in step with interrupts.
CREATE TABLE interrupt_assignees (
	assignee     TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	interrupt_id TEXT    NOT NULL,
	thread_id    TEXT    NOT NULL,
	PRIMARY KEY (assignee, status, created_at, interrupt_id, thread_id),
	FOREIGN KEY (thread_id, interrupt_id) REFERENCES interrupts (thread_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX interrupt_assignees_interrupt ON interrupt_assignees (thread_id, interrupt_id, assignee);

CREATE TRIGGER interrupts_assignees_insert AFTER INSERT ON interrupts
BEGIN
	INSERT OR IGNORE INTO interrupt_assignees (assignee, status, created_at, interrupt_id, thread_id)
	SELECT j.value, new.status, new.created_at, new.id, new.thread_id
	FROM json_each(CASE WHEN json_valid(new.assignees) THEN
		CASE WHEN json_type(new.assignees) = 'array' THEN new.assignees END END) AS j
	WHERE j.type = 'text';
END;

CREATE TRIGGER interrupts_assignees_update AFTER UPDATE OF assignees, status, created_at ON interrupts
BEGIN
	DELETE FROM interrupt_assignees WHERE thread_id = old.thread_id AND interrupt_id = old.id;
	INSERT OR IGNORE INTO interrupt_assignees (assignee, status, created_at, interrupt_id, thread_id)
	SELECT j.value, new.status, new.created_at, new.id, new.thread_id
	FROM json_each(CASE WHEN json_valid(new.assignees) THEN
		CASE WHEN json_type(new.assignees) = 'array' THEN new.assignees END END) AS j
	WHERE j.type = 'text';
END;

CREATE TABLE steps (
	seq           INTEGER PRIMARY KEY,
	thread_id     TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace     TEXT    NOT NULL,
	version       INTEGER NOT NULL,
	superstep     INTEGER NOT NULL,
	checkpoint_id TEXT    NOT NULL,
	node          TEXT    NOT NULL,
	task          TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	started_at    INTEGER NOT NULL,
	duration      INTEGER NOT NULL,
	error         TEXT    NOT NULL
);

CREATE INDEX steps_thread ON steps (thread_id, version, seq);
