// Package langgraph serves weft workflows through the LangGraph Platform
// API, so that clients written for LangGraph Platform — the JS SDK
// @langchain/langgraph-sdk (tested with 2.0.0), its React useStream, the
// Agent Inbox (see package agentinbox) — drive weft unchanged: a weft
// workflow is an assistant, a weft thread a thread, and a question a
// node asks (weft.Interrupt) an interrupt, answered with Command(resume).
//
// New returns an http.Handler over a set of weft.Runners and the
// checkpoint.Store they keep their threads in:
//
//	store, _ := sqlitestore.Open(ctx, "weft.db", sqlitestore.Options{Migrate: true})
//	review, _ := reviewGraph.Compile(weft.WithStore(store))
//	tokens, _ := server.LoadTokens("tokens.json")
//	lg := langgraph.New([]weft.Runner{langgraph.Runner(review)}, store, langgraph.WithTokens(tokens))
//
// The handler serves the Platform's paths from its root. Mount it under a
// prefix next to weft's own API with http.StripPrefix:
//
//	mux := http.NewServeMux()
//	mux.Handle("/", weftServer)
//	mux.Handle("/lg/", http.StripPrefix("/lg", lg))
//
// and point the SDK at it: new Client({apiUrl: "https://host/lg", apiKey:
// TOKEN}). The weft command does this: weft serve --langgraph /lg serves
// the API under /lg, with the tokens of --tokens, over the workflows serve
// runs (--demo's).
//
// Wrap each workflow with Runner (langgraph.Runner(wf), not wf.Runner())
// to have everything. A plain wf.Runner() is a weft.StateEditor, so it
// serves state updates, time travel, copies and rollbacks, but it cannot
// build the function of the state type that a run's Command(update=...)
// needs: that is refused with 422 for it. A runner that is not a
// weft.StateEditor (one of your own) is refused every edit with 422. Edits
// through the API are recorded with the caller as their author
// (weft.By(principal, "api"): Snapshot.Author, the review page's audit
// trail).
//
// # Authentication
//
// WithTokens authenticates with weft's tokens (server.LoadTokens): the
// X-Api-Key header, which the SDKs send for apiKey, or Authorization:
// Bearer. The principal's roles grant what they grant in weft's own API:
// viewer reads (assistants, threads, states, history, runs, streams);
// reviewer also answers — a run whose only content is command.resume — the
// questions assigned to nobody, to its name or to one of its roles (403 for
// others); operator and admin do everything else (create, update, copy and
// delete threads; runs with input, update or goto; cancel and delete runs),
// and an admin answers any question. Answers are recorded with the
// principal's name as their author and the channel "api", so the inbox,
// its audit trail, deadlines (weft.Within, weft.Escalate) and assignees
// work for questions answered here as for any other: the answer goes
// through weft's Resume, validated against the question's schema.
// WithAuth takes a function instead, whose callers may do everything.
// Without either there is no authentication at all: put the handler behind
// something that authenticates. GET /ok is always public.
//
// # Assistants
//
// Each workflow is one assistant, whose assistant_id, graph_id and name are
// the workflow's name (the Platform gives system assistants UUIDs; weft's
// are their names, which the Platform accepts as assistant ids too), with
// one version that cannot be changed or deleted (409). More assistants
// are made with POST /assistants {graph_id (a workflow), assistant_id
// (a UUID by default), name ("Untitled"), description, config, context,
// metadata, if_exists raise (409) or do_nothing}: version 1 of an
// assistant of that workflow. PATCH /assistants/{id} makes a new version
// of the newest one with the fields given (metadata merged, config and
// context replaced), which becomes the current one; POST
// /assistants/{id}/versions {metadata, limit, offset} lists the versions,
// newest first; POST /assistants/{id}/latest {version} makes a version
// the current one; DELETE /assistants/{id} deletes it and its versions
// (answering {}; delete_threads is refused, 422). They are records of the
// store (kinds langgraph.assistant and langgraph.assistant_version: a
// restarted process has them), in memory for a store without records.
// A run with such an assistant_id runs its workflow and names the
// assistant as its assistant_id; config and context are kept and shown,
// not given to the workflow (a weft node has no run configuration).
// Changes are ordered within a process, not across processes (two
// processes updating one assistant at once may make the same version).
//
// POST /assistants/search (graph_id, name (a part of it), metadata (every
// key equal), sort_by (assistant_id, created_at, updated_at, name,
// graph_id) and sort_order (desc by default), limit, offset; without
// sort_by the workflows' assistants first, then the others, oldest first),
// POST /assistants/count, GET /assistants/{id}, its graph (GET
// /assistants/{id}/graph, drawn from Runner.Shape) and schemas (GET
// /assistants/{id}/schemas: the state's JSON schema) serve both kinds.
//
// # Threads
//
// A thread is a weft thread. The Platform lets a thread exist before any
// run and keeps metadata with it, which weft threads do not: the handler
// keeps a thread created with POST /threads (thread_id, metadata, if_exists
// raise (409) or do_nothing), and its metadata (also that of PATCH and
// copies), as a record of the store when the store implements
// checkpoint.Records (memstore, sqlitestore and pgstore do: see Durable
// records), in memory otherwise; a thread found in the store without a
// record is served with metadata graph_id and assistant_id alone. Thread
// statuses map from
// weft's: running and ready are busy (and so is a thread with a run of this
// handler pending or running), interrupted is interrupted, failed is error,
// the others (completed, stopped, cancelled) idle. A thread has its values
// and its pending interrupts, an object keyed by task id of [{id, value}]
// ({} when none).
//
//   - POST /threads/search and POST /threads/count filter by status,
//     metadata and values (every key equal) and ids; search sorts by
//     sort_by (thread_id, status, created_at, updated_at) and sort_order
//     (newest first by default) and pages with limit (10) and offset. Each
//     search reads every thread of the handler's workflows: fine for
//     thousands, not for millions (weft's inbox lists questions at scale).
//   - GET /threads/{id}; PATCH /threads/{id} merges metadata.
//   - DELETE /threads/{id} deletes the thread and all it stored (weft's
//     Delete) and its records (its runs, their events, its stream): 409
//     while a run is under way.
//   - POST /threads/{id}/copy makes a new thread with the source's
//     metadata and checkpoints, as the Platform copies a thread: every
//     checkpoint (of every namespace), with the same checkpoint ids,
//     values, next nodes and times, so that its history is the source's;
//     its step log, the pending writes of its head, and its questions in
//     their statuses, each with an id of its own (a question id belongs to
//     one thread), so an interrupted source gives an interrupted copy
//     whose questions are answered on the copy alone. It works with any
//     runner; a source with a run under way (here or in another process)
//     is refused (409). A source whose history was pruned (checkpoint
//     Prune) cannot be copied checkpoint by checkpoint: its copy is made
//     of its current values, that run the same nodes next (UpdateState as
//     the node before them), its history
//     starts at the copy, and the questions the source waits for are asked
//     again when the copy runs.
//
// State and history show a checkpoint's values, next nodes, interrupts
// (the pending ones, [{id, value}]) and tasks: one per node of next, each
// with the questions asked at that checkpoint as interrupts (still shown
// after they are answered, as in LangGraph's history). Interrupt ids are
// weft question IDs (32 hex digits); task ids are UUIDs derived from the
// thread, checkpoint and task; checkpoint ids are weft's.
//
//   - GET /threads/{id}/state; the state at a checkpoint: GET
//     /threads/{id}/state/{checkpoint_id} and POST
//     /threads/{id}/state/checkpoint {checkpoint: {checkpoint_id}}.
//   - GET|POST /threads/{id}/history: newest first, limit (10), before.
//   - POST /threads/{id}/state {values, as_node, checkpoint or
//     checkpoint_id} updates the state: values (top-level fields, each
//     replaced) at the head is weft.Workflow.UpdateState (as_node:
//     weft.AsNode, the nodes after it run next; without it the same nodes
//     run again and the questions they asked are asked again); at a past
//     checkpoint it is Fork (time travel). The thread is then idle: a run
//     without input carries it on. It returns {checkpoint}. as_node
//     "__end__" (how the Agent Inbox ignores a thread) ends the thread
//     instead, with any runner: weft's Cancel withdraws its questions, with
//     the caller as the author. Fields the
//     state lacks or of the wrong type, an unknown as_node, a busy thread
//     are refused (422, 409) and change nothing.
//
// # Runs
//
// A run with input starts the thread (or a new turn of a completed one: the
// input's fields are merged into the state). New input to a thread that
// waits cancels its questions and starts over, as the Platform does; no
// input (null) carries a stopped, failed or breakpointed thread on. A run
// with a command resumes: resume with one value is weft.Reply (the single
// pending question), resume with an object whose keys are interrupt ids
// is one weft.Answer per key (an unknown id is 422, an answered one 409),
// goto (a node or a list of them) is weft.GoTo, and update (an object of
// state fields) is weft.Update. interrupt_before and interrupt_after ("*"
// or nodes) are breakpoints for the run. checkpoint {checkpoint_id} or
// checkpoint_id runs from a past checkpoint (time travel: the thread is
// rewound to it with weft's Fork first; naming the head, as useStream does,
// works with any runner). if_not_exists create makes a
// missing thread (reject, the default, is 404).
//
// Every run runs in the background under a context of its own (derived
// from WithBaseContext's, not from its request's), its record kept by the
// handler: pending (waiting for runs ahead of it), running,
// then success (a run that completed or paused the thread, as the Platform
// reports a paused run), error, or interrupted when cancelled.
//
//   - POST /threads/{id}/runs starts a run and returns it; GET
//     /threads/{id}/runs lists a thread's runs (newest first, status,
//     limit, offset), GET .../runs/{run_id} reports one, DELETE forgets one
//     that ended.
//   - POST /threads/{id}/runs/wait and GET .../runs/{run_id}/join return
//     the thread's values when the run ends, with "__interrupt__" listing
//     the pending questions [{id, value}] when it paused (empty at a
//     breakpoint); POST /runs/wait, /runs/stream and /runs run on a new
//     thread that is deleted afterwards unless on_completion is "keep".
//   - POST .../runs/{run_id}/cancel?action=interrupt stops the run at its
//     last checkpoint (the thread stays, idle); action=rollback also undoes
//     it — the thread goes back to the checkpoint the run started from
//     (weft's Fork: the run's checkpoints stay in the history, behind the
//     new head), or is emptied if the run started it — and deletes the
//     run's record. wait=1 waits for the run to end (rollback always does).
//     POST /runs/cancel {thread_id, run_ids} or {status: pending, running
//     or all} cancels several runs so, all checked first.
//   - multitask_strategy says what a run does on a thread with runs under
//     way here: reject (409, the thread untouched), interrupt (they are
//     cancelled as above, then it runs), rollback (they are rolled back,
//     then it runs) or enqueue, the default as in the Platform's OpenAPI
//     (it waits, pending, until they end). A thread running in another
//     process is refused by weft (409), which also takes over one whose
//     owner died.
//   - on_disconnect (cancel by default, or continue) says whether a
//     runs/wait or runs/stream whose client goes away cancels the run.
//
// # Streams
//
// POST /threads/{id}/runs/stream starts a run and streams it as
// Server-Sent Events: metadata {run_id, attempt} first, then values (the
// state after the input and after each superstep; the last one has
// __interrupt__ at a pause), updates ({node: the fields it changed}, {} for
// a node that changed none, and {"__interrupt__": [...]} at a pause) and
// custom (what nodes weft.Emit), as stream_mode asks (values by default),
// and the Platform's other modes but one:
//
//   - checkpoints: each checkpoint written, {config, parent_config, values,
//     metadata, next, tasks} (config is {configurable: {thread_id,
//     checkpoint_ns, checkpoint_id}}; the rest as in history).
//   - tasks: each node's start {id, name, input (the state it starts
//     from), triggers, interrupts: []} and end {id, name, interrupts,
//     result: [[field, value], ...] (the fields it changed) or error}; a
//     node that pauses ends with its interrupts [{id, value}] and an empty
//     result. Task ids are those of the state's tasks.
//   - debug: both, as {type: checkpoint, task or task_result, timestamp,
//     step, payload}.
//   - events: each node's on_chain_start {data: {input}} and on_chain_end
//     {data: {output}: the fields it changed}, with name, run_id (its task
//     id), tags and metadata (langgraph_node, langgraph_step, ...), as
//     LangChain's astream_events reports a node; nothing finer (weft makes
//     no LLM calls of its own), so the Agent Inbox, which asks for events,
//     works.
//   - messages-tuple (which useStream asks for): messages events [message,
//     metadata {langgraph_node, langgraph_step, ...}], one per element a
//     node adds to the state's "messages" field (a JSON list; the elements
//     past those it had, or all if the node rewrote the list); nothing for
//     a state without one.
//   - messages (LLM tokens as messages/partial and messages/complete,
//     deprecated by the Platform for messages-tuple) is refused with 422
//     naming it, as is any unknown mode: weft streams no tokens.
//
// The events of checkpoints, tasks, debug, events and messages-tuple are
// made only for a run that asks for them at its creation (a later join
// asking for them gets none). A failure is an error event {error,
// message}; a comment line every 15 s keeps a quiet stream open; the
// stream closes when the run ends. Events carry ids counting from 0.
//
// A run's events are kept with its record (in memory its newest 10000
// events, while it runs and for the newest 256 runs that ended; all of
// them in the store when it keeps records, see Durable records), so a run
// can be followed late or again: GET /threads/{id}/runs/{run_id}/stream
// streams them from the one after the Last-Event-ID header (from the first
// without it, or with -1), stream_mode (a subset) as a query parameter,
// cancel_on_disconnect=1 to cancel the run if the client goes away.
// Without records the stream of an older run has no events. With
// stream_resumable, runs/stream also answers with a Location header naming
// that route, where the SDK reconnects by itself after a dropped
// connection.
//
// GET /threads/{id}/stream joins the thread's stream: the events of every
// run of the thread in this handler, one run after the other (each from
// its metadata event, in the modes it was made with), with ids of the
// thread's stream counting from 0; it stays open (heartbeats) until the
// client goes away or the thread is deleted. Without Last-Event-ID it
// starts with the next event; with "-" (or -1) from the first it keeps;
// with an id, after it. Its stream mode (stream_mode, or stream_modes as
// the OpenAPI names it) is run_modes, the default; lifecycle and
// state_update are refused (422). A thread's stream is kept in memory
// (its newest 10000 events, for the 256 threads whose last run began
// most recently; a thread with a run under way keeps its stream), and, when
// the store keeps records, in the store too: a restarted process goes on
// with its ids and serves the earlier events from the store.
//
// # Store
//
// The Platform's store API keeps JSON objects by namespace (a list of
// labels, without periods) and key, as records of the store (kind
// langgraph.store_item; in memory for a store without records):
//
//   - PUT /store/items {namespace, key, value (an object)} writes an item
//     (replacing one, which keeps its created_at); index and ttl are
//     ignored. 204.
//   - GET /store/items?namespace=a.b&key=k is the item {namespace, key,
//     value, created_at, updated_at}, or null.
//   - DELETE /store/items {namespace, key}: 204, there or not.
//   - POST /store/items/search {namespace_prefix ("*" matches any label),
//     filter (every field of the value equal), limit (10), offset}:
//     {items}, the newest update first. query (semantic search) is
//     refused (422).
//   - POST /store/namespaces {prefix, suffix, max_depth, limit (100),
//     offset}: {namespaces}, each once, in order.
//
// Viewers read, operators and admins write. A search reads every item:
// fine for thousands, not for millions.
//
// # Durable records
//
// When the store implements checkpoint.Records (memstore, sqlitestore and
// pgstore do; migration 6 of the SQL stores), the handler writes
// each run's record there as it goes (pending, running, then how it
// ended) and the metadata of the threads it creates, patches and copies,
// so that a restarted process, or another one on the same database,
// answers GET /threads/{id}/runs/{run_id}, the runs list and join, thread
// get and search (metadata included) for them, and the streams: the
// events of each run (records of kind langgraph.run_events) and of each
// thread's stream (langgraph.thread_events), so that a restarted process,
// or another one, replays a run's stream, and resumes it after
// Last-Event-ID with the same ids (each event once, none missing), and a
// thread's stream goes on with the ids after the stored ones. A stream of
// a run that another process runs follows it as its process writes its
// events (read every 250 ms) until the end record (<run id>/end) its
// process writes after the last of them; a run without one (its process
// died) ends once its record or its thread says it ended and no event
// came for 2 s; a thread's
// stream shows the runs of another process when a run of the thread
// begins here (its readers then read them from the store).
//
// Events are not written one by one: a log writes, at most every 100 ms,
// the events added since its last write in one record (up to 1000
// events or about 1 MiB each, named <run or thread id>/<id of its last
// event, 12 digits>, so that ID order is event order), and everything left
// when the run ends, then the end record, before its record says it
// ended (a reader that sees it ended reads all its events).
// BenchmarkStreamManyEvents streams runs
// of 2000 custom events: on a SQLite file each writes 9 records (5 of the
// run's events, 4 of the thread's stream), where one record per event
// would be 4000 transactions, about a hundred times slower. Not stored: a
// run's values (its join answers with the thread's values, as the
// Platform's does). A run whose process stopped before it ended (its
// record still says pending or running) is read with the status its
// thread tells, written back to its record: still running while the
// thread runs (in another process, or taken over by a worker), interrupted
// if the thread waits for an answer, success if it completed after the
// run began, error otherwise. The
// records and events of stateless runs (POST /runs/...) are kept in
// memory only, as their thread is deleted after them. DELETE of a run or a
// thread deletes their records and events; a thread deleted by other means (weft's own API) leaves
// them (checkpoint.Records.DeleteRecords removes them). A store without
// Records keeps all this in memory, for the life of the handler (the
// newest 10000 run records; older records of runs that ended are
// dropped).
//
// # Routes
//
//	GET  /ok (?check_db=1), GET /info
//	POST /assistants, POST /assistants/search, POST /assistants/count
//	GET|PATCH|DELETE /assistants/{id}, GET /assistants/{id}/graph, GET /assistants/{id}/schemas
//	POST /assistants/{id}/versions, POST /assistants/{id}/latest
//	POST /threads, POST /threads/search, POST /threads/count
//	GET|PATCH|DELETE /threads/{id}, POST /threads/{id}/copy
//	GET|POST /threads/{id}/state, GET /threads/{id}/state/{checkpoint_id}, POST /threads/{id}/state/checkpoint
//	GET|POST /threads/{id}/history, GET /threads/{id}/stream
//	POST /threads/{id}/runs, GET /threads/{id}/runs, POST /threads/{id}/runs/wait, POST /threads/{id}/runs/stream
//	GET|DELETE /threads/{id}/runs/{run_id}, GET /threads/{id}/runs/{run_id}/join, GET /threads/{id}/runs/{run_id}/stream
//	POST /threads/{id}/runs/{run_id}/cancel (?action=interrupt|rollback, ?wait=1)
//	POST /runs, POST /runs/wait, POST /runs/stream, POST /runs/cancel (?action=interrupt|rollback)
//	PUT|GET|DELETE /store/items, POST /store/items/search, POST /store/namespaces
//
// Errors use the Platform's status codes with a body {"detail": "..."}: 404
// for an unknown route, assistant, thread, checkpoint or run, 405 for a
// method a route does not take, 409 for a
// thread that is busy (multitask_strategy reject), exists already, belongs
// to another graph, or a question answered already, 422 for a request weft
// refuses (a malformed body, input or values that do not fit the state, an
// invalid, ambiguous or unknown answer, an unsupported option), 401 for a
// missing or wrong token, 403 for what the caller's roles do not grant. A
// refused request changes nothing.
//
// # Not supported
//
// Crons: their routes (POST /runs/crons, /runs/crons/search,
// /runs/crons/count, /threads/{id}/runs/crons, PATCH and DELETE
// /runs/crons/{id}) answer 404 with a detail saying that crons are not
// supported (a status the SDK does not retry); schedule runs from a
// scheduler of your own. Also not supported: assistants' config and
// context in runs (kept, not applied: see Assistants), subgraphs of
// assistants, the store's semantic search, TTLs and indexes, thread TTLs (ignored)
// and supersteps at creation (422), the thread stream modes lifecycle and
// state_update (422), PATCH of a state's metadata, select in searches,
// the stream mode messages (422; see Streams), subgraph streams and
// subgraph namespaces in states (questions asked inside subgraphs show in
// their parent node's task) and the stream events of subgraph nodes, Send
// in goto, after_seconds, webhooks, feedback keys, /runs/batch, /a2a, /mcp
// and /metrics. With a store that does not implement checkpoint.Records,
// run records and the metadata of threads are kept in memory only (see
// Durable records). The Platform's runs.wait answers with newline
// keep-alives before its body; the handler answers when the run ends.
package langgraph
