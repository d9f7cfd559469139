package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/demo"
	"github.com/weftgraph/weft/server"
	"github.com/weftgraph/weft/worker"
)

// serveOpts are the flags demo and serve share.
type serveOpts struct {
	addr      string
	deadlines time.Duration
	worker    bool          // run a worker for the workflows served
	slots     int           // the worker's Config.Slots
	shutdown  time.Duration // how long runs get to finish at shutdown
	hooks     webhookOpts   // serve's --webhook flags (demo has none)
	langgraph string        // the prefix of the LangGraph Platform API ("" for none)
}

func (o *serveOpts) declare(c *cli, fs *flag.FlagSet, addr string) {
	fs.StringVar(&o.addr, "addr", addr, "the `address` to listen on (host:port; port 0 picks a free one)")
	o.deadlines = 10 * time.Second
	fs.Var((*positiveDuration)(&o.deadlines), "deadlines", "the `interval` at which to look for questions whose deadline passed (more than 0)")
	fs.BoolVar(&o.worker, "worker", true, "run a worker: carry on the ready threads of the workflows served (answered, submitted, resumed, or left by a process that died); --worker=false only serves")
	fs.IntVar(&o.slots, "slots", worker.DefaultSlots, "how many threads the worker runs at once, at most")
	o.shutdown = 10 * time.Second
	fs.Var((*positiveDuration)(&o.shutdown), "shutdown-timeout", "at Ctrl-C or SIGTERM, how long running threads and requests get to finish before they are handed back at their last checkpoint")
}

// check refuses flag values that do not go together.
func (o *serveOpts) check() error {
	if o.slots < 1 {
		return usagef("--slots %d: want 1 or more", o.slots)
	}
	return nil
}

// positiveDuration is a duration flag that refuses 0 and less.
type positiveDuration time.Duration

func (d *positiveDuration) String() string { return time.Duration(*d).String() }

func (d *positiveDuration) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if v <= 0 {
		return fmt.Errorf("%s is not more than 0", s)
	}
	*d = positiveDuration(v)
	return nil
}

var demoCmd = &command{
	name:    "demo",
	nargs:   [2]int{0, 0},
	noJSON:  true,
	summary: "serve the web inbox with example workflows (start here)",
	help: `Demo serves weft's HTTP API and web inbox with five example workflows, on
a SQLite file it creates (or reuses) and migrates, and starts a few threads
so that the inbox has questions in it:

  demo-approval  an editor approves, edits or rejects a post
  demo-refine    a writer's draft goes back and forth until approved
  demo-refund    a small refund approves itself after 15 minutes without an
                 answer; a large one goes to the finance leads after an hour
  demo-agent     an agent's tool calls each wait for the approval of the role
                 that owns the tool (analysts, dba, ops)
  demo-long      a node that works for {"Seconds": N} (see below)

It prints the URL and a token: open the URL, log in with the token, and
answer. The token stands for the principal "demo" with the admin role (and
every role the demo assigns questions to). Deadlines are fired while it runs.
The same threads can be answered from another terminal:

  weft inbox
  weft answer THREAD ID '{"action":"approve"}'

It runs a worker (--worker=false to only serve): threads made ready (by an
answer, a deadline, 'weft resume --ready', or a process that died while it
ran them) run here. demo-long, which the demo does not start by itself,
works for as many seconds as its input says, to stop and take over by hand:

  weft start demo-long long-1 '{"Seconds":120}' --no-wait
  weft show long-1             # running, its owner and lease
  weft stop long-1             # stops at the owner's next heartbeat, and says so
  weft resume long-1 --ready   # the worker carries it on; Ctrl-C stops waiting

Ctrl-C hands the threads it runs back at their last checkpoint (ready): run
'weft demo' again, or another on the same file with another --addr, and it
carries them on, their journaled effects not repeated.

Run it again on the same file to carry on where you were; new threads are
started where the old ones were answered. The token is kept next to the
file, in FILE.token (readable by you alone), so the browser stays signed
in across runs: --new-token replaces it, --token sets it. (On a PostgreSQL
store no token is kept: each run makes a new one unless --token is given.) Stop it with Ctrl-C. Delete the
file (and its -wal, -shm and .token files) to start over.`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var o serveOpts
		o.declare(c, fs, "localhost:8080")
		var t demoToken
		var seed bool
		fs.StringVar(&t.token, "token", "", "the login token, at least 16 bytes (default: the one kept in FILE.token, else a new random one)")
		fs.BoolVar(&t.renew, "new-token", false, "make a new random token, replacing the one kept")
		fs.BoolVar(&seed, "seed", true, "start demo threads when the inbox has none of a kind")
		return func([]string) error { return runDemo(c, o, t, seed) }
	},
}

