package weft

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// TestHeadCache checks the cache of decoded heads: entries are copies, a
// key names one incarnation of a thread, and when full the entry used least
// recently goes.
func TestHeadCache(t *testing.T) {
	type st struct {
		Items []string
		Note  string `weft:"-"`
	}
	c := newHeadCache[st](newStateInfo(reflect.TypeFor[st]()))
	born := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	k := headKey("t", born, "000000000001")

	in := st{Items: []string{"a"}, Note: "not stored"}
	c.put(k, &snap[st]{cp: checkpoint.Checkpoint{ID: "000000000001", Blobs: []checkpoint.Blob{{Field: "Items"}}}, state: in})
	in.Items[0] = "changed after put"
	got, ok := c.get(k, nil)
	if !ok {
		t.Fatal("get after put: missing")
	}
	if got.state.Items[0] != "a" || got.state.Note != "" || got.cp.Blobs != nil {
		t.Errorf("get = %+v (blobs %v), want a stored copy: Items [a], no Note, no blobs", got.state, got.cp.Blobs)
	}
	got.state.Items[0] = "changed after get"
	if again, _ := c.get(k, nil); again.state.Items[0] != "a" {
		t.Errorf("a change to a got state reached the cache: %q", again.state.Items[0])
	}
	if _, ok := c.get(headKey("t", born.Add(time.Microsecond), "000000000001"), nil); ok {
		t.Error("another incarnation of the thread found the entry")
	}

	// Fill the cache past its size while using k: k stays, the oldest
	// others go.
	for i := range headCacheSize + 10 {
		c.put(headKey(fmt.Sprint("o", i), born, "000000000001"), &snap[st]{})
		if _, ok := c.get(k, nil); !ok {
			t.Fatalf("after %d puts, the entry used all along was evicted", i+1)
		}
	}
	if n := len(c.items); n != headCacheSize {
		t.Errorf("%d entries, want %d", n, headCacheSize)
	}
	for i := range 11 {
		if _, ok := c.get(headKey(fmt.Sprint("o", i), born, "000000000001"), nil); ok {
			t.Errorf("o%d, among the oldest, is still cached", i)
		}
	}
	if _, ok := c.get(headKey(fmt.Sprint("o", headCacheSize+9), born, "000000000001"), nil); !ok {
		t.Error("the newest entry is missing")
	}
}
