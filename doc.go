// Package weft runs durable, graph-shaped workflows that stop for a human and
// carry on when the human answers.
//
// A Graph is nodes and edges over one typed state S. Compiled, it is a
// Workflow that drives threads: durable instances named by the caller
// ("review-42"). A run advances a thread in supersteps until the graph ends,
// a node asks a question, a breakpoint is reached, the run is stopped, or a
// node fails. Every superstep is saved as a checkpoint in the workflow's
// Store, so a paused thread survives restarts and resumes on whichever
// process loads it.
//
// # Graphs
//
//	g := weft.NewGraph[Review]("review")
//	g.AddNode("write", write)   // func(ctx context.Context, s Review) (Review, error)
//	g.AddNode("review", review)
//	g.AddEdge(weft.Start, "write")
//	g.AddEdge("write", "review")
//	g.AddConditionalEdges("review", route, "write", weft.End)
//	wf, err := g.Compile(weft.WithStore(store))
//
// Compile reports every problem of the graph at once (unknown nodes, names
// used twice, undeclared router targets, unreachable nodes) in one
// *CompileError. Cycles are allowed; a run that takes more than its step
// limit (StepLimit, 100 by default) fails with ErrStepLimit.
//
// # Execution
//
// Runs follow the bulk-synchronous model of Pregel (and LangGraph): each
// superstep runs every triggered node (several in parallel, one goroutine
// each), merges their results field by field, writes one checkpoint and picks
// the next nodes from edges and routers. Routers see the merged state.
//
// A node receives the state and returns the new one. The state it receives
// is its own copy, maps, slices and pointers included, so it may change it
// in place (s.Meta["k"] = v, s.Items[0] = x): what it returns is compared
// with what it was given, and every change is saved. Parallel nodes each
// get their own copy. (Copies are cheap for strings and scalars, which are
// shared; a type with its own JSON encoding and hidden memory, such as
// big.Int, is copied through a JSON round trip.) When parallel nodes change
// the same field, the graph needs a reducer for
// it (Graph.Reduce with Append, LastWrite or Merge); without one the
// superstep fails with a *MergeError naming the field and the nodes. A node
// that panics fails with a *NodeError naming it; the process survives.
//
// A node's context is the node's while it runs. A goroutine the node leaves
// running may keep it (to stop with its cancellation), but weft calls on it
// once the node has returned (Interrupt, Emit, Do, Return) are refused with
// ErrOutsideNode; they never reach the run, whose memory the workflow reuses
// for its next runs.
//
// # Questions
//
// Interrupt asks a human from inside a node:
//
//	d, err := weft.Interrupt[Decision](ctx, map[string]any{"draft": s.Draft},
//		weft.Assign("editors"), weft.Within(24*time.Hour, Decision{Action: "approve"}))
//	if err != nil {
//		return s, err // the pause travels as an error; return it unchanged
//	}
//
// The run returns a Result with Status StatusInterrupted and the pending
// questions: each with an ID, the node path, the payload, the JSON schema
// of T, and its reason, assignees and deadline. Resume with Answer(id,
// value) re-runs the node from its start, and this time Interrupt returns
// the answer. Answers can also name their question by key or node path
// (Answers(map[string]any{"decision": v}); keys asked inside subgraphs are
// qualified by the subgraph's path: "inner.decision"), or, when the thread
// waits for one question only, need not name it (Reply(v)). Answers are
// validated against the schema before anything is recorded
// (ErrInvalidAnswer; a Go value of the very type the question was asked
// with is valid by its type, and is not checked again, unless the type has
// its own marshalling or constrained fields), recorded exactly once
// (ErrAlreadyAnswered for a second answer), and nil is a valid answer.
// Payloads and answers are stored as JSON, written and read as
// encoding/json writes and reads them; a struct of plain fields (strings,
// bools, integers) and a small map of such values take a shortcut that
// gives the same bytes and the same values without encoding/json's
// reflection.
//
// How answers find their calls: a node may call Interrupt several times,
// in a loop, from several goroutines at once; each call has its own
// question. When the node runs again, a call with a Key gets the answer
// recorded for that key, and a call without one the answer of the recorded
// question with the same payload and schema, in whatever order the calls
// come. A run that does not ask what the thread recorded (a key answered
// for another payload, an answered question it does not ask again) fails
// with ErrInterruptMismatch, naming the call that differs: an answer is
// never handed to a question nobody saw. A node that swallows the pause
// error is paused all the same.
//
// When several nodes of one superstep ask questions, an answer to some of
// them runs those nodes again at once (they may ask their next question);
// the others keep waiting, and nodes that finished are not run again (their
// outputs are kept as pending writes). State shows each task of the
// superstep and how far it got (Snapshot.Tasks). Update and GoTo, given to
// Resume with answers, change the state and add nodes to go to in the same
// step (LangGraph's Command(resume=, update=, goto=)).
//
// Static breakpoints, InterruptBefore and InterruptAfter, pause before or
// after nodes, at Compile or for one run; Resume without answers goes past
// them.
//
// # Threads
//
// Run starts a thread (or a new turn of a completed one: see Run); Submit
// records one for a worker to run (package worker); Resume carries on a
// paused, ready, stopped or failed one. State shows the current state, what
// runs next, the pending questions and the superstep's tasks; UpdateState
// edits the state between runs (AsNode makes the edit count as a node's
// output); History lists every checkpoint; Fork rewinds to one of them;
// Steps is the superstep log. Stop cancels a running thread (in any process
// that shares the store); it keeps its last checkpoint and Resume carries
// it on. Cancel withdraws the questions of a waiting thread, with who and
// why, and ends it.
//
// An edit records who made it: By (the option that names who answers a
// Resume) given to UpdateState or Fork, and Note (why), are kept in the
// checkpoint the edit writes, and Snapshot.Author, Channel and Note show
// them in State and History. A cancel is a checkpoint of its own (Source
// "cancel", the state unchanged) with who cancelled the thread and why,
// whether it withdrew questions or not; Resume with By records who resumed
// the thread on the first checkpoint the run writes (MetaResumedBy). Code that holds a workflow only as a Runner
// edits states from JSON through StateEditor, which the Runners of
// Workflow.Runner implement: UpdateStateJSON and ForkJSON take a JSON
// object of top-level fields to set, and refuse one that does not fit the
// state type (an unknown field, a value of the wrong type) with
// ErrInvalidInput, writing nothing.
//
// A thread runs in one place at a time. A run claims the thread in the
// store (with the answers that let it go on, in the same step) and renews
// the claim with a heartbeat while it runs (WithLease, WithHeartbeat);
// Run or Resume of a thread that runs elsewhere returns ErrBusy (answers
// given to it are recorded all the same, and the run that has it carries
// on with them: an *AnsweredError says so). A process that dies leaves its
// threads to be taken over when their leases lapse; one that froze and
// wakes after that writes nothing more (ErrClaimLost). A thread of one
// workflow cannot be driven by another (ErrWrongWorkflow).
//
// # Routing, fan-out and subgraphs
//
// Besides edges and routers, a node can choose where to go with a Command:
//
//	return weft.Goto(ctx, s, "publish") // or weft.Return(ctx, weft.Command[S]{Update: s, Goto: ...})
//
// The destinations must be declared with Destinations when the node is
// added. A goto chosen from a human's answer survives the pause like the
// rest of the node's output.
//
// Map (added with Graph.AddMap) fans out over the items of a list in the
// state, LangGraph's Send: each item runs as its own task ("node#i") in the
// same superstep, and their states are merged with the graph's reducers.
// A branch that asks a question pauses alone: every branch's question has
// its own ID, they can be answered one at a time or together, and branches
// that finished are not run again.
//
// Subgraph (added with Graph.AddSubgraph) makes a compiled workflow a node,
// with functions that map the parent's state in and out. The child's
// checkpoints live in their own namespace of the parent's thread; a
// question inside it surfaces with its path ("outer/inner/review"), and the
// answer resumes the child where it paused. State shows the states of
// subgraphs under way (Snapshot.Subgraphs). Subgraphs nest to any depth.
//
// When several nodes of one superstep ask questions, all are reported
// together; answering some leaves the thread paused on the rest, and nodes
// of that superstep that finished are not run again (their outputs are kept
// as pending writes).
//
// # Drawing
//
// Workflow.Shape returns the compiled graph's nodes (with their kind:
// node, map or subgraph, and a subgraph's own shape) and edges (static, or
// conditional: a router's targets and a node's Destinations); Shape.Mermaid
// draws it as a Mermaid flowchart, marking the nodes a thread runs next,
// waits at or failed in, as LangGraph's draw_mermaid does. The server's
// thread page shows it.
//
// # Side effects and resolvers
//
// A node runs again from its start after a pause, so code before an
// Interrupt runs twice. Do runs a side effect once per node execution and
// journals its result in the store at once: re-runs (after an answer, a
// stop, a failure, a crash, a retry, an edit that keeps what runs next) get
// the journaled result. EffectID gives the effect an idempotency key for
// systems outside the store. Retry gives a node a retry policy (attempts,
// backoff with jitter, which errors); there is none by default.
//
// A Resolver (WithResolver) may answer questions before the thread pauses:
// an auto-approve policy, a test fixture, a model reviewing a draft. Its
// answers are validated and recorded with its name as the author; when all
// resolvers decline, the thread pauses; a resolver's error fails the run.
//
// # Events
//
// Stream runs a thread and yields its events as they happen (an
// iter.Seq2[Event, error]): run started, node started and finished (with
// its update), step committed, questions asked, answers, stopped, completed,
// failed, and custom events a node sends with Emit (a model's tokens). Each
// event carries the thread, the node path and a sequence number. The run
// waits for a slow consumer and no event is dropped; leaving the loop early
// stops the thread. WithObserver receives the same events from any run;
// LogObserver logs them with log/slog.
//
// # Tracing
//
// WithTracer gives a workflow a Tracer, told as each run, node (each
// attempt, each Map branch) and Do effect starts and ends; it returns the
// context the work runs under, so that spans nest and a node's own
// instrumentation joins them. What the Tracer carries at a pause is stored
// with the thread, and the run that resumes it, in any process, gets it:
// a resumed run links to the run that asked. A Monitor is told what the
// machinery around runs does (a worker's claims and takeovers, deadlines
// fired, answers recorded for a worker), for metrics. Package
// github.com/weftgraph/weft/otel implements Tracer, Observer and Monitor
// with OpenTelemetry, in a module of its own.
//
// # Status
//
// A thread is running, ready (it can go on and waits for someone to claim
// it), interrupted (waiting in a node, or at a breakpoint before or after
// one: Question.Kind), stopped, completed, failed or cancelled. A failed
// thread keeps its error (Snapshot.Error) and its last checkpoint; after a
// fix, Resume re-runs the failed superstep.
//
// # Storage
//
// WithStore keeps threads in a checkpoint.Store: memstore (in memory, for
// tests), sqlitestore (one file, the default of the weft command) or pgstore
// (PostgreSQL, for production and many processes). State is split into
// fields, each encoded with the Codec (JSON by default) and stored only when
// it changed; a list that only grew stores its new elements alone.
//
// Without a store, a Workflow keeps its threads in a memstore of its own
// for its own lifetime: encoded as any store keeps them, so that what works
// there works with a store; they are gone when the process exits. Run with
// the empty thread ID keeps nothing at all; with Answers given up front it
// replays to the next unanswered question, each answer used once (the
// stateless pattern).
package weft