// demoToken is the demo's login token: given (--token), renewed
// (--new-token), or the one kept next to the store.
type demoToken struct {
	token string
	renew bool
}

// minToken is the length a token must have at least, in bytes.
const minToken = 16

// resolve returns the token of this run, and the file it is kept in (""
// if none is), where it writes the token of this run unless the file holds
// it already.
func (t demoToken) resolve(c *cli) (token, file string, err error) {
	if t.token != "" && t.renew {
		return "", "", usagef("--token and --new-token: give one")
	}
	if t.token != "" && len(t.token) < minToken {
		return "", "", usagef("--token: want at least %d bytes", minToken)
	}
	if kind, path, err := storeKind(c.store); err == nil && kind == "sqlite" {
		file = path + ".token"
	}
	token = t.token
	if token == "" && !t.renew && file != "" {
		data, err := os.ReadFile(file)
		switch {
		case err == nil && len(strings.TrimSpace(string(data))) >= minToken:
			return strings.TrimSpace(string(data)), file, nil
		case err == nil:
			fmt.Fprintf(c.stderr, "weft demo: %s holds no token of %d bytes or more; making a new one\n", file, minToken)
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", fmt.Errorf("the demo's token: %w", err)
		}
	}
	if token == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", "", err
		}
		token = hex.EncodeToString(b)
	}
	if file != "" {
		// 0600: the token signs in as an admin of the demo.
		if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
			return "", "", fmt.Errorf("keeping the demo's token: %w", err)
		}
		if err := os.Chmod(file, 0o600); err != nil { // a file that existed keeps its mode otherwise
			return "", "", fmt.Errorf("keeping the demo's token: %w", err)
		}
	}
	return token, file, nil
}

