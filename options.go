package weft

import (
	"log/slog"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

const (
	defaultStepLimit = 100
	// DefaultLease is how long a run's claim on a thread lasts without a
	// heartbeat before another process may take the thread over.
	DefaultLease = 30 * time.Second
	// DefaultHeartbeat is how often a process renews the claims of the
	// threads it runs.
	DefaultHeartbeat = 5 * time.Second
)

// CompileOption configures a Workflow at Compile.
type CompileOption interface{ applyCompile(*compileConfig) }

// RunOption configures one call of Run or Resume.
type RunOption interface{ applyRun(*runConfig) }

type compileConfig struct {
	store     checkpoint.Store
	codec     Codec
	before    []string
	after     []string
	stepLimit int
	lease     time.Duration
	beat      time.Duration
	owner     string
	defaults  any
	logger    *slog.Logger
	now       func() time.Time
	resolvers []Resolver
	observers []Observer
	tracer    Tracer
}

type runConfig struct {
	before    []string
	after     []string
	stepLimit int
	answers   []answerArg
	keyed     map[string]any // Answers
	replay    map[string]any // Answers given to Run: for questions not asked yet
	byKey     map[string]any // Answers given to Resume: for questions asked
	reply     *answerArg
	update    any // func(S) S
	gotos     []string
	zero      []string
	author    string
	channel   string
	resumer   string // who resumed (Resume with By), for the run's first checkpoint
	resolvers []Resolver
	observers []Observer
	sink      *streamSink
}

// answering reports whether a Resume gives answers.
func (rc *runConfig) answering() bool {
	return len(rc.answers) > 0 || len(rc.byKey) > 0 || rc.reply != nil
}

type compileFunc func(*compileConfig)

func (f compileFunc) applyCompile(c *compileConfig) { f(c) }

type runFunc func(*runConfig)

func (f runFunc) applyRun(c *runConfig) { f(c) }

// WithStore keeps threads in s. Without a store a Workflow keeps its threads
// in memory for its own lifetime: they pause and resume within the process,
// and are gone when it exits. Use memstore for an in-memory Store (tests),
// sqlitestore or pgstore to survive restarts.
func WithStore(s checkpoint.Store) CompileOption {
	return compileFunc(func(c *compileConfig) { c.store = s })
}

// WithCodec encodes state fields with codec instead of JSON.
func WithCodec(codec Codec) CompileOption {
	return compileFunc(func(c *compileConfig) { c.codec = codec })
}

// WithDefaults gives default values for the state: a new thread's input
// takes every field it leaves at its zero value from defaults. The value
// must be of the graph's state type.
func WithDefaults[S any](defaults S) CompileOption {
	return compileFunc(func(c *compileConfig) { c.defaults = defaults })
}

// WithLease sets how long a run's claim on a thread lasts in the store
// without a heartbeat before another process may take the thread over
// (DefaultLease, 30 seconds). A shorter lease moves a dead process's
// threads on sooner; it must stay well above the heartbeat (WithHeartbeat)
// so that a slow store or a pause of the process does not give a live
// run's thread away. Within one process a thread never runs twice at once,
// whatever the lease.
func WithLease(d time.Duration) CompileOption {
	return compileFunc(func(c *compileConfig) {
		if d > 0 {
			c.lease = d
		}
	})
}

// WithHeartbeat sets how often the process renews the claims of the
// threads it runs (DefaultHeartbeat, 5 seconds), however long their nodes
// take, and how soon it sees a stop requested from another process. More
// often costs one small write per beat (for all of the workflow's running
// threads at once).
func WithHeartbeat(d time.Duration) CompileOption {
	return compileFunc(func(c *compileConfig) {
		if d > 0 {
			c.beat = d
		}
	})
}

// WithOwner names the process in the claims the workflow's runs take
// (Thread.Owner). The default, the same for every workflow of a process,
// is host:pid:random. Two workflow values with different owners behave as
// two processes would (tests of takeovers, several workers in one
// process).
func WithOwner(owner string) CompileOption {
	return compileFunc(func(c *compileConfig) { c.owner = owner })
}

// WithLogger logs the workflow's runs (start, pause, end, failure) to l.
func WithLogger(l *slog.Logger) CompileOption {
	return compileFunc(func(c *compileConfig) { c.logger = l })
}

// WithClock makes the workflow read time from now instead of time.Now (for
// tests of deadlines and ages).
func WithClock(now func() time.Time) CompileOption {
	return compileFunc(func(c *compileConfig) { c.now = now })
}

// StepLimit bounds the supersteps one Run or Resume may take (default 100);
// past it the run fails with ErrStepLimit. It works at Compile and per run.
type StepLimit int

func (n StepLimit) applyCompile(c *compileConfig) { c.stepLimit = int(n) }
func (n StepLimit) applyRun(c *runConfig)         { c.stepLimit = int(n) }

// Breakpoint is a static interrupt; see InterruptBefore and InterruptAfter.
// It works at Compile and per run.
type Breakpoint struct {
	after bool
	nodes []string
}

// InterruptBefore pauses a run before any of nodes runs. Resume (with no
// answer, or after UpdateState) carries on past the breakpoint.
func InterruptBefore(nodes ...string) Breakpoint { return Breakpoint{nodes: nodes} }

// InterruptAfter pauses a run after any of nodes has run and its superstep
// is saved. Resume carries on from there.
func InterruptAfter(nodes ...string) Breakpoint { return Breakpoint{after: true, nodes: nodes} }

func (b Breakpoint) applyCompile(c *compileConfig) {
	if b.after {
		c.after = append(c.after, b.nodes...)
	} else {
		c.before = append(c.before, b.nodes...)
	}
}

func (b Breakpoint) applyRun(c *runConfig) {
	if b.after {
		c.after = append(c.after, b.nodes...)
	} else {
		c.before = append(c.before, b.nodes...)
	}
}

type answerArg struct {
	id    string
	value any
}

// Answer answers the question with the given ID (from Result.Interrupts,
// State or the inbox) when passed to Resume. The value is encoded as JSON and
// must satisfy the question's schema; nil is a valid answer.
func Answer(id string, value any) RunOption {
	return runFunc(func(c *runConfig) { c.answers = append(c.answers, answerArg{id: id, value: value}) })
}

// Answers answers questions by name. Given to Resume, each key names one
// question the thread waits for: its ID, its key (weft.Key, qualified by
// the subgraphs it is asked in: "decision", "inner.decision") or its node
// path ("review", "inner/approval"); a key that names none of them, or
// several, is refused (ErrUnknownInterrupt, ErrAmbiguousAnswer). Given to
// Run, the answers are for questions not asked yet: a question whose ID,
// key or node path is in answers is answered at once instead of pausing,
// each answer once. With it a run replays to the next unanswered question
// without any store (the stateless pattern: run the thread "" again with
// all answers so far).
func Answers(answers map[string]any) RunOption {
	return runFunc(func(c *runConfig) {
		if c.keyed == nil {
			c.keyed = map[string]any{}
		}
		for k, v := range answers {
			c.keyed[k] = v
		}
	})
}

// Reply answers the one question the thread waits for, when passed to
// Resume (LangGraph's Command(resume=value)); a thread that waits for
// several is refused with ErrAmbiguousAnswer.
func Reply(value any) RunOption {
	return runFunc(func(c *runConfig) { c.reply = &answerArg{value: value} })
}

// Update changes the thread's state along with the answers of a Resume,
// in the same step (LangGraph's Command(update=)): fn gets the state the
// paused superstep started from, and the fields it changes override what
// the superstep's nodes make of them when the superstep ends. fn must be a
// func(S) S of the workflow's state type S (ErrInvalidInput otherwise).
func Update[S any](fn func(S) S) RunOption {
	return runFunc(func(c *runConfig) { c.update = fn })
}

// GoTo adds nodes to those that run after the paused superstep, along with
// the answers of a Resume (LangGraph's Command(goto=)).
func GoTo(nodes ...string) RunOption {
	return runFunc(func(c *runConfig) { c.gotos = append(c.gotos, nodes...) })
}

// Zero makes a new turn (Run of a completed thread) set the named fields to
// the input's value even when it is the zero value; without it a zero
// input field keeps the thread's current value.
func Zero(fields ...string) RunOption {
	return runFunc(func(c *runConfig) { c.zero = append(c.zero, fields...) })
}

// By records who gives the answers of a Resume (or cancels a thread, or
// updates its state) and through which channel (checkpoint.ChannelAPI,
// ChannelUI, ChannelCLI, ...). The default author is "" and the channel
// "api". It is a RunOption (Resume, Cancel) and an UpdateOption
// (UpdateState, Fork): an edit made with it records the author in its
// checkpoint, which Snapshot.Author and History show.
func By(author, channel string) AuthorOption {
	return AuthorOption{author: author, channel: channel}
}

// AuthorOption is the option By returns: both a RunOption and an
// UpdateOption.
type AuthorOption struct{ author, channel string }

func (o AuthorOption) applyRun(c *runConfig)       { c.author, c.channel = o.author, o.channel }
func (o AuthorOption) applyUpdate(c *updateConfig) { c.author, c.channel = o.author, o.channel }
