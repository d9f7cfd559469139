// Package notifier gathers the notices a store sends to other processes
// after its writes (a thread became ready, a running thread is asked to
// stop, events were recorded in the outbox) and sends them in batches, so that a store under load sends at most
// one notification statement per interval instead of one per write.
//
// It exists because of how PostgreSQL delivers NOTIFY: a transaction that
// notifies takes a lock that every other notifying transaction waits for
// until it has committed, its WAL flush included. With a NOTIFY inside
// every write that makes a thread ready, those writes commit one at a
// time: measured with 32 concurrent writers on one server
// (BenchmarkReadyCommitParallel in checkpoint/pgstore), 178 commits/s
// with the notice inside the transaction against 1,367/s without it.
// Sent afterwards, by one batch per interval, the writes commit in
// parallel again and the notices cost one small transaction per interval.
//
// A notice is a hint: the workers that hear it claim work from the store,
// and poll it as well, so a notice that is lost (the process died between
// its write and the batch, the connection broke) costs at most one poll
// interval, and a duplicate costs one extra look. That is what makes
// batching safe. Within one batch, ready notices are gathered per workflow
// (a worker claims by workflow, not by thread), stop notices per thread,
// and event notices into one (a webhook sender claims every due event).
//
// A Batcher needs no goroutine of its own while nothing is pending: the
// first notice after a quiet interval starts one, which sends that notice
// at once, then, every interval, what gathered meanwhile, and ends when
// nothing more came. Flush waits for what is pending to be sent, for a
// process about to exit (a command that answered a question and returns).
package notifier
