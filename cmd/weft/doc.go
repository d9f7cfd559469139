// Command weft is the command line of weft: it serves the web inbox and the
// HTTP API, and lists, shows, answers and stops threads in any weft store.
//
//	weft demo                         # serve the inbox with example workflows
//	weft inbox                        # the questions that wait, oldest first
//	weft show THREAD                  # a thread's state and questions
//	weft history THREAD               # its checkpoints, steps and answers
//	weft answer THREAD ID JSON        # answer a question
//	weft stop THREAD                  # take a thread out of the inbox
//	weft resume THREAD                # carry it on
//	weft migrate                      # create or upgrade a store's tables
//	weft serve --tokens FILE          # serve your store with your tokens
//
// Every command takes --store sqlite:PATH or --store postgres://URL (default
// $WEFT_STORE, or sqlite:weft.db) and, except demo and serve, --json. Flags
// may come before or after the arguments. 'weft COMMAND --help' is the
// manual of each command.
//
// # What it can run
//
// A thread carries on only where its workflow's code is, and the code of
// your workflows lives in your program, not in this command. The command
// has the demo's workflows (internal/demo, named demo-*), so for their
// threads answer, stop and resume do everything: the thread runs on, in this
// process, until it completes or asks again. For the threads of any other
// workflow it reads everything the store holds (inbox, state as stored,
// history, steps, audit), and answer records the answer in the store,
// validated against the question's schema, exactly once, with its author
// and the channel "cli": the thread carries on when its program next resumes
// it. Stop and resume refuse other workflows' threads.
//
// # Exit codes
//
//	0  ok
//	1  error
//	2  usage: unknown command, bad flag or argument
//	3  not found: no such store file, thread or question
//	4  conflict: already answered (or cancelled), busy, running elsewhere,
//	   or completed
//	5  invalid answer: the value does not fit the question's schema
//
// With --json, output is one JSON document on standard output, and an error
// is one JSON object on standard error: {"error": ..., "code": ..., "exit": N}.
package main
