package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

const interruptColumns = "thread_id, id, workflow, checkpoint_id, namespace, node, task, kind, call_key, call_index, reason, " +
	"value, answer_schema, assignees, deadline, fallback, escalate_to, status, answer, author, channel, answered_at, created_at, note, fallback_at"

// interruptRow is a row of interruptColumns as read.
type interruptRow struct {
	r          checkpoint.InterruptRecord
	index      int32
	value      []byte
	schema     []byte
	assignees  []pgtype.Text
	deadline   pgtype.Timestamptz
	fallback   []byte
	escalateTo []pgtype.Text
	status     string
	answer     []byte
	answeredAt pgtype.Timestamptz
	fallbackAt pgtype.Timestamptz
}

func (x *interruptRow) scanDest() []any {
	r := &x.r
	return []any{&r.ThreadID, &r.ID, &r.Workflow, &r.CheckpointID, &r.Namespace, &r.Node, &r.Task, &r.Kind, &r.Key, &x.index, &r.Reason,
		&x.value, &x.schema, &x.assignees, &x.deadline, &x.fallback, &x.escalateTo, &x.status, &x.answer, &r.Author, &r.Channel, &x.answeredAt, &r.CreatedAt, &r.Note, &x.fallbackAt}
}

// decode returns the record the row holds.
func (x *interruptRow) decode() (checkpoint.InterruptRecord, error) {
	r := x.r
	var err error
	if r.Assignees, err = decodeStrings("assignees", x.assignees); err != nil {
		return r, fmt.Errorf("pgstore: thread %q: interrupt %q: %w", r.ThreadID, r.ID, err)
	}
	if r.EscalateTo, err = decodeStrings("escalate_to", x.escalateTo); err != nil {
		return r, fmt.Errorf("pgstore: thread %q: interrupt %q: %w", r.ThreadID, r.ID, err)
	}
	r.Index = int(x.index)
	r.Value, r.Schema, r.Fallback, r.Answer = x.value, x.schema, x.fallback, x.answer
	r.Deadline, r.AnsweredAt, r.FallbackAt, r.CreatedAt = timeOf(x.deadline), timeOf(x.answeredAt), timeOf(x.fallbackAt), r.CreatedAt.UTC()
	r.Status = checkpoint.InterruptStatus(x.status)
	return r, nil
}

// knownStatuses are written into inbox queries as literals, so that the
// planner can use the partial indexes on status = 'pending'.
var knownStatuses = []checkpoint.InterruptStatus{checkpoint.InterruptPending, checkpoint.InterruptAnswered, checkpoint.InterruptCancelled}

// qualifiedInterruptColumns are interruptColumns of the table aliased i.
var qualifiedInterruptColumns = "i." + strings.ReplaceAll(interruptColumns, ", ", ", i.")

