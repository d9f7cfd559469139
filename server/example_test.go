package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/server"
)

type Doc struct {
	Text   string `json:"text"`
	Status string `json:"status,omitempty"`
}

type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=reject"`
}

// Example wires a workflow, an inbox and a server, starts a thread over
// HTTP and answers its question.
func Example() {
	g := weft.NewGraph[Doc]("publish")
	g.AddNode("review", func(ctx context.Context, d Doc) (Doc, error) {
		dec, err := weft.Interrupt[Decision](ctx, d.Text, weft.Assign("editors"))
		if err != nil {
			return d, err
		}
		d.Status = dec.Action
		return d, nil
	})
	g.AddEdge(weft.Start, "review")
	g.AddEdge("review", weft.End)
	store := memstore.New()
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}

	// One feed for the server and the inbox: the runs answers start are
	// streamed too.
	feed := server.NewFeed()
	ib := inbox.New(store, []weft.Runner{wf.Runner()}, inbox.WithRunOptions(weft.WithObserver(feed)))
	srv, err := server.New(ib, server.WithFeed(feed), server.WithTokens(map[string]server.Principal{
		"s3cret-0123456789abcdef": {Name: "ann", Roles: []string{server.RoleOperator, "editors"}},
	}))
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.CloseStreams()

	type result struct {
		Status     string
		State      Doc
		Interrupts []struct{ ID, Node string }
	}
	post := func(path, body string) result {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret-0123456789abcdef")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer res.Body.Close()
		var r result
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil || res.StatusCode != http.StatusOK {
			log.Fatal(res.Status, err)
		}
		return r
	}
	r := post("/v1/workflows/publish/threads", `{"thread": "doc-1", "input": {"text": "hello"}}`)
	fmt.Println(r.Status, "at", r.Interrupts[0].Node)
	r = post("/v1/threads/doc-1/answers", `{"answers": {"`+r.Interrupts[0].ID+`": {"action": "approve"}}}`)
	fmt.Println(r.Status, r.State.Status)
	// Output:
	// interrupted at review
	// completed approve
}
