package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/weftgraph/weft"
)

// The web inbox renders an HTML form from a question's answer schema and
// turns the posted form back into JSON that matches it:
//
//   - enum: submit buttons when it is the form's only enum, required,
//     with at most maxButtons values; a select otherwise
//   - string: a textarea
//   - boolean: a checkbox (unchecked is false)
//   - number and integer: a number input
//   - object with properties: a fieldset of its properties, recursively
//   - anything else (arrays, maps, any): a textarea for JSON
//
// Form fields are named by the path of the value: "answer" for the whole
// answer, "answer.text" for its property "text", and so on. Optional
// fields left empty are left out of the object; the answer is validated
// against the schema afterwards, as answers from the API are.

const (
	rootField  = "answer"
	maxButtons = 6
	maxDepth   = 8
)

// formField is one input of a generated form.
type formField struct {
	Name        string
	Label       string
	Description string
	// Kind: "buttons", "select", "textarea", "checkbox", "number",
	// "fieldset" or "json".
	Kind     string
	Required bool
	// Nullable: the schema accepts null, sent for an empty input.
	Nullable bool
	Options  []formOption
	Step     string // number: "1" or "any"
	Min, Max string // number bounds
	Format   string // string format ("date-time")
	Fields   []*formField
}

// formOption is one value of an enum: Value is its JSON text, Label what
// the human sees.
type formOption struct {
	Value string
	Label string
}

// answerForm is the form of one question.
type answerForm struct {
	Root *formField
	// Continue: a breakpoint or a question without an answer schema that
	// is answered by a button alone, with null.
	Continue bool
	// Buttons: the root's enum is answered by pressing one of its buttons,
	// so the form has no separate submit button.
	Buttons bool
}

// schemaNode is the part of a JSON schema the form understands.
type schemaNode struct {
	Type        json.RawMessage        `json:"type"`
	Enum        []json.RawMessage      `json:"enum"`
	Const       json.RawMessage        `json:"const"`
	Properties  map[string]*schemaNode `json:"properties"`
	Required    []string               `json:"required"`
	Description string                 `json:"description"`
	Title       string                 `json:"title"`
	Format      string                 `json:"format"`
	Minimum     *float64               `json:"minimum"`
	Maximum     *float64               `json:"maximum"`
}

// types returns the schema's types, and whether it accepts null.
func (n *schemaNode) types() (main string, nullable bool) {
	var list []string
	if len(n.Type) > 0 {
		var one string
		if json.Unmarshal(n.Type, &one) == nil {
			list = []string{one}
		} else {
			_ = json.Unmarshal(n.Type, &list)
		}
	}
	for _, t := range list {
		if t == "null" {
			nullable = true
		} else if main == "" {
			main = t
		}
	}
	return main, nullable
}

// buildForm makes the form of a question.
func buildForm(q weft.Question) (*answerForm, error) {
	schema := bytes.TrimSpace(q.Schema)
	if q.Kind != weft.KindDynamic && (len(schema) == 0 || string(schema) == "null") {
		return &answerForm{Continue: true}, nil
	}
	var root schemaNode
	if len(schema) > 0 && string(schema) != "true" {
		if err := json.Unmarshal(schema, &root); err != nil {
			return nil, fmt.Errorf("answer schema of %s: %w", q.ID, err)
		}
	}
	f := &answerForm{Root: fieldOf(rootField, "Answer", &root, true, 0)}
	// One required enum: its values become the submit buttons (approve,
	// reject, ...), pressed after filling in the rest.
	var selects []*formField
	f.Root.walk(func(x *formField) {
		if x.Kind == "select" {
			selects = append(selects, x)
		}
	})
	if len(selects) == 1 {
		if e := selects[0]; e.Required && !e.Nullable && len(e.Options) <= maxButtons {
			e.Kind, f.Buttons = "buttons", true
		}
	}
	return f, nil
}

// walk calls fn for f and every field under it.
func (f *formField) walk(fn func(*formField)) {
	fn(f)
	for _, c := range f.Fields {
		c.walk(fn)
	}
}