func runDemo(c *cli, o serveOpts, t demoToken, seed bool) error {
	if err := o.check(); err != nil {
		return err
	}
	token, tokenFile, err := t.resolve(c)
	if err != nil {
		return err
	}
	store, err := c.openReporting(true)
	if err != nil {
		return err
	}
	log := c.logger(slog.LevelInfo)
	runners, err := demo.Workflows(store, weft.WithLogger(log))
	if err != nil {
		return err
	}
	principal := server.Principal{Name: "demo", Roles: append([]string{server.RoleAdmin}, demo.Roles...)}
	life := newLifecycle(c.ctx)
	defer life.end()
	feed := server.NewFeed()
	ib := inbox.New(store, life.bindAll(runners), inbox.WithLogger(log), inbox.WithRunOptions(weft.WithObserver(feed)))
	srv, err := server.New(ib, server.WithTokens(map[string]server.Principal{token: principal}),
		server.WithFeed(feed), server.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	var started []string
	if seed {
		if started, err = demo.Seed(c.ctx, runners, weft.WithObserver(feed)); err != nil {
			ln.Close()
			return err
		}
	}
	page, err := ib.List(c.ctx, inbox.Query{Limit: inbox.MaxLimit})
	if err != nil {
		ln.Close()
		return err
	}
	url := baseURL(ln.Addr())
	fmt.Fprintf(c.stdout, "weft demo: %d workflows on %s; started %d threads; %d questions waiting.\n\n",
		len(runners), redact(c.store), len(started), len(page.Items))
	fmt.Fprintf(c.stdout, "  open   %s\n  token  %s\n", url, token)
	if tokenFile != "" {
		fmt.Fprintf(c.stdout, "         (kept in %s for the next run; --new-token replaces it)\n", tokenFile)
	}
	flag := " --store " + shellQuote(redact(c.store))
	fmt.Fprintf(c.stdout, "\n  API    curl -H 'Authorization: Bearer %s' %sv1/inbox\n", token, url)
	fmt.Fprintf(c.stdout, "  CLI    weft inbox%s\n", flag)
	fmt.Fprintf(c.stdout, "         weft threads%s\n", flag)
	fmt.Fprintf(c.stdout, "         weft start demo-long long-1 '{\"Seconds\":3}' --no-wait%s\n", flag)
	fmt.Fprintf(c.stdout, "         weft events long-1 --follow%s\n\n", flag)
	return serveHTTP(c, ln, srv, ib, o, &served{life: life, runners: runners, feed: feed, log: log})
}

var serveCmd = &command{
	name:    "serve",
	nargs:   [2]int{0, 0},
	noJSON:  true,
	summary: "serve the HTTP API and web inbox over a store",
	help: `Serve serves weft's HTTP API (/v1/...) and web inbox over your store, with
the tokens of --tokens, a JSON file that maps each token to its principal:

  {
    "3f9c...e1": {"name": "ann", "roles": ["reviewer", "editors"]},
    "a7d0...42": {"name": "ops", "roles": ["admin"]}
  }

Roles viewer, reviewer, operator and admin grant permissions (read; answer;
start, resume and stop threads; everything); any role, and the name, can be
what a question is assigned to.

The weft command has no workflows of yours: your workflows' code lives in
your program. So serve shows everything the store holds (the inbox of every
workflow, threads, their state as stored, history, steps, the audit trail)
and escalates questions whose deadline passed (weft.Escalate needs only the
store). But it cannot run your threads: answers, starts and resumes of your
workflows' threads are refused (unknown_workflow), and fallback deadlines
(weft.Within) are left for a process that has the workflow. To answer in the
browser and have threads carry on, serve the inbox from your own program:
server.New(inbox.New(store, []weft.Runner{wf.Runner(), ...}), ...), and run
a worker there (package worker). 'weft answer', 'weft stop' and 'weft
resume' work for any workflow through the store.

--demo adds the demo workflows, to serve a store made by 'weft demo' with
real tokens, and a worker that runs their ready threads (--worker=false
only serves; --slots caps how many run at once). At Ctrl-C or SIGTERM serve
stops accepting requests, gives the runs under way --shutdown-timeout to
finish, and hands the others back at their last checkpoint, ready for
another process. Serve does not migrate the store: run 'weft migrate' first.

--webhook URL (repeatable) tells receivers when a person is needed: it
opens the store with its outbox on and POSTs each event (question.asked,
deadline.near, question.escalated, question.answered, thread.failed) as
signed JSON, with retries, until the receiver answers 2xx. The secret
(--webhook-secret, or $WEFT_WEBHOOK_SECRET to keep it out of the process
list) must have 16 bytes or more; --webhook-events, --webhook-workflows and
--webhook-assignees filter; --public-url is the base of the links to the
questions' pages. Every process that writes to the store must record the
events: programs open it with the outbox on (sqlitestore.Options.Outbox,
pgstore.Options.Outbox), and weft's commands do so by themselves once the
store's outbox has been used. See package webhook for the payload and how
a receiver verifies it.

  WEFT_WEBHOOK_SECRET=... weft serve --tokens tokens.json \
    --webhook https://hooks.example.com/weft --public-url https://weft.example.com/

  weft serve --store postgres://weft@db/app --tokens tokens.json --addr :8080`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var o serveOpts
		o.declare(c, fs, ":8080")
		var tokens string
		var withDemo bool
		fs.StringVar(&tokens, "tokens", "", "the JSON `file` of tokens and their principals (required)")
		fs.BoolVar(&withDemo, "demo", false, "also run the demo workflows")
		o.hooks.declare(fs)
		declareLangGraph(fs, &o)
		return func([]string) error { return runServe(c, o, tokens, withDemo) }
	},
}

