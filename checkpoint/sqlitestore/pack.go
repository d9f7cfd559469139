package sqlitestore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/weftgraph/weft/checkpoint"
)

// foldAfter is K of the fold (see Append chains in doc.go): a commit that
// appends to a field at version v whose new blob has root R folds the
// field's rows from R to v into one pack when v-R >= foldAfter. So a
// chain's head is at most foldAfter-1 plain rows above its pack, and a
// read of it scans at most foldAfter rows for the field, however long the
// chain; each fold rewrites the chain's pack once per foldAfter appends.
const foldAfter = 64

// The statements of the fold.
const (
	// qFoldRows reads the rows of one field in a range of versions, packs
	// and all, in version order.
	qFoldRows = `SELECT version, base, root, pack_from, data FROM blobs
		WHERE thread_id = ?1 AND namespace = ?2 AND field = ?3 AND version BETWEEN ?4 AND ?5 ORDER BY version`
	// qFoldDelete deletes the rows of one field from version ?4 up to,
	// not including, ?5: those a fold packed, but the row at ?5.
	qFoldDelete = `DELETE FROM blobs WHERE thread_id = ?1 AND namespace = ?2 AND field = ?3 AND version >= ?4 AND version < ?5`
	// qFoldWrite turns the row at version ?4 into the pack ?6 of the
	// blobs from version ?5 up.
	qFoldWrite = `UPDATE blobs SET base = 0, root = ?4, pack_from = ?5, data = ?6
		WHERE thread_id = ?1 AND namespace = ?2 AND field = ?3 AND version = ?4`
)

// foldRow is a row that a fold reads.
type foldRow struct {
	version, base, root int64
	// pack: the row is a pack, whose lowest version is packFrom.
	pack     bool
	packFrom int64
	data     []byte
}

// foldChain folds the rows of field (thread id, namespace ns) from version
// root up to version v, the blob this commit just inserted, into one pack
// row at v: the fold of a long Append chain, in the commit's transaction.
//
// Every row in the range is folded, whatever its root, and packs among
// them are expanded into the new one, so that no row is left inside the
// range of the pack. The range starts lower when a row in it belongs to a
// chain that reaches below it (a fork from before a full value that the
// chain restarted from): then the rows of that chain, and of packs it
// reaches, are folded too, so that every blob in a pack has its Base chain
// in the same pack or above it. v is the thread's newest version, so no row
// of the field is above it.
//
// A pack that cannot be read fails the commit with an error wrapping
// checkpoint.ErrCorrupt and checkpoint.ErrPack.
func foldChain(ctx context.Context, tx txn, id, ns, field string, v, root int64) error {
	what := func() string {
		return fmt.Sprintf("thread %q: namespace %q: checkpoint %s: fold blob %q", id, ns, checkpoint.FormatID(v), field)
	}
	var rows []foldRow
	lo, hi := root, v
	for {
		chunk, err := readFoldRows(ctx, tx, what, id, ns, field, lo, hi)
		if err != nil {
			return err
		}
		rows = append(chunk, rows...)
		// A pack's range holds no other row (see 0007_blob_packs.sql), so
		// its lower end joins the range without a read; a row whose root
		// is lower needs the rows down to that root.
		low, minRoot := lo, lo
		for _, r := range chunk {
			if r.pack {
				low = min(low, r.packFrom)
			}
			minRoot = min(minRoot, r.root)
		}
		if minRoot >= low {
			break
		}
		lo, hi = minRoot, low-1
	}
	if len(rows) < 2 {
		return nil // nothing to fold into
	}
	entries := make([]checkpoint.Blob, 0, len(rows))
	for _, r := range rows {
		if !r.pack {
			entries = append(entries, checkpoint.Blob{Field: field, Version: r.version, Base: r.base, Data: r.data})
			continue
		}
		var err error
		if entries, err = checkpoint.UnpackBlobs(entries, field, r.data); err != nil {
			return corrupt(fmt.Sprintf("%s: pack at version %d", what(), r.version), err)
		}
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Version <= entries[i-1].Version {
			return corrupt(what(), fmt.Errorf("%w: blob of version %d twice, or out of order", checkpoint.ErrPack, entries[i].Version))
		}
	}
	from := entries[0].Version
	pack := checkpoint.AppendPack(nil, entries)
	res, err := tx.exec(ctx, qFoldDelete, id, ns, field, from, v)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what(), err)
	}
	// The rows read are all the rows of the range, if the packs among
	// them kept their ranges to themselves; a row that a pack's range
	// hid would be deleted unread: refuse, which rolls the commit back.
	if n, err := res.RowsAffected(); err == nil && n != int64(len(rows)-1) {
		return corrupt(what(), fmt.Errorf("%w: %d rows from version %d to %d, %d of them read: a row lies inside a pack's range",
			checkpoint.ErrPack, n, from, v-1, len(rows)-1))
	}
	if _, err := tx.exec(ctx, qFoldWrite, id, ns, field, v, from, pack); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what(), err)
	}
	return nil
}

