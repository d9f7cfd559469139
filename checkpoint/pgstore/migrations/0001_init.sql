-- weft PostgreSQL schema, version 1.
--
-- {{schema}} stands for the store's schema, quoted as an identifier; the
-- migrator substitutes it and runs the file in one transaction.
--
-- Times are timestamptz (microseconds); NULL where the Go value is the zero
-- time and the column is optional. Payloads, answers, blobs and pending
-- writes are opaque bytea, kept byte for byte. A checkpoint's ID is
-- checkpoint.FormatID(version). Keys and sorted columns use the "C"
-- collation, so they sort byte by byte as Go strings do. There are no
-- foreign keys: every table is keyed by thread_id, DeleteThread removes a
-- thread's rows from each table in one transaction, and commits skip the
-- per-row checks.

CREATE TABLE {{schema}}.threads (
	id          text COLLATE "C" NOT NULL PRIMARY KEY,
	workflow    text COLLATE "C" NOT NULL,
	graph_hash  text NOT NULL,
	status      text COLLATE "C" NOT NULL,
	version     bigint NOT NULL,
	head        text NOT NULL,
	error       text NOT NULL,
	owner       text NOT NULL,
	lease_until timestamptz,
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL
) WITH (fillfactor = 80); -- room for HOT updates: each commit rewrites the row

-- Threads(Workflow) and Threads(Status), ordered by ID.
CREATE INDEX threads_workflow ON {{schema}}.threads (workflow, id);
CREATE INDEX threads_status ON {{schema}}.threads (status, id);

CREATE TABLE {{schema}}.checkpoints (
	thread_id  text COLLATE "C" NOT NULL,
	namespace  text COLLATE "C" NOT NULL,
	version    bigint NOT NULL,
	parent     text NOT NULL,
	step       integer NOT NULL,
	source     text NOT NULL,
	next       text[],
	versions   jsonb, -- {"field": version}
	meta       jsonb, -- {"key": "value"}
	created_at timestamptz NOT NULL,
	PRIMARY KEY (thread_id, namespace, version)
);

-- One row per field value written; a field that did not change is not
-- written again. base <> 0: data holds only elements appended to the blob
-- of the same field at version base.
CREATE TABLE {{schema}}.blobs (
	thread_id text COLLATE "C" NOT NULL,
	namespace text COLLATE "C" NOT NULL,
	field     text COLLATE "C" NOT NULL,
	version   bigint NOT NULL,
	base      bigint NOT NULL,
	data      bytea,
	PRIMARY KEY (thread_id, namespace, field, version)
);

CREATE TABLE {{schema}}.pending_writes (
	thread_id     text COLLATE "C" NOT NULL,
	namespace     text COLLATE "C" NOT NULL,
	checkpoint_id text COLLATE "C" NOT NULL,
	task          text COLLATE "C" NOT NULL,
	kind          text COLLATE "C" NOT NULL,
	key           text COLLATE "C" NOT NULL,
	data          bytea,
	PRIMARY KEY (thread_id, namespace, checkpoint_id, task, kind, key)
);

CREATE TABLE {{schema}}.interrupts (
	thread_id     text COLLATE "C" NOT NULL,
	id            text COLLATE "C" NOT NULL,
	workflow      text COLLATE "C" NOT NULL,
	checkpoint_id text COLLATE "C" NOT NULL,
	namespace     text NOT NULL,
	node          text COLLATE "C" NOT NULL,
	task          text NOT NULL,
	kind          text NOT NULL,
	call_key      text NOT NULL,
	call_index    integer NOT NULL,
	reason        text NOT NULL,
	value         bytea,
	answer_schema bytea,
	assignees     text[],
	deadline      timestamptz,
	fallback      bytea,
	escalate_to   text[],
	status        text COLLATE "C" NOT NULL,
	answer        bytea,
	author        text NOT NULL,
	channel       text NOT NULL,
	answered_at   timestamptz,
	created_at    timestamptz NOT NULL,
	PRIMARY KEY (thread_id, id)
);

-- The inbox: pending interrupts in (created_at, id, thread_id) order, the
-- order of the keyset cursor. Partial indexes stay as small as the inbox,
-- however many answered questions the audit trail keeps; a query must say
-- status = 'pending' literally for the planner to use them.
CREATE INDEX interrupts_inbox ON {{schema}}.interrupts (created_at, id, thread_id)
	WHERE status = 'pending';
-- The inbox of one workflow, and of one node.
CREATE INDEX interrupts_inbox_workflow ON {{schema}}.interrupts (workflow, created_at, id, thread_id)
	WHERE status = 'pending';
