package weft_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// propertyOrder returns the names of the "properties" of an object schema
// in the order the JSON has them.
func propertyOrder(t *testing.T, schema []byte) []string {
	t.Helper()
	var s struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(s.Properties))
	var names []string
	if _, err := dec.Token(); err != nil { // {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

type refundForm struct {
	Decision string `json:"decision" jsonschema:"enum=approve,enum=reject"`
	Amount   int    `json:"amount"`
	Reason   string `json:"reason,omitempty"`
	Audit
	Zebra bool `json:"zebra"`
}

type Audit struct {
	Ticket string `json:"ticket"`
	Amount int    `json:"amount"` // the outer Amount keeps its place
}

type nestedForm struct {
	Title string     `json:"title"`
	Inner refundForm `json:"inner"`
	About string     `json:"about"`
}

// TestSchemaPropertiesInFieldOrder: the schema of an answer type lists its
// properties in the order of the struct's fields (a form shows them in
// that order), embedded structs' fields in place, nested structs too.
func TestSchemaPropertiesInFieldOrder(t *testing.T) {
	cases := []struct {
		name string
		ask  func(ctx context.Context) error
		path []string // the object to look at, below the root
		want []string
	}{
		{"struct", func(ctx context.Context) error { _, err := weft.Interrupt[refundForm](ctx, "refund?"); return err },
			nil, []string{"decision", "amount", "reason", "ticket", "zebra"}},
		{"nested", func(ctx context.Context) error { _, err := weft.Interrupt[nestedForm](ctx, "refund?"); return err },
			nil, []string{"title", "inner", "about"}},
		{"nested inner", func(ctx context.Context) error { _, err := weft.Interrupt[nestedForm](ctx, "refund?"); return err },
			[]string{"inner"}, []string{"decision", "amount", "reason", "ticket", "zebra"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := weft.NewGraph[struct{ N int }]("order")
			g.AddNode("ask", func(ctx context.Context, s struct{ N int }) (struct{ N int }, error) { return s, c.ask(ctx) })
			g.AddEdge(weft.Start, "ask")
			wf, err := g.Compile()
			if err != nil {
				t.Fatal(err)
			}
			res, err := wf.Run(t.Context(), "t", struct{ N int }{})
			if err != nil || len(res.Interrupts) != 1 {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			schema := []byte(res.Interrupts[0].Schema)
			for _, p := range c.path {
				var s struct {
					Properties map[string]json.RawMessage `json:"properties"`
				}
				if err := json.Unmarshal(schema, &s); err != nil {
					t.Fatal(err)
				}
				schema = s.Properties[p]
			}
			if got := propertyOrder(t, schema); !slices.Equal(got, c.want) {
				t.Errorf("properties %v, want %v", got, c.want)
			}
		})
	}
}

// TestQuestionAskedWithSortedSchemaStillMatches: a question recorded by an
// earlier weft, whose schema had its properties sorted by name, is the same
// question when the node asks it again after an upgrade: the answer given
// to it is used (keyed and unkeyed), nothing is asked anew.
func TestQuestionAskedWithSortedSchemaStillMatches(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			open := durable["postgres"](t)
			store := open(nil)
			type state struct{ Decision string }
			g := weft.NewGraph[state]("upgrade")
			g.AddNode("ask", func(ctx context.Context, s state) (state, error) {
				var opts []weft.InterruptOption
				if keyed {
					opts = append(opts, weft.Key("refund"))
				}
				f, err := weft.Interrupt[refundForm](ctx, "refund 40?", opts...)
				s.Decision = f.Decision
				return s, err
			})
			g.AddEdge(weft.Start, "ask")
			wf, err := g.Compile(weft.WithStore(store))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			res, err := wf.Run(ctx, "r-1", state{})
			if err != nil || len(res.Interrupts) != 1 {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			q := res.Interrupts[0]
			// What an earlier weft recorded: the same schema, sorted.
			var v any
			if err := json.Unmarshal(q.Schema, &v); err != nil {
				t.Fatal(err)
			}
			sorted, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(sorted) == string(q.Schema) {
				t.Fatal("the schema is sorted already: the test would not test anything")
			}
			tag, err := store.(*pgstore.Store).Pool().Exec(ctx, `UPDATE `+pgx.Identifier{store.(*pgstore.Store).Schema(), "interrupts"}.Sanitize()+` SET answer_schema = $1 WHERE thread_id = 'r-1'`, sorted)
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("rewrite the recorded schema: %v, %v", tag, err)
			}
			out, err := wf.Resume(ctx, "r-1", weft.Answer(q.ID, refundForm{Decision: "approve", Amount: 40, Audit: Audit{Ticket: "T-1"}}))
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if out.Status != weft.StatusCompleted || out.State.Decision != "approve" || len(out.Interrupts) != 0 {
				t.Errorf("after the answer: status %s, decision %q, %d questions", out.Status, out.State.Decision, len(out.Interrupts))
			}
		})
	}
}
