// Package otel traces and measures weft workflows with OpenTelemetry. It is
// a module of its own (github.com/weftgraph/weft/otel), so that weft itself
// does not depend on OpenTelemetry.
//
//	tel := otel.New() // the global tracer and meter providers
//	wf, err := g.Compile(weft.WithStore(store), weft.WithTracer(tel), weft.WithObserver(tel))
//
// As a weft.Tracer it makes a span per run ("weft.run"), per node attempt
// ("weft.node", a child of its run's) and per Do effect ("weft.effect", a
// child of its node's), and gives nodes the span's context, so that their
// own instrumentation nests under it. At a pause it carries the run's trace
// context (W3C traceparent by default) with the thread in the store: the
// run that resumes the thread, in this process or another, links to the run
// that asked, so one question's life reads as one story across processes
// and days.
//
// As a weft.Observer it adds the run's supersteps, questions and answers
// to its span as events and counts them. As a weft.Monitor, given to
// workers (worker.Config.Monitor), it counts their claims, takeovers and
// lost claims, and the deadlines their maintenance fires:
//
//	wk, err := worker.New(store, runners, worker.Config{Monitor: tel, RunOptions: []weft.RunOption{weft.WithObserver(tel)}})
//
// With WithPending it reports how many questions wait, from the store.
//
// Metrics, with attributes of low cardinality only (workflow, node,
// status, outcome, channel, action; never thread or question IDs):
//
//	weft.runs               counter    runs ended, by workflow and status
//	weft.supersteps         counter    supersteps committed, by workflow
//	weft.node.duration      histogram  seconds per node attempt, by workflow, node and outcome
//	weft.effects            counter    Do effects run (not replayed), by workflow and outcome
//	weft.questions          counter    questions asked, by workflow and node
//	weft.answers            counter    answers given, by workflow and channel
//	weft.answer.latency     histogram  seconds from a question to its answer, by workflow, node and channel
//	weft.questions.pending  gauge      questions waiting for an answer, by workflow (WithPending)
//	weft.deadlines.fired    counter    deadlines fired, by workflow, node and action (escalated, fallback)
//	weft.claims             counter    threads claimed by workers, by workflow and takeover (true: from a dead owner)
//	weft.claims.lost        counter    runs fenced out because another process took their thread over, by workflow
//
// An answer is counted, with its latency, once: by the observer of the
// run it is given to (Resume), or, for an answer recorded for a worker to
// carry on with (a worker's deadline fallback, a server's inbox without
// the workflow), by the monitor of the inbox that recorded it.
package otel

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// scope is the instrumentation scope's name.
const scope = "github.com/weftgraph/weft/otel"

// Telemetry implements weft.Tracer and weft.Observer with OpenTelemetry.
type Telemetry struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator

	runs      metric.Int64Counter
	nodeDur   metric.Float64Histogram
	effects   metric.Int64Counter
	questions metric.Int64Counter
	answers   metric.Int64Counter
	steps     metric.Int64Counter
	latency   metric.Float64Histogram
	deadlines metric.Int64Counter
	claims    metric.Int64Counter
	lost      metric.Int64Counter
}

// Option configures New.
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	prop    propagation.TextMapPropagator
	pending checkpoint.PendingCounter
}

// WithTracerProvider sets the tracer provider (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the meter provider (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagator sets how a run's trace context is carried across a pause
// (default: W3C trace context).
func WithPropagator(p propagation.TextMapPropagator) Option { return func(c *config) { c.prop = p } }

// WithPending reports the gauge weft.questions.pending, read from pc (a
// store: memstore, sqlitestore and pgstore are checkpoint.PendingCounters)
// each time the meter collects. Give it to the Telemetry of one process of
// a deployment only: every process would report the same count.
func WithPending(pc checkpoint.PendingCounter) Option { return func(c *config) { c.pending = pc } }

