package storetest

import (
	"encoding/json"
	"maps"

	"github.com/weftgraph/weft/checkpoint"
)

// testCountPending: a store that is a checkpoint.PendingCounter counts the
// pending questions of each workflow, and an answered one no longer.
func testCountPending(e *env) {
	pc, ok := e.s.(checkpoint.PendingCounter)
	if !ok {
		e.t.Skip("not a checkpoint.PendingCounter")
	}
	count := func() map[string]int64 {
		e.t.Helper()
		got, err := pc.CountPending(e.ctx)
		noErr(e.t, "CountPending", err)
		return got
	}
	if got := count(); len(got) != 0 {
		e.t.Errorf("CountPending of an empty store = %v, want none", got)
	}
	for i, workflow := range []string{"a", "a", "b"} {
		id := string(rune('x' + i))
		f := e.thread(id, workflow)
		q1, q2 := question(id, "q1", "", 1), question(id, "q2", "", 2)
		q1.Workflow, q2.Workflow = workflow, workflow
		f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{q1, q2}})
	}
	if got, want := count(), map[string]int64{"a": 4, "b": 2}; !maps.Equal(got, want) {
		e.t.Errorf("CountPending = %v, want %v", got, want)
	}
	noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: "z", InterruptID: "q1", Value: json.RawMessage(`true`),
		Author: "ann", Channel: checkpoint.ChannelUI, At: at(3)}}))
	if got, want := count(), map[string]int64{"a": 4, "b": 1}; !maps.Equal(got, want) {
		e.t.Errorf("CountPending after an answer = %v, want %v", got, want)
	}
}
