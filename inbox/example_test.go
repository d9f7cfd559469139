package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// Publish is the state of the example's workflow.
type Publish struct {
	Title    string
	Approved bool
}

// An editor lists the inbox, answers a question, and the thread carries on.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	g := weft.NewGraph[Publish]("publish")
	g.AddNode("review", func(ctx context.Context, p Publish) (Publish, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]string{"title": p.Title}, weft.Assign("editors"))
		p.Approved = ok
		return p, err
	})
	g.AddEdge(weft.Start, "review")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		panic(err)
	}
	for _, title := range []string{"Go generics", "Iterators"} {
		if _, err := wf.Run(ctx, title, Publish{Title: title}); err != nil {
			panic(err)
		}
	}

	ib := inbox.New(store, []weft.Runner{wf.Runner()})
	page, err := ib.List(ctx, inbox.Query{Assignees: []string{"editors"}})
	if err != nil {
		panic(err)
	}
	for _, it := range page.Items {
		fmt.Printf("%s asks %s\n", it.Thread, it.Value)
	}
	it := page.Items[0]
	res, err := ib.Answer(ctx, it.Thread, it.ID, json.RawMessage(`true`), inbox.Author{Name: "ann", Channel: checkpoint.ChannelUI})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Thread, res.Status, res.State.(Publish).Approved)

	_, err = ib.Answer(ctx, it.Thread, it.ID, json.RawMessage(`false`), inbox.Author{Name: "bob"})
	fmt.Println(errors.Is(err, inbox.ErrAlreadyAnswered))

	audit, _ := ib.Audit(ctx, it.Thread)
	fmt.Println(audit[0].Author, audit[0].Channel, string(audit[0].Answer))
	// Output:
	// Go generics asks {"title":"Go generics"}
	// Iterators asks {"title":"Iterators"}
	// Go generics completed true
	// true
	// ann ui true
}

// Deadlines are found in the store: any inbox on it fires them.
func ExampleInbox_FireDue() {
	ctx := context.Background()
	store := memstore.New()
	now := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	g := weft.NewGraph[Publish]("publish")
	g.AddNode("review", func(ctx context.Context, p Publish) (Publish, error) {
		ok, err := weft.Interrupt[bool](ctx, p.Title, weft.Within(24*time.Hour, true))
		p.Approved = ok
		return p, err
	})
	g.AddEdge(weft.Start, "review")
	wf, _ := g.Compile(weft.WithStore(store), weft.WithClock(clock))
	wf.Run(ctx, "post-1", Publish{Title: "Go generics"})

	ib := inbox.New(store, []weft.Runner{wf.Runner()}, inbox.WithClock(clock))
	n, _ := ib.FireDue(ctx)
	fmt.Println("due now:", n)
	now = now.Add(25 * time.Hour)
	n, _ = ib.FireDue(ctx)
	fmt.Println("due a day later:", n)
	s, _ := wf.State(ctx, "post-1")
	fmt.Println(s.Status, s.Values.Approved)
	// Output:
	// due now: 0
	// due a day later: 1
	// completed true
}
