package weftest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/weftest"
)

type Refund struct {
	Amount   int
	Decision string
	Paid     bool
}

// refund asks for approval (falling back to "deny" after a day), then
// pays, journaled with Do.
func refund(kit *weftest.Kit, effects *weftest.Effects) *weft.Workflow[Refund] {
	g := weft.NewGraph[Refund]("refund")
	g.AddNode("approve", func(ctx context.Context, r Refund) (Refund, error) {
		d, err := weft.Interrupt[string](ctx, map[string]int{"amount": r.Amount}, weft.Key("decision"), weft.Within(24*time.Hour, "deny"))
		r.Decision = d
		return r, err
	})
	g.AddNode("pay", func(ctx context.Context, r Refund) (Refund, error) {
		if r.Decision != "approve" {
			return r, nil
		}
		_, err := weft.Do(ctx, "pay", func(ctx context.Context) (bool, error) { effects.Ran(ctx); return true, nil })
		r.Paid = err == nil
		return r, err
	})
	g.AddEdge(weft.Start, "approve").AddEdge("approve", "pay")
	wf, err := g.Compile(kit.Options()...)
	if err != nil {
		panic(err)
	}
	return wf
}

func TestFlow(t *testing.T) {
	kit := weftest.New(t)
	var effects weftest.Effects
	wf := refund(kit, &effects)
	th := weftest.Start(t, wf, Refund{Amount: 120})
	q := th.Asks("approve")
	if p := weftest.Payload[map[string]int](t, q); p["amount"] != 120 {
		t.Fatalf("payload %v", p)
	}
	if th.AsksKey("decision").ID != q.ID {
		t.Fatal("AsksKey found another question")
	}
	th.Answer("decision", "approve").WantStatus(weft.StatusCompleted).WantState(Refund{Amount: 120, Decision: "approve", Paid: true})
	effects.WantOnce(t, 1)
}

func TestDeadline(t *testing.T) {
	kit := weftest.New(t)
	wf := refund(kit, &weftest.Effects{})
	th := weftest.Start(t, wf, Refund{Amount: 5})
	kit.Advance(23 * time.Hour)
	if n := kit.FireDue(wf.Runner()); n != 0 {
		t.Fatalf("fired %d before the deadline", n)
	}
	kit.Advance(2 * time.Hour)
	if n := kit.FireDue(wf.Runner()); n != 1 {
		t.Fatalf("fired %d at the deadline", n)
	}
	th.WantStatus(weft.StatusCompleted).WantState(Refund{Amount: 5, Decision: "deny"})
}

func TestDiff(t *testing.T) {
	if d := weftest.Diff(Refund{Amount: 1}, Refund{Amount: 1}); d != "" {
		t.Errorf("equal values: %q", d)
	}
	d := weftest.Diff(Refund{Amount: 1, Paid: true}, Refund{Amount: 2, Paid: true})
	if !strings.Contains(d, `-   "Amount": 1,`) || !strings.Contains(d, `+   "Amount": 2,`) || !strings.Contains(d, `    "Paid": true`) {
		t.Errorf("diff:\n%s", d)
	}
}

// fakeTB records failures instead of stopping the test, to check that the
// kit's checks fail when they should.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	panic(f)
}

func fails(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	f := &fakeTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		fn(f)
	}()
	return f.failed
}

func TestChecksFail(t *testing.T) {
	kit := weftest.New(t)
	var effects weftest.Effects
	wf := refund(kit, &effects)
	th := weftest.Start(t, wf, Refund{Amount: 1})
	for name, fn := range map[string]func(tb testing.TB){
		"wrong node":   func(tb testing.TB) { weftest.Start(tb, wf, Refund{}).Asks("pay") },
		"wrong status": func(tb testing.TB) { weftest.Start(tb, wf, Refund{}).WantStatus(weft.StatusCompleted) },
		"wrong state":  func(tb testing.TB) { weftest.Start(tb, wf, Refund{}).WantState(Refund{Amount: 9}) },
		"unknown key":  func(tb testing.TB) { weftest.Start(tb, wf, Refund{}).Answer("nope", "x") },
		"repeated": func(tb testing.TB) {
			var e weftest.Effects
			ctx := context.Background()
			e.Ran(ctx)
			e.Ran(ctx)
			e.WantOnce(tb, -1)
		},
	} {
		if msg := fails(t, fn); msg == "" {
			t.Errorf("%s: the check did not fail", name)
		}
	}
	th.Reply("approve").WantStatus(weft.StatusCompleted)
}

// Example tests a refund flow: the question, an answer by key, the end
// state and the effect that ran once.
func Example() {
	t := &testing.T{} // in a test, the *testing.T given to it
	kit := weftest.New(t)
	var effects weftest.Effects
	wf := refund(kit, &effects)
	th := weftest.Start(t, wf, Refund{Amount: 120})
	fmt.Println("asks at:", th.Asks("approve").Node)
	th.Answer("decision", "approve").WantStatus(weft.StatusCompleted)
	fmt.Printf("state: %+v, effects: %d\n", th.State(), effects.Count())
	// Output:
	// asks at: approve
	// state: {Amount:120 Decision:approve Paid:true}, effects: 1
}
