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

	insertThread, updateThread                              string
	verifyBlobs, carryWrites, notify, notifyBatch, dueCount string
	commitParts                                             [partAll + 1]string
	upsertWrites, insertInterrupt, lockClaim                string

	checkpointByID, checkpointHead, checkpointNewest string
	history, pendingWrites, steps                    string

	lockThread, answerCheck, answerSet, answerThread string
	reassign, reassignWhy                            string

	claim, claimReady, heartbeat, requestStop string
	takeLease, releaseLease                   string

	insertInterruptEvent, answerEvents, reassignEvent, failedEvent string
	addEvent, claimEvents, deliveredEvent, retryEvent              string
	eventExists, events, pruneEvents                               string

	insertInterruptWatch, answerEventsWatch, reassignEventWatch, failedEventWatch string
	outboxMarks, markOutbox                                                       string

	deleteThread []string
	pruneLock    string
	prune        string

	packRows, packNeeds, packPlain, packRewrite, packDelete string
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
	// A thread left running gets a lease from the store's clock ($10 or
	// now()) and keeps its stop request; any other status clears both (the
	// owner is cleared by Commit).
	st.insertThread = q(`WITH i AS (
	INSERT INTO {{schema}}.threads (` + threadColumns + `)
	VALUES ($1, $2, $3, $4, 1, $5, $6, $7,
		CASE WHEN $4::text = 'running' THEN ` + nowSQL(10) + ` + ` + durationSQL(11) + ` END,
		$8, $8, $9, NULL)
	ON CONFLICT (id) DO NOTHING
	RETURNING 1)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM i), '` + codeConflict + `', 'weft: the thread exists already')`)
	st.updateThread = q(`WITH u AS (
	UPDATE {{schema}}.threads SET workflow = $3, graph_hash = $4, status = $5, version = $2::bigint + 1, head = $6,
		error = $7, owner = $8,
		lease_until = CASE WHEN $5::text = 'running' THEN ` + nowSQL(11) + ` + ` + durationSQL(12) + ` END,
		updated_at = $9, epoch = $10,
		stop_requested = CASE WHEN $5::text = 'running' AND status = 'running' THEN stop_requested END
	WHERE id = $1 AND version = $2
	RETURNING 1)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM u), '` + codeConflict + `', 'weft: the thread is not at the expected version')`)
	// VerifyBlobs: $2 is the namespace, $3 and $4 the fields and versions
	// the checkpoint names at older versions. The row of each is the first
	// of its field at or above its version (see 0007_blob_packs.sql): the
	// blob's own, or a pack, which counts if it holds that version (read
	// only for a version inside a pack, not for the pack's own). The rows
	// are locked (FOR KEY SHARE) until the commit ends.
	st.verifyBlobs = q(`WITH need AS (
	SELECT v.field, v.version FROM unnest($3::text[], $4::bigint[]) AS v (field, version)
), have AS (
	SELECT n.field, n.version FROM need n
	CROSS JOIN LATERAL (
		SELECT b.version, b.pack_from, b.data FROM {{schema}}.blobs b
		WHERE b.thread_id = $1 AND b.namespace = $2 AND b.field = n.field AND b.version >= n.version
		ORDER BY b.version LIMIT 1
		FOR KEY SHARE OF b
	) b
	WHERE b.version = n.version OR (b.pack_from <= n.version AND {{schema}}.pack_has(b.data, n.version))
)
SELECT {{schema}}.raise_unless((SELECT count(*) FROM have) = (SELECT count(*) FROM need), '` + codeMissing + `',
	'weft: the checkpoint names a blob that is gone')`)
	// Carry: the writes of checkpoint $3 whose kind is one of $5, copied to
	// checkpoint $4 of namespace $2.
	st.carryWrites = q(`INSERT INTO {{schema}}.pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data)
SELECT w.thread_id, w.namespace, $4, w.task, w.kind, w.key, w.data FROM {{schema}}.pending_writes w
WHERE w.thread_id = $1 AND w.namespace = $2 AND w.checkpoint_id = $3 AND w.kind = ANY($5::text[])
ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = EXCLUDED.data`)
	st.notify = "SELECT pg_notify($1, $2)"
	st.notifyBatch = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p"
	// dueCount: how many pending questions are due at $1, counted up to
	// $2, from interrupts_due (the literal status lets the planner use it).
	st.dueCount = q(`SELECT count(*) FROM (SELECT FROM {{schema}}.interrupts
	WHERE status = 'pending' AND deadline IS NOT NULL AND deadline <= $1 LIMIT $2) d`)
	st.upsertWrites = q(`INSERT INTO {{schema}}.pending_writes (thread_id, namespace, checkpoint_id, task, kind, key, data)
SELECT $1, w.namespace, w.checkpoint_id, w.task, w.kind, w.key, w.data
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[]) AS w (namespace, checkpoint_id, task, kind, key, data)
ON CONFLICT (thread_id, namespace, checkpoint_id, task, kind, key) DO UPDATE SET data = EXCLUDED.data`)
	st.insertInterrupt = q(`INSERT INTO {{schema}}.interrupts (` + interruptColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
ON CONFLICT (thread_id, id) DO NOTHING`)
	for flags := range st.commitParts {
		st.commitParts[flags] = q(commitPartsSQL(flags))
	}
	// PutWrites: FOR SHARE holds off a concurrent Commit or claim of the
	// thread until the writes are in (and one in flight makes the check
	// fail once it has committed: the locking read re-checks the newest
	// row).
	st.lockClaim = q(`WITH t AS (SELECT FROM {{schema}}.threads WHERE id = $1 AND status = 'running' AND owner = $2 AND epoch = $3 FOR SHARE)
SELECT {{schema}}.raise_unless(EXISTS (SELECT FROM t), '` + codeConflict + `', 'weft: the thread is not claimed by the writer')`)

	// Checkpoint: the thread's head (to tell a missing thread from a
	// missing checkpoint), the checkpoint, and every blob its state needs,
	// in one statement and so one snapshot: a concurrent Prune cannot take
	// blobs away halfway. Malformed versions are skipped here and reported
	// by the decoder. The blobs are read in two lookups per field, each a
	// parameterized scan of the primary key (thread_id, namespace, field,
	// version) with every column in the index condition, whatever the
	// table's statistics: the head row, the first of the field at or above
	// the checkpoint's version, which is the blob's own row or a pack that
	// holds it (see 0007_blob_packs.sql; any other row there means the
	// blob is gone), then the range from its root to it, which holds its
	// whole Append chain (and the blobs of forks that share the root,
	// which Checkpoint drops by following the bases; a pack row starts
	// the chains of its blobs, so it is its own range). Packs are
	// unpacked by Checkpoint. A root above its head (a database written
	// by hand) still reads the head blob. LIMIT and OFFSET 0 keep the
	// planner from pulling the LATERAL subqueries up into joins, which it
	// may then plan as a hash join over every blob of the thread (what it
	// did without statistics): each stays a lookup parameterized by the
	// row before it, an index scan with every key column in its
	// condition.
	checkpointSQL := func(match string) string {
		return q(`WITH cp AS (
	SELECT t.head, c.namespace, c.version, c.parent, c.step, c.source, c.next, c.versions, c.meta, c.created_at
	FROM {{schema}}.threads t
	LEFT JOIN LATERAL (
		SELECT * FROM {{schema}}.checkpoints c
		WHERE c.thread_id = t.id AND c.namespace = $2 ` + match + `
	) c ON true
	WHERE t.id = $1
), head AS (
	SELECT h.field, h.version, h.root
	FROM cp
	CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(cp.versions) = 'object' THEN cp.versions ELSE '{}' END) AS v (field, version)
	CROSS JOIN LATERAL (
		SELECT b.field, b.version, b.root, b.pack_from FROM {{schema}}.blobs b
		WHERE b.thread_id = $1 AND b.namespace = $2 AND b.field = v.field AND b.version >= {{schema}}.parse_id(v.version)
		ORDER BY b.version LIMIT 1
	) h
	WHERE h.version = {{schema}}.parse_id(v.version) OR h.pack_from <= {{schema}}.parse_id(v.version)
), need AS (
	SELECT b.field, b.version, b.base, b.data, b.pack_from
	FROM head h
	CROSS JOIN LATERAL (
		SELECT b.field, b.version, b.base, b.data, b.pack_from FROM {{schema}}.blobs b
		WHERE b.thread_id = $1 AND b.namespace = $2 AND b.field = h.field
			AND b.version >= least(h.root, h.version) AND b.version <= h.version
			AND (b.root = h.root OR b.version = h.version)
		OFFSET 0
	) b
)
SELECT cp.head, cp.namespace, cp.version, cp.parent, cp.step, cp.source, cp.next, cp.versions, cp.meta, cp.created_at,
	blobs.fields, blobs.versions, blobs.bases, blobs.data, blobs.packs
