// Package storetest is the conformance suite of checkpoint.Store: every
// backend runs the same tests, so a workflow behaves the same whichever store
// keeps it.
//
// A backend's test calls [Run] with a function that returns a new, empty
// store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) checkpoint.Store {
//			return memstore.New()
//		})
//	}
//
// A SQL store gives each call its own database (or schema) and closes it with
// t.Cleanup. Subtests call t.Parallel, so newStore may be called from many
// goroutines at once.
//
// # What the suite checks
//
// Every promise written in the documentation of [checkpoint.Store] and of the
// types it takes and returns: thread rows and their pages, the
// compare-and-set of Commit and PutWrites (and that a refused commit changes
// nothing), checkpoints with every blob their state needs (Append chains
// included), history, pending writes, the interrupt inbox with its filters
// and cursor pages, all-or-nothing answers, reassignment, the step log,
// deletion, pruning, copies, canceled contexts, and races between goroutines
// that commit or answer at once. The LongChains group grows a list for
// hundreds of supersteps, with forks from inside the chain, full values
// written mid-chain and appends far back, and checks every checkpoint,
// VerifyBlobs, Prune, copies and deletion after each stretch: what a store
// that folds long chains into packs (the SQL stores) must keep the same.
// A store that is a [checkpoint.PendingCounter] has its counts checked. Choices the contract leaves to each store
// (the format of cursors, what a store fills in for a caller that left a field
// empty) are not tested.
//
// Times go through the store at microsecond precision, the least a store must
// keep; their location does not matter.
//
// # The outbox
//
// A store that implements [checkpoint.Outbox] runs [RunOutbox] as well,
// with a function that returns a store with its outbox on or off:
//
//	func TestOutboxConformance(t *testing.T) {
//		storetest.RunOutbox(t, func(t *testing.T, outbox bool) checkpoint.Store {
//			return open(t, Options{Outbox: outbox})
//		})
//	}
//
// It checks that events are written with the commit, answer or
// reassignment they report and not with one refused, that a store with the
// outbox off writes none, the dedup keys, claims (concurrent claimers never
// get one event, a lapsed claim is claimed again), retries, giving up,
// delivery (never claimed again) and pruning.
//
// # Benchmarks
//
// [Bench] runs the same workloads on every store, so their figures compare:
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Bench(b, func(b *testing.B) checkpoint.Store { return memstore.New() })
//	}
package storetest