// interruptsQuery returns the SQL and arguments of q, and the size of its
// page: the filters that are set, the keyset condition of the cursor
// q.After, and ORDER BY created_at, id, thread_id with LIMIT limit+1 (one
// more tells whether there is a next page).
//
// The pending inbox of some assignees walks interrupt_assignees: for each
// assignee, the first limit+1 matching interrupts in inbox order (a range
// of the primary key, probing interrupts for the other filters), merged
// and cut to limit+1. Other queries with assignees filter the array.
//
// Pending questions due before a time (the deadline pass) are read one of
// two ways, as dueFew says: when few are due, all of them through
// interrupts_due in a materialised CTE, then sorted; when many are, by the
// planner's choice (walking the inbox in order finds a page of due ones
// soon). Left to the planner, a pass with few due questions could walk the
// whole inbox (its generic plan did, once a second, in an idle worker); a
// CTE over many due questions sorts them all for every page.
func (s *Store) interruptsQuery(q *checkpoint.InterruptQuery, dueFew bool) (sql string, args []any, limit int, err error) {
	var after *checkpoint.InterruptCursor
	if q.After != "" {
		c, err := parseCursor(q.After)
		if err != nil {
			return "", nil, 0, err
		}
		after = &c
	}
	limit = checkpoint.PageLimit(q.Limit)
	args = make([]any, 0, 8)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var conds []string    // on interrupts i
	var mirrored []string // the same conditions on workflow and node, on x
	join := false         // conds has conditions that x cannot check
	if q.Status != "" && slices.Contains(knownStatuses, q.Status) {
		conds = append(conds, "i.status = '"+string(q.Status)+"'")
	} else if q.Status != "" {
		conds = append(conds, "i.status = "+arg(string(q.Status)))
	}
	for _, f := range []struct{ col, v string }{
		{"thread_id", q.ThreadID}, {"id", q.ID}, {"checkpoint_id", q.CheckpointID}, {"workflow", q.Workflow}, {"node", q.Node},
	} {
		if f.v == "" {
			continue
		}
		p := arg(f.v)
		conds = append(conds, "i."+f.col+" = "+p)
		if f.col == "workflow" || f.col == "node" {
			mirrored = append(mirrored, "x."+f.col+" = "+p)
		} else {
			join = true
		}
	}
	if !q.DueBefore.IsZero() {
		conds = append(conds, "i.deadline <= "+arg(q.DueBefore))
		join = true
	}
	// The conditions on the inbox order apply to i or to the assignee rows
	// x, which hold the same values.
	var order []string
	if !q.CreatedBefore.IsZero() {
		order = append(order, "%[1]s.created_at < "+arg(q.CreatedBefore))
	}
	if after != nil {
		order = append(order, "(%[1]s.created_at, %[1]s.id, %[1]s.thread_id) > ("+
			arg(after.CreatedAt)+"::timestamptz, "+arg(after.ID)+"::text, "+arg(after.ThreadID)+"::text)")
	}
	on := func(alias string) []string {
		out := make([]string, len(order))
		for i, c := range order {
			out[i] = fmt.Sprintf(c, alias)
		}
		return out
	}
	where := func(cs []string) string {
		if len(cs) == 0 {
			return ""
		}
		return " WHERE " + strings.Join(cs, " AND ")
	}
	lim := strconv.Itoa(limit + 1)
	const orderBy = " ORDER BY i.created_at, i.id, i.thread_id LIMIT "
	if len(q.Assignees) == 0 || q.Status != checkpoint.InterruptPending {
		if len(q.Assignees) > 0 {
			conds = append(conds, "i.assignees && "+arg(q.Assignees)+"::text[]")
		}
		if !q.DueBefore.IsZero() && dueFew {
			// The due questions are few: read them through interrupts_due
			// and sort them; the materialised CTE keeps the inbox-order
			// conditions off the planner's choice of index.
			return "WITH i AS MATERIALIZED (SELECT " + qualifiedInterruptColumns + " FROM " + s.ident + ".interrupts i" +
				where(conds) + ") SELECT " + qualifiedInterruptColumns + " FROM i" + where(on("i")) + orderBy + lim, args, limit, nil
		}
		return "SELECT " + qualifiedInterruptColumns + " FROM " + s.ident + ".interrupts i" +
			where(append(conds, on("i")...)) + orderBy + lim, args, limit, nil
	}
	// Each assignee's range is read in order and stops after limit+1 rows:
	// workflow and node are checked on x itself; other filters probe
	// interrupts row by row.
	inner := append([]string{"x.assignee = r.assignee"}, on("x")...)
	inner = append(inner, mirrored...)
	from := s.ident + ".interrupt_assignees x"
	if join {
		from += " JOIN " + s.ident + ".interrupts i ON i.thread_id = x.thread_id AND i.id = x.id"
		inner = append(inner, conds...)
	}
	return "SELECT " + qualifiedInterruptColumns + " FROM (" +
		"SELECT DISTINCT k.created_at, k.id, k.thread_id FROM unnest(" + arg(q.Assignees) + "::text[]) AS r (assignee) " +
		"CROSS JOIN LATERAL (SELECT x.created_at, x.id, x.thread_id FROM " + from + where(inner) +
		" ORDER BY x.created_at, x.id, x.thread_id LIMIT " + lim + ") k" +
		") k JOIN " + s.ident + ".interrupts i ON i.thread_id = k.thread_id AND i.id = k.id" +
		where(conds) + orderBy + lim, args, limit, nil
}

// dueFewLimit is how many due questions dueFew calls few: sorting that
// many for a page costs about a millisecond.
const dueFewLimit = 1000

// dueFew reports whether q asks for pending questions due before a time
// (without assignees) and at most dueFewLimit of all pending questions are
// due then: counted through interrupts_due, reading at most dueFewLimit+1
// of its entries.
func (s *Store) dueFew(ctx context.Context, q *checkpoint.InterruptQuery) (bool, error) {
	if q.DueBefore.IsZero() || q.Status != checkpoint.InterruptPending || len(q.Assignees) > 0 {
		return false, nil
	}
	var n int
	err := s.pool.QueryRow(ctx, s.sql.dueCount, q.DueBefore, dueFewLimit+1).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("pgstore: interrupts: due: %w", err)
	}
	return n <= dueFewLimit, nil
}

// Interrupts lists interrupts matching q, ordered by CreatedAt, then ID,
// then ThreadID (bytewise). The pending inbox is served by partial indexes
// (see the schema); Next is an opaque keyset cursor.
func (s *Store) Interrupts(ctx context.Context, q *checkpoint.InterruptQuery) (*checkpoint.InterruptPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q == nil {
		q = &checkpoint.InterruptQuery{}
	}
	dueFew, err := s.dueFew(ctx, q)
	if err != nil {
		return nil, err
	}
	sql, args, limit, err := s.interruptsQuery(q, dueFew)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: interrupts: %w", err)
	}
	defer rows.Close()
	page := &checkpoint.InterruptPage{}
	for rows.Next() {
		var x interruptRow
		if err := rows.Scan(x.scanDest()...); err != nil {
			return nil, fmt.Errorf("pgstore: interrupts: %w", err)
		}
		r, err := x.decode()
		if err != nil {
			return nil, err
		}
		page.Interrupts = append(page.Interrupts, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: interrupts: %w", err)
	}
	if len(page.Interrupts) > limit {
		page.Interrupts = page.Interrupts[:limit]
		page.Next = checkpoint.CursorAfter(&page.Interrupts[limit-1]).String()
	}
	return page, nil
}

// parseCursor decodes q.After (see checkpoint.InterruptCursor), at the
// precision the database keeps.
func parseCursor(s string) (checkpoint.InterruptCursor, error) {
	c, err := checkpoint.ParseInterruptCursor(s)
	if err != nil {
		return c, fmt.Errorf("pgstore: %w", err)
	}
	c.CreatedAt = c.CreatedAt.Truncate(time.Microsecond)
	return c, nil
}
