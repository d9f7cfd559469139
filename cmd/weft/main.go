package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// Exit codes.
const (
	exitOK       = 0 // the command did what it was asked
	exitError    = 1 // anything else went wrong
	exitUsage    = 2 // bad command, flag or argument
	exitNotFound = 3 // no such store, thread or question
	exitConflict = 4 // already answered, busy, completed, running elsewhere
	exitInvalid  = 5 // the answer does not fit the question's schema
	exitWaiting  = 6 // stopped waiting for an outcome; the request stands
)

const exitCodesHelp = `Exit codes:
  0  ok
  1  error
  2  usage: unknown command, bad flag or argument (an answer's --key that
     matches several questions)
  3  not found: no such store file, thread or question
  4  conflict: the question was already answered (or cancelled), the thread
     is busy (running), completed or cancelled, or in a state the command
     does not apply to (stop of a failed thread)
  5  invalid answer or input: the value does not fit the question's schema
     (or, for start, the workflow's state)
  6  stopped waiting (Ctrl-C or --timeout) for a worker to carry out what
     was recorded (an answer, a resume, a stop, a run): the request stands
`

// defaultStore is the store of commands without --store.
func defaultStore() string {
	if s := os.Getenv("WEFT_STORE"); s != "" {
		return s
	}
	return "sqlite:weft.db"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli is one invocation of a command: its streams and common flags.
type cli struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	store   string // --store
	json    bool   // --json
	verbose bool   // --verbose
	thread  string // the THREAD argument, for the hints of errors
	command string // the command's name
	queue   bool   // the inbox leaves threads ready for a worker (resume --ready)

	closers []io.Closer
	run     func(args []string) error // the command, from its setup
}

// command is one of weft's commands.
type command struct {
	name    string
	args    string // the positional arguments, as shown in the usage line
	nargs   [2]int // least and most positional arguments (-1: any)
	summary string
	help    string // the manual of the command, after its usage line
	noJSON  bool   // the command has no --json output
	// setup declares the command's flags on fs and returns the function
	// that runs it with the positional arguments.
	setup func(c *cli, fs *flag.FlagSet) func(args []string) error
}

// commands lists weft's commands in the order help shows them.
var commands []*command

func init() {
	commands = []*command{
		demoCmd, serveCmd, inboxCmd, threadsCmd, showCmd, historyCmd, eventsCmd, startCmd, answerCmd, stopCmd, cancelCmd, resumeCmd, migrateCmd,
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func topUsage(w io.Writer) {
	fmt.Fprint(w, `weft is the command line of weft: durable workflows that pause for a human.

Usage: weft COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Every command takes --store sqlite:PATH or --store postgres://... (default:
$WEFT_STORE, or sqlite:weft.db). Commands that print take --json for
machine-readable output. Flags may come before or after the arguments; put
"--" before an argument that starts with "-".

Run 'weft COMMAND --help' for a command's manual, or 'weft demo' to start.

%s`, exitCodesHelp)
}

func (cmd *command) usage(w io.Writer, fs *flag.FlagSet) {
	line := "weft " + cmd.name + " [flags]"
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", line, strings.TrimSpace(cmd.help))
	fmt.Fprintf(w, "\nFlags:\n")
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	slices.Sort(names)
	for _, n := range names {
		f := fs.Lookup(n)
		typ, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if typ != "" {
			head += " " + typ
		}
		fmt.Fprintln(w, head)
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "      %s%s\n", usage, def)
	}
	fmt.Fprintf(w, "\n%s", exitCodesHelp)
}

// run runs weft with args (without the program name) and returns its exit
// code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			if cmd := lookup(args[1]); cmd != nil {
				c := &cli{}
				cmd.usage(stdout, c.flagSet(cmd))
				return exitOK
			}
			fmt.Fprintf(stderr, "weft: unknown command %q\n", args[1])
			return exitUsage
		}
		topUsage(stdout)
		return exitOK
	}
	cmd := lookup(args[0])
	if cmd == nil {
		fmt.Fprintf(stderr, "weft: unknown command %q\n\n", args[0])
		topUsage(stderr)
		return exitUsage
	}
	// Everything the command prints goes through terminalSafe: what it
	// prints comes, in part, from whoever asked or answered.
	c := &cli{ctx: ctx, stdin: stdin, stdout: terminalSafe{stdout}, stderr: terminalSafe{stderr}, command: cmd.name}
	fs := c.flagSet(cmd)
	pos, err := parseArgs(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		cmd.usage(stdout, fs)
		return exitOK
	}
	if err == nil {
		err = checkArgs(cmd, pos)
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "weft %s: %v\nRun 'weft %s --help' for usage.\n", cmd.name, err, cmd.name)
		return exitUsage
	}
	if i := slices.Index(strings.Fields(cmd.args), "THREAD"); i >= 0 && i < len(pos) {
		c.thread = pos[i]
	}
	err = c.run(pos)
	for i := len(c.closers) - 1; i >= 0; i-- {
		if cerr := c.closers[i].Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return c.fail(cmd, err)
	}
	return exitOK
}

