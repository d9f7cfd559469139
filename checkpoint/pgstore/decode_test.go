package pgstore

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/weftgraph/weft/checkpoint"
)

// The fuzz tests run their seed corpus in normal test runs; go test
// -fuzz=FuzzDecodeVersions ./checkpoint/pgstore/ explores further.

func FuzzDecodeVersions(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":2}`, `{}`, `null`, `[]`, `{"a":"1"}`, `{"a":1.5}`, `{"a":1}{}`, ` {"a":9223372036854775807}`, `{"a":1e3}`, `{`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeVersions(raw)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("decodeVersions(%q): error %v does not wrap ErrCorrupt", raw, err)
			}
			return
		}
		// What decodes encodes back to the same map.
		enc, err := encodeVersions(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeVersions(enc)
		if err != nil || !maps.Equal(back, m) {
			t.Fatalf("round trip of %q: %v, %v", raw, back, err)
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, `{}`, `null`, `"x"`, `{"a":1}`, `{"a":"x"} 1`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeMeta(raw)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("decodeMeta(%q): error %v does not wrap ErrCorrupt", raw, err)
			}
			return
		}
		enc, err := encodeMeta(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeMeta(enc); err != nil {
			t.Fatalf("round trip of %q: %v", raw, err)
		}
	})
}

func FuzzCheckpointRow(f *testing.F) {
	f.Add(int64(1), true, []byte(`{"x":1}`), []byte(`{"k":"v"}`), "a,b", false)
	f.Add(int64(0), true, []byte(`{"x":1}`), []byte(nil), "", false)
	f.Add(int64(-5), false, []byte(`[1]`), []byte(`{"k":1}`), "a", true)
	f.Fuzz(func(t *testing.T, version int64, parentValid bool, versions, meta []byte, next string, nullElem bool) {
		row := checkpointRow{
			namespace: pgtype.Text{String: "ns", Valid: true}, version: pgtype.Int8{Int64: version, Valid: true},
			parent: pgtype.Text{Valid: parentValid}, step: pgtype.Int4{Valid: true}, source: pgtype.Text{Valid: true},
			versions: versions, meta: meta, createdAt: pgtype.Timestamptz{Valid: true},
		}
		for _, s := range strings.Split(next, ",") {
			row.next = append(row.next, pgtype.Text{String: s, Valid: !nullElem})
		}
		cp, err := row.decode("t1")
		if err != nil {
			if !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), `thread "t1"`) {
				t.Fatalf("decode: error %v does not wrap ErrCorrupt or does not name the thread", err)
			}
			return
		}
		if cp.ID != checkpoint.FormatID(version) {
			t.Fatalf("ID %q of version %d", cp.ID, version)
		}
	})
}

func FuzzDecodeBlobs(f *testing.F) {
	f.Add("a,b", int64(2), int64(1), 2, 2, 2, 2, false, []byte(nil))
	f.Add("a", int64(0), int64(0), 1, 1, 0, 1, false, []byte(nil))
	f.Add("a", int64(3), int64(0), 1, 1, 1, 1, true, checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 1}, {Version: 3, Base: 1}}))
	f.Add("a", int64(2), int64(0), 1, 1, 1, 1, true, checkpoint.AppendPack(nil, []checkpoint.Blob{{Version: 1}, {Version: 3, Base: 1}}))
	f.Fuzz(func(t *testing.T, fields string, version, base int64, nv, nb, nd, np int, pack bool, data []byte) {
		fs := strings.Split(fields, ",")
		mk := func(n int) int { return min(max(n, 0), 8) }
		vs, bs, ds, ps := make([]int64, mk(nv)), make([]int64, mk(nb)), make([][]byte, mk(nd)), make([]bool, mk(np))
		for i := range vs {
			vs[i] = version
		}
		for i := range bs {
			bs[i] = base
		}
		for i := range ds {
			ds[i] = data
		}
		for i := range ps {
			ps[i] = pack
		}
		blobs, err := decodeBlobs(fs, vs, bs, ds, ps)
		if err != nil {
			if !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("decodeBlobs: error %v does not wrap ErrCorrupt", err)
			}
			if pack && errors.Is(err, checkpoint.ErrPack) != strings.Contains(err.Error(), "pack of") {
				t.Fatalf("decodeBlobs: error %v of a pack does not wrap ErrPack", err)
			}
			return
		}
		if !pack && len(blobs) != len(fs) {
			t.Fatalf("%d blobs of %d fields", len(blobs), len(fs))
		}
		for _, b := range blobs {
			if b.Version <= 0 || b.Version > version {
				t.Fatalf("blob %+v of a row at version %d", b, version)
			}
		}
	})
}

func FuzzDecodeInterruptRow(f *testing.F) {
	f.Add("t", "q", "a,b", false, "boss", false)
	f.Add("t", "q", "", true, "", true)
	f.Fuzz(func(t *testing.T, thread, id, assignees string, nullA bool, escalate string, nullE bool) {
		x := interruptRow{r: checkpoint.InterruptRecord{ThreadID: thread, ID: id}, status: "pending"}
		for _, s := range strings.Split(assignees, ",") {
			x.assignees = append(x.assignees, pgtype.Text{String: s, Valid: !nullA})
		}
		for _, s := range strings.Split(escalate, ",") {
			x.escalateTo = append(x.escalateTo, pgtype.Text{String: s, Valid: !nullE})
		}
		r, err := x.decode()
		if err != nil {
			if !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), "interrupt") {
				t.Fatalf("decode: %v", err)
			}
			return
		}
		if nullA || nullE || r.ID != id {
			t.Fatalf("decode of a row with NULL elements succeeded: %+v", r)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, r := range []checkpoint.InterruptRecord{{ID: "q1", ThreadID: "t1"}, {ID: "", ThreadID: "a:b"}, {ID: "x:y", ThreadID: ""}} {
		f.Add(checkpoint.CursorAfter(&r).String())
	}
	f.Add("!!")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		if c2, err := parseCursor(c.String()); err != nil || c2 != c {
			t.Fatalf("cursor %q: round trip %+v, %v; want %+v", s, c2, err, c)
		}
	})
}

func TestDecodeVersionsJSON(t *testing.T) {
	m, err := decodeVersions([]byte(`{"list": 3, "x": 1}`))
	if err != nil || !maps.Equal(m, map[string]int64{"list": 3, "x": 1}) {
		t.Fatalf("decodeVersions = %v, %v", m, err)
	}
	if _, err := decodeVersions([]byte(`{"x": 1.5}`)); !errors.Is(err, checkpoint.ErrCorrupt) {
		t.Fatalf("decodeVersions(1.5) = %v, want ErrCorrupt", err)
	}
}

func TestMigrationFiles(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != SchemaVersion {
		t.Fatalf("%d migration files, SchemaVersion is %d", len(ms), SchemaVersion)
	}
	for _, m := range ms {
		if !strings.Contains(m.sql, "{{schema}}.") {
			t.Errorf("migration %d does not name the schema", m.version)
		}
	}
}
