-- weft schema for SQLite, version 6: records (checkpoint.Records), small
-- JSON documents a server keeps next to its threads, such as the run
-- records and thread metadata of the LangGraph API.
--
-- A record is named by (kind, id) and indexed by its thread, which need
-- not exist in threads (a thread created through the API before its first
-- run): there is no foreign key, and deleting a thread leaves its records
-- (DeleteRecords removes them). Times are microseconds since the epoch.
CREATE TABLE IF NOT EXISTS records (
	kind       TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	thread_id  TEXT    NOT NULL,
	data       BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_thread ON records (thread_id, kind, id);
