package storetest

import (
	"testing"

	"github.com/weftgraph/weft/checkpoint"
)

// Run runs the conformance suite against the stores newStore returns.
//
// newStore must return a new, empty store each time it is called: every
// subtest gets its own and runs in parallel with the others (t.Parallel), so
// newStore may be called from several goroutines at once. It should release
// what the store holds with t.Cleanup. Subtests are named after the method
// and the promise they check ("Commit/ConflictOnStaleVersion"), so one can be
// run alone with go test -run.
func Run(t *testing.T, newStore func(t *testing.T) checkpoint.Store) {
	t.Helper()
	for _, g := range suite() {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.tests {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(newEnv(t, newStore))
				})
			}
		})
	}
}

// group is the tests of one method or topic.
type group struct {
	name  string
	tests []test
}

// test is one subtest; it gets an env with a new, empty store.
type test struct {
	name string
	run  func(e *env)
}

// suite lists the tests in the order they run.
func suite() []group {
	return []group{
		{"Thread", threadTests},
		{"Threads", threadsTests},
		{"Commit", commitTests},
		{"PutWrites", putWritesTests},
		{"Checkpoint", checkpointTests},
		{"History", historyTests},
		{"PendingWrites", pendingWritesTests},
		{"Interrupts", interruptsTests},
		{"Answer", answerTests},
		{"AnswerState", answerStateTests},
		{"CommitClaims", commitClaimTests},
		{"Claim", claimTests},
		{"ClaimReady", claimReadyTests},
		{"Heartbeat", heartbeatTests},
		{"RequestStop", requestStopTests},
		{"Lease", leaseTests},
		{"Reassign", reassignTests},
		{"Steps", stepsTests},
		{"DeleteThread", deleteTests},
		{"Prune", pruneTests},
		{"Copies", copiesTests},
		{"LongChains", longChainsTests},
		{"Records", recordsTests},
		{"Context", contextTests},
		{"Concurrency", concurrencyTests},
	}
}

// newEnv returns an env for t over a new store.
func newEnv(t *testing.T, newStore func(t *testing.T) checkpoint.Store) *env {
	t.Helper()
	s := newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	return &env{t: t, s: s, ctx: t.Context(), newStore: newStore}
}

// run runs f as a subtest of e's test on the same store (not in parallel:
// the rows of a table share what the test committed).
func (e *env) run(name string, f func(e *env)) {
	e.t.Helper()
	e.t.Run(name, func(t *testing.T) {
		f(&env{t: t, s: e.s, ctx: t.Context(), newStore: e.newStore})
	})
}

// fresh runs f as a parallel subtest of e's test on a new store.
func (e *env) fresh(name string, f func(e *env)) {
	e.t.Helper()
	e.t.Run(name, func(t *testing.T) {
		t.Parallel()
		f(newEnv(t, e.newStore))
	})
}
