package pgstore

import (
	"fmt"
	"strings"
)

// statements holds the SQL of the store's fixed statements with the schema
// substituted. pgx prepares and caches each text per connection, so a
// statement costs one round trip once it has been seen.
type statements struct {
	thread string

	insertThread, updateThread                 string
	commitParts                                [partAll + 1]string
	upsertWrites, insertInterrupt, lockVersion string

	checkpointByID, checkpointHead, checkpointNewest string
	history, pendingWrites, steps                    string

	answer, answerChecked, interruptStatuses, reassign string

	deleteThread []string
	prune        string
}

// newStatements returns the statements on the schema ident (quoted).
func newStatements(ident string) statements {
	r := strings.NewReplacer("{{schema}}", ident)
	q := r.Replace
	var st statements
	st.thread = q("SELECT " + threadColumns + " FROM {{schema}}.threads WHERE id = $1")

	// Commit. The first statement of the batch checks the version and
	// raises codeConflict when the thread is not at the expected one, which
	// aborts the batch's implicit transaction.
	st.insertThread = q(`WITH i AS (
	INSERT INTO {{schema}}.threads (` + threadColumns + `)
	VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $9)
	ON CONFLICT (id) DO NOTHING
	RETURNING 1)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM i), '` + codeConflict + `', 'weft: the thread exists already')`)
	st.updateThread = q(`WITH u AS (
	UPDATE {{schema}}.threads SET workflow = $3, graph_hash = $4, status = $5, version = $2::bigint + 1, head = $6,
		error = $7, owner = $8, lease_until = $9, updated_at = $10
	WHERE id = $1 AND version = $2
	RETURNING 1)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM u), '` + codeConflict + `', 'weft: the thread is not at the expected version')`)
	st.upsertWrites = q(`INSERT INTO {{schema}}.pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data)
SELECT $1, w.namespace, w.checkpoint_id, w.task, w.kind, w.key, w.data
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[]) AS w (namespace, checkpoint_id, task, kind, key, data)
ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = EXCLUDED.data`)
	st.insertInterrupt = q(`INSERT INTO {{schema}}.interrupts (` + interruptColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
ON CONFLICT (thread_id, id) DO NOTHING`)
	for flags := range st.commitParts {
		st.commitParts[flags] = q(commitPartsSQL(flags))
	}
	// PutWrites: FOR SHARE holds off a concurrent Commit of the thread
	// until the writes are in (and a Commit in flight makes the check fail
	// once it has committed).
	st.lockVersion = q(`WITH t AS (SELECT FROM {{schema}}.threads WHERE id = $1 AND version = $2 FOR SHARE)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM t), '` + codeConflict + `', 'weft: the thread is not at the expected version')`)

	// Checkpoint: the thread's head (to tell a missing thread from a
	// missing checkpoint), the checkpoint, and every blob its state needs,
	// down the Base chains of Append blobs, in one statement and so one
	// snapshot: a concurrent Prune cannot take blobs away halfway.
	// Malformed versions are skipped here and reported by the decoder.
	checkpointSQL := func(match string) string {
		return q(`WITH RECURSIVE cp AS (
	SELECT t.head, c.namespace, c.version, c.parent, c.step, c.source, c.next, c.versions, c.meta, c.created_at
	FROM {{schema}}.threads t
	LEFT JOIN LATERAL (
		SELECT * FROM {{schema}}.checkpoints c
		WHERE c.thread_id = t.id AND c.namespace = $2 ` + match + `
	) c ON true
	WHERE t.id = $1
), need AS (
	SELECT b.field, b.version, b.base, b.data
	FROM cp
	CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(cp.versions) = 'object' THEN cp.versions ELSE '{}' END) AS v (field, version)
	JOIN {{schema}}.blobs b ON b.thread_id = $1 AND b.namespace = $2 AND b.field = v.field AND b.version = {{schema}}.parse_id(v.version)
	UNION ALL
	SELECT b.field, b.version, b.base, b.data
	FROM need n
	JOIN {{schema}}.blobs b ON b.thread_id = $1 AND b.namespace = $2 AND b.field = n.field AND b.version = n.base
	WHERE n.base > 0 AND n.base < n.version
)
SELECT cp.head, cp.namespace, cp.version, cp.parent, cp.step, cp.source, cp.next, cp.versions, cp.meta, cp.created_at,
	blobs.fields, blobs.versions, blobs.bases, blobs.data