func runServe(c *cli, o serveOpts, tokensFile string, withDemo bool) error {
	if err := o.check(); err != nil {
		return err
	}
	if tokensFile == "" {
		return usagef("--tokens FILE is required")
	}
	if err := checkLangGraph(o.langgraph); err != nil {
		return err
	}
	tokens, err := server.LoadTokens(tokensFile)
	if err != nil {
		return err
	}
	hooks, err := o.hooks.config(os.Getenv)
	if err != nil {
		return err
	}
	store, err := c.openForServe(o.hooks.on())
	if err != nil {
		return err
	}
	log := c.logger(slog.LevelInfo)
	var runners []weft.Runner
	if withDemo {
		if runners, err = demo.Workflows(store, weft.WithLogger(log)); err != nil {
			return err
		}
	}
	life := newLifecycle(c.ctx)
	defer life.end()
	feed := server.NewFeed()
	ib := inbox.New(store, life.bindAll(runners), inbox.WithLogger(log), inbox.WithRunOptions(weft.WithObserver(feed)))
	srv, err := server.New(ib, server.WithTokens(tokens), server.WithFeed(feed), server.WithLogger(log))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "weft serve: %s on %s with %d token(s) and workflows %v.\n",
		redact(c.store), baseURL(ln.Addr()), len(tokens), ib.Workflows())
	if o.hooks.on() {
		wait, err := startWebhooks(c.ctx, c, store, hooks, baseURL(ln.Addr()), log)
		if err != nil {
			ln.Close()
			return err
		}
		defer wait()
	}
	printLangGraph(c, o.langgraph, ln.Addr())
	lg := langGraph(o.langgraph, store, life.bindAll(runners), tokens)
	return serveHTTP(c, ln, srv, ib, o, &served{life: life, runners: runners, feed: feed, log: log, lg: lg, lgPrefix: o.langgraph})
}

// baseURL is the URL a browser on this machine opens for addr.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// served is what serveHTTP runs besides the server: the lifecycle the
// server's runs are bound to, and the workflows a worker runs.
type served struct {
	life    *lifecycle
	runners []weft.Runner // unbound: the worker hands its runs back itself
	feed    *server.Feed
	log     *slog.Logger
	// lg is the LangGraph Platform API, served under lgPrefix (nil: none).
	lg       http.Handler
	lgPrefix string
}