FROM cp, LATERAL (
	SELECT array_agg(field ORDER BY field, version) AS fields, array_agg(version ORDER BY field, version) AS versions,
		array_agg(base ORDER BY field, version) AS bases, array_agg(data ORDER BY field, version) AS data,
		array_agg(pack_from IS NOT NULL ORDER BY field, version) AS packs
	FROM need
) blobs`)
	}
	st.checkpointByID = checkpointSQL("AND c.version = $3 OFFSET 0")
	st.checkpointHead = checkpointSQL("AND c.version = {{schema}}.parse_id(t.head) OFFSET 0")
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

	answerStatements(q, &st)
	outboxStatements(q, &st)
	watchStatements(q, &st)
	claimStatements(q, &st)

	for _, table := range []string{"threads", "checkpoints", "blobs", "pending_writes", "interrupts", "steps"} {
		col := "thread_id"
		if table == "threads" {
			col = "id"
		}
		st.deleteThread = append(st.deleteThread, q("DELETE FROM {{schema}}."+table+" WHERE "+col+" = $1"))
	}
	st.pruneLock = q(pruneLockSQL)
	st.prune = q(pruneSQL)
	// The packs of a namespace after a prune, the versions of its
	// remaining checkpoints, the plain rows of the fields with packs
	// ($3), and a pack's rewrite or removal.
	st.packRows = q(`SELECT field, version, data FROM {{schema}}.blobs
