package langgraph_test

import (
	"context"
	"errors"
	"net/http"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server/langgraph"
)

// ExampleNew mounts the LangGraph Platform API under /lg, next to other
// routes, with an API key check. LangGraph clients then use
// apiUrl "http://host:8080/lg".
func ExampleNew() {
	store := memstore.New()
	g := weft.NewGraph[Doc]("review")
	g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
		d, err := weft.Interrupt[string](ctx, s.Draft)
		if err != nil {
			return s, err
		}
		s.Decision = d
		return s, nil
	})
	g.AddEdge(weft.Start, "review")
	g.AddEdge("review", weft.End)
	review, err := g.Compile(weft.WithStore(store))
	if err != nil {
		panic(err)
	}

	lg := langgraph.New([]weft.Runner{langgraph.Runner(review)}, store,
		langgraph.WithAuth(func(r *http.Request) (string, error) {
			if r.Header.Get("X-Api-Key") != "let-me-in" {
				return "", errors.New("invalid API key")
			}
			return "reviewer", nil
		}))
	mux := http.NewServeMux()
	mux.Handle("/lg/", http.StripPrefix("/lg", lg))
	_ = &http.Server{Addr: ":8080", Handler: mux} // ListenAndServe
	// Output:
}
