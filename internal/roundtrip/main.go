// Command roundtrip counts what a human round trip costs on SQLite: run it
// twice on one file, first to pause threads, then to answer and resume
// them, the second under strace:
//
//	go build -o /tmp/roundtrip ./internal/roundtrip
//	/tmp/roundtrip -db /tmp/rt.db pause
//	strace -f -c -e trace=fsync,fdatasync /tmp/roundtrip -db /tmp/rt.db resume
//
// Each of the -n threads runs write → review (asks) → publish; resume
// answers and completes each one: the answer and the claim, then two
// superstep commits.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strconv"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

type post struct {
	Draft, Decision string
	Published       bool
}

func main() {
	db := flag.String("db", "roundtrip.db", "the SQLite file")
	n := flag.Int("n", 50, "threads")
	flag.Parse()
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, *db, sqlitestore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	g := weft.NewGraph[post]("roundtrip")
	g.AddNode("write", func(ctx context.Context, s post) (post, error) { s.Draft = "d"; return s, nil })
	g.AddNode("review", func(ctx context.Context, s post) (post, error) {
		d, err := weft.Interrupt[string](ctx, s.Draft)
		s.Decision = d
		return s, err
	})
	g.AddNode("publish", func(ctx context.Context, s post) (post, error) { s.Published = true; return s, nil })
	g.AddEdge(weft.Start, "write").AddEdge("write", "review").AddEdge("review", "publish")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		log.Fatal(err)
	}
	for i := range *n {
		id := "t" + strconv.Itoa(i)
		switch flag.Arg(0) {
		case "pause":
			if _, err := wf.Run(ctx, id, post{}); err != nil {
				log.Fatal(err)
			}
		case "resume":
			res, err := wf.Resume(ctx, id, weft.Reply("ok"))
			if err != nil || !res.State.Published {
				log.Fatal(fmt.Sprint(err, res))
			}
		default:
			log.Fatal("usage: roundtrip [-db FILE] [-n N] pause|resume")
		}
	}
}
