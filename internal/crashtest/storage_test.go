package crashtest_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/internal/pgtest"
)

// Chat is a conversation: every turn appends a user and an assistant
// message of 200 bytes each.
type Chat struct {
	Messages []string
	Turns    int
}

const turns = 500

func message(who string, turn int) string {
	s := fmt.Sprintf("%s %d: ", who, turn)
	return s + strings.Repeat("x", 200-len(s))
}

// chat500 runs a 500-turn chat on store and returns the final state and
// the states after every turn, by checkpoint ID.
func chat500(t *testing.T, store checkpoint.Store) (*weft.Workflow[Chat], Chat) {
	g := weft.NewGraph[Chat]("chat")
	g.AddNode("reply", func(ctx context.Context, c Chat) (Chat, error) {
		c.Turns++
		c.Messages = append(c.Messages, message("assistant", c.Turns))
		return c, nil
	})
	g.AddEdge(weft.Start, "reply")
	g.Reduce("Messages", weft.Append())
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var res *weft.Result[Chat]
	for turn := 1; turn <= turns; turn++ {
		if res, err = wf.Run(ctx, "chat", Chat{Messages: []string{message("user", turn)}}); err != nil {
			t.Fatal(err)
		}
	}
	return wf, res.State
}

// checkStorage asserts that the blobs stored for the chat stay under 3× its
// final state, and that every checkpoint reads back as written.
func checkStorage(t *testing.T, store checkpoint.Store, wf *weft.Workflow[Chat], final Chat, stored int64) {
	size, err := json.Marshal(final)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("500-turn chat: final state %d bytes, blobs stored %d bytes (%.2f×)", len(size), stored, float64(stored)/float64(len(size)))
	if stored > 3*int64(len(size)) {
		t.Errorf("stored %d bytes for a final state of %d: more than 3×", stored, len(size))
	}
	// Every checkpoint of the chain gives back exactly the state written:
	// after the input of turn n, n*2-1 messages; after its reply, n*2. A
	// sample of them is read (each read walks the chain of tails).
	ctx := context.Background()
	cps, err := store.History(ctx, &checkpoint.HistoryQuery{ThreadID: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2*turns {
		t.Fatalf("%d checkpoints, want %d", len(cps), 2*turns)
	}
	for i := 0; i < len(cps); i += 1 + i/4 {
		snap, err := wf.StateAt(ctx, "chat", cps[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		msgs := snap.Values.Messages
		if len(msgs) != len(cps)-i {
			t.Fatalf("checkpoint %s: %d messages, want %d", cps[i].ID, len(msgs), len(cps)-i)
		}
		for j, m := range msgs {
			who := "user"
			if j%2 == 1 {
				who = "assistant"
			}
			if m != message(who, j/2+1) {
				t.Fatalf("checkpoint %s: message %d is %q", cps[i].ID, j, m)
			}
		}
	}
}

func TestChatStorageSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.db")
	store, closeStore, err := openStore(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	wf, final := chat500(t, store)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored int64
	if err := db.QueryRow(`SELECT coalesce(sum(length(data)), 0) FROM blobs`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	checkStorage(t, store, wf, final, stored)
}

func TestChatStoragePostgres(t *testing.T) {
	url := pgtest.URL(t)
	schema := pgtest.Schema(t)
	store, closeStore, err := openStore(context.Background(), "postgres:"+schema+"|"+url)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	wf, final := chat500(t, store)
	var stored int64
	q := `SELECT coalesce(sum(length(data)), 0) FROM ` + pgx.Identifier{schema, "blobs"}.Sanitize()
	if err := pgtest.Pool(t).QueryRow(context.Background(), q).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	checkStorage(t, store, wf, final, stored)
}
