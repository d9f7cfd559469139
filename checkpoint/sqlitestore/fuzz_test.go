package sqlitestore

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// The decoders of stored columns take anything a damaged file may hold.
// Each fuzz test checks that a decoder never panics, and that what it
// accepts survives encoding and decoding again unchanged. Without -fuzz
// they run their seed corpus as ordinary tests.

func FuzzDecodeStrings(f *testing.F) {
	for _, s := range []string{``, `[]`, `["a","b"]`, `["\u00e9", "<&>"]`, `null`, `[null]`, `[1]`, `["a",`, `{"a":1}`,
		`"a"`, `[["a"]]`, `["a"] x`, "[\"\xff\"]", ` [ "a" ] `, `[""]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeStrings(b)
		if err != nil {
			return
		}
		enc, err := encodeStrings(got)
		if err != nil {
			return // invalid UTF-8 decoded as such: refused on the way in
		}
		var again []string
		if enc != nil {
			if again, err = decodeStrings([]byte(enc.(string))); err != nil {
				t.Fatalf("decodeStrings(encodeStrings(%q)): %v", got, err)
			}
		}
		if !slices.Equal(again, got) {
			t.Fatalf("round trip of %q: %q", got, again)
		}
	})
}

func FuzzDecodeVersions(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"a":1,"b":9007199254740993}`, `{"a":-1}`, `{"a":1.5}`, `{"a":"1"}`, `null`,
		`[]`, `{"a":1`, `{"a":1,"a":2}`, `{"\u0000":3}`, `{"a":1e3}`, `{"a":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeVersions(b)
		if err != nil {
			return
		}
		enc, err := encodeVersions(got)
		if err != nil {
			return
		}
		var again map[string]int64
		if enc != nil {
			if again, err = decodeVersions([]byte(enc.(string))); err != nil {
				t.Fatalf("decodeVersions(encodeVersions(%v)): %v", got, err)
			}
		}
		if !maps.Equal(again, got) {
			t.Fatalf("round trip of %v: %v", got, again)
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"node":"review","passed":"a,b"}`, `{"a":1}`, `{"a":null}`, `null`, `[]`,
		`{"a":"b"`, `{"a":"\ud800"}`, `{"a":{"b":"c"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeMeta(b)
		if err != nil {
			return
		}
		enc, err := encodeMeta(got)
		if err != nil {
			return
		}
		var again map[string]string
		if enc != nil {
			if again, err = decodeMeta([]byte(enc.(string))); err != nil {
				t.Fatalf("decodeMeta(encodeMeta(%v)): %v", got, err)
			}
		}
		if !maps.Equal(again, got) {
			t.Fatalf("round trip of %v: %v", got, again)
		}
	})
}

// FuzzIntCol feeds the integer and time columns every kind of value the
// driver can return.
func FuzzIntCol(f *testing.F) {
	f.Add(int64(0), "", 0.0, []byte(nil), uint8(0))
	f.Add(int64(-62135596800000000), "x", 1.5, []byte("1"), uint8(1))
	f.Add(int64(1<<62), "12", math.Copysign(0, -1), []byte{0}, uint8(2))
	f.Fuzz(func(t *testing.T, i int64, s string, fl float64, b []byte, kind uint8) {
		srcs := []any{i, s, fl, b, nil, true, time.Unix(0, i)}
		src := srcs[int(kind)%len(srcs)]
		var c intCol
		if err := c.Scan(src); err != nil {
			t.Fatalf("Scan(%#v): %v", src, err)
		}
		var d decoder
		v := d.int("c", c)
		tm := d.time("c", c)
		_, isInt := src.(int64)
		switch {
		case isInt && (d.err != nil || v != i || !tm.Equal(decodeTime(i))):
			t.Fatalf("int64 %d: %d, %v, %v", i, v, tm, d.err)
		case src == nil && (d.err == nil || !tm.IsZero()):
			t.Fatalf("NULL: %v, %v (want an error for int, the zero time)", d.err, tm)
		case !isInt && src != nil && d.err == nil:
			t.Fatalf("%T %#v: no error", src, src)
		}
	})
}

func FuzzParseCursor(f *testing.F) {
	for _, c := range []checkpoint.InterruptCursor{{CreatedAt: decodeTime(0)}, {CreatedAt: decodeTime(1), ID: "q", ThreadID: "t"},
		{CreatedAt: decodeTime(-5), ID: "a:b", ThreadID: "c:d"}, {CreatedAt: decodeTime(1 << 60), ThreadID: "thread"},
		{CreatedAt: decodeTime(0), ID: "id"}} {
		f.Add(c.String())
	}
	for _, s := range []string{"", "!", "MTox", "MToxOjpx", "LTE6LTE6", "OTk5OTk5OTk5OTk5OTk5OTk5OTk6MTp4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := (&checkpoint.InterruptQuery{After: s}).Cursor()
		if err != nil || c == nil {
			return
		}
		again, err := (&checkpoint.InterruptQuery{After: c.String()}).Cursor()
		if err != nil || !again.CreatedAt.Equal(c.CreatedAt) || encodeTime(again.CreatedAt) != encodeTime(c.CreatedAt) ||
			again.ID != c.ID || again.ThreadID != c.ThreadID {
			t.Fatalf("round trip of %+v: %+v, %v", c, again, err)
		}
	})
}

func TestTimeRoundTrip(t *testing.T) {
	for _, tm := range []time.Time{{}, time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.FixedZone("x", 3600)),
		time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)} {
		got := decodeTime(encodeTime(tm))
		if !got.Equal(tm.Truncate(time.Microsecond)) || got.IsZero() != tm.IsZero() {
			t.Errorf("decodeTime(encodeTime(%v)) = %v", tm, got)
		}
	}
}
