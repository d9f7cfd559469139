-- weft PostgreSQL schema, version 6: records (checkpoint.Records), small
-- JSON documents a server keeps next to its threads, such as the run
-- records and thread metadata of the LangGraph API.
--
-- A record is named by (kind, id) and indexed by its thread, which need
-- not exist in threads (a thread created through the API before its first
-- run): there is no foreign key, and deleting a thread leaves its records
-- (DeleteRecords removes them).
CREATE TABLE {{schema}}.records (
	kind       text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	thread_id  text COLLATE "C" NOT NULL,
	data       jsonb NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX records_thread ON {{schema}}.records (thread_id, kind, id);
