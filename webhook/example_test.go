package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/webhook"
)

// A workflow asks for a refund's approval; the sender tells a receiver,
// which checks the signature before it trusts the payload.
func Example() {
	const secret = "a secret of at least 16 bytes"

	// The receiver: verify, then decode. A real one de-duplicates by
	// p.ID (the Weft-Delivery header): delivery is at least once.
	got := make(chan webhook.Payload, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := webhook.VerifyRequest(r, secret, 0)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- p
	}))
	defer receiver.Close()

	// The workflow, on a store whose outbox is on.
	ctx := context.Background()
	store := memstore.New(memstore.WithOutbox())
	g := weft.NewGraph[int]("refund")
	g.AddNode("approve", func(ctx context.Context, amount int) (int, error) {
		_, err := weft.Interrupt[bool](ctx, amount, weft.Key("refund_approval"), weft.Assign("alice"))
		return amount, err
	})
	g.AddEdge(weft.Start, "approve")
	g.AddEdge("approve", weft.End)
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		panic(err)
	}
	if _, err := wf.Run(ctx, "r-42", 250); err != nil {
		panic(err)
	}

	// The sender. A program runs it with go sender.Run(ctx); one pass
	// does here.
	sender, err := webhook.New(store, webhook.Config{
		Hooks:     []webhook.Hook{{URL: receiver.URL, Secret: secret}},
		PublicURL: "https://weft.example.com/",
	})
	if err != nil {
		panic(err)
	}
	if _, err := sender.SendDue(ctx); err != nil {
		panic(err)
	}
	p := <-got
	fmt.Println(p.Event)
	fmt.Println(strings.TrimSuffix(p.Text, p.Question.ID) + "…")
	fmt.Println(strings.TrimSuffix(p.Link, p.Question.ID) + "…")
	// Output:
	// question.asked
	// Refund approval needed on thread r-42 (assigned to alice): https://weft.example.com/inbox/r-42/…
	// https://weft.example.com/inbox/r-42/…
}
