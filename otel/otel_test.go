package otel_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	weftotel "github.com/weftgraph/weft/otel"
	"github.com/weftgraph/weft/worker"
)

type Order struct {
	Receipt, Decision string
}

// process is one process's view: its own exporters, providers, store
// handle and workflow, on a shared SQLite file.
type process struct {
	spans   *tracetest.InMemoryExporter
	metrics *sdkmetric.ManualReader
	wf      *weft.Workflow[Order]
}

func newProcess(t *testing.T, path string) *process {
	t.Helper()
	store, err := sqlitestore.Open(t.Context(), path, sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p := &process{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(p.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(p.metrics))
	tel := weftotel.New(weftotel.WithTracerProvider(tp), weftotel.WithMeterProvider(mp))
	p.wf = order(t, store, tel)
	return p
}

func order(t *testing.T, store checkpoint.Store, tel *weftotel.Telemetry) *weft.Workflow[Order] {
	g := weft.NewGraph[Order]("order")
	g.AddNode("charge", func(ctx context.Context, o Order) (Order, error) {
		r, err := weft.Do(ctx, "charge", func(ctx context.Context) (string, error) { return "r-1", nil })
		o.Receipt = r
		return o, err
	})
	g.AddNode("approve", func(ctx context.Context, o Order) (Order, error) {
		d, err := weft.Interrupt[string](ctx, o.Receipt, weft.Key("decision"))
		o.Decision = d
		return o, err
	})
	g.AddEdge(weft.Start, "charge").AddEdge("charge", "approve")
	wf, err := g.Compile(weft.WithStore(store), weft.WithTracer(tel), weft.WithObserver(tel))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// TestPauseHereResumeThere: a run pauses in one process and is resumed in
// another; each traces its own spans, nested run > node > effect, and the
// resumed run links to the run that asked.
func TestPauseHereResumeThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	a, b := newProcess(t, path), newProcess(t, path)
	ctx := context.Background()
	res, err := a.wf.Run(ctx, "o1", Order{})
	if err != nil || !res.Paused() {
		t.Fatalf("run: %v %+v", err, res)
	}
	res, err = b.wf.Resume(ctx, "o1", weft.Answers(map[string]any{"decision": "approve"}), weft.By("ann", checkpoint.ChannelAPI))
	if err != nil || res.Status != weft.StatusCompleted {
		t.Fatalf("resume: %v %+v", err, res)
	}

	as := a.spans.GetSpans()
	if got, want := names(as), []string{"weft.effect charge", "weft.node approve", "weft.node charge", "weft.run order"}; !slices.Equal(got, want) {
		t.Fatalf("spans of the pausing process %q, want %q", got, want)
	}
	var runA, nodeCharge, effect tracetest.SpanStub
	for _, s := range as {
		switch s.Name {
		case "weft.run order":
			runA = s
		case "weft.node charge":
			nodeCharge = s
		case "weft.effect charge":
			effect = s
		}
	}
	if nodeCharge.Parent.SpanID() != runA.SpanContext.SpanID() || effect.Parent.SpanID() != nodeCharge.SpanContext.SpanID() {
		t.Errorf("spans do not nest run > node > effect")
	}
	questions := 0
	for _, ev := range runA.Events {
		if ev.Name == "weft.question" {
			questions++
		}
	}
	if questions != 1 {
		t.Errorf("the pausing run's span has %d question events, want 1", questions)
	}

	bs := b.spans.GetSpans()
	var runB tracetest.SpanStub
	for _, s := range bs {
		if s.Name == "weft.run order" {
			runB = s
		}
		if s.Name == "weft.effect charge" {
			t.Errorf("the resumed run ran the journaled effect again")
		}
	}
	if len(runB.Links) != 1 || runB.Links[0].SpanContext.SpanID() != runA.SpanContext.SpanID() {
		t.Fatalf("the resumed run's links %+v, want one to the pausing run %s", runB.Links, runA.SpanContext.SpanID())
	}

	// Metrics: a run per process, by status; one effect; one question.
	var rm metricdata.ResourceMetrics
	if err := a.metrics.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					got[m.Name] += dp.Value
				}
			}
		}
	}
	if got["weft.runs"] != 1 || got["weft.effects"] != 1 || got["weft.questions"] != 1 || got["weft.supersteps"] != 1 {
		t.Errorf("metrics of the pausing process: %v", got)
	}
	// The resuming process counts the answer and how long it waited.
	gotB := collect(t, b.metrics)
	if gotB.sums["weft.answers"] != 1 || gotB.sums["weft.runs"] != 1 || gotB.sums["weft.supersteps"] != 1 {
		t.Errorf("metrics of the resuming process: %v", gotB.sums)
	}
	if h := gotB.hists["weft.answer.latency"]; h.Count != 1 || h.Sum < 0 {
		t.Errorf("weft.answer.latency of the resuming process: %+v, want one value", h)
	}
	if _, ok := collect(t, a.metrics).hists["weft.answer.latency"]; ok {
		t.Errorf("the pausing process recorded an answer latency")
	}
}