func (c *cli) flagSet(cmd *command) *flag.FlagSet {
	fs := flag.NewFlagSet("weft "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&c.store, "store", defaultStore(), "the store: sqlite:`PATH` or a postgres:// URL")
	if !cmd.noJSON {
		fs.BoolVar(&c.json, "json", false, "print JSON instead of text")
	}
	fs.BoolVar(&c.verbose, "verbose", false, "log what the command does, and print an error with its whole chain of causes")
	c.run = cmd.setup(c, fs)
	return fs
}

// parseArgs parses flags anywhere among the arguments and returns the
// positional ones. After "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func checkArgs(cmd *command, pos []string) error {
	lo, hi := cmd.nargs[0], cmd.nargs[1]
	switch {
	case len(pos) < lo:
		return fmt.Errorf("missing arguments: want %s", cmd.args)
	case hi >= 0 && len(pos) > hi:
		if hi == 0 {
			return fmt.Errorf("unexpected argument %q", pos[0])
		}
		return fmt.Errorf("too many arguments: want %s", cmd.args)
	}
	return nil
}

// usageError is a mistake in how a command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errNoStoreFile is the error of a store file that does not exist.
var errNoStoreFile = errors.New("no such store file")

// exitCode maps an error to the exit code it is reported with, and a short
// name of the kind of error for --json output.
func exitCode(err error) (int, string) {
	var ue *usageError
	switch {
	case errors.As(err, &ue):
		return exitUsage, "usage"
	case errors.Is(err, weft.ErrAmbiguousAnswer):
		return exitUsage, "ambiguous"
	case errors.Is(err, weft.ErrInvalidAnswer), errors.Is(err, weft.ErrInvalidInput):
		return exitInvalid, "invalid_answer"
	case errors.Is(err, weft.ErrUnknownInterrupt):
		return exitNotFound, "unknown_interrupt"
	case errors.Is(err, weft.ErrNotFound), errors.Is(err, errNoStoreFile):
		return exitNotFound, "not_found"
	case errors.Is(err, weft.ErrAlreadyAnswered):
		return exitConflict, "already_answered"
	case errors.Is(err, weft.ErrBusy), errors.Is(err, weft.ErrConflict):
		return exitConflict, "busy"
	case errors.Is(err, weft.ErrThreadCompleted):
		return exitConflict, "thread_completed"
	case errors.Is(err, weft.ErrThreadCancelled):
		return exitConflict, "thread_cancelled"
	case errors.Is(err, weft.ErrThreadPaused), errors.Is(err, weft.ErrNotRunning), errors.Is(err, weft.ErrGraphChanged):
		return exitConflict, "conflict"
	case errors.Is(err, inbox.ErrUnknownWorkflow):
		return exitError, "unknown_workflow"
	case errors.Is(err, errGaveUp):
		return exitWaiting, "still_waiting"
	case errors.Is(err, errThreadFailed):
		return exitError, "thread_failed"
	}
	return exitError, "error"
}

// fail reports err, as one line with a hint (see explain), and returns
// the exit code. With --json the error is a JSON object: "error" is the
// whole chain, "message" and "hint" what a person reads.
func (c *cli) fail(cmd *command, err error) int {
	code, kind := exitCode(err)
	if c.json {
		msg, hint := explain(c, err)
		out := map[string]any{"error": err.Error(), "message": msg, "code": kind, "exit": code}
		if hint != "" {
			out["hint"] = hint
		}
		data, _ := json.Marshal(out)
		fmt.Fprintf(c.stderr, "%s\n", data)
		return code
	}
	printError(c, c.stderr, cmd.name, err)
	if code == exitUsage {
		fmt.Fprintf(c.stderr, "Run 'weft %s --help' for usage.\n", cmd.name)
	}
	return code
}

// logger logs to stderr: warnings, or everything with --verbose.
func (c *cli) logger(level slog.Level) *slog.Logger {
	if c.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: level}))
}

// printJSON prints v as indented JSON.
func (c *cli) printJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", data)
	return err
}

// openInbox opens the store (with the outbox on if it is in use, see
// openReporting) and returns an inbox over it with the demo workflows.
func (c *cli) openInbox(migrate bool) (*inbox.Inbox, error) {
	store, err := c.openReporting(migrate)
	if err != nil {
		return nil, err
	}
	runners, err := demoRunners(store)
	if err != nil {
		return nil, err
	}
	opts := []inbox.Option{inbox.WithLogger(c.logger(slog.LevelWarn))}
	if c.queue {
		opts = append(opts, inbox.WithQueue())
	}
	return inbox.New(store, runners, opts...), nil
}

// openThread opens the inbox (as openInbox, without migrating) and loads
// the row of thread id, with an error that says what is missing.
func (c *cli) openThread(id string) (*inbox.Inbox, *checkpoint.Thread, error) {
	ib, err := c.openInbox(false)
	if err != nil {
		return nil, nil, err
	}
	row, err := ib.Store().Thread(c.ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("thread %q: %w", id, err)
	}
	return ib, row, nil
}