FROM cp, LATERAL (
	SELECT array_agg(field ORDER BY field, version) AS fields, array_agg(version ORDER BY field, version) AS versions,
		array_agg(base ORDER BY field, version) AS bases, array_agg(data ORDER BY field, version) AS data
	FROM need
) blobs`)
	}
	st.checkpointByID = checkpointSQL("AND c.version = $3")
	st.checkpointHead = checkpointSQL("AND c.version = {{schema}}.parse_id(t.head)")
	st.checkpointNewest = checkpointSQL("ORDER BY c.version DESC LIMIT 1")
	st.history = q(`SELECT c.namespace, c.version, c.parent, c.step, c.source, c.next, c.versions, c.meta, c.created_at
FROM {{schema}}.threads t
LEFT JOIN LATERAL (
	SELECT * FROM {{schema}}.checkpoints c
	WHERE c.thread_id = t.id AND c.namespace = $2 AND c.version < $3
	ORDER BY c.version DESC LIMIT $4
) c ON true
WHERE t.id = $1`)
	st.pendingWrites = q(`SELECT w.task, w.kind, w.key, w.data
FROM {{schema}}.threads t
LEFT JOIN {{schema}}.pending_writes w ON w.thread_id = t.id AND w.namespace = $2 AND w.checkpoint_id = $3
WHERE t.id = $1
ORDER BY w.task, w.kind, w.key`)
	st.steps = q(`SELECT s.version, s.namespace, s.superstep, s.checkpoint_id, s.node, s.task, s.status, s.started_at, s.duration, s.error
FROM {{schema}}.threads t
LEFT JOIN {{schema}}.steps s ON s.thread_id = t.id AND s.version > $2
WHERE t.id = $1
ORDER BY s.version, s.ord`)

	// Answers: a compare-and-set on the status.
	const answerSet = `UPDATE {{schema}}.interrupts SET status = 'answered', answer = $3, author = $4, channel = $5, answered_at = $6
	WHERE thread_id = $1 AND id = $2 AND status = 'pending'`
	st.answer = q(answerSet)
	st.answerChecked = q(`WITH a AS (` + answerSet + ` RETURNING 1)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM a), '` + codeRefused + `', $7)`)
	st.interruptStatuses = q(`SELECT a.thread_id, a.id, i.status
FROM unnest($1::text[], $2::text[]) AS a (thread_id, id)
JOIN {{schema}}.interrupts i ON i.thread_id = a.thread_id AND i.id = a.id`)
	st.reassign = q(`UPDATE {{schema}}.interrupts SET assignees = $3, deadline = $4, fallback = $5, escalate_to = $6
