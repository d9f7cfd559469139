// Package webhook tells people and programs when a person is needed: it
// delivers the events of a store's outbox (see checkpoint.Outbox) as signed
// HTTP POSTs to the hooks you configure, with retries, and gives receivers
// Verify to check them.
//
//	store, err := sqlitestore.Open(ctx, "weft.db", sqlitestore.Options{Outbox: true})
//	...
//	sender, err := webhook.New(store, webhook.Config{
//		Hooks: []webhook.Hook{{
//			URL:       "https://hooks.example.com/weft",
//			Secret:    os.Getenv("WEFT_WEBHOOK_SECRET"), // 16 bytes or more
//			Events:    []string{checkpoint.EventQuestionAsked, checkpoint.EventDeadlineNear},
//			Assignees: []string{"finance-leads"},
//		}},
//		PublicURL: "https://weft.example.com/",
//	})
//	...
//	go sender.Run(ctx)
//
// `weft serve --webhook URL --webhook-secret ...` does the same from the
// command line.
//
// # Events
//
// The store records each event in the transaction of the change it
// reports, so an event exists if and only if its change was kept:
//
//   - question.asked: a thread paused on a question (one event per
//     question);
//   - deadline.near: a pending question's deadline is within
//     Config.DeadlineWindow (1 hour by default). The sender finds these
//     itself from the pending deadlines, and records each once per
//     question and deadline, however many senders look;
//   - question.escalated: a question's deadline passed and it went to its
//     escalation's assignees (weft.Escalate);
//   - question.answered: a question was answered, by a person, a resolver
//     or its deadline's fallback;
//   - thread.failed: a thread failed.
//
// # The outbox must be on in every writing process
//
// The outbox is written by whoever makes the change (the worker that runs
// a thread, the server or command that answers), not by the sender, so
// every process that writes to the store must record events. Open the
// sender's store with the outbox on (sqlitestore.Options.Outbox,
// pgstore.Options.Outbox; New refuses a store whose outbox is off, with
// checkpoint.ErrOutboxOff). For the stores that several processes share,
// that is enough: such a store marks the database as using its outbox
// (checkpoint.OutboxMark, a row of the leases table that never lapses),
// and every store on it records events from then on, whatever its own
// options: one opened afterwards turns its outbox on, and one opened
// before (a worker that was already running) checks for the mark in each
// write that would record an event. So a process opened without the
// outbox does not lose events; the first one it records after the mark
// waits for a sender's poll (that write is how it learns of the mark),
// the next ones wake the senders. Give the outbox option to your writing
// processes anyway: it says what they do. A memstore lives in one
// process: give it memstore.WithOutbox. To stop recording events on a
// database, delete the mark (DELETE FROM weft.leases WHERE name =
// 'weft.outbox' on PostgreSQL's default schema) and restart the writers.
//
// # Wake-up and polling
//
// A sender looks for due events at every Config.Poll (1 second by
// default). On PostgreSQL it also listens for the store's notices
// (checkpoint.Notifier): a store with its outbox on sends an event notice
// after every write that records events, once the write has committed,
// batched with the store's other notices (at most one NOTIFY per
// pgstore.Options.NotifyInterval, 10 ms), and a sender that hears one
// claims at once. A question asked is delivered within milliseconds
// rather than within a poll (BENCHMARKS.md: a median of about 5 ms from
// the commit to the receiver, against about 400 ms polling every
// second). The listen holds one connection of the sender's pool. A notice
// is a hint: one lost (a connection that broke, a process that died
// before its batch went out) costs at most one poll, and polling also
// finds retries that fall due. When the sender starts listening it notifies itself until
// it hears its own notice and then looks, so the events recorded before
// its listen took effect are not left for the next poll; when the
// connection breaks, it polls meanwhile and listens again after
// min(Poll, 5s).
//
// Config.NoListen makes the sender poll only, for a connection pooler
// that breaks LISTEN (PgBouncer in transaction mode); so does a writer's
// pgstore.Options.NoNotify on its side. Lower Config.Poll then for a
// shorter wait. SQLite and memstore do not notify: the sender polls. A
// program that records events in the sender's own process can call
// Sender.Wake after a write for an immediate look.
//
// # Which hook gets what
//
// A Hook receives the events whose type is in Events, of a workflow in
// Workflows, about a question assigned to one of Assignees; an empty list
// does not filter. thread.failed has no assignees, so a hook with
// Assignees does not receive it. Each event goes to every hook that wants
// it; when one of several fails, the retry goes to that one alone.
//
// # The request
//
// POST to the hook's URL, Content-Type application/json, with the headers
//
//	Weft-Event:     question.asked
//	Weft-Delivery:  4f1c0d2e9b8a7c6d5e4f3a2b1c0d9e8f   (the event's ID, the same at every attempt)
//	Weft-Signature: t=1712345678,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// and a body (Payload) such as
//
//	{
//	  "id": "4f1c0d2e9b8a7c6d5e4f3a2b1c0d9e8f",
//	  "event": "question.asked",
//	  "created_at": "2025-03-01T09:30:00Z",
//	  "thread": "r-42",
//	  "workflow": "refund",
//	  "question": {"id": "q-1f3a", "node": "approve", "key": "refund_approval",
//	               "reason": "a refund over 100", "assignees": ["alice"],
//	               "deadline": "2025-03-01T10:30:00Z"},
//	  "text": "Refund approval needed on thread r-42 (assigned to alice): https://weft.example.com/inbox/r-42/q-1f3a",
//	  "link": "https://weft.example.com/inbox/r-42/q-1f3a"
//	}
//
// text is one sentence for a person, ending with the link when there is
// one; a chat tool's incoming webhook that shows a "text" field (Slack's,
// Teams' and most others) shows it as is, so the person sees where to
// answer (chat tools make the URL a link). link is the question's page in
// the web inbox (/inbox/{thread}/{id} under Config.PublicURL;
// /threads/{id} for thread.failed); without a PublicURL it is left out,
// and text ends with the sentence. question.answered adds answered_by and channel;
// thread.failed has error and no question. The question's fields are as
// they were when the event was recorded (an escalated question shows its
// new assignees).
//
// # Verifying a delivery
//
// Weft-Signature is t=<unix seconds>,v1=<hex>, where the hex is the
// HMAC-SHA256, keyed by the hook's secret, of the timestamp, a dot and the
// body exactly as sent. A receiver checks it before it trusts the body,
// and refuses a timestamp far from its clock (a replayed request):
//
//	func receive(w http.ResponseWriter, r *http.Request) {
//		body, err := webhook.VerifyRequest(r, secret, 5*time.Minute)
//		if err != nil {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		var p webhook.Payload
//		if err := json.Unmarshal(body, &p); err != nil {
//			http.Error(w, err.Error(), http.StatusBadRequest)
//			return
//		}
//		if seen(p.ID) { // the Weft-Delivery header: delivery is at least once
//			return
//		}
//		// ... tell someone: p.Text, p.Link
//	}
//
// Verify does the same on a header and a body; its errors wrap
// ErrNoSignature, ErrMalformedSignature, ErrSignatureExpired and
// ErrBadSignature. A receiver in another language computes
// hex(hmac_sha256(secret, t + "." + body)) and compares it in constant
// time with each v1 value.
//
// # Retries
//
// A 2xx response is a delivery. Anything else (another status, a redirect,
// a timeout after Config.Timeout, no connection) is a failed attempt: the
// next one waits Config.MinBackoff (1s) doubled at each failure, capped at
// Config.MaxBackoff (1h), with jitter (between half and all of it), or,
// for a 429 or 503 with Retry-After, as long as the receiver asks (up to
// MaxBackoff). After Config.MaxAttempts (20) failed attempts the sender
// gives up: the event becomes dead (checkpoint.EventDead), with its last
// error, and the sender logs it as an error. Failed attempts are logged as
// warnings. Errors and logs name a hook by its scheme and host only: the
// path of a chat tool's webhook URL is its credential.
//
// # Delivery guarantee
//
// At least once, never lost: an event stays pending in the store until a
// receiver acknowledged it, across crashes and restarts of senders and of
// the store's processes. A sender claims a batch of due events for a lease
// (Config.Lease); if it dies, another sender (or itself, restarted) claims
// them again once the lease lapses. An event the store records as
// delivered is never sent again. What can repeat is the event whose
// request was under way when its sender died, or whose acknowledgement
// the sender could not record: receivers de-duplicate by Weft-Delivery.
// Several senders may run on one store: PostgreSQL claims with FOR UPDATE
// SKIP LOCKED and SQLite within its write lock, so two never send one
// event at once. A sender stopped by its context hands back the events it
// had claimed and not sent, due at once.
//
// Events are not ordered across threads, nor strictly within one: a
// question.answered may arrive before its question.asked if the first
// attempt of the latter failed. Order by created_at when it matters.
// The sender prunes delivered and dead events older than Config.Retention
// (7 days).
package webhook
