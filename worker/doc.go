// Package worker runs weft threads from the store: any number of processes
// that have a workflow share its threads, whoever started them, answered
// them or ran them last.
//
//	store, _ := pgstore.Open(ctx, dsn, pgstore.Options{})
//	review, _ := reviewGraph.Compile(weft.WithStore(store))
//	w, _ := worker.New(store, []weft.Runner{review.Runner()}, worker.Config{})
//	err := w.Run(ctx) // until ctx ends; then it shuts down gracefully
//
// Start the same program on as many machines as you like: they share the
// work through the database, with no coordinator and no other service.
//
// # What runs where
//
// A thread that can move on is ready in the store (checkpoint.StatusReady):
// a run submitted without waiting for it (Workflow.Submit, `weft start`,
// the API's start without wait), a thread whose question was answered by
// anyone (a person in the web inbox, `weft answer`, a deadline's
// fallback), a stopped thread asked to resume. A running thread whose
// owner stopped renewing its claim (the process died) can be taken over.
// A worker claims such threads, as many as it has free slots, and runs
// each until it pauses, completes, stops or fails; a paused thread holds no
// claim and costs nothing while it waits, however long.
//
// # Claims, heartbeats and takeovers
//
// A claim names the worker's process (Thread.Owner) and lasts a lease
// (weft.WithLease, 30s by default) from the last renewal. Every process
// renews the claims of all the threads it runs with one heartbeat
// (weft.WithHeartbeat, every 5s by default), however long their nodes run;
// a commit renews it too. When a process dies, its threads' leases lapse
// and the next worker to look claims them: they continue within the lease
// plus one poll of the process's death. A takeover runs again only the
// superstep that was under way: the outputs of its nodes that had
// finished and the results of its effects (weft.Do) are in the store and
// are not produced again.
//
// The lease trades how soon a dead process's threads continue against how
// long a live one may go without reaching the store (a long garbage
// collection, a database failover) before its threads are taken from it;
// keep it several heartbeats long.
//
// # Fencing
//
// Every claim bumps the thread's version and its epoch (Thread.Epoch), and
// every write of a run is checked against its claim: commits by version,
// journaled effects and saved outputs by owner and epoch. A process that
// froze (SIGSTOP, a pause of its VM) and wakes after another took its
// thread over writes nothing more: its commit fails, its next effect is
// refused before it runs (a Do checks a claim no heartbeat confirmed
// lately), and its run ends with weft.ErrClaimLost, logged as "fenced out".
// The effect it was in the middle of when it froze may complete; pass
// weft.EffectID to the system it changes, as an idempotency key.
//
// # Wake-ups
//
// On PostgreSQL (pgstore), writes that make a thread ready notify the
// workers (LISTEN/NOTIFY, sent just after the write commits, batched to at
// most one statement per 10 ms per process, so that notices do not
// serialise the writers' commits), and an answer given in one process
// starts the next node in another within milliseconds. Notices are hints:
// workers also poll (Config.Poll, every second by default), so a lost
// notice costs at most a poll.
//
// Waiting costs nothing: an idle worker sends two or three statements a
// second (the poll for ready threads, which reads only ready and running
// threads through a partial index, and the deadline pass of the
// maintenance leader, which counts and reads only due questions) however
// many threads are paused. Measured with BenchmarkIdle: 1 to 1.5 ms of CPU a second, and on
// PostgreSQL under one row read a second, alike for 1,000 and 100,000
// paused threads. Behind a
// connection pooler that breaks LISTEN, set Config.NoListen (pgstore's
// Options.NoNotify for the writers). SQLite (several processes on one
// host, one file) and memstore (one process) are polled.
//
// # Stopping
//
// A stop requested anywhere (Workflow.Stop, `weft stop`, the API) is kept
// in the store. The process that runs the thread hears of it from a notice
// at once on PostgreSQL, or at its next heartbeat otherwise, cancels the
// node's context, and the thread stops at its last checkpoint. Stopping a
// paused thread needs no running process: it is cancelled in the store.
//
// # Maintenance
//
// One worker at a time, elected with a lease in the store, fires due
// deadlines (Config.Deadlines, every second by default: fallbacks answer
// and escalations reassign, each exactly once however many workers run)
// and prunes history (Config.Retention). When it dies another takes over
// after Config.LeaderTTL.
//
// # Metrics
//
// Config.Monitor (a weft.Monitor, such as the Telemetry of package
// github.com/weftgraph/weft/otel) is told of every claim, marked as a
// takeover when the thread's owner had let its lease lapse, of every run
// fenced out because another process took its thread over, of every
// deadline the worker's maintenance fires and of the answers it records.
// Config.Logger logs the same.
//
// # Limits and shutdown
//
// Config.Slots caps the threads a worker runs at once, and
// Config.WorkflowSlots the share of each workflow; work beyond them waits
// in the store, not in memory. When Run's context ends, the worker claims
// nothing more and waits up to Config.ShutdownTimeout for its threads to
// finish or pause; those still running are then handed back
// (weft.ErrHandedBack): they stop at their last checkpoint, ready, and
// another worker carries them on.
//
// # Failures, one by one
//
//   - A worker dies (SIGKILL, OOM, power): its threads continue elsewhere
//     after the lease; effects journaled before are not repeated.
//   - A worker freezes and wakes: fenced, as above.
//   - The database is unreachable: runs fail their next commit; their
//     claims lapse; they continue when it is back.
//   - A node fails: the thread fails (after its retry policy, if any); a
//     Resume runs the superstep again.
//   - A deploy removes a node a thread waits in: that thread fails with
//     weft.ErrGraphChanged, the others run.
package worker
