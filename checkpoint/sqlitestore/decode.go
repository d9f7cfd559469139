package sqlitestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// This file turns column values into Go values and back. Every decoder is
// a small function that returns an error for a value the store could not
// have written, so a corrupt row becomes an error wrapping
// checkpoint.ErrCorrupt (with the thread, checkpoint or interrupt named by
// the caller), never a panic or a silently wrong value. fuzz_test.go runs
// them on arbitrary input.

// intCol scans an INTEGER column that may be NULL. A value of another type
// is kept for the row's decoder to report instead of failing the whole
// Scan, which could not say which row was bad.
type intCol struct {
	v    int64
	null bool
	bad  any // the value when it is neither an integer nor NULL
}

// Scan implements sql.Scanner.
func (c *intCol) Scan(src any) error {
	*c = intCol{}
	switch x := src.(type) {
	case int64:
		c.v = x
	case nil:
		c.null = true
	default:
		c.bad = x
	}
	return nil
}

// decoder decodes the columns of one row and keeps the first problem.
type decoder struct {
	err error
}

func (d *decoder) fail(column string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("column %s: %w", column, err)
	}
}

// int returns a NOT NULL integer column.
func (d *decoder) int(column string, c intCol) int64 {
	switch {
	case c.bad != nil:
		d.fail(column, fmt.Errorf("%T value %.40q is not an integer", c.bad, fmt.Sprint(c.bad)))
	case c.null:
		d.fail(column, errors.New("NULL in a NOT NULL column"))
	}
	return c.v
}

// time returns a time column; NULL is the zero time.
func (d *decoder) time(column string, c intCol) time.Time {
	if c.bad != nil {
		d.fail(column, fmt.Errorf("%T value %.40q is not a time", c.bad, fmt.Sprint(c.bad)))
		return time.Time{}
	}
	if c.null {
		return time.Time{}
	}
	return decodeTime(c.v)
}

// strings decodes a JSON list column.
func (d *decoder) strings(column string, b []byte) []string {
	v, err := decodeStrings(b)
	if err != nil {
		d.fail(column, err)
	}
	return v
}

// versions decodes a JSON map of field versions.
func (d *decoder) versions(column string, b []byte) map[string]int64 {
	v, err := decodeVersions(b)
	if err != nil {
		d.fail(column, err)
	}
	return v
}

// meta decodes a JSON map of strings.
func (d *decoder) meta(column string, b []byte) map[string]string {
	v, err := decodeMeta(b)
	if err != nil {
		d.fail(column, err)
	}
	return v
}

// encodeTime returns the column value of a time: unix microseconds, the
// precision the store keeps.
func encodeTime(t time.Time) int64 { return t.UnixMicro() }

// encodeOptionalTime is encodeTime with NULL for the zero time.
func encodeOptionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// decodeTime is the inverse of encodeTime, in UTC. The zero time survives
// the round trip.
func decodeTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// encodeStrings returns a list column: a JSON array, NULL when empty.
func encodeStrings(s []string) (any, error) {
	if len(s) == 0 {
		return nil, nil
	}
	for _, x := range s {
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("%q is not valid UTF-8", x)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeStrings decodes a list column: NULL or empty is nil, anything but
// a JSON array of strings is an error.
func decodeStrings(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON array of strings: %w", err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON array of strings: null")
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		if len(r) == 0 || r[0] != '"' {
			return nil, fmt.Errorf("element %d is %.40s, not a string", i, r)
		}
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return out, nil
}

// encodeVersions returns a field-version map column, NULL when empty.
func encodeVersions(m map[string]int64) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k := range m {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("field name %q is not valid UTF-8", k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeVersions decodes a field-version map column: NULL or empty is nil,
// anything but a JSON object of integers is an error.
func decodeVersions(b []byte) (map[string]int64, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("not a JSON object of versions: %w", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object of versions: null")
	}
	return m, nil
}

// encodeMeta returns a meta map column, NULL when empty.
func encodeMeta(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k, v := range m {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("meta %q=%q is not valid UTF-8", k, v)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// decodeMeta decodes a meta map column: NULL or empty is nil, anything but
// a JSON object of strings is an error.
func decodeMeta(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of strings: %w", err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON object of strings: null")
	}
	m := make(map[string]string, len(raw))
	for k, r := range raw {
		if len(r) == 0 || r[0] != '"' {
			return nil, fmt.Errorf("key %q is %.40s, not a string", k, r)
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		m[k] = s
	}
	return m, nil
}