func fieldOf(name, label string, n *schemaNode, required bool, depth int) *formField {
	main, nullable := n.types()
	f := &formField{Name: name, Label: label, Description: n.Description, Required: required, Nullable: nullable}
	if n.Title != "" {
		f.Label = n.Title
	}
	switch {
	case depth > maxDepth:
		f.Kind = "json"
	case len(n.Enum) > 0 || len(n.Const) > 0:
		f.Kind = "select"
		values := n.Enum
		if len(values) == 0 {
			values = []json.RawMessage{n.Const}
		}
		if !required || nullable {
			f.Options = append(f.Options, formOption{Value: "", Label: "—"})
		}
		for _, v := range values {
			f.Options = append(f.Options, formOption{Value: compactJSON(v), Label: enumLabel(v)})
		}
	case main == "object" && len(n.Properties) > 0:
		f.Kind = "fieldset"
		names := make([]string, 0, len(n.Properties))
		for k := range n.Properties {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			child := n.Properties[k]
			if child == nil {
				child = &schemaNode{}
			}
			f.Fields = append(f.Fields, fieldOf(name+"."+k, k, child, slices.Contains(n.Required, k), depth+1))
		}
	case main == "string":
		f.Kind, f.Format = "textarea", n.Format
	case main == "boolean":
		f.Kind = "checkbox"
	case main == "integer" || main == "number":
		f.Kind, f.Step = "number", "any"
		if main == "integer" {
			f.Step = "1"
		}
		if n.Minimum != nil {
			f.Min = strconv.FormatFloat(*n.Minimum, 'f', -1, 64)
		}
		if n.Maximum != nil {
			f.Max = strconv.FormatFloat(*n.Maximum, 'f', -1, 64)
		}
	default:
		f.Kind = "json"
	}
	return f
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

func enumLabel(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return compactJSON(raw)
}

// formError is a form value that does not fit its field.
func formError(f *formField, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", f.Label, fmt.Sprintf(format, args...), weft.ErrInvalidAnswer)
}

// decode turns a posted form into the answer's JSON.
func (af *answerForm) decode(form url.Values) (json.RawMessage, error) {
	if af.Continue {
		return json.RawMessage("null"), nil
	}
	v, ok, err := af.Root.decode(form)
	if err != nil {
		return nil, err
	}
	if !ok {
		v = nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("answer: %w: %w", weft.ErrInvalidAnswer, err)
	}
	return data, nil
}

// decode returns the field's value and whether it has one (an optional
// field left empty has none).
func (f *formField) decode(form url.Values) (any, bool, error) {
	raw, posted := form[f.Name]
	val := ""
	if posted && len(raw) > 0 {
		val = raw[0]
	}
	empty := func() (any, bool, error) {
		if f.Required && f.Nullable {
			return nil, true, nil
		}
		return nil, false, nil
	}
	switch f.Kind {
	case "fieldset":
		obj := map[string]any{}
		for _, c := range f.Fields {
			v, ok, err := c.decode(form)
			if err != nil {
				return nil, false, err
			}
			if ok {
				obj[strings.TrimPrefix(c.Name, f.Name+".")] = v
			}
		}
		return obj, true, nil
	case "checkbox":
		return val == "true" || val == "on", true, nil
	case "select", "buttons":
		if val == "" {
			return empty()
		}
		for _, o := range f.Options {
			if o.Value == val && o.Value != "" {
				return json.RawMessage(o.Value), true, nil
			}
		}
		return nil, false, formError(f, "%q is not one of the choices", val)
	case "number":
		val = strings.TrimSpace(val)
		if val == "" {
			return empty()
		}
		if f.Step == "1" {
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, false, formError(f, "%q is not a whole number", val)
			}
			return n, true, nil
		}
		x, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false, formError(f, "%q is not a number", val)
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), true, nil
	case "textarea":
		if !posted || (val == "" && (!f.Required || f.Nullable)) {
			return empty()
		}
		return strings.ReplaceAll(val, "\r\n", "\n"), true, nil
	default: // json
		val = strings.TrimSpace(val)
		if val == "" {
			return empty()
		}
		if !json.Valid([]byte(val)) {
			return nil, false, formError(f, "not valid JSON")
		}
		return json.RawMessage(val), true, nil
	}
}