// collected is what a reader collected: sums of counters and gauges by
// name (over their attributes), histograms by name.
type collected struct {
	sums   map[string]int64
	points map[string][]metricdata.DataPoint[int64]
	hists  map[string]metricdata.HistogramDataPoint[float64]
}

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	c := collected{sums: map[string]int64{}, points: map[string][]metricdata.DataPoint[int64]{}, hists: map[string]metricdata.HistogramDataPoint[float64]{}}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					c.sums[m.Name] += dp.Value
				}
				c.points[m.Name] = d.DataPoints
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					c.sums[m.Name] += dp.Value
				}
				c.points[m.Name] = d.DataPoints
			case metricdata.Histogram[float64]:
				var h metricdata.HistogramDataPoint[float64]
				for _, dp := range d.DataPoints {
					h.Count += dp.Count
					h.Sum += dp.Sum
				}
				c.hists[m.Name] = h
			}
		}
	}
	return c
}

// attr returns the value of attribute key of dp ("" if it has none).
func attr(dp metricdata.DataPoint[int64], key string) string {
	v, ok := dp.Attributes.Value(attribute.Key(key))
	if !ok {
		return ""
	}
	return v.Emit()
}

// TestWorkerMetrics: a worker given the Telemetry as its monitor counts
// its claims and the deadlines it fires; the pending gauge reads the
// store; a takeover and a lost claim carry their attributes.
func TestWorkerMetrics(t *testing.T) {
	ctx := t.Context()
	store, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reader := sdkmetric.NewManualReader()
	tel := weftotel.New(weftotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		weftotel.WithTracerProvider(sdktrace.NewTracerProvider()), weftotel.WithPending(store))

	g := weft.NewGraph[Order]("due")
	g.AddNode("ask", func(ctx context.Context, o Order) (Order, error) {
		d, err := weft.Interrupt[string](ctx, "ok?", weft.Key("decision"), weft.Within(time.Millisecond, "timed out"))
		o.Decision = d
		return o, err
	})
	g.AddEdge(weft.Start, "ask")
	wf, err := g.Compile(weft.WithStore(store), weft.WithObserver(tel))
	if err != nil {
		t.Fatal(err)
	}
	g2 := weft.NewGraph[Order]("slow")
	g2.AddNode("ask", func(ctx context.Context, o Order) (Order, error) {
		d, err := weft.Interrupt[string](ctx, "ok?", weft.Key("decision"))
		o.Decision = d
		return o, err
	})
	g2.AddEdge(weft.Start, "ask")
	slow, err := g2.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		if _, err := slow.Run(ctx, id, Order{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := collect(t, reader).points["weft.questions.pending"]; len(got) != 1 || got[0].Value != 2 || attr(got[0], "weft.workflow") != "slow" {
		t.Fatalf("weft.questions.pending = %+v, want slow: 2", got)
	}

	wk, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 5 * time.Millisecond, Deadlines: 5 * time.Millisecond,
		Monitor: tel, RunOptions: []weft.RunOption{weft.WithObserver(tel)}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- wk.Run(wctx) }()
	if _, err := wf.Submit(ctx, "d1", Order{}); err != nil {
		t.Fatal(err)
	}
	var c collected
	for {
		row, err := store.Thread(ctx, "d1")
		if err != nil {
			t.Fatal(err)
		}
		c = collect(t, reader)
		if row.Status == checkpoint.StatusCompleted && c.sums["weft.deadlines.fired"] == 1 && c.sums["weft.claims"] >= 2 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("gave up: thread %s, metrics %v", row.Status, c.sums)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, dp := range c.points["weft.claims"] {
		if attr(dp, "weft.workflow") != "due" || attr(dp, "weft.takeover") != "false" {
			t.Errorf("weft.claims point %v", dp.Attributes.ToSlice())
		}
	}
	if dp := c.points["weft.deadlines.fired"]; len(dp) != 1 || attr(dp[0], "weft.action") != "fallback" || attr(dp[0], "weft.node") != "ask" {
		t.Errorf("weft.deadlines.fired = %+v", dp)
	}
	if h := c.hists["weft.answer.latency"]; h.Count != 1 {
		t.Errorf("weft.answer.latency: %+v, want the fallback's", h)
	}

	tel.Claimed(ctx, "due", true)
	tel.ClaimLost(ctx, "due")
	c = collect(t, reader)
	takeovers := int64(0)
	for _, dp := range c.points["weft.claims"] {
		if attr(dp, "weft.takeover") == "true" {
			takeovers += dp.Value
		}
	}
	if takeovers != 1 || c.sums["weft.claims.lost"] != 1 {
		t.Errorf("takeovers %d, lost claims %d; want 1 and 1", takeovers, c.sums["weft.claims.lost"])
	}
}
