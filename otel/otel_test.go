package otel_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	weftotel "github.com/weftgraph/weft/otel"
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
	if got["weft.runs"] != 1 || got["weft.effects"] != 1 || got["weft.questions"] != 1 {
		t.Errorf("metrics of the pausing process: %v", got)
	}
}
