package agentinbox_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server/langgraph/agentinbox"
)

// ExampleAsk asks in the Agent Inbox's shape and answers with an edit, as
// the Agent Inbox would through the LangGraph API.
func ExampleAsk() {
	ctx := context.Background()
	g := weft.NewGraph[Mail]("mail")
	g.AddNode("review", func(ctx context.Context, m Mail) (Mail, error) {
		resp, err := agentinbox.Ask(ctx, agentinbox.Request{
			ActionRequest: agentinbox.ActionRequest{Action: "send_email", Args: map[string]any{"to": m.To}},
			Config:        agentinbox.Config{AllowAccept: true, AllowEdit: true},
			Description:   "Send this email?",
		})
		if err != nil {
			return m, err
		}
		if a, err := resp.Edited(); err == nil {
			m.To, _ = a.Args["to"].(string)
		}
		m.Outcome, m.Sent = resp.Type, true
		return m, nil
	})
	g.AddEdge(weft.Start, "review")
	g.AddEdge("review", weft.End)
	wf, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		panic(err)
	}

	res, _ := wf.Run(ctx, "mail-1", Mail{To: "ann@example.com"})
	fmt.Println(string(res.Interrupts[0].Value))
	edit := agentinbox.Response{Type: agentinbox.Edit,
		Args: json.RawMessage(`{"action":"send_email","args":{"to":"bob@example.com"}}`)}
	res, err = wf.Resume(ctx, "mail-1", weft.Answer(res.Interrupts[0].ID, agentinbox.Reply(edit)))
	fmt.Println(res.State.To, res.State.Outcome, err)
	// Output:
	// [{"action_request":{"action":"send_email","args":{"to":"ann@example.com"}},"config":{"allow_ignore":false,"allow_respond":false,"allow_edit":true,"allow_accept":true},"description":"Send this email?"}]
	// bob@example.com edit <nil>
}