// readFoldRows returns the rows of field from version lo to hi.
func readFoldRows(ctx context.Context, tx txn, what func() string, id, ns, field string, lo, hi int64) ([]foldRow, error) {
	rs, err := tx.QueryContext(ctx, qFoldRows, id, ns, field, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what(), err)
	}
	defer rs.Close()
	var out []foldRow
	for rs.Next() {
		var version, base, root, from intCol
		var r foldRow
		if err := rs.Scan(&version, &base, &root, &from, &r.data); err != nil {
			return nil, fmt.Errorf("sqlitestore: %s: %w", what(), err)
		}
		var d decoder
		r.version = d.int("version", version)
		r.base = d.int("base", base)
		r.root = d.int("root", root)
		if r.pack = !from.null; r.pack {
			r.packFrom = d.int("pack_from", from)
		}
		if d.err != nil {
			return nil, corrupt(what(), d.err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: %s: %w", what(), err)
	}
	return out, nil
}

// packHas reports whether the pack (of field) holds a blob of version v.
func packHas(field string, pack []byte, v int64) (bool, error) {
	blobs, err := checkpoint.UnpackBlobs(nil, field, pack)
	if err != nil {
		return false, err
	}
	_, found := slices.BinarySearchFunc(blobs, v, func(b checkpoint.Blob, v int64) int { return cmp.Compare(b.Version, v) })
	return found, nil
}

// The statements of a Prune of a namespace with packs.
const (
	qHasPack        = `SELECT 1 FROM blobs WHERE thread_id = ? AND namespace = ? AND pack_from IS NOT NULL LIMIT 1`
	qPruneVersions  = `SELECT version, versions FROM checkpoints WHERE thread_id = ? AND namespace = ?`
	qPruneBlobsRows = `SELECT field, version, base, pack_from, CASE WHEN pack_from IS NOT NULL THEN data END
		FROM blobs WHERE thread_id = ? AND namespace = ?`
	// qPruneDelete deletes the rows of the JSON array ?3 of [field,
	// version] pairs.
	qPruneDelete = `DELETE FROM blobs WHERE thread_id = ?1 AND namespace = ?2 AND (field, version) IN
		(SELECT value ->> 0, value ->> 1 FROM json_each(?3))`
	qPruneRepack = `UPDATE blobs SET pack_from = ?5, data = ?6 WHERE thread_id = ?1 AND namespace = ?2 AND field = ?3 AND version = ?4`
)

// blobKey names a blob of a namespace.
type blobKey struct {
	field   string
	version int64
}

// collectPacked is collectBlobs for a namespace that holds packs: it
// reads the checkpoints' versions and the blobs (the bases of the blobs in
// packs included) and works out in Go which blobs a remaining checkpoint
// needs, directly or down an Append chain. It deletes the plain rows that
// are neither needed nor of a remaining checkpoint's version, as
// collectBlobsQuery does, rewrites a pack that holds some such blobs
// without them, and deletes one that holds only such blobs. A pack that
// cannot be read is an error wrapping checkpoint.ErrCorrupt and
// checkpoint.ErrPack, and then nothing is removed.
func collectPacked(ctx context.Context, tx txn, id, ns string) error {
	what := fmt.Sprintf("thread %q: namespace %q: prune blobs", id, ns)
	// The checkpoints: their versions, and what they name.
	cps := map[int64]bool{}
	var named []blobKey
	rows, err := tx.QueryContext(ctx, qPruneVersions, id, ns)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	for rows.Next() {
		var v int64
		var enc []byte
		if err := rows.Scan(&v, &enc); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: %s: %w", what, err)
		}
		vs, err := decodeVersions(enc)
		if err != nil {
			rows.Close()
			return corrupt(fmt.Sprintf("thread %q: namespace %q: checkpoint %s", id, ns, checkpoint.FormatID(v)),
				fmt.Errorf("column versions: %w: cannot tell which blobs it needs, so none are removed", err))
		}
		cps[v] = true
		for f, x := range vs {
			named = append(named, blobKey{f, x})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}

	// The blobs: bases by key, and which row (plain, or a pack) holds each.
	type packRow struct {
		field   string
		version int64
		blobs   []checkpoint.Blob
	}
	type node struct {
		base int64
		pack int // index in packs, -1 for a plain row
	}
	nodes := map[blobKey]node{}
	var packs []packRow
	rows, err = tx.QueryContext(ctx, qPruneBlobsRows, id, ns)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	for rows.Next() {
		var field string
		var version, base, from intCol
		var data []byte
		if err := rows.Scan(&field, &version, &base, &from, &data); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: %s: %w", what, err)
		}
		var d decoder
		v, b := d.int("version", version), d.int("base", base)
		if !from.null {
			d.int("pack_from", from)
		}
		if d.err != nil {
			rows.Close()
			return corrupt(fmt.Sprintf("%s: blob %q", what, field), d.err)
		}
		if from.null {
			nodes[blobKey{field, v}] = node{b, -1}
			continue
		}
		blobs, err := checkpoint.UnpackBlobs(nil, field, data)
		if err != nil {
			rows.Close()
			return corrupt(fmt.Sprintf("%s: blob %q: pack at version %d", what, field, v), fmt.Errorf("%w; none are removed", err))
		}
		for _, e := range blobs {
			nodes[blobKey{field, e.Version}] = node{e.Base, len(packs)}
		}
		packs = append(packs, packRow{field, v, blobs})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}

	need := map[blobKey]bool{}
	for _, k := range named {
		for {
			n, ok := nodes[k]
			if !ok || need[k] {
				break
			}
			need[k] = true
			if n.base <= 0 || n.base >= k.version {
				break
			}
			k.version = n.base
		}
	}
	keep := func(k blobKey) bool { return need[k] || cps[k.version] }

	var gone []blobKey
	for k, n := range nodes {
		if n.pack < 0 && !keep(k) {
			gone = append(gone, k)
		}
	}
	for _, p := range packs {
		kept := slices.DeleteFunc(slices.Clone(p.blobs), func(b checkpoint.Blob) bool { return !keep(blobKey{p.field, b.Version}) })
		switch len(kept) {
		case len(p.blobs):
		case 0:
			gone = append(gone, blobKey{p.field, p.version})
		default:
			if _, err := tx.exec(ctx, qPruneRepack, id, ns, p.field, p.version, kept[0].Version, checkpoint.AppendPack(nil, kept)); err != nil {
				return fmt.Errorf("sqlitestore: %s: blob %q: pack at version %d: %w", what, p.field, p.version, err)
			}
		}
	}
	return deleteBlobs(ctx, tx, id, ns, gone)
}

// deleteBlobs deletes the rows of keys: in one statement, or one per row
// when a field's name is not valid UTF-8 (which JSON would not carry
// intact).
func deleteBlobs(ctx context.Context, tx txn, id, ns string, keys []blobKey) error {
	if len(keys) == 0 {
		return nil
	}
	pairs := make([][2]any, len(keys))
	for i, k := range keys {
		if !utf8.ValidString(k.field) {
			pairs = nil
			break
		}
		pairs[i] = [2]any{k.field, k.version}
	}
	if pairs != nil {
		enc, err := json.Marshal(pairs)
		if err == nil {
			_, err = tx.exec(ctx, qPruneDelete, id, ns, string(enc))
		}
		if err != nil {
			return fmt.Errorf("sqlitestore: thread %q: namespace %q: prune blobs: %w", id, ns, err)
		}
		return nil
	}
	for _, k := range keys {
		if _, err := tx.exec(ctx, qFoldDelete, id, ns, k.field, k.version, k.version+1); err != nil {
			return fmt.Errorf("sqlitestore: thread %q: namespace %q: prune blob %q of version %d: %w", id, ns, k.field, k.version, err)
		}
	}
	return nil
}