WHERE thread_id = $1 AND id = $2 AND status = 'pending'`)

	for _, table := range []string{"threads", "checkpoints", "blobs", "pending_writes", "interrupts", "steps"} {
		col := "thread_id"
		if table == "threads" {
			col = "id"
		}
		st.deleteThread = append(st.deleteThread, q("DELETE FROM {{schema}}."+table+" WHERE "+col+" = $1"))
	}
	st.prune = q(pruneSQL)
	return st
}

// pruneSQL removes, in one statement, the checkpoints that the rules pick
// ($1: thread ID or "" for all, $2: KeepLast or 0, $3: Before or NULL),
// their pending writes, and the blobs of removed checkpoints that no
// remaining checkpoint of the namespace needs (following Append chains).
// It returns how many checkpoints it removed. Every CTE sees the snapshot
// from before the deletes, so "remaining" is computed, not read back.
const pruneSQL = `WITH RECURSIVE ranked AS (
	SELECT c.thread_id, c.namespace, c.version, c.created_at, t.head,
		row_number() OVER (PARTITION BY c.thread_id, c.namespace ORDER BY c.version DESC) AS rank
	FROM {{schema}}.checkpoints c
	JOIN {{schema}}.threads t ON t.id = c.thread_id
	WHERE $1::text = '' OR c.thread_id = $1
), doomed AS (
	SELECT thread_id, namespace, version FROM ranked
	WHERE rank > 1
		AND NOT (namespace = '' AND {{schema}}.format_id(version) = head)
		AND (($2::integer > 0 AND rank > $2::integer) OR created_at < $3::timestamptz)
), gone AS (
	DELETE FROM {{schema}}.checkpoints c USING doomed d
	WHERE c.thread_id = d.thread_id AND c.namespace = d.namespace AND c.version = d.version
	RETURNING c.thread_id, c.namespace, c.version
), writes AS (
	DELETE FROM {{schema}}.pending_writes w USING gone g
	WHERE w.thread_id = g.thread_id AND w.namespace = g.namespace AND w.checkpoint_id = {{schema}}.format_id(g.version)
), touched AS (
	SELECT DISTINCT thread_id, namespace FROM gone
), remaining AS (
	SELECT c.thread_id, c.namespace, c.version, c.versions
	FROM {{schema}}.checkpoints c JOIN touched USING (thread_id, namespace)
	WHERE NOT EXISTS (SELECT FROM gone g WHERE g.thread_id = c.thread_id AND g.namespace = c.namespace AND g.version = c.version)
), need AS (
	SELECT b.thread_id, b.namespace, b.field, b.version, b.base
	FROM remaining r
	CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(r.versions) = 'object' THEN r.versions ELSE '{}' END) AS v (field, version)
	JOIN {{schema}}.blobs b ON b.thread_id = r.thread_id AND b.namespace = r.namespace AND b.field = v.field
		AND b.version = {{schema}}.parse_id(v.version)
	UNION
	SELECT b.thread_id, b.namespace, b.field, b.version, b.base
	FROM need n
	JOIN {{schema}}.blobs b ON b.thread_id = n.thread_id AND b.namespace = n.namespace AND b.field = n.field AND b.version = n.base
	WHERE n.base > 0 AND n.base < n.version
), blobs AS (
	DELETE FROM {{schema}}.blobs b USING touched t
	WHERE b.thread_id = t.thread_id AND b.namespace = t.namespace
		AND NOT EXISTS (SELECT FROM remaining r WHERE r.thread_id = b.thread_id AND r.namespace = b.namespace AND r.version = b.version)
		AND NOT EXISTS (SELECT FROM need n WHERE n.thread_id = b.thread_id AND n.namespace = b.namespace AND n.field = b.field AND n.version = b.version)
)
SELECT count(*) FROM gone`

// The parts of a commit after the version check, sent as one statement
// with a data-modifying CTE per part: one parse, bind and execute instead
// of one per table. They run after the check has locked the thread row, so
// their snapshot sees whatever the commits before them wrote. No two parts
// touch the same table, as one statement must not change a row twice (so
// the upsert of pending writes, which may replace writes that the
// deletion removes, is a statement of its own).
const (
	partCancel     = 1 << iota // cancel pending interrupts; no arguments
	partCheckpoint             // the checkpoint row and the deletion of its superstep's pending writes
	partBlobs                  // the checkpoint's blobs
	partSteps                  // the step log
	partAll        = partCancel | partCheckpoint | partBlobs | partSteps
)

// commitPartsSQL returns the statement of the parts in flags, or "" for
// none. $1 is the thread ID; the other arguments follow in the order of the
// parts above, as Commit appends them.
func commitPartsSQL(flags int) string {
	var ctes []string
	if flags&partCancel != 0 {
		ctes = append(ctes, `UPDATE {{schema}}.interrupts SET status = 'cancelled' WHERE thread_id = $1 AND status = 'pending'`)
	}
	if flags&partCheckpoint != 0 {
		ctes = append(ctes, `INSERT INTO {{schema}}.checkpoints
	(thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)
	VALUES ($1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			`DELETE FROM {{schema}}.pending_writes WHERE thread_id = $1 AND namespace = ? AND checkpoint_id = ?`)
	}
	if flags&partBlobs != 0 {
		ctes = append(ctes, `INSERT INTO {{schema}}.blobs (thread_id, namespace, field, version, base, data)
	SELECT $1, ?::text, b.field, ?::bigint, b.base, b.data FROM unnest(?::text[], ?::bigint[], ?::bytea[]) AS b (field, base, data)`)
	}
	if flags&partSteps != 0 {
		ctes = append(ctes, `INSERT INTO {{schema}}.steps
	(thread_id, version, ord, namespace, superstep, checkpoint_id, node, task, status, started_at, duration, error)
	SELECT $1, ?::bigint, s.ord, s.namespace, s.superstep, s.checkpoint_id, s.node, s.task, s.status, s.started_at, s.duration, s.error
	FROM unnest(?::text[], ?::integer[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::bigint[], ?::text[])
		WITH ORDINALITY AS s (namespace, superstep, checkpoint_id, node, task, status, started_at, duration, error, ord)`)
	}
	if len(ctes) == 0 {
		return ""
	}
	var sb strings.Builder
	n := 1
	for i, cte := range ctes {
		if i == 0 {
			sb.WriteString("WITH ")
		} else {
			sb.WriteString(",\n")
		}
		fmt.Fprintf(&sb, "p%d AS (", i)
		for _, r := range cte {
			if r == '?' {
				n++
				fmt.Fprintf(&sb, "$%d", n)
			} else {
				sb.WriteRune(r)
			}
		}
		sb.WriteString(")")
	}
	sb.WriteString("\nSELECT")
	return sb.String()
}
