package pgstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

// Rows are read into raw values that any content of the column's type
// fits, then decoded by the small functions below, which refuse what a
// store never writes with an error wrapping checkpoint.ErrCorrupt (never a
// panic). Callers add which thread and which checkpoint or interrupt the
// row belongs to.

// corrupt wraps checkpoint.ErrCorrupt with what was wrong.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", checkpoint.ErrCorrupt, fmt.Sprintf(format, args...))
}

// encodeVersions encodes a checkpoint's field versions as a JSON object;
// an empty map is NULL.
func encodeVersions(m map[string]int64) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// encodeMeta encodes a checkpoint's annotations as a JSON object; an empty
// map is NULL.
func encodeMeta(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

// decodeVersions decodes the versions column: NULL, or a JSON object of
// integers (64-bit).
func decodeVersions(raw []byte) (map[string]int64, error) {
	if raw == nil {
		return nil, nil
	}
	var m map[string]int64
	if err := decodeObject(raw, &m); err != nil {
		return nil, corrupt("versions: %v", err)
	}
	return m, nil
}

// decodeMeta decodes the meta column: NULL, or a JSON object of strings.
func decodeMeta(raw []byte) (map[string]string, error) {
	if raw == nil {
		return nil, nil
	}
	var m map[string]string
	if err := decodeObject(raw, &m); err != nil {
		return nil, corrupt("meta: %v", err)
	}
	return m, nil
}

// decodeObject decodes one JSON object (not null, nothing after it) into
// the map p points at.
func decodeObject(raw []byte, p any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(p); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

// decodeStrings decodes a text[] column: NULL is nil; a NULL element is
// corrupt.
func decodeStrings(column string, a []pgtype.Text) ([]string, error) {
	if a == nil {
		return nil, nil
	}
	out := make([]string, len(a))
	for i, t := range a {
		if !t.Valid {
			return nil, corrupt("%s: element %d is NULL", column, i)
		}
		out[i] = t.String
	}
	return out, nil
}

// decodeCheckpointID turns a stored version into a checkpoint ID.
func decodeCheckpointID(version int64) (string, error) {
	if version <= 0 {
		return "", corrupt("checkpoint version %d", version)
	}
	return checkpoint.FormatID(version), nil
}

// checkpointRow is a row of the checkpoints table as read, NULL-able where
// a LEFT JOIN may find nothing.
type checkpointRow struct {
	namespace pgtype.Text
	version   pgtype.Int8
	parent    pgtype.Text
	step      pgtype.Int4
	source    pgtype.Text
	next      []pgtype.Text
	versions  []byte
	meta      []byte
	createdAt pgtype.Timestamptz
}

// scanDest returns the destinations of the row's columns, in the order
// namespace, version, parent, step, source, next, versions, meta,
// created_at.
func (r *checkpointRow) scanDest() []any {
	return []any{&r.namespace, &r.version, &r.parent, &r.step, &r.source, &r.next, &r.versions, &r.meta, &r.createdAt}
}

// found reports whether the row holds a checkpoint (not the NULLs of a
// LEFT JOIN that found none).
func (r *checkpointRow) found() bool { return r.version.Valid }

// decode turns the row into a checkpoint of thread threadID, without
// blobs.
func (r *checkpointRow) decode(threadID string) (checkpoint.Checkpoint, error) {
	cp := checkpoint.Checkpoint{ThreadID: threadID, Namespace: r.namespace.String}
	fail := func(err error) (checkpoint.Checkpoint, error) {
		return checkpoint.Checkpoint{}, fmt.Errorf("pgstore: thread %q: checkpoint %d in namespace %q: %w", threadID, r.version.Int64, cp.Namespace, err)
	}
	var err error
	if cp.ID, err = decodeCheckpointID(r.version.Int64); err != nil {
		return fail(err)
	}
	if !r.parent.Valid || !r.step.Valid || !r.source.Valid || !r.createdAt.Valid {
		return fail(corrupt("a required column is NULL"))
	}
	cp.ParentID, cp.Step, cp.Source, cp.CreatedAt = r.parent.String, int(r.step.Int32), r.source.String, r.createdAt.Time.UTC()
	if cp.Next, err = decodeStrings("next", r.next); err != nil {
		return fail(err)
	}
	if cp.Versions, err = decodeVersions(r.versions); err != nil {
		return fail(err)
	}
	if cp.Meta, err = decodeMeta(r.meta); err != nil {
		return fail(err)
	}
	return cp, nil
}

// decodeBlobs zips the aggregated blob columns of a checkpoint read,
// with the blobs of each pack row (packs[i]) in place of the row: the
// rows' order, by (field, version), is kept, as a pack's blobs are older
// than the row after it.
func decodeBlobs(fields []string, versions, bases []int64, data [][]byte, packs []bool) ([]checkpoint.Blob, error) {
	n := len(fields)
	if len(versions) != n || len(bases) != n || len(data) != n || len(packs) != n {
		return nil, corrupt("blob columns of different lengths: %d fields, %d versions, %d bases, %d data, %d pack flags",
			n, len(versions), len(bases), len(data), len(packs))
	}
	if n == 0 {
		return nil, nil
	}
	out := make([]checkpoint.Blob, 0, n)
	for i := range n {
		if versions[i] <= 0 {
			return nil, corrupt("blob %s at version %d", fields[i], versions[i])
		}
		if !packs[i] {
			out = append(out, checkpoint.Blob{Field: fields[i], Version: versions[i], Base: bases[i], Data: data[i]})
			continue
		}
		var err error
		if out, err = unpackRow(out, fields[i], versions[i], data[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// unpackRow appends the blobs of the pack row of field at version to dst.
// A pack that UnpackBlobs refuses, or one whose newest blob is above its
// row, is corrupt (the error wraps checkpoint.ErrCorrupt and
// checkpoint.ErrPack).
func unpackRow(dst []checkpoint.Blob, field string, version int64, data []byte) ([]checkpoint.Blob, error) {
	n := len(dst)
	dst, err := checkpoint.UnpackBlobs(dst, field, data)
	if err != nil {
		return nil, fmt.Errorf("%w: pack of %s at version %d: %w", checkpoint.ErrCorrupt, field, version, err)
	}
	if len(dst) > n && dst[len(dst)-1].Version > version {
		return nil, fmt.Errorf("%w: pack of %s at version %d: %w: it holds version %d", checkpoint.ErrCorrupt, field, version,
			checkpoint.ErrPack, dst[len(dst)-1].Version)
	}
	return dst, nil
}
