// Package server is the HTTP face of a weft inbox: a JSON API under /v1, a
// Server-Sent Events stream of what threads do, and a web inbox where
// people read the questions paused threads ask and answer them through
// forms generated from the answers' JSON schemas.
//
// A Server is an http.Handler over an *inbox.Inbox. Serve it with any
// http.Server; put TLS in front of it (the tokens travel in headers and
// cookies).
//
// # Wiring
//
// The server streams events it sees through a Feed, a weft.Observer. The
// server attaches it to the runs it makes itself (start, resume), but the
// runs that answers start are made by the inbox, which is created first.
// So create the feed first and give it to both:
//
//	store, _ := sqlitestore.Open(ctx, "weft.db", sqlitestore.Options{Migrate: true})
//	review, _ := reviewGraph.Compile(weft.WithStore(store))
//
//	feed := server.NewFeed()
//	ib := inbox.New(store, []weft.Runner{review.Runner()},
//		inbox.WithRunOptions(weft.WithObserver(feed)))
//	tokens, _ := server.LoadTokens("tokens.json")
//	srv, err := server.New(ib, server.WithFeed(feed), server.WithTokens(tokens),
//		server.WithSessionKey(key), server.WithLogger(logger))
//	...
//	hs := &http.Server{Addr: ":8080", Handler: srv}
//	hs.RegisterOnShutdown(srv.CloseStreams)
//
// To stream the runs that other code of the same process makes (a deadline
// runner, a worker), give them the feed too: weft.WithObserver(feed) per
// run, or at Compile for every run of a workflow. A feed that receives an
// event twice (attached at Compile and per run) keeps it once. Runs made by
// other processes are not seen: their questions show in the inbox (it
// reads the store), but their events are not streamed. The web inbox
// reloads its list every 30 seconds for that reason.
//
// # Authentication and roles
//
// Every API request carries a bearer token ("Authorization: Bearer
// <token>"); WithTokens or LoadTokens map tokens to principals. A request
// without a known token gets 401 with a "WWW-Authenticate: Bearer"
// header. The server keeps only the SHA-256 of each token.
//
// A Principal has a name and roles. Four built-in roles grant permissions,
// each including the one before:
//
//	viewer    read: workflows, threads, history, steps, audit, inbox, events
//	reviewer  also answer questions
//	operator  also start, stop, resume and cancel threads, edit their state, fork them
//	admin     everything, and answer questions assigned to others
//
// A principal without a built-in role may do nothing (403). Other roles
// ("editors", "legal") are groups: a question asked with
// weft.Assign("editors") may be answered only by a principal named
// "editors" or with the role "editors" (and the answer permission), or by
// an admin; anyone else gets 403 (code not_assignee). A question assigned
// to nobody may be answered by any reviewer. Every answer is recorded with
// the principal's name as its author and the channel "api" (JSON API) or
// "ui" (web inbox); GET /v1/threads/{id}/audit shows them.
//
// # The API
//
// All bodies are JSON in valid UTF-8 (anything else is 400 bad_request,
// before anything is recorded; so are web forms), at most WithMaxBody
// bytes (1 MiB by default; more is 413). openapi.json, served at GET /v1/openapi.json and kept next to this
// file, documents every route, body and error:
//
//	GET  /v1/openapi.json                        this API's OpenAPI 3.1 document
//	GET  /v1/workflows                           workflows, with their input schemas
//	POST /v1/workflows/{name}/threads            start a thread: {"thread": id, "input": {...}, "wait": true}
//	GET  /v1/threads/{id}                        state (?checkpoint= for a past one)
//	GET  /v1/threads/{id}/history                checkpoints, newest first (?limit=)
//	GET  /v1/threads/{id}/steps                  the superstep log
//	GET  /v1/threads/{id}/audit                  every question, answer, author, channel
//	GET  /v1/threads/{id}/interrupts/{interrupt} one question, with the thread's state
//	POST /v1/threads/{id}/answers                {"answers": {"<interrupt id>": <value>, ...}, "wait": true}
//	POST /v1/threads/{id}/resume                 carry on a stopped, failed or breakpointed thread
//	POST /v1/threads/{id}/stop                   stop a thread, here or in a worker elsewhere (202)
//	POST /v1/threads/{id}/cancel                 end a thread that waits: {"reason": "..."}
//	GET  /v1/threads/{id}/events                 the thread's events (SSE)
//	GET  /v1/events                              every thread's events (SSE; ?workflow=, ?thread=)
//	GET  /v1/inbox                               pending questions: ?workflow= &node= &assignee= (repeatable)
//	                                             &thread= &older_than=1h &after=<cursor> &limit=
//
// Starting, answering and resuming run the thread until it pauses,
// completes or stops, and return the result ({"thread", "status", "state",
// "interrupts", "checkpoint"}) with 200. The run is waited for by the
// request, but the thread is durable: a client that
// disconnects (or a server that closes its connections when Shutdown gives
// up) hands the run back at its last checkpoint; the thread is then
// ready, answers recorded before stand, and a worker (or resume) carries
// it on. When
// a node fails after an answer was recorded the response is 200 with
// status "failed" and the error: the answer stands, and the thread
// carries on with resume.
//
// A run that should not hold a request is handed on instead, answered
// with 202, the thread's status and a Location of the thread
// (/v1/threads/{id}):
//
//   - a start with "wait": false in the body (or ?wait=false) is only
//     submitted (weft.Runner.Submit): the thread is ready, for a worker
//     (package worker) or a later resume to run;
//   - answers are only recorded, and the thread made ready, when the
//     client asks so the same way, and always on a server made
//     WithQueue, for deployments where workers run the threads;
//   - answers recorded to a thread that runs elsewhere at that moment
//     (in another process or request) are a success too: that run
//     carries on with them (status running).
//
// Of concurrent answers to one question exactly one is recorded; every
// other gets 409 already_answered, never busy.
//
// The ID of a thread to start is at most 256 bytes of UTF-8, without
// control characters or "/", and neither "." nor ".." (400 otherwise).
//
// Errors are {"error": "...", "code": "..."}: 400 for malformed JSON or
// parameters (bad_request), input that does not fit the workflow's state
// (invalid_input) and answers that do not fit their schema
// (invalid_answer, with the schema's reason; nothing is recorded and the
// question stays pending); 401 and 403 (unauthorized, forbidden,
// not_assignee); 404 (not_found, unknown_workflow, unknown_interrupt,
// and unknown /v1 routes); 409 (already_answered, busy, conflict,
// thread_paused, thread_completed, thread_cancelled, not_running,
// graph_changed, and wrong_workflow for a start under a workflow the
// thread is not of); 413 (too_large); 500 (internal, logged with details,
// reported without).
//
// # Stopping, resuming and cancelling
//
// Stop, resume and cancel (operator role, through the API or the thread
// page) work on a thread of any workflow in the store, whether this
// server has the workflow or not: it may be registered in another
// process, whose workers (package worker) run its threads. What the
// server cannot carry out itself it records in the store with the inbox's
// store-level Stop, Resume and Cancel, and a worker that has the workflow
// carries it out:
//
//   - Stop answers 202 {"thread", "status"}, the status saying what became
//     of the thread: "stopping" for a running one (a run in this process
//     stops at once; a run elsewhere is asked in the store, and its worker
//     stops it at its next checkpoint: at its next heartbeat, at once on
//     PostgreSQL); "stopped" for a ready one (answered or submitted, no
//     run has it yet); "cancelled" for one that waits for answers, its
//     questions withdrawn with the caller as who did it. A thread that is
//     stopped, failed or has ended is 409 not_running.
//   - Resume of a stopped or failed thread of a workflow the server has
//     runs it in the request (200, the result). Of any other workflow it
//     makes the thread ready in the store and answers 202 with the
//     thread's status (ready; running once a worker has it) and a
//     Location: a worker that has the workflow carries it on. A thread
//     that waits for answers is left so (200, status interrupted).
//   - Cancel ends a thread that waits (paused, ready, stopped or failed)
//     and needs no worker: its pending questions are withdrawn, recorded
//     with the caller's name as the author, channel "api" (or "ui") and
//     the reason, which is required (at most 1000 bytes; GET
//     /v1/threads/{id}/audit shows them); its status becomes cancelled
//     and the answer is 200 with the thread. A running thread is 409 busy
//     (stop it first), a completed one 409 thread_completed, a cancelled
//     one 409 thread_cancelled.
//
// A refusal (unknown thread 404, wrong role 403, a state that does not
// allow the request 409) changes nothing. Every request is logged with
// the principal's name.
//
// # Events
//
// GET /v1/threads/{id}/events and GET /v1/events stream the events of
// weft.Observer as Server-Sent Events: "id: <epoch>-<n>", "event: <type>"
// (run_started, resumed, answered, node_started, node_finished,
// step_committed, interrupted, stopped, completed, failed, custom) and one
// "data:" line of JSON, flushed per event. n grows by one with each event
// the feed receives, across threads; epoch changes when the server
// restarts. An idle stream gets a ": keepalive" comment every
// WithHeartbeat (15 s by default).
//
// A stream starts with the next event. A client that reconnects with
// Last-Event-ID (EventSource does so by itself), or passes ?since=<id>,
// gets every event after that ID first, from a bounded buffer: the newest
// DefaultFeedPerThread events of each of the DefaultFeedThreads most
// recently active threads, and the newest DefaultFeedGlobal events of all
// (FeedBuffer, FeedThreads). ?since=0 starts at the oldest buffered event.
// When the server cannot know that nothing was missed (an ID from before a
// restart, or older than the buffer) it sends a "reset" event first: the
// client should reload the state it shows, then carry on with the stream.
// Events are buffered in memory only, in the process that observed them.
//
// # The web inbox
//
// GET /inbox lists the pending questions (workflow, node, age, assignees,
// deadline; the same filters as the API) and keeps the list current
// without reloading: a script follows GET /inbox/events and reloads the
// rows (GET /inbox/rows) when a thread pauses, is answered or moves on. A
// question's page (GET /inbox/{thread}/{interrupt}) shows the payload as a
// document (strings as text, long ones as paragraphs, objects as labelled
// sections, arrays as lists; the raw JSON below, folded), says in words
// what happens at its deadline ("if nobody answers by <time>, the answer
// ... is given", or "it goes to ..."), and, to a principal who may answer
// it, a form built from the answer's JSON schema, its fields in the order
// of the schema's properties, with their titles and descriptions: an enum
// is a row of buttons (when it is the form's only one; they come after
// every other field, and a choice that reads as destructive, such as
// reject, deny or cancel, is styled so and asks for confirmation) or a
// select, a string a textarea, a boolean a pair of Yes and No radio
// buttons (required when the field is), a number or integer a number
// input, an object a fieldset of its properties (recursively), anything
// else a textarea for JSON. A field named as a field of the payload starts
// with the payload's value. The posted form is turned back into JSON of
// the schema's shape and answered as through the API, with channel "ui".
// A value that does not fit is refused next to its field, in plain words,
// and what was typed is kept. After an answer the page says what
// happened: the thread's new status and the questions it asks next. A
// principal who may not answer sees the question and why there is no
// form.
//
// GET /threads lists the threads (?status= running, ready, interrupted,
// stopped, failed, completed or cancelled; ?workflow=; paged with the
// store's cursor, ?after=), and GET /threads/{id} shows one: its status,
// owner and lease, the timeline of its steps (node, duration, error), its
// audit trail, the questions it waits for, and its graph, as a list of
// nodes with those it runs next, waits in or failed in marked, and as
// Mermaid text to paste into a Mermaid editor (the pages load no
// Mermaid script). To an operator the page offers stop, resume and
// cancel (with a reason, recorded with the withdrawn questions), as the
// thread's status allows, POST forms that do what the API's stop, resume
// and cancel do, for threads of any workflow. For a thread whose workflow
// the server does not have, the page says so and what happens instead: a
// worker will stop it at its next checkpoint, or carry it on once it is
// ready; a cancel needs no worker. After an action the page says what it
// did.
//
// The thread page lists the thread's checkpoints, newest first (the 25
// newest; GET /v1/threads/{id}/history lists them all): each with its
// step, what wrote it (input, loop, update, fork or cancel), the nodes
// whose superstep wrote it, its time with its zone, who wrote it by hand
// and why (an edit's note, a cancel's reason) or who resumed the thread,
// and a diff of its state against its parent's: the top-level fields
// added, changed (old and new value) or removed, a value longer than a
// line cut, with the whole value one click away (a details element: no
// script). Its audit trail lists, besides the questions and their
// answers, what people did by hand: edits, forks, resumes and cancels,
// with who, how, when and why, also for a cancel that withdrew no
// question (a cancel is a checkpoint of its own; see weft.Workflow.Cancel).
//
// To an operator the page also offers, for a thread that is not running or
// ready, a form to edit the state (POST /threads/{id}/state): a JSON
// textarea filled with the current state. The fields whose values the
// operator changed are set (weft.StateEditor's UpdateStateJSON), the
// others keep theirs, with the operator as author, channel "ui" and an
// optional note; the thread is then stopped at the new checkpoint, its
// pending questions withdrawn, and Resume carries it on. Each checkpoint
// but the head has a form to fork the thread from it (POST
// /threads/{id}/fork): optional JSON of fields to change and a note
// (ForkJSON); the checkpoint's state becomes the new head, and Resume runs
// the nodes after it again. Text that is not one JSON object is refused
// with 400 and a field that the state lacks or a value of the wrong type
// with 400 invalid_input; an edit made on a page loaded before the thread
// moved is refused with 409 conflict; a running or ready thread with 409
// busy; each refusal shows the page again with why, next to the form,
// what was typed kept, and changes nothing. The edits need the thread's
// workflow registered in the server with the Runner that
// weft.Workflow.Runner returns (which implements weft.StateEditor); for
// any other (a workflow only other processes have, or a Runner of one's
// own) the page says why it offers no edit, and the routes answer 422
// cannot_edit.
//
// Unknown pages get an HTML 404, and a request without a session
// that is not a page (a form post, the rows fragment) an HTML 401 with a
// link to sign in.
//
// The pages are html/template, with a stylesheet and a small script
// embedded in the binary; there is no build step. The Content Security
// Policy allows scripts from the server and one inline handler, by its
// hash: the confirm() of destructive buttons. The pages fit a phone's
// width (390 CSS pixels): long IDs and values wrap. The browser logs in at
// /login with a token; a principal whose roles grant nothing is refused
// there (403, with why). Failed logins are throttled per client address:
// after 5 unknown tokens within a minute, the address's logins are refused
// with 429 and Retry-After until the minute ends (successful logins are
// neither counted nor slowed). The address is the connection's peer
// (an IPv6 client's /64); forwarding headers are not trusted, so behind a
// proxy its clients share one budget. The session is a signed cookie (HMAC-SHA256
// under WithSessionKey, random per process by default) that is HttpOnly,
// SameSite=Lax (so that a link to a question from mail or chat opens it;
// every change is a POST with a CSRF token), Secure over TLS (or always,
// WithSecureCookies(true)), and expires after WithSessionTTL. It holds no
// token, only the token's hash, so removing a token from the server's list
// ends its sessions. POST /logout needs no permission, only the session's
// CSRF token; it ends the session in the server too: the session's ID is
// kept in memory until the session would have expired, so a copy of the
// cookie stops working. That list is the process's own: behind a load
// balancer, other instances with the same session key still accept the
// cookie until it expires. Every form carries a CSRF token bound to the
// session (the login form one bound to a cookie of its own); a POST
// without it is refused with 403. Cookies are no credential for /v1, and
// bearer tokens none for the pages.
package server
