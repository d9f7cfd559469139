// Package langgraph serves weft workflows through the LangGraph Platform
// API, so that clients written for LangGraph Platform, such as the JS SDK
// @langchain/langgraph-sdk and its React useStream, work against weft.
//
// New returns an http.Handler over a set of weft.Runners and the
// checkpoint.Store they keep their threads in:
//
//	store, _ := sqlitestore.Open(ctx, "weft.db", sqlitestore.Options{Migrate: true})
//	review, _ := reviewGraph.Compile(weft.WithStore(store))
//	lg := langgraph.New([]weft.Runner{langgraph.Runner(review)}, store,
//		langgraph.WithAuth(func(r *http.Request) (string, error) {
//			return checkKey(r.Header.Get("X-Api-Key")) // who answers, or an error (401)
//		}))
//
// The handler serves the Platform's paths from its root. Mount it under a
// prefix next to weft's own API with http.StripPrefix:
//
//	mux := http.NewServeMux()
//	mux.Handle("/v1/", weftServer)
//	mux.Handle("/lg/", http.StripPrefix("/lg", lg))
//
// and point the SDK at it: new Client({apiUrl: "https://host/lg"}).
//
// # Assistants and threads
//
// Each workflow is one assistant, whose assistant_id, graph_id and name are
// the workflow's name (the Platform gives system assistants UUIDs; weft's
// are their names, which the Platform accepts as assistant ids too). Its
// graph (GET /assistants/{id}/graph) is drawn from Runner.Shape.
//
// A thread is a weft thread. The Platform lets a thread exist before any
// run and keeps metadata with it, which weft threads do not: the handler
// keeps a thread created with POST /threads, and its metadata, in memory
// until its first run makes it a weft thread (the metadata stays in memory
// only, and is lost with the process; threads found in the store are served
// with metadata graph_id and assistant_id alone). Thread statuses map from
// weft's: running and ready are busy, interrupted is interrupted, failed is
// error, the others (completed, stopped, cancelled) idle.
//
// State and history show a checkpoint's values, next nodes, and tasks: one
// per node of next, each with the questions asked at that checkpoint as
// interrupts [{id, value}] (still shown after they are answered, as in
// LangGraph's history). Interrupt ids are weft question IDs; task ids are
// UUIDs derived from the thread, checkpoint and task. History is newest
// first.
//
// # Runs
//
// A run with input starts the thread (or a new turn of a completed one: the
// input's fields are merged into the state). New input to a thread that
// waits cancels its questions and starts over, as the Platform does; no
// input (null) carries a stopped, failed or breakpointed thread on. A run
// with a command resumes: resume with one value is weft.Reply (the single
// pending question), resume with an object whose keys are all pending
// interrupt ids is one weft.Answer per key, goto (a node or a list of them)
// is weft.GoTo, and update (an object of state fields) is weft.Update, which
// needs the workflow given to New wrapped with Runner (a plain
// weft.Runner cannot build an update of its state type; a command with an
// update is refused with 422 then). Answers are recorded with the author
// the WithAuth function returned and the channel "api".
//
// POST /threads/{id}/runs/wait and POST /runs/wait return the thread's
// values, with "__interrupt__" listing the pending questions [{id, value}]
// when the run paused (empty at a breakpoint). POST /runs/wait runs on a
// new thread that is deleted afterwards unless on_completion is "keep".
// POST /threads/{id}/runs starts a run in the background, under a context
// that is not the request's, and returns the run; GET
// /threads/{id}/runs/{run_id} reports it (pending, running, success, error,
// or interrupted when cancelled; a run that paused the thread is a success,
// as on the Platform), .../join waits for it and .../cancel cancels it (the
// thread stops at its last checkpoint). POST /threads/{id}/runs/stream
// streams a run as Server-Sent Events: metadata {run_id, attempt}, then
// values (the state after the input and after each superstep, and with
// __interrupt__ at a pause), updates ({node: fields it changed}, and
// {"__interrupt__": [...]} at a pause) and custom (what nodes Emit),
// as stream_mode asks (values by default), then end; a failure is an error
// event {error, message}. A client that disconnects stops the run.
//
// Run records are kept in memory, for the life of the handler (the newest
// 10000; older records of runs that ended are dropped): a restarted process
// knows its threads (they are in the store) but not its old runs.
// Background runs go on until they end or are cancelled, whatever happens
// to the request that started them.
// Only multitask_strategy "reject" is supported: a run on a thread that
// runs already is refused with 409.
//
// # Routes
//
//	GET  /ok, GET /info
//	POST /assistants/search, GET /assistants/{id}, GET /assistants/{id}/graph, GET /assistants/{id}/schemas
//	POST /threads, POST /threads/search, GET /threads/{id}
//	GET  /threads/{id}/state, GET|POST /threads/{id}/history
//	POST /threads/{id}/runs/wait, POST /runs/wait, POST /threads/{id}/runs/stream
//	POST /threads/{id}/runs, GET /threads/{id}/runs, GET /threads/{id}/runs/{run_id}
//	GET  /threads/{id}/runs/{run_id}/join, POST /threads/{id}/runs/{run_id}/cancel
//
// Errors use the Platform's status codes with a body {"detail": "..."}: 404
// for an unknown route, assistant, thread or run, 409 for a thread that is
// busy, exists already or belongs to another graph, 422 for a request weft
// refuses (input that does not fit the state, an invalid or ambiguous
// answer), 401 when the WithAuth function fails. Without WithAuth there is
// no authentication at all: put the handler behind something that
// authenticates, or give it WithAuth.
//
// # Not supported
//
// Assistant creation, versions and configuration (config, context), the
// store API (/store), crons, thread copy, update, delete and state
// updates (POST /threads/{id}/state), time travel (running from a given
// checkpoint), stateless streaming (POST /runs/stream), joining a run's
// stream, stream modes other than values, updates and custom (messages,
// events, debug, checkpoints, tasks), Send in goto, multitask strategies
// other than reject, webhooks, and subgraph namespaces in states (questions
// asked inside subgraphs show in their parent node's task).
package langgraph