// serveHTTP serves srv on ln, with a worker for the workflows (unless
// --worker=false or there are none) and deadlines, until the command's
// context ends (Ctrl-C, SIGTERM). Then it stops accepting requests, gives
// the requests and the worker's runs --shutdown-timeout to finish, hands
// back at their last checkpoint the runs still going (the worker's and
// those the server started), waits for them, and returns.
func serveHTTP(c *cli, ln net.Listener, srv *server.Server, ib *inbox.Inbox, o serveOpts, sv *served) error {
	hs := &http.Server{
		Handler:           sv.mount(srv),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests, and what they leave running, end with the server.
		BaseContext: func(net.Listener) context.Context { return sv.life.ctx },
	}
	hs.RegisterOnShutdown(srv.CloseStreams) // event streams do not end by themselves

	var w *worker.Worker
	if o.worker && len(sv.runners) > 0 {
		var err error
		w, err = worker.New(ib.Store(), sv.runners, worker.Config{
			Slots:           o.slots,
			Deadlines:       o.deadlines,
			ShutdownTimeout: o.shutdown,
			RunOptions:      []weft.RunOption{weft.WithObserver(sv.feed)},
			Logger:          sv.log,
		})
		if err != nil {
			ln.Close()
			return err
		}
	}
	switch {
	case w != nil:
		fmt.Fprintf(c.stdout, "Worker: runs the ready threads of %v, %d at a time; deadlines every %s.\n", ib.Workflows(), o.slots, o.deadlines)
	case len(sv.runners) == 0:
		fmt.Fprintln(c.stdout, "Worker: none (no workflow to run here); deadlines escalate every "+o.deadlines.String()+".")
	default:
		fmt.Fprintln(c.stdout, "Worker: off (--worker=false): ready threads wait for another process.")
	}
	fmt.Fprintln(c.stdout, "Stop with Ctrl-C.")

	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	var background sync.WaitGroup
	if w != nil {
		background.Go(func() {
			if err := w.Run(ctx); err != nil {
				sv.log.Error("weft: worker", "error", err)
			}
		})
	} else {
		background.Go(func() { ib.RunDeadlines(ctx, o.deadlines) })
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	// Stop claiming (the worker gives its runs the shutdown timeout), stop
	// accepting requests and give those under way the same time.
	cancel()
	fmt.Fprintln(c.stderr, "weft: stopping")
	shutdown, done := context.WithTimeout(context.WithoutCancel(c.ctx), o.shutdown)
	defer done()
	serr := hs.Shutdown(shutdown)
	// Hand back the runs the server started that are still going, and
	// wait for them to reach the store.
	sv.life.end()
	if serr != nil {
		hs.Close()
	}
	sv.life.wait()
	background.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	fmt.Fprintln(c.stderr, "weft: stopped")
	return err
}

// lifecycle binds the runs that the server and the inbox start (runs of
// requests, which outlive their clients) to the server's life: when it
// ends, they are handed back at their last checkpoint (weft.ErrHandedBack:
// the thread is ready, for any worker), and wait lets the process exit only
// once they have.
type lifecycle struct {
	ctx  context.Context
	stop context.CancelFunc

	mu     sync.Mutex
	ended  bool
	active sync.WaitGroup
}

func newLifecycle(parent context.Context) *lifecycle {
	ctx, stop := context.WithCancel(context.WithoutCancel(parent))
	return &lifecycle{ctx: ctx, stop: stop}
}

// end hands back the bound runs and refuses new ones. It may be called
// more than once.
func (l *lifecycle) end() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
	l.stop()
}

// wait waits for the bound runs to return.
func (l *lifecycle) wait() { l.active.Wait() }

// bind returns ctx, cancelled with weft.ErrHandedBack when the lifecycle
// ends, and the function to call when the run returns.
func (l *lifecycle) bind(ctx context.Context) (context.Context, func()) {
	run, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		cancel(fmt.Errorf("weft: the server is shutting down: %w", weft.ErrHandedBack))
		return run, func() {}
	}
	l.active.Add(1)
	l.mu.Unlock()
	stop := context.AfterFunc(l.ctx, func() { cancel(weft.ErrHandedBack) })
	return run, func() {
		stop()
		cancel(nil)
		l.active.Done()
	}
}

// bindAll wraps runners so that the runs they make are bound to l.
func (l *lifecycle) bindAll(runners []weft.Runner) []weft.Runner {
	out := make([]weft.Runner, len(runners))
	for i, r := range runners {
		out[i] = boundRunner{Runner: r, life: l}
	}
	return out
}

// boundRunner is a runner whose runs are bound to a lifecycle.
type boundRunner struct {
	weft.Runner
	life *lifecycle
}

func (r boundRunner) Run(ctx context.Context, thread string, input json.RawMessage, opts ...weft.RunOption) (*weft.Result[any], error) {
	ctx, done := r.life.bind(ctx)
	defer done()
	return r.Runner.Run(ctx, thread, input, opts...)
}

func (r boundRunner) Resume(ctx context.Context, thread string, opts ...weft.RunOption) (*weft.Result[any], error) {
	ctx, done := r.life.bind(ctx)
	defer done()
	return r.Runner.Resume(ctx, thread, opts...)
}

func (r boundRunner) Continue(ctx context.Context, row checkpoint.Thread, opts ...weft.RunOption) (*weft.Result[any], error) {
	ctx, done := r.life.bind(ctx)
	defer done()
	return r.Runner.Continue(ctx, row, opts...)
}
