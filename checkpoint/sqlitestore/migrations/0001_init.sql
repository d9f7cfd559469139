-- weft schema for SQLite, version 1.
--
-- Conventions:
--   * Times are unix microseconds (INTEGER, UTC). Optional times (a lease,
--     a deadline, an answer's time) are NULL when the Go value is the zero
--     time.
--   * Small lists and maps (next nodes, field versions, meta, assignees) are
--     JSON text, NULL when empty.
--   * Payloads, schemas, answers, blobs and pending writes are opaque BLOBs,
--     NULL when absent.
--   * A checkpoint's ID is checkpoint.FormatID(version); checkpoints store
--     the version, pending writes and parents the ID as given.
--   * Small rows keyed by text (threads, checkpoints, steps, assignees) are
--     WITHOUT ROWID tables: one b-tree to write instead of a table and its
--     primary-key index. Rows that carry payloads of any size (blobs,
--     pending writes, interrupts) stay in rowid tables.
--   * Every table of a thread references threads (id) ON DELETE CASCADE, so
--     deleting the thread's row deletes everything stored for it. The
--     cascades are served by the primary keys, which start with thread_id.
--
-- The migration runner keeps its own table, schema_version, outside this
-- file.

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
) WITHOUT ROWID;

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
) WITHOUT ROWID;

-- One row per field value written; a field that did not change is not
-- written again. base <> 0: data holds only elements appended to the blob
-- of the same field at version base. Blobs outlive the checkpoint that wrote
-- them while a newer checkpoint still needs them (Prune). Blobs are always
-- looked up by their whole key; with the version before the field, the
-- blobs of a commit go to the end of the thread's range, next to the
-- previous commit's. A rowid table, unlike WITHOUT ROWID, keeps a blob of
-- up to about 4 KB inside its b-tree page (WITHOUT ROWID rows over about
-- 1 KB spill into an overflow page of their own).
CREATE TABLE blobs (
	thread_id TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace TEXT    NOT NULL,
	version   INTEGER NOT NULL,
	field     TEXT    NOT NULL,
	base      INTEGER NOT NULL,
	data      BLOB,
	PRIMARY KEY (thread_id, namespace, version, field)
);

-- The outputs and journaled side effects of a superstep that has not
-- committed, keyed by the checkpoint it started from. The primary key
-- serves PendingWrites in (task, kind, key) order.
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

-- The inbox: the interrupts of one status in (created_at, id, thread_id)
-- order, with keyset pagination on the same columns.
CREATE INDEX interrupts_inbox ON interrupts (status, created_at, id, thread_id);
-- The inbox of one workflow (a node filter is checked on the rows it scans).
CREATE INDEX interrupts_inbox_workflow ON interrupts (status, workflow, created_at, id, thread_id);
-- Due deadlines: the few pending interrupts whose deadline has passed.
CREATE INDEX interrupts_due ON interrupts (status, deadline) WHERE deadline IS NOT NULL;

-- interrupt_assignees mirrors interrupts.assignees, one row per assignee,
-- with the interrupt's status and creation time: the inbox of one assignee
-- is a range of its primary key, already in inbox order, and the inbox of
-- several is a merge of such ranges. Triggers keep it in step with
-- interrupts, so every writer (this store, the CLI, a hand-written UPDATE)
-- keeps it right.
CREATE TABLE interrupt_assignees (
	assignee     TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	interrupt_id TEXT    NOT NULL,
	thread_id    TEXT    NOT NULL,
	PRIMARY KEY (assignee, status, created_at, interrupt_id, thread_id),
	FOREIGN KEY (thread_id, interrupt_id) REFERENCES interrupts (thread_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Serves the triggers, the cascade from interrupts and the assignee filter
-- of a single thread's interrupts.
CREATE INDEX interrupt_assignees_interrupt ON interrupt_assignees (thread_id, interrupt_id, assignee);

-- The assignees column is a JSON array of strings written by the store; the
-- triggers skip anything else rather than fail the write.
CREATE TRIGGER interrupts_assignees_insert AFTER INSERT ON interrupts
WHEN new.assignees IS NOT NULL
BEGIN
	INSERT OR IGNORE INTO interrupt_assignees (assignee, status, created_at, interrupt_id, thread_id)
	SELECT j.value, new.status, new.created_at, new.id, new.thread_id
	FROM json_each(CASE WHEN json_valid(new.assignees) AND json_type(new.assignees) = 'array'
		THEN new.assignees END) AS j
	WHERE j.type = 'text';
END;

CREATE TRIGGER interrupts_assignees_update AFTER UPDATE OF assignees, status, created_at ON interrupts
BEGIN
	DELETE FROM interrupt_assignees WHERE thread_id = old.thread_id AND interrupt_id = old.id;
	INSERT OR IGNORE INTO interrupt_assignees (assignee, status, created_at, interrupt_id, thread_id)
	SELECT j.value, new.status, new.created_at, new.id, new.thread_id
	FROM json_each(CASE WHEN json_valid(new.assignees) AND json_type(new.assignees) = 'array'
		THEN new.assignees END) AS j
	WHERE j.type = 'text';
END;

-- The step log. seq orders the steps of one commit; (version, seq) is the
-- order they were written in.
CREATE TABLE steps (
	thread_id     TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	version       INTEGER NOT NULL,
	seq           INTEGER NOT NULL,
	namespace     TEXT    NOT NULL,
	superstep     INTEGER NOT NULL,
	checkpoint_id TEXT    NOT NULL,
	node          TEXT    NOT NULL,
	task          TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	started_at    INTEGER NOT NULL,
	duration      INTEGER NOT NULL,
	error         TEXT    NOT NULL,
	PRIMARY KEY (thread_id, version, seq)
) WITHOUT ROWID;
