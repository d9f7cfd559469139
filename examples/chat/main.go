// Command chat is a multi-turn chat that waits for the user at every turn:
// one thread per conversation, the message history in the thread's state,
// and a deterministic stand-in for the language model (no network).
//
// Each user message resumes the thread, which answers and pauses again for
// the next message; "bye" ends the conversation.
//
//	go run ./examples/chat
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/weftgraph/weft"
)

// Message is one line of the conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Chat is the workflow's state.
type Chat struct {
	Messages []Message
	Done     bool
}

// model stands in for a language model: it answers from the conversation
// so far, deterministically.
func model(msgs []Message) string {
	last := msgs[len(msgs)-1].Content
	turns := 0
	for _, m := range msgs {
		if m.Role == "user" {
			turns++
		}
	}
	return fmt.Sprintf("(turn %d) you said %q", turns, strings.ToUpper(last))
}

func build(opts ...weft.CompileOption) (*weft.Workflow[Chat], error) {
	g := weft.NewGraph[Chat]("chat")
	g.AddNode("wait_for_user", func(ctx context.Context, c Chat) (Chat, error) {
		text, err := weft.Interrupt[string](ctx, nil, weft.Key("user_input"))
		if err != nil {
			return c, err
		}
		c.Messages = append(c.Messages, Message{Role: "user", Content: text})
		c.Done = strings.EqualFold(strings.TrimSpace(text), "bye")
		return c, nil
	})
	g.AddNode("reply", func(ctx context.Context, c Chat) (Chat, error) {
		c.Messages = append(c.Messages, Message{Role: "assistant", Content: model(c.Messages)})
		return c, nil
	})
	g.AddEdge(weft.Start, "wait_for_user")
	g.AddConditionalEdges("wait_for_user", func(c Chat) string {
		if c.Done {
			return weft.End
		}
		return "reply"
	}, "reply", weft.End)
	g.AddEdge("reply", "wait_for_user")
	return g.Compile(opts...)
}

// say sends one user message to the conversation and returns the reply.
func say(ctx context.Context, wf *weft.Workflow[Chat], conv, text string) (*weft.Result[Chat], error) {
	snap, err := wf.State(ctx, conv)
	if err != nil {
		return nil, err
	}
	if len(snap.Interrupts) == 0 {
		return nil, fmt.Errorf("conversation %s is not waiting for the user", conv)
	}
	return wf.Resume(ctx, conv, weft.Answer(snap.Interrupts[0].ID, text))
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	for _, conv := range []string{"alice", "bob"} {
		if _, err := wf.Run(ctx, conv, Chat{}); err != nil {
			return err
		}
	}
	script := []struct{ conv, text string }{
		{"alice", "hello"}, {"bob", "hi there"}, {"alice", "tell me more"}, {"alice", "bye"},
	}
	for _, s := range script {
		res, err := say(ctx, wf, s.conv, s.text)
		if err != nil {
			return err
		}
		last := res.State.Messages[len(res.State.Messages)-1]
		fmt.Fprintf(w, "%s> %s\n", s.conv, s.text)
		if last.Role == "assistant" {
			fmt.Fprintf(w, "bot> %s\n", last.Content)
		}
		if res.Status == weft.StatusCompleted {
			fmt.Fprintf(w, "[%s ended after %d messages]\n", s.conv, len(res.State.Messages))
		}
	}
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