CREATE INDEX interrupts_inbox_node ON {{schema}}.interrupts (node, created_at, id, thread_id)
	WHERE status = 'pending';
-- Due deadlines.
CREATE INDEX interrupts_due ON {{schema}}.interrupts (deadline)
	WHERE status = 'pending' AND deadline IS NOT NULL;

-- interrupt_assignees mirrors the assignees of pending interrupts, one row
-- per assignee, with the columns the inbox filters on most: the inbox of
-- one assignee is a range of its primary key, in the inbox's order, however
-- rare or common the assignee. (A GIN index on
-- interrupts.assignees cannot return rows in order: for a rare assignee the
-- planner walks the whole inbox looking for one.) A trigger keeps it in
-- step with interrupts, whoever writes them.
CREATE TABLE {{schema}}.interrupt_assignees (
	assignee   text COLLATE "C" NOT NULL,
	created_at timestamptz NOT NULL,
	id         text COLLATE "C" NOT NULL,
	thread_id  text COLLATE "C" NOT NULL,
	workflow   text COLLATE "C" NOT NULL,
	node       text COLLATE "C" NOT NULL,
	PRIMARY KEY (assignee, created_at, id, thread_id)
);
-- The inbox of some assignees in one workflow.
CREATE INDEX interrupt_assignees_workflow ON {{schema}}.interrupt_assignees (assignee, workflow, created_at, id, thread_id);
CREATE INDEX interrupt_assignees_interrupt ON {{schema}}.interrupt_assignees (thread_id, id);

-- The trigger function names the table unqualified and takes the schema
-- from its own search_path (set to this schema here), so that its body
-- never holds the schema name.
SET LOCAL search_path TO {{schema}};
CREATE FUNCTION {{schema}}.sync_interrupt_assignees() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		DELETE FROM interrupt_assignees WHERE thread_id = OLD.thread_id AND id = OLD.id;
	END IF;
	IF TG_OP <> 'DELETE' AND NEW.status = 'pending' AND NEW.assignees IS NOT NULL THEN
		INSERT INTO interrupt_assignees (assignee, created_at, id, thread_id, workflow, node)
		SELECT DISTINCT a, NEW.created_at, NEW.id, NEW.thread_id, NEW.workflow, NEW.node
		FROM unnest(NEW.assignees) AS a WHERE a IS NOT NULL
		ON CONFLICT DO NOTHING;
	END IF;
	RETURN NULL;
END
$fn$;
RESET search_path;
CREATE TRIGGER interrupts_assignees AFTER INSERT OR DELETE OR UPDATE OF status, assignees, created_at, workflow, node
	ON {{schema}}.interrupts FOR EACH ROW EXECUTE FUNCTION {{schema}}.sync_interrupt_assignees();

-- The step log; ord is the position of the step in its commit.
CREATE TABLE {{schema}}.steps (
	thread_id     text COLLATE "C" NOT NULL,
	version       bigint NOT NULL,
	ord           integer NOT NULL,
	namespace     text NOT NULL,
	superstep     integer NOT NULL,
	checkpoint_id text NOT NULL,
	node          text NOT NULL,
	task          text NOT NULL,
	status        text NOT NULL,
	started_at    timestamptz NOT NULL,
	duration      bigint NOT NULL, -- nanoseconds
	error         text NOT NULL,
	PRIMARY KEY (thread_id, version, ord)
);

-- raise_unless raises an error with SQLSTATE code and message msg unless ok
-- is true. A batch of statements runs in one implicit transaction: a
-- statement that checks a condition with it aborts the whole batch.
CREATE FUNCTION {{schema}}.raise_unless(ok boolean, code text, msg text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
	IF ok IS NOT TRUE THEN
		RAISE EXCEPTION USING ERRCODE = code, MESSAGE = msg;
	END IF;
	RETURN true;
END
$fn$;

-- format_id is checkpoint.FormatID: the version zero-padded to 12 digits.
CREATE FUNCTION {{schema}}.format_id(v bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$fn$SELECT CASE WHEN length(v::text) >= 12 THEN v::text ELSE lpad(v::text, 12, '0') END$fn$;

-- parse_id is checkpoint.ParseID for the IDs a store writes: the version a
-- checkpoint ID names, or NULL if it names none.
CREATE FUNCTION {{schema}}.parse_id(id text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$fn$SELECT CASE WHEN id ~ '^\+?0*[1-9][0-9]{0,17}$' THEN id::bigint END$fn$;