// New returns Telemetry that reports to the given providers.
func New(opts ...Option) *Telemetry {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider(), prop: propagation.TraceContext{}}
	for _, o := range opts {
		o(&c)
	}
	m := c.mp.Meter(scope)
	t := &Telemetry{tracer: c.tp.Tracer(scope), prop: c.prop}
	// Instrument creation fails only for invalid names; these are valid.
	t.runs, _ = m.Int64Counter("weft.runs", metric.WithDescription("Runs ended, by workflow and status."))
	t.nodeDur, _ = m.Float64Histogram("weft.node.duration", metric.WithUnit("s"), metric.WithDescription("Duration of node attempts."))
	t.effects, _ = m.Int64Counter("weft.effects", metric.WithDescription("Do effects run (not replayed)."))
	t.questions, _ = m.Int64Counter("weft.questions", metric.WithDescription("Questions asked."))
	t.answers, _ = m.Int64Counter("weft.answers", metric.WithDescription("Answers given."))
	t.steps, _ = m.Int64Counter("weft.supersteps", metric.WithDescription("Supersteps committed."))
	t.latency, _ = m.Float64Histogram("weft.answer.latency", metric.WithUnit("s"),
		metric.WithDescription("Time from a question to its answer."))
	t.deadlines, _ = m.Int64Counter("weft.deadlines.fired", metric.WithDescription("Deadlines fired (escalated or answered with the fallback)."))
	t.claims, _ = m.Int64Counter("weft.claims", metric.WithDescription("Threads claimed by workers; takeover: from an owner presumed dead."))
	t.lost, _ = m.Int64Counter("weft.claims.lost", metric.WithDescription("Runs fenced out: another process took their thread over."))
	if pc := c.pending; pc != nil {
		_, _ = m.Int64ObservableGauge("weft.questions.pending", metric.WithDescription("Questions waiting for an answer."),
			metric.WithInt64Callback(func(ctx context.Context, o metric.Int64Observer) error {
				counts, err := pc.CountPending(ctx)
				if err != nil {
					return err
				}
				for workflow, n := range counts {
					o.Observe(n, metric.WithAttributes(attribute.String("weft.workflow", workflow)))
				}
				return nil
			}))
	}
	return t
}

var (
	_ weft.Tracer   = (*Telemetry)(nil)
	_ weft.Observer = (*Telemetry)(nil)
	_ weft.Monitor  = (*Telemetry)(nil)
)

// Claimed counts a worker's claim (weft.claims).
func (t *Telemetry) Claimed(ctx context.Context, workflow string, takeover bool) {
	t.claims.Add(ctx, 1, metric.WithAttributes(attribute.String("weft.workflow", workflow), attribute.Bool("weft.takeover", takeover)))
}

// ClaimLost counts a run fenced out of its thread (weft.claims.lost).
func (t *Telemetry) ClaimLost(ctx context.Context, workflow string) {
	t.lost.Add(ctx, 1, metric.WithAttributes(attribute.String("weft.workflow", workflow)))
}

// Answered records the latency of an answer recorded for a worker to
// carry on with (weft.answer.latency); answers given to a run are
// recorded from its EventAnswered.
func (t *Telemetry) Answered(ctx context.Context, workflow, node, channel string, waited time.Duration) {
	t.answered(ctx, workflow, node, channel, waited, true)
}

// answered counts an answer (weft.answers) and, if known, how long its
// question waited (weft.answer.latency).
func (t *Telemetry) answered(ctx context.Context, workflow, node, channel string, waited time.Duration, known bool) {
	t.answers.Add(ctx, 1, metric.WithAttributes(attribute.String("weft.workflow", workflow), attribute.String("weft.channel", channel)))
	if known {
		t.latency.Record(ctx, max(waited, 0).Seconds(), metric.WithAttributes(
			attribute.String("weft.workflow", workflow), attribute.String("weft.node", node), attribute.String("weft.channel", channel)))
	}
}

// DeadlineFired counts a fired deadline (weft.deadlines.fired).
func (t *Telemetry) DeadlineFired(ctx context.Context, workflow, node string, action weft.DeadlineAction) {
	t.deadlines.Add(ctx, 1, metric.WithAttributes(attribute.String("weft.workflow", workflow), attribute.String("weft.node", node),
		attribute.String("weft.action", string(action))))
}

// workflowKey carries the run's workflow name to its nodes' and effects'
// metrics.
type workflowKey struct{}

func workflowOf(ctx context.Context) string {
	w, _ := ctx.Value(workflowKey{}).(string)
	return w
}

