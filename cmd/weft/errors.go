package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// The error formatter turns the chain of wrapped errors that a failed
// command returns ("inbox: thread "x": sqlitestore: thread "x": not found")
// into one line a person can act on: the chain's own messages without the
// package prefixes and repetitions, and a hint chosen by the sentinel the
// chain wraps ("'weft threads' lists the store's threads"). --verbose adds
// the chain as it is, one level a line.

// stamp formats t for a person, as timeLayout says: local time with its
// offset from UTC; "-" for the zero time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout)
}

// packagePrefixes are the prefixes with which weft's packages start their
// messages; a person reading the command's error does not need them.
var packagePrefixes = []string{"sqlitestore: ", "pgstore: ", "memstore: ", "checkpoint: ", "inbox: ", "weft: ", "worker: ", "server: "}

// segments returns the own messages of the levels of err's chain,
// outermost first: the text each wrapper adds to the error it wraps, with
// package prefixes taken off, blank and repeated ones left out. A level
// whose message does not contain the one it wraps ends the walk (its
// message says everything), as does a level that wraps several errors.
func segments(err error) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), ":"))
		for changed := true; changed; {
			changed = false
			for _, p := range packagePrefixes {
				if t, ok := strings.CutPrefix(s, p); ok {
					s, changed = t, true
				}
			}
		}
		for _, p := range packagePrefixes {
			name := strings.TrimSuffix(p, ": ")
			s = strings.ReplaceAll(s, ": "+p, ": ")
			if s == name {
				s = ""
			}
			s = strings.TrimSuffix(s, ": "+name)
		}
		s = strings.Join(strings.Fields(s), " ") // one line: no newlines or tabs
		if s == "" || (len(out) > 0 && out[len(out)-1] == s) {
			return
		}
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	for err != nil {
		msg := err.Error()
		inner := errors.Unwrap(err)
		if inner == nil {
			add(msg)
			break
		}
		in := inner.Error()
		switch {
		case in == "":
			add(msg)
		case strings.HasSuffix(msg, in):
			add(strings.TrimSuffix(msg, in))
		case strings.HasPrefix(msg, in):
			// "%w: detail": the inner message comes first, so does its
			// segment.
			rest := strings.TrimPrefix(msg, in)
			tail := segments(inner)
			for _, s := range tail {
				add(s)
			}
			add(rest)
			return out
		case strings.Contains(msg, in):
			before, after, _ := strings.Cut(msg, in)
			add(before)
			tail := segments(inner)
			for _, s := range tail {
				add(s)
			}
			add(after)
			return out
		default:
			add(msg)
			return out
		}
		err = inner
	}
	return out
}

