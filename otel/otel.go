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
// As a weft.Observer it adds the run's questions and answers to its span
// as events and counts them.
//
// Metrics, with attributes of low cardinality only (workflow, node,
// status, outcome; never thread or question IDs):
//
//	weft.runs              counter    runs ended, by workflow and status
//	weft.node.duration     histogram  seconds per node attempt, by workflow, node and outcome
//	weft.effects           counter    Do effects run (not replayed), by workflow and outcome
//	weft.questions         counter    questions asked, by workflow and node
//	weft.answers           counter    answers given, by workflow and channel
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
}

// Option configures New.
type Option func(*config)

type config struct {
	tp   trace.TracerProvider
	mp   metric.MeterProvider
	prop propagation.TextMapPropagator
}

// WithTracerProvider sets the tracer provider (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the meter provider (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagator sets how a run's trace context is carried across a pause
// (default: W3C trace context).
func WithPropagator(p propagation.TextMapPropagator) Option { return func(c *config) { c.prop = p } }

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
	return t
}

var (
	_ weft.Tracer   = (*Telemetry)(nil)
	_ weft.Observer = (*Telemetry)(nil)
)

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

// Observe adds questions and answers to the run's span and counts them.
func (t *Telemetry) Observe(ctx context.Context, e weft.Event) {
	span := trace.SpanFromContext(ctx)
	switch e.Type {
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
		t.answers.Add(context.Background(), 1, metric.WithAttributes(attribute.String("weft.workflow", e.Workflow), attribute.String("weft.channel", channel)))
	}
}