// Run starts a run's span, linked to the run that paused the thread.
func (t *Telemetry) Run(ctx context.Context, run weft.TraceRun, linked map[string]string) (context.Context, func(weft.Status, error)) {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("weft.workflow", run.Workflow),
			attribute.String("weft.thread", run.Thread),
			attribute.Bool("weft.resumed", run.Resumed),
			attribute.String("weft.checkpoint", run.Checkpoint),
		),
	}
	if len(linked) > 0 {
		sc := trace.SpanContextFromContext(t.prop.Extract(context.Background(), propagation.MapCarrier(linked)))
		if sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{attribute.String("weft.link", "paused run")}}))
		}
	}
	ctx, span := t.tracer.Start(ctx, "weft.run "+run.Workflow, opts...)
	ctx = context.WithValue(ctx, workflowKey{}, run.Workflow)
	return ctx, func(status weft.Status, err error) {
		span.SetAttributes(attribute.String("weft.status", string(status)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
		t.runs.Add(context.Background(), 1, metric.WithAttributes(attribute.String("weft.workflow", run.Workflow), attribute.String("weft.status", string(status))))
	}
}

// Node starts a node attempt's span.
func (t *Telemetry) Node(ctx context.Context, n weft.TraceNode) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, "weft.node "+n.Node, trace.WithAttributes(
		attribute.String("weft.node", n.Node),
		attribute.String("weft.task", n.Task),
		attribute.Int("weft.superstep", n.Superstep),
		attribute.Int("weft.attempt", n.Attempt),
	))
	start := time.Now()
	return ctx, func(err error) {
		outcome := end(span, err)
		t.nodeDur.Record(context.Background(), time.Since(start).Seconds(), metric.WithAttributes(
			attribute.String("weft.workflow", n.Workflow), attribute.String("weft.node", n.Node), attribute.String("weft.outcome", outcome)))
	}
}

// Effect starts a Do effect's span.
func (t *Telemetry) Effect(ctx context.Context, key, effectID string) (context.Context, func(error)) {
	ctx, span := t.tracer.Start(ctx, "weft.effect "+key, trace.WithAttributes(
		attribute.String("weft.effect.key", key), attribute.String("weft.effect.id", effectID)))
	workflow := workflowOf(ctx)
	return ctx, func(err error) {
		outcome := end(span, err)
		t.effects.Add(context.Background(), 1, metric.WithAttributes(attribute.String("weft.workflow", workflow), attribute.String("weft.outcome", outcome)))
	}
}

// end ends span with err and returns the outcome attribute: "ok" or
// "error".
func end(span trace.Span, err error) string {
	outcome := "ok"
	if err != nil {
		outcome = "error"
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return outcome
}

// Carry returns the run's trace context, to keep with its pause.
func (t *Telemetry) Carry(ctx context.Context) map[string]string {
	m := propagation.MapCarrier{}
	t.prop.Inject(ctx, m)
	return m
}

// Observe adds supersteps, questions and answers to the run's span and
// counts them; an answer's latency goes to weft.answer.latency.
func (t *Telemetry) Observe(ctx context.Context, e weft.Event) {
	span := trace.SpanFromContext(ctx)
	switch e.Type {
	case weft.EventStepCommitted:
		span.AddEvent("weft.superstep", trace.WithAttributes(attribute.String("weft.checkpoint", e.Checkpoint),
			attribute.StringSlice("weft.next", e.Next)))
		t.steps.Add(context.Background(), 1, metric.WithAttributes(attribute.String("weft.workflow", e.Workflow)))
	case weft.EventInterrupted:
		for _, q := range e.Questions {
			span.AddEvent("weft.question", trace.WithAttributes(
				attribute.String("weft.question.id", q.ID), attribute.String("weft.node", q.Node), attribute.String("weft.question.key", q.Key)))
			t.questions.Add(context.Background(), 1, metric.WithAttributes(attribute.String("weft.workflow", e.Workflow), attribute.String("weft.node", q.Node)))
		}
	case weft.EventAnswered:
		node, channel := e.Node, ""
		if a := e.Answer; a != nil {
			node, channel = a.Node, a.Channel
		}
		span.AddEvent("weft.answer", trace.WithAttributes(attribute.String("weft.node", node), attribute.String("weft.channel", channel)))
		a := e.Answer
		known := a != nil && !a.Asked.IsZero() && !a.Answered.Before(a.Asked)
		var waited time.Duration
		if known {
			waited = a.Answered.Sub(a.Asked)
		}
		t.answered(context.Background(), e.Workflow, node, channel, waited, known)
	}
}
