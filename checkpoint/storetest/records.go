package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// recordsTests check checkpoint.Records; a store without it skips them.
var recordsTests = []test{
	{"PutAndGet", testRecordsPutAndGet},
	{"ReplaceKeepsCreatedAt", testRecordsReplace},
	{"ListByKindAndThread", testRecordsList},
	{"Pages", testRecordsPages},
	{"Delete", testRecordsDelete},
	{"DeleteByThread", testRecordsDeleteByThread},
	{"Invalid", testRecordsInvalid},
}

// records is the store as checkpoint.Records, or skips the test.
func (e *env) records() checkpoint.Records {
	e.t.Helper()
	rs, ok := e.s.(checkpoint.Records)
	if !ok {
		e.t.Skip("the store does not implement checkpoint.Records")
	}
	return rs
}

func putRecord(t *testing.T, e *env, rs checkpoint.Records, kind, id, thread, data string) {
	t.Helper()
	noErr(t, fmt.Sprintf("PutRecord(%s/%s)", kind, id), rs.PutRecord(e.ctx, &checkpoint.Record{Kind: kind, ID: id, ThreadID: thread, Data: json.RawMessage(data)}))
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xa) == string(yb)
}

// testRecordsPutAndGet: a record put is read back with its thread, data
// and times; one never put is ErrNotFound; a record needs no thread row.
func testRecordsPutAndGet(e *env) {
	rs := e.records()
	putRecord(e.t, e, rs, "run", "r1", "never-run", `{"status": "pending", "n": [1, 2]}`)
	rec, err := rs.Record(e.ctx, "run", "r1")
	noErr(e.t, "Record(run/r1)", err)
	if rec.Kind != "run" || rec.ID != "r1" || rec.ThreadID != "never-run" || !sameJSON(rec.Data, []byte(`{"n":[1,2],"status":"pending"}`)) {
		e.t.Fatalf("Record(run/r1) = %+v (data %s)", rec, rec.Data)
	}
	if rec.CreatedAt.IsZero() || rec.UpdatedAt.Before(rec.CreatedAt) {
		e.t.Errorf("times: created %v, updated %v", rec.CreatedAt, rec.UpdatedAt)
	}
	_, err = rs.Record(e.ctx, "thread", "r1")
	wantErr(e.t, "Record(thread/r1) of another kind", err, checkpoint.ErrNotFound)
	_, err = rs.Record(e.ctx, "run", "nope")
	wantErr(e.t, "Record(run/nope)", err, checkpoint.ErrNotFound)
	putRecord(e.t, e, rs, "run", "empty", "t", "")
	rec, err = rs.Record(e.ctx, "run", "empty")
	noErr(e.t, "Record(run/empty)", err)
	if string(rec.Data) != "null" {
		e.t.Errorf("data of a record put without any = %s, want null", rec.Data)
	}
}

// testRecordsReplace: putting a record again replaces its data and thread
// and keeps its creation time.
func testRecordsReplace(e *env) {
	rs := e.records()
	putRecord(e.t, e, rs, "run", "r1", "t1", `{"status": "pending"}`)
	first, err := rs.Record(e.ctx, "run", "r1")
	noErr(e.t, "Record", err)
	putRecord(e.t, e, rs, "run", "r1", "t2", `{"status": "success"}`)
	rec, err := rs.Record(e.ctx, "run", "r1")
	noErr(e.t, "Record", err)
	if rec.ThreadID != "t2" || !sameJSON(rec.Data, []byte(`{"status":"success"}`)) {
		e.t.Fatalf("replaced record = %+v (data %s)", rec, rec.Data)
	}
	if !rec.CreatedAt.Equal(first.CreatedAt) || rec.UpdatedAt.Before(first.UpdatedAt) {
		e.t.Errorf("times after a replace: created %v (was %v), updated %v (was %v)", rec.CreatedAt, first.CreatedAt, rec.UpdatedAt, first.UpdatedAt)
	}
	page, err := rs.Records(e.ctx, &checkpoint.RecordQuery{Kind: "run"})
	noErr(e.t, "Records", err)
	if len(page.Records) != 1 {
		e.t.Errorf("%d records after a replace, want 1", len(page.Records))
	}
}

func recordIDs(p *checkpoint.RecordPage) []string {
	ids := []string{}
	for _, r := range p.Records {
		ids = append(ids, r.ID)
	}
	return ids
}