WHERE thread_id = $1 AND namespace = $2 AND pack_from IS NOT NULL ORDER BY field, version`)
	st.packNeeds = q(`SELECT version, versions FROM {{schema}}.checkpoints WHERE thread_id = $1 AND namespace = $2`)
	st.packPlain = q(`SELECT field, version, base FROM {{schema}}.blobs
WHERE thread_id = $1 AND namespace = $2 AND field = ANY($3::text[]) AND pack_from IS NULL`)
	st.packRewrite = q(`UPDATE {{schema}}.blobs SET data = $5, pack_from = $6
WHERE thread_id = $1 AND namespace = $2 AND field = $3 AND version = $4`)
	st.packDelete = q(`DELETE FROM {{schema}}.blobs WHERE thread_id = $1 AND namespace = $2 AND field = $3 AND version = $4`)
	return st
}

// pruneDoomedSQL are the CTEs ranked and doomed of the checkpoints the
// rules pick ($1: thread ID or "" for all, $2: KeepLast or 0, $3: Before
// or NULL), of the threads that filter (a condition on c.thread_id) keeps.
func pruneDoomedSQL(filter string) string {
	return `ranked AS (
	SELECT c.thread_id, c.namespace, c.version, c.created_at, t.head,
		row_number() OVER (PARTITION BY c.thread_id, c.namespace ORDER BY c.version DESC) AS rank
	FROM {{schema}}.checkpoints c
	JOIN {{schema}}.threads t ON t.id = c.thread_id
	WHERE ` + filter + `
), doomed AS (
	SELECT thread_id, namespace, version FROM ranked
	WHERE rank > 1
		AND NOT (namespace = '' AND {{schema}}.format_id(version) = head)
		AND (($2::integer > 0 AND rank > $2::integer) OR created_at < $3::timestamptz)
)`
}

// pruneLockSQL locks (FOR SHARE, in ID order) the threads that have
// checkpoints to remove and returns their IDs. Prune runs it in its own
// statement before pruneSQL: a commit in flight on one of them finishes
// first (and pruneSQL, with a later snapshot, sees its checkpoint and
// keeps the blobs it names), or waits until the prune has committed (and
// its VerifyBlobs check sees what went).
var pruneLockSQL = `WITH ` + pruneDoomedSQL(`$1::text = '' OR c.thread_id = $1`) + `
SELECT t.id FROM {{schema}}.threads t
WHERE t.id IN (SELECT thread_id FROM doomed)
ORDER BY t.id
FOR SHARE OF t`

// pruneSQL removes, in one statement, the checkpoints that the rules pick
// ($1, $2, $3 as in pruneDoomedSQL) of the threads $4 (locked by
// pruneLockSQL),
// their pending writes, and the blobs of removed checkpoints that no
// remaining checkpoint of the namespace needs (following Append chains).
// The row of a version is found as Checkpoint finds it: a pack is kept
// whole while a remaining checkpoint needs one of its blobs (its blobs'
// chains are all inside it), and removed when none does. It returns, too,
// the touched namespaces (as thread IDs and namespaces) that hold packs,
// whose blobs Prune then sorts out (see prunePacks).
// It returns how many checkpoints it removed. Every CTE sees the snapshot
// from before the deletes, so "remaining" is computed, not read back.
var pruneSQL = `WITH RECURSIVE ` + pruneDoomedSQL(`c.thread_id = ANY($4::text[]) AND ($1::text = '' OR c.thread_id = $1)`) + `, gone AS (
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
	CROSS JOIN LATERAL (
		SELECT b.thread_id, b.namespace, b.field, b.version, b.base, b.pack_from FROM {{schema}}.blobs b
		WHERE b.thread_id = r.thread_id AND b.namespace = r.namespace AND b.field = v.field
			AND b.version >= {{schema}}.parse_id(v.version)
		ORDER BY b.version LIMIT 1
	) b
	WHERE b.version = {{schema}}.parse_id(v.version) OR b.pack_from <= {{schema}}.parse_id(v.version)
	UNION
	SELECT b.thread_id, b.namespace, b.field, b.version, b.base
	FROM need n
	CROSS JOIN LATERAL (
		SELECT b.thread_id, b.namespace, b.field, b.version, b.base, b.pack_from FROM {{schema}}.blobs b
		WHERE b.thread_id = n.thread_id AND b.namespace = n.namespace AND b.field = n.field AND b.version >= n.base
		ORDER BY b.version LIMIT 1
	) b
	WHERE n.base > 0 AND n.base < n.version AND (b.version = n.base OR b.pack_from <= n.base)
), blobs AS (
	DELETE FROM {{schema}}.blobs b USING touched t
	WHERE b.thread_id = t.thread_id AND b.namespace = t.namespace
		AND NOT EXISTS (SELECT FROM remaining r WHERE r.thread_id = b.thread_id AND r.namespace = b.namespace AND r.version = b.version)
		AND NOT EXISTS (SELECT FROM need n WHERE n.thread_id = b.thread_id AND n.namespace = b.namespace AND n.field = b.field AND n.version = b.version)
), packed AS (
	SELECT t.thread_id, t.namespace FROM touched t
	WHERE EXISTS (SELECT FROM {{schema}}.blobs b WHERE b.thread_id = t.thread_id AND b.namespace = t.namespace AND b.pack_from IS NOT NULL)
)
SELECT (SELECT count(*) FROM gone),
	(SELECT array_agg(thread_id ORDER BY thread_id, namespace) FROM packed),
	(SELECT array_agg(namespace ORDER BY thread_id, namespace) FROM packed)`

// The parts of a commit after the version check, sent as one statement
// with a data-modifying CTE per part: one parse, bind and execute instead
// of one per table. They run after the check has locked the thread row, so
// their snapshot sees whatever the commits before them wrote. No two parts
// touch the same table, as one statement must not change a row twice (so
// the upsert of pending writes, which may replace writes that the
// deletion removes, is a statement of its own).
const (
	partCancel     = 1 << iota // cancel pending interrupts
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
		ctes = append(ctes, `UPDATE {{schema}}.interrupts SET status = 'cancelled', author = ?, channel = ?, answered_at = ?, note = ?
	WHERE thread_id = $1 AND status = 'pending' AND (?::boolean OR id = ANY(?::text[]))`)
	}
	if flags&partCheckpoint != 0 {
		ctes = append(ctes, `INSERT INTO {{schema}}.checkpoints
	(thread_id, namespace, version, parent, step, source, next, versions, meta, created_at)
	VALUES ($1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			`DELETE FROM {{schema}}.pending_writes WHERE thread_id = $1 AND namespace = ? AND checkpoint_id = ?`)
	}
	if flags&partBlobs != 0 {
		// Each blob gets its root (see 0003_blob_roots.sql): its own
		// version for a full blob, the root of its base blob for an
		// Append blob (the root of the pack that holds it, for a base
		// inside one: 0007_blob_packs.sql), or its base when that blob
		// is not stored. The trigger blobs_fold turns the insert of an
		// Append blob far from its root into a pack of its chain, in
		// this statement: a commit that does not fold pays for no
		// statement more.
		ctes = append(ctes, `INSERT INTO {{schema}}.blobs (thread_id, namespace, field, version, base, root, data)
	SELECT $1, n.namespace, b.field, n.version, b.base,
		CASE WHEN b.base <= 0 OR b.base >= n.version THEN n.version ELSE coalesce((SELECT p.root FROM (SELECT p.version, p.root, p.pack_from
			FROM {{schema}}.blobs p WHERE p.thread_id = $1 AND p.namespace = n.namespace AND p.field = b.field AND p.version >= b.base
			ORDER BY p.version LIMIT 1) p WHERE p.version = b.base OR p.pack_from <= b.base), b.base) END,
		b.data
	FROM (SELECT ?::text AS namespace, ?::bigint AS version) n, unnest(?::text[], ?::bigint[], ?::bytea[]) AS b (field, base, data)`)
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

// nowSQL is the store's clock in a statement whose argument n is
// Store.now: the given time, or the database's now().
func nowSQL(n int) string { return fmt.Sprintf("coalesce($%d::timestamptz, now())", n) }

// durationSQL is the duration argument n (see micros) as an interval.
func durationSQL(n int) string { return fmt.Sprintf("($%d::bigint * interval '1 microsecond')", n) }
