-- weft schema for SQLite, version 3: Append chains read as one range.
--
-- blobs gets a root column, the version of the blob at the start of the
-- blob's Append chain: its own version for a full blob (base 0, or a base
-- that is not older than the blob, which ends a chain as the reads treat
-- it), the root of its base blob for an Append blob, and base itself when
-- the base blob is not stored. Every blob of a chain has the chain's root,
-- and a chain's versions all lie between its root and its head, so the
-- blobs a checkpoint needs of one field are a range of the primary key,
-- which now puts the field before the version: (field, root <= version <=
-- head). Forks whose branches share a root put other blobs in that range;
-- the reader follows the base pointers and keeps only the chain.
--
-- SQLite cannot change a primary key in place, so the table is rebuilt,
-- the rows copied in their old order with their roots computed by walking
-- every chain once from its start (with a temporary index on base, which
-- goes with the old table).

CREATE INDEX blobs_base_0003 ON blobs (thread_id, namespace, field, base);

CREATE TABLE blobs_0003 (
	thread_id TEXT    NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
	namespace TEXT    NOT NULL,
	field     TEXT    NOT NULL,
	version   INTEGER NOT NULL,
	base      INTEGER NOT NULL,
	root      INTEGER NOT NULL,
	data      BLOB,
	PRIMARY KEY (thread_id, namespace, field, version)
);

INSERT INTO blobs_0003 (thread_id, namespace, field, version, base, root, data)
WITH RECURSIVE roots (thread_id, namespace, field, version, root) AS (
	-- The starts of chains: full blobs, and Append blobs whose base is
	-- not stored.
	SELECT b.thread_id, b.namespace, b.field, b.version,
		CASE WHEN b.base <= 0 OR b.base >= b.version THEN b.version ELSE b.base END
	FROM blobs b
	WHERE b.base <= 0 OR b.base >= b.version OR NOT EXISTS (SELECT 1 FROM blobs p
		WHERE p.thread_id = b.thread_id AND p.namespace = b.namespace AND p.version = b.base AND p.field = b.field)
	UNION ALL
	-- Each Append blob, reached from its base (exactly once: the base is
	-- one row, and versions grow along a chain).
	SELECT b.thread_id, b.namespace, b.field, b.version, r.root
	FROM roots r CROSS JOIN blobs b INDEXED BY blobs_base_0003
		ON b.thread_id = r.thread_id AND b.namespace = r.namespace AND b.field = r.field AND b.base = r.version
	WHERE b.base > 0 AND b.base < b.version
)
SELECT b.thread_id, b.namespace, b.field, b.version, b.base, r.root, b.data
FROM blobs b JOIN roots r
	ON r.thread_id = b.thread_id AND r.namespace = b.namespace AND r.version = b.version AND r.field = b.field
ORDER BY b.rowid;

DROP TABLE blobs;
ALTER TABLE blobs_0003 RENAME TO blobs;
