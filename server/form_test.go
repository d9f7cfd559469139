package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
)

// schemaOf returns the answer schema weft stores for Interrupt[T], by
// asking a question in a throwaway workflow.
func schemaOf[T any](t *testing.T) json.RawMessage {
	t.Helper()
	g := weft.NewGraph[struct{ X int }]("s")
	g.AddNode("ask", func(ctx context.Context, s struct{ X int }) (struct{ X int }, error) {
		_, err := weft.Interrupt[T](ctx, nil)
		return s, err
	})
	g.AddEdge(weft.Start, "ask")
	g.AddEdge("ask", weft.End)
	wf, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	res, err := wf.Run(t.Context(), "t", struct{ X int }{})
	if err != nil || len(res.Interrupts) != 1 {
		t.Fatalf("run: %v %+v", err, res)
	}
	return res.Interrupts[0].Schema
}

func kinds(f *formField) string {
	var out []string
	f.walk(func(x *formField) { out = append(out, x.Name+"="+x.Kind) })
	return strings.Join(out, " ")
}

func TestFormFromObjectSchema(t *testing.T) {
	f, err := buildForm(weft.Question{ID: "q", Kind: weft.KindDynamic, Schema: schemaOf[Approval](t)})
	if err != nil {
		t.Fatal(err)
	}
	// In the order of Approval's fields, as its schema lists them.
	want := "answer=fieldset answer.approve=boolean answer.amount=number answer.priority=number " +
		"answer.category=select answer.urgency=select answer.note=textarea " +
		"answer.details=fieldset answer.details.approver=textarea answer.details.tags=json"
	if got := kinds(f.Root); got != want {
		t.Errorf("fields\n got %s\nwant %s", got, want)
	}
	if f.Buttons || f.Continue {
		t.Errorf("form %+v", f)
	}
	var prio, amount *formField
	f.Root.walk(func(x *formField) {
		switch x.Name {
		case "answer.priority":
			prio = x
		case "answer.amount":
			amount = x
		}
	})
	if prio.Step != "1" || prio.Min != "1" || prio.Max != "5" || !prio.Required {
		t.Errorf("priority %+v", prio)
	}
	if amount.Step != "any" || amount.Description != "amount to reimburse" {
		t.Errorf("amount %+v", amount)
	}

	form := url.Values{
		"answer.approve": {"true"}, "answer.amount": {"12.5"}, "answer.priority": {"3"},
		"answer.category": {`"food"`}, "answer.urgency": {`"high"`}, "answer.note": {"line 1\r\nline 2"},
		"answer.details.approver": {"ann"}, "answer.details.tags": {`["a", "b"]`},
	}
	got, err := f.decode(form)
	if err != nil {
		t.Fatal(err)
	}
	var a Approval
	dec := json.NewDecoder(strings.NewReader(string(got)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	wantA := Approval{Approve: true, Amount: 12.5, Priority: 3, Category: "food", Urgency: "high",
		Note: "line 1\nline 2", Details: Details{Approver: "ann", Tags: []string{"a", "b"}}}
	if !reflect.DeepEqual(a, wantA) {
		t.Errorf("decoded %+v\nwant %+v", a, wantA)
	}

	// Optional fields left empty are left out; a boolean is chosen.
	form = url.Values{"answer.approve": {"false"}, "answer.amount": {"1"}, "answer.priority": {"1"}, "answer.category": {`"travel"`},
		"answer.urgency": {`"low"`}, "answer.note": {""}, "answer.details.approver": {""}, "answer.details.tags": {""}}
	got, err = f.decode(form)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"amount":1,"approve":false,"category":"travel","details":{"approver":""},"priority":1,"urgency":"low"}`; string(got) != want {
		t.Errorf("decoded %s\nwant %s", got, want)
	}

	// Values that do not fit their field.
	for name, bad := range map[string]url.Values{
		"not a choice": {"answer.category": {`"cars"`}},
		"not a number": {"answer.amount": {"lots"}},
		"not whole":    {"answer.priority": {"2.5"}},
		"not JSON":     {"answer.details.tags": {"[a"}},
		"infinite":     {"answer.amount": {"Inf"}},
		"no boolean":   {"answer.amount": {"1"}},
		"too high":     {"answer.approve": {"true"}, "answer.amount": {"1"}, "answer.priority": {"9"}},
	} {
		if _, err := f.decode(bad); !errors.Is(err, weft.ErrInvalidAnswer) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFormEnumButtons(t *testing.T) {
	f, err := buildForm(weft.Question{ID: "q", Kind: weft.KindDynamic, Schema: schemaOf[Verdict](t)})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Buttons || kinds(f.Root) != "answer=fieldset answer.action=buttons" {
		t.Fatalf("form %s buttons %v", kinds(f.Root), f.Buttons)
	}
	var labels []string
	for _, o := range f.Root.Fields[0].Options {
		labels = append(labels, o.Label+"="+o.Value)
	}
	if got := strings.Join(labels, " "); got != `approve="approve" edit="edit" reject="reject"` {
		t.Errorf("options %s", got)
	}
	got, err := f.decode(url.Values{"answer.action": {`"reject"`}})
	if err != nil || string(got) != `{"action":"reject"}` {
		t.Errorf("decoded %s %v", got, err)
	}
}

func TestFormScalarsAndOthers(t *testing.T) {
	cases := []struct {
		schema json.RawMessage
		kind   string
		form   url.Values
		want   string
	}{
		{schemaOf[string](t), "answer=textarea", url.Values{"answer": {"hi"}}, `"hi"`},
		{schemaOf[string](t), "answer=textarea", url.Values{"answer": {""}}, `""`},
		{schemaOf[bool](t), "answer=boolean", url.Values{"answer": {"false"}}, `false`},
		{schemaOf[bool](t), "answer=boolean", url.Values{"answer": {"true"}}, `true`},
		{schemaOf[int](t), "answer=number", url.Values{"answer": {"-4"}}, `-4`},
		{schemaOf[float64](t), "answer=number", url.Values{"answer": {"1e3"}}, `1000`},
		{schemaOf[*int](t), "answer=number", url.Values{"answer": {""}}, `null`},
		{schemaOf[[]int](t), "answer=json", url.Values{"answer": {"[1,2]"}}, `[1,2]`},
		{schemaOf[map[string]int](t), "answer=json", url.Values{"answer": {`{"a":1}`}}, `{"a":1}`},
		{schemaOf[any](t), "answer=json", url.Values{"answer": {""}}, `null`},
		{json.RawMessage(`{"enum": [1, 2, true, null]}`), "answer=buttons", url.Values{"answer": {"2"}}, `2`},
		{json.RawMessage(`{"const": "only"}`), "answer=buttons", url.Values{"answer": {`"only"`}}, `"only"`},
	}
	for _, c := range cases {
		f, err := buildForm(weft.Question{Kind: weft.KindDynamic, Schema: c.schema})
		if err != nil {
			t.Fatalf("%s: %v", c.schema, err)
		}
		if got := kinds(f.Root); got != c.kind {
			t.Errorf("%s: %s, want %s", c.schema, got, c.kind)
		}
		got, err := f.decode(c.form)
		if err != nil || string(got) != c.want {
			t.Errorf("%s with %v: %s %v, want %s", c.schema, c.form, got, err, c.want)
		}
	}
	// A breakpoint is answered by a button alone, with null.
	f, err := buildForm(weft.Question{Kind: weft.KindBefore})
	if err != nil || !f.Continue {
		t.Fatalf("breakpoint form %+v %v", f, err)
	}
	if got, _ := f.decode(nil); string(got) != "null" {
		t.Errorf("breakpoint answer %s", got)
	}
	if _, err := buildForm(weft.Question{Kind: weft.KindDynamic, Schema: json.RawMessage(`[`)}); err == nil {
		t.Error("broken schema: no error")
	}
	// Deep schemas end in a JSON field.
	deep := `{"type":"string"}`
	for range maxDepth + 2 {
		deep = `{"type":"object","properties":{"x":` + deep + `}}`
	}
	f, err = buildForm(weft.Question{Kind: weft.KindDynamic, Schema: json.RawMessage(deep)})
	if err != nil || !strings.HasSuffix(kinds(f.Root), "=json") {
		t.Errorf("deep schema: %s %v", kinds(f.Root), err)
	}
}

// TestFormSchemaOrder: fields follow the order of the schema's
// "properties", show titles and descriptions, start filled from the
// payload, and the decision comes last, its destructive choice marked.
func TestFormSchemaOrder(t *testing.T) {
	schema := json.RawMessage(`{"type":"object","required":["decision","confident"],"properties":{
		"summary":{"type":"string","title":"Your summary","description":"one line"},
		"decision":{"enum":["approve","reject"]},
		"amount":{"type":"number","maximum":100},
		"confident":{"type":"boolean"},
		"meta":{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"string"}}}}}`)
	f, err := buildForm(weft.Question{Kind: weft.KindDynamic, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	want := "answer=fieldset answer.summary=textarea answer.decision=buttons answer.amount=number " +
		"answer.confident=boolean answer.meta=fieldset answer.meta.zeta=textarea answer.meta.alpha=textarea"
	if got := kinds(f.Root); got != want {
		t.Errorf("fields\n got %s\nwant %s", got, want)
	}
	if f.Decision == nil || f.Decision.Name != "answer.decision" {
		t.Fatalf("decision %+v", f.Decision)
	}
	if o := f.Decision.Options; o[0].Danger || !o[1].Danger {
		t.Errorf("options %+v", o)
	}
	sum := f.Root.Fields[0]
	if sum.Label != "Your summary" || sum.Description != "one line" {
		t.Errorf("summary %+v", sum)
	}
	f.prefill(json.RawMessage(`{"summary":"Tom \u0026 Jerry","amount":42,"decision":"approve","confident":true,"meta":{"alpha":"a"},"other":1}`))
	var got []string
	f.Root.walk(func(x *formField) {
		if x.Value != "" {
			got = append(got, x.Name+"="+x.Value)
		}
	})
	if g := strings.Join(got, " "); g != "answer.summary=Tom & Jerry answer.amount=42 answer.confident=true answer.meta.alpha=a" {
		t.Errorf("prefilled %s", g)
	}
	// A refused value is kept, with its error next to its field.
	posted := url.Values{"answer.amount": {"300"}, "answer.summary": {"typed"}, "answer.confident": {"false"}, "answer.decision": {`"approve"`}}
	_, err = f.decode(posted)
	var fe *fieldError
	if !errors.As(err, &fe) || fe.Field != "answer.amount" || !strings.Contains(fe.Msg, "maximum") {
		t.Fatalf("decode: %v", err)
	}
	f.fill(posted, err)
	amount := f.Root.Fields[2]
	if amount.Value != "300" || amount.Error == "" || f.Root.Fields[0].Value != "typed" {
		t.Errorf("after fill: %+v", amount)
	}
}

func TestSchemaFieldError(t *testing.T) {
	f, err := buildForm(weft.Question{ID: "q", Kind: weft.KindDynamic, Schema: schemaOf[Approval](t)})
	if err != nil {
		t.Fatal(err)
	}
	for answer, want := range map[string]string{
		`{"approve":true,"amount":1,"priority":9,"category":"food","urgency":"low","details":{"approver":"a"}}`: "answer.priority is more than allowed",
		`{"approve":true,"amount":1,"priority":2,"category":"food","urgency":"low","details":{}}`:               "answer.details.approver is required",
	} {
		verr := weft.ValidateAnswer(schemaOf[Approval](t), json.RawMessage(answer))
		fe := schemaFieldError(f, verr)
		if fe == nil || fe.Field+" "+fe.Msg != want {
			t.Errorf("%v: %+v, want %s", verr, fe, want)
		}
	}
	if fe := schemaFieldError(f, errors.New("something else")); fe != nil {
		t.Errorf("unrelated error: %+v", fe)
	}
}
