package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
)

// Commit applies c atomically and returns the thread's new version; see
// checkpoint.Store.
//
// The whole commit is one pgx.Batch: one round trip, run by PostgreSQL as
// one implicit transaction. Its first statement is the compare-and-set on
// the thread row (UPDATE ... WHERE id = $1 AND version = $2, or INSERT ...
// ON CONFLICT DO NOTHING for a new thread) and raises an error when it
// matches no row, which aborts the transaction: a losing commit keeps
// nothing. Two commits of one thread at once are serialized by the row lock
// that the winner's UPDATE (or the unique index that its INSERT) holds; the
// loser re-checks the version after the winner commits, and fails. The
// second statement writes the rest of a superstep (checkpoint, blobs,
// removal of the superstep's pending writes, steps, cancellations) with one
// data-modifying CTE per table; pending writes and interrupts, which few
// commits carry, follow as statements of their own.
func (s *Store) Commit(ctx context.Context, c *checkpoint.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Check(); err != nil {
		return 0, fmt.Errorf("pgstore: %w", err)
	}
	if c.ExpectedVersion < 0 {
		return 0, fmt.Errorf("pgstore: thread %q: commit expects negative version %d", c.Thread.ID, c.ExpectedVersion)
	}
	id := c.Thread.ID
	version := c.ExpectedVersion + 1
	b := &pgx.Batch{}

	th := &c.Thread
	owner := th.Owner
	if th.Status != checkpoint.StatusRunning {
		owner = ""
	}
	if c.ExpectedVersion == 0 {
		b.Queue(s.sql.insertThread, id, th.Workflow, th.GraphHash, string(th.Status), th.Head, th.Error, owner, c.At, th.Epoch,
			s.now(), micros(c.Lease))
	} else {
		b.Queue(s.sql.updateThread, id, c.ExpectedVersion, th.Workflow, th.GraphHash, string(th.Status), th.Head, th.Error, owner, c.At, th.Epoch,
			s.now(), micros(c.Lease))
	}
	if cp := c.Checkpoint; cp != nil && c.VerifyBlobs {
		var fields []string
		var versions []int64
		for f, v := range cp.Versions {
			if v < version {
				fields, versions = append(fields, f), append(versions, v)
			}
		}
		if len(fields) > 0 {
			b.Queue(s.sql.verifyBlobs, id, cp.Namespace, fields, versions)
		}
	}
	if x := c.Carry; x != nil && len(x.Kinds) > 0 {
		b.Queue(s.sql.carryWrites, id, c.Checkpoint.Namespace, x.From, checkpoint.FormatID(version), x.Kinds)
	}
	flags, args := 0, []any{id}
	if x := c.Cancel; x != nil {
		flags |= partCancel
		args = append(args, x.Author, x.Channel, nullTime(x.At), x.Note, len(x.IDs) == 0, x.IDs)
	}
	if cp := c.Checkpoint; cp != nil {
		var err error
		if flags, args, err = checkpointArgs(flags, args, id, version, c.At, cp); err != nil {
			return 0, err
		}
	}
	if len(c.Steps) > 0 {
		flags |= partSteps
		args = stepsArgs(args, version, c.Steps)
	}
	if flags != 0 {
		b.Queue(s.sql.commitParts[flags], args...)
	}
	if len(c.Writes) > 0 {
		s.queueWrites(b, id, c.Writes)
	}
	events := false   // the commit may record outbox events (outbox on)
	var watched []int // the positions in b of the statements that record if the schema is marked
	for i := range c.Interrupts {
		r := &c.Interrupts[i]
		status := r.Status
		if status == "" {
			status = checkpoint.InterruptPending
		}
		pending := status == checkpoint.InterruptPending
		events = events || (pending && s.recordsKnown())
		created := r.CreatedAt
		if created.IsZero() {
			created = c.At
		}
		args := []any{id, r.ID, r.Workflow, r.CheckpointID, r.Namespace, r.Node, r.Task, r.Kind, r.Key, r.Index, r.Reason,
			[]byte(r.Value), []byte(r.Schema), r.Assignees, nullTime(r.Deadline), []byte(r.Fallback), r.EscalateTo,
			string(status), []byte(r.Answer), r.Author, r.Channel, nullTime(r.AnsweredAt), created, r.Note, nullTime(r.FallbackAt)}
		switch {
		case s.outbox:
			b.Queue(s.sql.insertInterruptEvent, append(args, checkpoint.NewEventID(), s.now())...)
		case s.watch:
			if pending {
				watched = append(watched, b.Len())
			}
			b.Queue(s.sql.insertInterruptWatch, append(args, checkpoint.NewEventID(), s.now())...)
		default:
			b.Queue(s.sql.insertInterrupt, args...)
		}
	}
	if th.Status == checkpoint.StatusFailed {
		switch {
		case s.outbox:
			b.Queue(s.sql.failedEvent, checkpoint.NewEventID(), id, th.Workflow, th.Error, s.now())
			events = true
		case s.watch:
			events = events || s.recordsKnown()
			watched = append(watched, b.Len())
			b.Queue(s.sql.failedEventWatch, checkpoint.NewEventID(), id, th.Workflow, th.Error, s.now())
		}
	}
	br := s.pool.SendBatch(ctx, b)
	var err error
	if len(watched) == 0 {
		_, err = br.Exec()
	} else {
		// Read every result, to learn from the statements that record if
		// the schema is marked whether it is.
		for i := range b.Len() {
			tag, xerr := br.Exec()
			if xerr != nil {
				err = xerr
				break
			}
			if slices.Contains(watched, i) && tag.RowsAffected() > 0 {
				events = s.sawMark()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	switch {
	case err == nil:
		if th.Status == checkpoint.StatusReady {
			s.hint(checkpoint.NoticeReady, th)
		}
		if events {
			// A question that existed already records no event: the
			// notice costs a sender one look.
			s.hint(checkpoint.NoticeEvent, th)
		}
		return version, nil
	case pgCode(err) == codeConflict && c.ExpectedVersion == 0:
		return 0, fmt.Errorf("pgstore: thread %q exists already, commit expected a new thread: %w", id, checkpoint.ErrConflict)
	case pgCode(err) == codeConflict:
		return 0, fmt.Errorf("pgstore: thread %q is not at version %d (or does not exist): %w", id, c.ExpectedVersion, checkpoint.ErrConflict)
	case pgCode(err) == codeMissing:
		return 0, fmt.Errorf("pgstore: thread %q: checkpoint %s names a blob that is gone: %w", id, checkpoint.FormatID(version), checkpoint.ErrNotFound)
	}
	return 0, fmt.Errorf("pgstore: thread %q: commit at version %d: %w", id, version, err)
}

// checkpointArgs validates cp and appends the arguments of the
// partCheckpoint and partBlobs parts.
func checkpointArgs(flags int, args []any, id string, version int64, at time.Time, cp *checkpoint.Checkpoint) (int, []any, error) {
	want := checkpoint.FormatID(version)
	versions, err := encodeVersions(cp.Versions)
	if err != nil {
		return 0, nil, fmt.Errorf("pgstore: thread %q: checkpoint %s: %w", id, want, err)
	}
	meta, err := encodeMeta(cp.Meta)
	if err != nil {
		return 0, nil, fmt.Errorf("pgstore: thread %q: checkpoint %s: %w", id, want, err)
	}
	created := cp.CreatedAt
	if created.IsZero() {
		created = at
	}
	flags |= partCheckpoint
	args = append(args, cp.Namespace, version, cp.ParentID, cp.Step, cp.Source, cp.Next, versions, meta, created,
		cp.Namespace, cp.ParentID)
	if n := len(cp.Blobs); n > 0 {
		flags |= partBlobs
		fields := make([]string, n)
		bases := make([]int64, n)
		data := make([][]byte, n)
		for i, bl := range cp.Blobs {
			fields[i], bases[i], data[i] = bl.Field, bl.Base, bl.Data
		}
		args = append(args, cp.Namespace, version, fields, bases, data)
	}
	return flags, args, nil
}

// queueWrites queues the upsert of ws. Of several writes with one key, the
// last is kept (one INSERT ... ON CONFLICT DO UPDATE may not touch a row
// twice).
func (s *Store) queueWrites(b *pgx.Batch, id string, ws []checkpoint.PendingWrite) {
	type key struct{ ns, cp, task, kind, key string }
	last := make(map[key]int, len(ws))
	for i := range ws {
		w := &ws[i]
		last[key{w.Namespace, w.CheckpointID, w.Task, w.Kind, w.Key}] = i
	}
	n := len(last)
	ns, cps, tasks, kinds, keys := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	data := make([][]byte, 0, n)
	for i := range ws {
		w := &ws[i]
		if last[key{w.Namespace, w.CheckpointID, w.Task, w.Kind, w.Key}] != i {
			continue
		}
		ns, cps, tasks, kinds, keys = append(ns, w.Namespace), append(cps, w.CheckpointID), append(tasks, w.Task), append(kinds, w.Kind), append(keys, w.Key)
		data = append(data, w.Data)
	}
	b.Queue(s.sql.upsertWrites, id, ns, cps, tasks, kinds, keys, data)
}

// stepsArgs appends the arguments of the partSteps part: the columns of
// steps as arrays.
func stepsArgs(args []any, version int64, steps []checkpoint.Step) []any {
	n := len(steps)
	ns, supersteps, cps, nodes, tasks, statuses := make([]string, n), make([]int32, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	started, durations, errs := make([]time.Time, n), make([]int64, n), make([]string, n)
	for i := range steps {
		st := &steps[i]
		ns[i], supersteps[i], cps[i], nodes[i], tasks[i], statuses[i] = st.Namespace, int32(st.Superstep), st.CheckpointID, st.Node, st.Task, string(st.Status)
		started[i], durations[i], errs[i] = st.StartedAt, int64(st.Duration), st.Error
	}
	return append(args, version, ns, supersteps, cps, nodes, tasks, statuses, started, durations, errs)
}

// PutWrites records pending writes if the thread is still claimed by
// p.Owner at p.Epoch, in one round trip: a check of the claim that locks
// the thread row (FOR SHARE) and the upsert, in one implicit transaction.
func (s *Store) PutWrites(ctx context.Context, p *checkpoint.PutWrites) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p == nil {
		return errors.New("pgstore: PutWrites without arguments")
	}
	b := &pgx.Batch{}
	b.Queue(s.sql.lockClaim, p.ThreadID, p.Owner, p.Epoch)
	if len(p.Writes) > 0 {
		s.queueWrites(b, p.ThreadID, p.Writes)
	}
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if pgCode(err) == codeConflict {
		return fmt.Errorf("pgstore: thread %q is not claimed by %q at epoch %d (or does not exist): %w", p.ThreadID, p.Owner, p.Epoch, checkpoint.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("pgstore: thread %q: put writes: %w", p.ThreadID, err)
	}
	return nil
}
