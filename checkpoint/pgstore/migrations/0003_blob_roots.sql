-- weft PostgreSQL schema, version 3: Append chains read as one range.
--
-- root is the version of the blob at the start of a blob's Append chain:
-- its own version for a full blob (base 0, or a base that is not older
-- than the blob, which ends a chain as the reads treat it), the root of
-- its base blob for an Append blob, and base itself when the base blob is
-- not stored. Every blob of a chain has the chain's root and a version
-- between the root and the chain's head, so the blobs a checkpoint needs
-- of one field are one range of the primary key (thread_id, namespace,
-- field, version), read with every column of the key in the index
-- condition. Forks whose branches share a root put other blobs in that
-- range; the reader follows the base pointers and keeps only the chain.
ALTER TABLE {{schema}}.blobs ADD COLUMN root bigint;

-- The existing rows get their roots by walking every chain once from its
-- start, down a temporary index on base (with statistics, so that the
-- walk is a nested loop over it).
CREATE INDEX blobs_base_0003 ON {{schema}}.blobs (thread_id, namespace, field, base);
ANALYZE {{schema}}.blobs;

WITH RECURSIVE roots (thread_id, namespace, field, version, root) AS (
	SELECT b.thread_id, b.namespace, b.field, b.version,
		CASE WHEN b.base <= 0 OR b.base >= b.version THEN b.version ELSE b.base END
	FROM {{schema}}.blobs b
	WHERE b.base <= 0 OR b.base >= b.version OR NOT EXISTS (SELECT FROM {{schema}}.blobs p
		WHERE p.thread_id = b.thread_id AND p.namespace = b.namespace AND p.field = b.field AND p.version = b.base)
	UNION ALL
	SELECT b.thread_id, b.namespace, b.field, b.version, r.root
	FROM roots r
	JOIN {{schema}}.blobs b ON b.thread_id = r.thread_id AND b.namespace = r.namespace AND b.field = r.field AND b.base = r.version
	WHERE b.base > 0 AND b.base < b.version
)
UPDATE {{schema}}.blobs b SET root = r.root
FROM roots r
WHERE b.thread_id = r.thread_id AND b.namespace = r.namespace AND b.field = r.field AND b.version = r.version;

DROP INDEX {{schema}}.blobs_base_0003;
ALTER TABLE {{schema}}.blobs ALTER COLUMN root SET NOT NULL;