// sentinel is a kind of error the formatter knows: a test on the chain,
// the segment it replaces the sentinel's own text with ("" drops it), and
// the hint it prints.
type sentinel struct {
	is    func(error) bool
	text  string // the sentinel's own message, as segments gives it
	label string
	// cut are the texts at which a segment is cut short: advice meant for
	// a programmer ("open it with Options{Migrate: true}") that the hint
	// gives the command's way.
	cut  []string
	hint func(c *cli) string
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func trimmed(err error) string {
	s := segments(err)
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// sentinels are tried in order; the first that matches gives the hint.
var sentinels []sentinel

func init() {
	sentinels = []sentinel{
		{is: isErr(errNoStoreFile), text: trimmed(errNoStoreFile), label: "no such store file",
			hint: func(c *cli) string {
				return fmt.Sprintf("create it with %s, or run 'weft demo'", quoteCmd("weft migrate --store "+shellQuote(redact(c.store))))
			}},
		{is: isErr(checkpoint.ErrNotMigrated), text: trimmed(checkpoint.ErrNotMigrated),
			label: "the database is not migrated", cut: []string{": run Migrate", ": migrate the database"},
			hint: func(c *cli) string {
				return fmt.Sprintf("run %s (%s shows what it applies)", quoteCmd("weft migrate"+storeFlag(c)), quoteCmd("weft migrate --status"+storeFlag(c)))
			}},
		{is: isErr(checkpoint.ErrSchemaTooNew), text: trimmed(checkpoint.ErrSchemaTooNew),
			cut: []string{": upgrade the program"},
			hint: func(*cli) string {
				return "this weft is older than the database: install a newer one (go install github.com/weftgraph/weft/cmd/weft@latest)"
			}},
		{is: isErr(weft.ErrUnknownInterrupt), text: trimmed(weft.ErrUnknownInterrupt), label: "no such question",
			hint: func(c *cli) string {
				return fmt.Sprintf("'weft show %s' lists the questions it waits for", c.threadArg())
			}},
		{is: isErr(weft.ErrAmbiguousAnswer), text: trimmed(weft.ErrAmbiguousAnswer), label: "several questions match",
			hint: func(c *cli) string {
				return fmt.Sprintf("answer by ID: 'weft show %s' lists the questions", c.threadArg())
			}},
		{is: isErr(weft.ErrNotFound), text: trimmed(weft.ErrNotFound), label: "not found",
			hint: func(c *cli) string {
				return fmt.Sprintf("'weft threads%s' lists the threads in the store", storeFlag(c))
			}},
		{is: isErr(weft.ErrInvalidAnswer), text: trimmed(weft.ErrInvalidAnswer), label: "invalid answer",
			hint: func(c *cli) string {
				return fmt.Sprintf("'weft show %s' shows the answer each question wants; nothing was recorded", c.threadArg())
			}},
		{is: isErr(weft.ErrInvalidInput), text: trimmed(weft.ErrInvalidInput), label: "invalid input",
			hint: func(*cli) string { return "the input is JSON of the workflow's state: its fields, as stored" }},
		{is: isErr(weft.ErrAlreadyAnswered), text: trimmed(weft.ErrAlreadyAnswered), label: "already answered",
			hint: func(c *cli) string {
				return fmt.Sprintf("the first answer stands: 'weft history %s' shows who gave it and when", c.threadArg())
			}},
		{is: isErr(weft.ErrBusy), text: trimmed(weft.ErrBusy), label: "the thread is running",
			hint: func(c *cli) string {
				return fmt.Sprintf("wait for it, or 'weft stop %s' it first; 'weft show %s' shows who runs it", c.threadArg(), c.threadArg())
			}},
		{is: isErr(weft.ErrConflict), text: trimmed(weft.ErrConflict), label: "the thread changed meanwhile",
			hint: func(c *cli) string {
				return fmt.Sprintf("look at it again ('weft show %s') and retry", c.threadArg())
			}},
		{is: isErr(weft.ErrThreadCompleted), text: trimmed(weft.ErrThreadCompleted), label: "the thread has completed",
			hint: func(c *cli) string { return fmt.Sprintf("'weft history %s' shows how it ended", c.threadArg()) }},
		{is: isErr(weft.ErrThreadCancelled), text: trimmed(weft.ErrThreadCancelled), label: "the thread was cancelled",
			hint: func(c *cli) string {
				return fmt.Sprintf("'weft history %s' shows who cancelled it and why", c.threadArg())
			}},
		{is: isErr(weft.ErrNotRunning), text: trimmed(weft.ErrNotRunning), label: "",
			hint: func(c *cli) string { return fmt.Sprintf("'weft show %s' shows where it stands", c.threadArg()) }},
		{is: isErr(inbox.ErrUnknownWorkflow), text: trimmed(inbox.ErrUnknownWorkflow), label: "not a workflow this command runs",
			hint: func(c *cli) string {
				if c.command == "start" {
					return "check the name ('weft threads" + storeFlag(c) + "' lists the threads and their workflows), or pass --new"
				}
				return "this command runs only the demo workflows: run a worker (package worker) in the program that has the workflow, or serve it from there"
			}},
		{is: isErr(checkpoint.ErrBadCursor), text: trimmed(checkpoint.ErrBadCursor), label: "malformed cursor",
			hint: func(*cli) string { return "pass the cursor printed under the previous page, as it is" }},
		{is: isErr(syscall.ECONNREFUSED), label: "connection refused",
			hint: func(*cli) string { return "is the database server running, and at that address and port?" }},
		{is: func(err error) bool {
			return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
		}, label: "interrupted", hint: func(*cli) string { return "" }},
	}
}

// storeFlag is " --store X" when the command was given another store than
// the default, so that a command it suggests runs on the same store.
func storeFlag(c *cli) string {
	if c.store == "" || c.store == defaultStore() {
		return ""
	}
	return " --store " + shellQuote(redact(c.store))
}

// quoteCmd quotes a command line in a sentence: in single quotes, unless
// it has some itself (a quoted argument), then as it is.
func quoteCmd(line string) string {
	if strings.Contains(line, "'") {
		return line
	}
	return "'" + line + "'"
}

// threadArg is the THREAD argument of the command, for hints ("THREAD" if
// the command has none).
func (c *cli) threadArg() string {
	if c.thread == "" {
		return "THREAD"
	}
	return shellQuote(c.thread) + storeFlag(c)
}

// explain returns the one-line message of err and the hint for it ("" if
// none).
func explain(c *cli, err error) (msg, hint string) {
	segs := segments(err)
	var match *sentinel
	for i := range sentinels {
		if sentinels[i].is(err) {
			match = &sentinels[i]
			break
		}
	}
	if match != nil {
		// The sentinel's own text says what the hint says better: replace
		// it by the label, unless another segment says it already.
		var kept []string
		placed := false
		for _, s := range segs {
			if match.text != "" && s == match.text {
				// The label takes the sentinel's place.
				if match.label != "" && !placed {
					kept = append(kept, match.label)
					placed = true
				}
				continue
			}
			for _, cut := range match.cut {
				s, _, _ = strings.Cut(s, cut)
			}
			kept = append(kept, s)
		}
		if match.label != "" && !placed && !strings.Contains(strings.Join(kept, ": "), match.label) {
			kept = append(kept, match.label)
		}
		if len(kept) > 0 {
			segs = kept
		}
		hint = match.hint(c)
	}
	return strings.Join(segs, ": "), hint
}

// printError prints err for a person: "weft CMD: message. Hint: ..." on
// one line and, with --verbose, the chain of wrapped errors below it.
func printError(c *cli, w io.Writer, name string, err error) {
	msg, hint := explain(c, err)
	line := fmt.Sprintf("weft %s: %s", name, msg)
	if hint != "" {
		line += ". Hint: " + hint
	}
	fmt.Fprintln(w, line)
	if c.verbose {
		fmt.Fprintln(w, "The error, wrapped level by level:")
		for e := err; e != nil; e = errors.Unwrap(e) {
			fmt.Fprintf(w, "  %s: %s\n", reflect.TypeOf(e), e.Error())
		}
	}
}