// testRecordsList: Records lists one kind, of one thread or all, in ID
// order.
func testRecordsList(e *env) {
	rs := e.records()
	putRecord(e.t, e, rs, "run", "c", "t1", `1`)
	putRecord(e.t, e, rs, "run", "a", "t2", `2`)
	putRecord(e.t, e, rs, "run", "b", "t1", `3`)
	putRecord(e.t, e, rs, "thread", "t1", "t1", `{}`)
	for _, c := range []struct {
		q    checkpoint.RecordQuery
		want string
	}{
		{checkpoint.RecordQuery{Kind: "run"}, "[a b c]"},
		{checkpoint.RecordQuery{Kind: "run", ThreadID: "t1"}, "[b c]"},
		{checkpoint.RecordQuery{Kind: "run", ThreadID: "t3"}, "[]"},
		{checkpoint.RecordQuery{Kind: "thread"}, "[t1]"},
		{checkpoint.RecordQuery{Kind: "other"}, "[]"},
		{checkpoint.RecordQuery{Kind: "run", After: "a"}, "[b c]"},
	} {
		page, err := rs.Records(e.ctx, &c.q)
		noErr(e.t, fmt.Sprintf("Records(%+v)", c.q), err)
		if got := fmt.Sprint(recordIDs(page)); got != c.want || page.Next != "" {
			e.t.Errorf("Records(%+v) = %s next %q, want %s", c.q, got, page.Next, c.want)
		}
	}
	if _, err := rs.Records(e.ctx, &checkpoint.RecordQuery{}); err == nil {
		e.t.Error("Records without a kind succeeded")
	}
}

// testRecordsPages: Limit pages the list, Next is the cursor of the next
// page and "" at the last.
func testRecordsPages(e *env) {
	rs := e.records()
	for i := range 5 {
		putRecord(e.t, e, rs, "run", fmt.Sprintf("r%d", i), "t", `{}`)
	}
	q := &checkpoint.RecordQuery{Kind: "run", ThreadID: "t", Limit: 2}
	var pages []string
	for {
		page, err := rs.Records(e.ctx, q)
		noErr(e.t, "Records", err)
		pages = append(pages, fmt.Sprint(recordIDs(page)))
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if got := fmt.Sprint(pages); got != "[[r0 r1] [r2 r3] [r4]]" {
		e.t.Errorf("pages = %s", got)
	}
}

// testRecordsDelete: DeleteRecord removes one record; deleting it again
// is ErrNotFound.
func testRecordsDelete(e *env) {
	rs := e.records()
	putRecord(e.t, e, rs, "run", "r1", "t", `{}`)
	putRecord(e.t, e, rs, "run", "r2", "t", `{}`)
	noErr(e.t, "DeleteRecord", rs.DeleteRecord(e.ctx, "run", "r1"))
	_, err := rs.Record(e.ctx, "run", "r1")
	wantErr(e.t, "Record after DeleteRecord", err, checkpoint.ErrNotFound)
	wantErr(e.t, "DeleteRecord again", rs.DeleteRecord(e.ctx, "run", "r1"), checkpoint.ErrNotFound)
	if _, err := rs.Record(e.ctx, "run", "r2"); err != nil {
		e.t.Errorf("the other record: %v", err)
	}
}

// testRecordsDeleteByThread: DeleteRecords removes every record of a
// thread, of every kind, and no other; DeleteThread leaves records alone.
func testRecordsDeleteByThread(e *env) {
	rs := e.records()
	f := e.thread("t1", "w")
	f.commit(checkpoint.Commit{})
	putRecord(e.t, e, rs, "run", "r1", "t1", `{}`)
	putRecord(e.t, e, rs, "thread", "t1", "t1", `{}`)
	putRecord(e.t, e, rs, "run", "r2", "t2", `{}`)
	noErr(e.t, "DeleteThread", e.s.DeleteThread(e.ctx, "t1"))
	if _, err := rs.Record(e.ctx, "run", "r1"); err != nil {
		e.t.Fatalf("a record after DeleteThread of its thread: %v (DeleteThread leaves records)", err)
	}
	n, err := rs.DeleteRecords(e.ctx, "t1")
	noErr(e.t, "DeleteRecords", err)
	if n != 2 {
		e.t.Errorf("DeleteRecords removed %d, want 2", n)
	}
	for _, k := range [][2]string{{"run", "r1"}, {"thread", "t1"}} {
		_, err := rs.Record(e.ctx, k[0], k[1])
		wantErr(e.t, "Record "+k[0]+"/"+k[1]+" after DeleteRecords", err, checkpoint.ErrNotFound)
	}
	if _, err := rs.Record(e.ctx, "run", "r2"); err != nil {
		e.t.Errorf("another thread's record: %v", err)
	}
	if n, err := rs.DeleteRecords(e.ctx, "t1"); err != nil || n != 0 {
		e.t.Errorf("DeleteRecords again = %d, %v; want 0, nil", n, err)
	}
}

// testRecordsInvalid: a record without a kind or an ID, or whose data is
// not JSON, is refused and writes nothing.
func testRecordsInvalid(e *env) {
	rs := e.records()
	for _, r := range []*checkpoint.Record{
		{ID: "r"}, {Kind: "run"}, {Kind: "run", ID: "r", Data: json.RawMessage(`{not json`)},
	} {
		if err := rs.PutRecord(e.ctx, r); err == nil {
			e.t.Errorf("PutRecord(%+v) succeeded", r)
		}
	}
	if _, err := rs.Record(e.ctx, "run", "r"); !errors.Is(err, checkpoint.ErrNotFound) {
		e.t.Errorf("Record after refused puts: %v, want ErrNotFound", err)
	}
}
