package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/server"
	"github.com/weftgraph/weft/server/langgraph"
)

// declareLangGraph declares --langgraph, the prefix under which serve
// mounts the LangGraph Platform API.
func declareLangGraph(fs *flag.FlagSet, o *serveOpts) {
	fs.StringVar(&o.langgraph, "langgraph", "", "also serve the LangGraph Platform API under this path `prefix` (such as /lg), for LangGraph's SDKs, with the same tokens (X-Api-Key)")
}

// checkLangGraph refuses a --langgraph prefix that is not a path of its
// own.
func checkLangGraph(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if !strings.HasPrefix(p, "/") || p == "" || strings.ContainsAny(p, "{}?#* ") {
		return usagef("--langgraph %q: want a path prefix such as /lg", prefix)
	}
	switch strings.Split(p, "/")[1] {
	case "v1", "assets", "login", "logout", "inbox", "threads", "x":
		return usagef("--langgraph %q: the prefix is one of weft's own paths; pick another, such as /lg", prefix)
	}
	return nil
}

// langGraph returns the LangGraph Platform API over the runners (nil
// without --langgraph), authenticated with the tokens of weft's API and
// their roles.
func langGraph(prefix string, store checkpoint.Store, runners []weft.Runner, tokens map[string]server.Principal) http.Handler {
	if prefix == "" {
		return nil
	}
	return langgraph.New(runners, store, langgraph.WithTokens(tokens))
}

// mount serves the LangGraph API (if any) under its prefix, and srv for
// everything else.
func (sv *served) mount(srv http.Handler) http.Handler {
	if sv.lg == nil {
		return srv
	}
	p := strings.TrimSuffix(sv.lgPrefix, "/")
	mux := http.NewServeMux()
	mux.Handle(p+"/", http.StripPrefix(p, sv.lg))
	mux.Handle("/", srv)
	return mux
}

// printLangGraph says where the LangGraph API is, if it is served.
func printLangGraph(c *cli, prefix string, addr net.Addr) {
	if prefix == "" {
		return
	}
	fmt.Fprintf(c.stdout, "LangGraph API: %s (new Client({apiUrl, apiKey: TOKEN}))\n",
		strings.TrimSuffix(baseURL(addr), "/")+strings.TrimSuffix(prefix, "/"))
}
