// Command weft is the command line of weft: it serves the web inbox and the
// HTTP API, and lists, shows, answers and stops threads in any weft store.
//
//	weft demo                         # serve the inbox with example workflows
//	weft inbox                        # the questions that wait, oldest first
//	weft threads --status failed      # list threads: find stuck and failed ones
//	weft show THREAD                  # a thread's state and questions
//	weft history THREAD               # its checkpoints, steps and answers
//	weft events THREAD --follow       # its step log and answers, as they come
//	weft start WORKFLOW THREAD JSON   # start a thread of any workflow a worker serves
//	weft answer THREAD ID JSON        # answer a question
//	weft answer THREAD --key KEY JSON # answer it by its key or node path
//	weft stop THREAD                  # stop it (or take a waiting one out of the inbox)
//	weft cancel THREAD                # end a waiting, stopped or failed thread
//	weft resume THREAD                # carry it on
//	weft migrate                      # create or upgrade a store's tables
//	weft migrate --status             # applied and pending migrations (--print: their SQL)
//	weft serve --tokens FILE          # serve your store with your tokens
//	weft serve --webhook URL ...      # ... and POST signed events when a person is needed
//	weft serve --tokens FILE --langgraph /lg  # and the LangGraph Platform API under /lg
//
// Every command takes --store sqlite:PATH or --store postgres://URL (default
// $WEFT_STORE, or sqlite:weft.db) and, except demo and serve, --json. Flags
// may come before or after the arguments. 'weft COMMAND --help' is the
// manual of each command.
//
// # Waiting for a worker
//
// start, answer, resume and stop work for any workflow, including ones
// whose code the command does not have: they record the request in the
// store (a run, an answer, a resume, a stop request) and a worker of the
// program that has the workflow carries it out (package worker). The
// command waits for that, polling the thread's row, and prints where the
// thread stopped: its next questions, or that it completed, failed (exit
// code 1) or stopped. --no-wait returns once the request is recorded;
// --timeout and Ctrl-C stop waiting with exit code 6, and the request
// stands. If no worker has picked the thread up after a few seconds, the
// command says so on standard error. The demo's workflows run in the
// command itself.
//
// # What it prints
//
// Text output neutralises terminal controls: control characters other
// than newline and tab, bidirectional overrides and bytes that are not
// UTF-8, which payloads, reasons and errors may carry, are printed as
// visible escapes (\u001b), so that a question cannot retitle the window,
// clear the screen or hide what it asks.
//
// # Errors
//
// An error is printed as one line: what went wrong, without the prefixes
// of the packages it went through, and a hint of what to do, chosen by the
// kind of error (a thread that is not found, a question already answered, a
// busy thread, a store not migrated...). --verbose prints the whole chain
// of wrapped errors below it. Times are printed in local time with their
// offset from UTC.
//
// # What it can run
//
// A thread carries on only where its workflow's code is, and the code of
// your workflows lives in your program, not in this command. The command
// has the demo's workflows (internal/demo, named demo-*), so for their
// threads answer and resume do everything: the thread runs on, in this
// process, until it completes or asks again. For the threads of any other
// workflow it reads everything the store holds (inbox, state as stored,
// history, steps, audit) and acts through the store alone (package inbox):
// answer records the answer, validated against the question's schema,
// exactly once, with its author and the channel "cli", and makes the thread
// ready; resume makes a stopped or failed thread ready; a worker that has
// the workflow (package worker) then carries it on, or its program's next
// Resume. Stop and cancel work for every workflow: stop asks the process
// that runs a thread to stop it at its next heartbeat (or stops a ready one
// at once), and stop or cancel of a thread that waits for answers withdraws
// its questions and cancels it, as the workflow's own Stop and Cancel do.
//
// Serve and demo run a worker (package worker) for the workflows they have:
// threads made ready (answered, submitted, resumed, or left by a process
// that died) are run there; --worker=false serves without running threads,
// --slots caps how many run at once. On SIGINT or SIGTERM they stop taking
// requests, hand the threads they run back at their last checkpoint (ready,
// for another worker) and exit.
//
// # Notifications
//
// serve --webhook URL (repeatable) tells people when they are needed: it
// opens the store with its outbox on (see checkpoint.Outbox) and runs a
// sender (package webhook) that POSTs each event to the URLs, as signed
// JSON, with retries:
//
//	--webhook URL                  a receiver (http or https); repeat for several
//	--webhook-secret SECRET        signs the deliveries, 16 bytes or more;
//	                               default $WEFT_WEBHOOK_SECRET (out of the process list)
//	--webhook-events LIST          question.asked, deadline.near, question.escalated,
//	                               question.answered, thread.failed (default all)
//	--webhook-workflows LIST       only these workflows' events (default all)
//	--webhook-assignees LIST       only questions assigned to one of these (default all)
//	--public-url URL               the base of the links to the questions' pages
//	                               (default the address served)
//	--webhook-deadline-window D    deadline.near this long before a deadline (1h)
//
// Lists are comma-separated; every receiver gets the same secret and
// filters (give each its own with package webhook in your program). An
// event is recorded by whoever makes the change it reports, in the same
// transaction: so every process that writes to the store must have the
// outbox on. Your programs open the store with sqlitestore.Options.Outbox
// or pgstore.Options.Outbox; this command's writing commands (answer,
// stop, cancel, resume, start, demo, and serve without --webhook) turn it
// on by themselves when the store's outbox has been used, that is when it
// holds an event (the sender prunes old delivered events but always keeps
// the newest), so that an answer given with 'weft answer' is reported like
// one given in the browser. A store whose outbox was never used is opened
// without it and pays nothing.
//
// # The LangGraph Platform API
//
// Serve --langgraph PREFIX also serves the LangGraph Platform API (package
// server/langgraph) under PREFIX, for LangGraph's SDKs (new
// Client({apiUrl: "http://host:8080/lg", apiKey: TOKEN})): the same
// tokens, sent as X-Api-Key, with the same roles, over the workflows serve
// runs; answers given there are recorded with the token's principal as
// their author, as through weft's API. serve prints its URL.
//
// # Exit codes
//
//	0  ok
//	1  error
//	2  usage: unknown command, bad flag or argument (an answer's --key
//	   that matches several questions)
//	3  not found: no such store file, thread or question
//	4  conflict: already answered (or cancelled), busy (running), completed
//	   or cancelled, or in a state the command does not apply to (stop of
//	   a failed thread)
//	5  invalid answer or input: the value does not fit the question's
//	   schema (or, for start, the workflow's state)
//
// With --json, output is one JSON document on standard output (events: one
// JSON object a line), and an error is one JSON object on standard error:
// {"error": ..., "message": ..., "hint": ..., "code": ..., "exit": N}, where
// error is the whole chain and message and hint what the text output says.
package main
