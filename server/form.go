package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
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
//   - boolean: a pair of radio buttons, Yes and No (required when the
//     field is: never a lone checkbox whose unchecked state means "no")
//   - number and integer: a number input
//   - object with properties: a fieldset of its properties, recursively
//   - anything else (arrays, maps, any): a textarea for JSON
//
// Fields come in the schema's order of "properties" (read from the
// schema's bytes as a token stream), and a field whose path matches a
// field of the question's payload starts filled with the payload's value.
// The one enum shown as buttons (the decision) comes after every other
// field; a choice that reads as destructive (reject, deny, ...) is styled
// as such and asks for confirmation.
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
	// Kind: "buttons", "select", "textarea", "boolean", "number",
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
	// Value is what the input shows: the payload's value of the same
	// name, or what was posted. For a select, buttons or boolean, the
	// JSON text of the chosen option ("true", "\"approve\"").
	Value string
	// Error says, in plain words, why the posted value was refused.
	Error string
}

// formOption is one value of an enum: Value is its JSON text, Label what
// the human sees.
type formOption struct {
	Value string
	Label string
	// Danger: the choice reads as destructive (reject, deny, cancel,
	// delete, refuse, ...); its button is styled so and confirmed.
	Danger bool
}

// dangerWords make a choice destructive-looking.
var dangerWords = []string{"reject", "deny", "denied", "cancel", "delete", "refuse", "decline", "remove", "abort", "discard", "revoke", "destroy"}

func dangerous(label string) bool {
	l := strings.ToLower(label)
	for _, w := range dangerWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
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
	// Decision is that enum's field, shown after every other field.
	Decision *formField
}

// schemaNode is the part of a JSON schema the form understands.
type schemaNode struct {
	Type        json.RawMessage   `json:"type"`
	Enum        []json.RawMessage `json:"enum"`
	Const       json.RawMessage   `json:"const"`
	Properties  orderedProps      `json:"properties"`
	Required    []string          `json:"required"`
	Description string            `json:"description"`
	Title       string            `json:"title"`
	Format      string            `json:"format"`
	Minimum     *float64          `json:"minimum"`
	Maximum     *float64          `json:"maximum"`
}

// orderedProps are the properties of an object schema in the order the
// schema lists them.
type orderedProps struct {
	names []string
	nodes map[string]*schemaNode
}

// UnmarshalJSON reads the properties with a token stream, to keep their
// order.
func (o *orderedProps) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("properties: want an object, got %v", tok)
	}
	o.nodes = map[string]*schemaNode{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := kt.(string)
		var n *schemaNode
		if err := dec.Decode(&n); err != nil {
			return fmt.Errorf("property %q: %w", name, err)
		}
		if _, dup := o.nodes[name]; !dup {
			o.names = append(o.names, name)
		}
		o.nodes[name] = n
	}
	_, err = dec.Token()
	return err
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
			e.Kind, f.Buttons, f.Decision = "buttons", true, e
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
			label := enumLabel(v)
			f.Options = append(f.Options, formOption{Value: compactJSON(v), Label: label, Danger: dangerous(label)})
		}
	case main == "object" && len(n.Properties.names) > 0:
		f.Kind = "fieldset"
		for _, k := range n.Properties.names {
			child := n.Properties.nodes[k]
			if child == nil {
				child = &schemaNode{}
			}
			f.Fields = append(f.Fields, fieldOf(name+"."+k, keyLabel(k), child, slices.Contains(n.Required, k), depth+1))
		}
	case main == "string":
		f.Kind, f.Format = "textarea", n.Format
	case main == "boolean":
		f.Kind = "boolean"
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

// fieldError is a form value that does not fit its field: Field is the
// field's name, Msg says why in plain words.
type fieldError struct {
	Field, Label, Msg string
}

func (e *fieldError) Error() string { return e.Label + ": " + e.Msg }

// Is makes a fieldError an invalid answer.
func (e *fieldError) Is(target error) bool { return target == weft.ErrInvalidAnswer }

// formError is a form value that does not fit its field.
func formError(f *formField, format string, args ...any) error {
	return &fieldError{Field: f.Name, Label: f.Label, Msg: fmt.Sprintf(format, args...)}
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
	case "boolean":
		switch val {
		case "true", "on":
			return true, true, nil
		case "false":
			return false, true, nil
		case "":
			if f.Required && !f.Nullable {
				return nil, false, formError(f, "choose Yes or No")
			}
			return empty()
		}
		return nil, false, formError(f, "%q is neither Yes nor No", val)
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
			if err := f.inRange(float64(n)); err != nil {
				return nil, false, err
			}
			return n, true, nil
		}
		x, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false, formError(f, "%q is not a number", val)
		}
		if err := f.inRange(x); err != nil {
			return nil, false, err
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
			return nil, false, formError(f, "this is not valid JSON")
		}
		return json.RawMessage(val), true, nil
	}
}

// inRange checks a number against the field's minimum and maximum.
func (f *formField) inRange(x float64) error {
	if f.Min != "" {
		if lo, err := strconv.ParseFloat(f.Min, 64); err == nil && x < lo {
			return formError(f, "%s is below the minimum, %s", strconv.FormatFloat(x, 'f', -1, 64), f.Min)
		}
	}
	if f.Max != "" {
		if hi, err := strconv.ParseFloat(f.Max, 64); err == nil && x > hi {
			return formError(f, "%s is more than the maximum, %s", strconv.FormatFloat(x, 'f', -1, 64), f.Max)
		}
	}
	return nil
}

// prefill fills the fields whose path matches a field of the payload
// with the payload's value: "answer.amount" starts with the payload's
// "amount". Only objects are matched, field by field.
func (af *answerForm) prefill(payload json.RawMessage) {
	if af.Root == nil || af.Root.Kind != "fieldset" || len(bytes.TrimSpace(payload)) == 0 {
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil {
		return
	}
	af.Root.prefill(obj)
}

func (f *formField) prefill(obj map[string]json.RawMessage) {
	for _, c := range f.Fields {
		raw, ok := obj[strings.TrimPrefix(c.Name, f.Name+".")]
		if !ok {
			continue
		}
		if c.Kind == "fieldset" {
			var sub map[string]json.RawMessage
			if json.Unmarshal(raw, &sub) == nil {
				c.prefill(sub)
			}
			continue
		}
		if c.Kind == "buttons" {
			continue // a decision is the human's to make, not the payload's
		}
		c.Value = inputText(c, raw)
	}
}

// inputText is the text an input of f shows for the JSON value raw.
func inputText(f *formField, raw json.RawMessage) string {
	switch f.Kind {
	case "textarea":
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case "number":
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
		return ""
	case "boolean":
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return strconv.FormatBool(b)
		}
		return ""
	case "select":
		v := compactJSON(raw)
		for _, o := range f.Options {
			if o.Value == v {
				return v
			}
		}
		return ""
	}
	return string(unescapeJSON([]byte(compactJSON(raw))))
}

// fill shows the posted values in the form again (a refused answer keeps
// what was typed), with err next to its field.
func (af *answerForm) fill(form url.Values, err error) {
	if af.Root == nil {
		return
	}
	var fe *fieldError
	errors.As(err, &fe)
	af.Root.walk(func(f *formField) {
		if f.Kind != "fieldset" && f.Kind != "buttons" {
			if vs, ok := form[f.Name]; ok && len(vs) > 0 {
				f.Value = vs[0]
			}
		}
		if fe != nil && fe.Field == f.Name {
			f.Error = fe.Msg
		}
	})
}

// schemaPathRE finds the deepest schema location a validation error of
// weft.ValidateAnswer names: "validating /properties/a/properties/b: ..."
var schemaPathRE = regexp.MustCompile(`validating ((?:/properties/[^/:\s]+)+): (\w+): (.*)$`)

// schemaFieldError turns a schema validation error into an error of the
// field it is about, in plainer words; nil if it names no field.
func schemaFieldError(af *answerForm, err error) *fieldError {
	if af == nil || af.Root == nil || err == nil {
		return nil
	}
	m := schemaPathRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	name := rootField + strings.ReplaceAll(strings.ReplaceAll(m[1], "/properties/", "."), "~1", "/")
	kw, detail := m[2], m[3]
	msg := detail
	switch kw {
	case "required":
		if i := strings.Index(detail, `["`); i >= 0 {
			if j := strings.Index(detail[i+2:], `"`); j >= 0 {
				name += "." + detail[i+2:i+2+j]
			}
		}
		msg = "is required"
	case "maximum", "exclusiveMaximum":
		msg = "is more than allowed"
	case "minimum", "exclusiveMinimum":
		msg = "is less than allowed"
	case "enum", "const":
		msg = "is not one of the choices"
	case "minLength":
		msg = "is too short"
	case "maxLength":
		msg = "is too long"
	case "pattern":
		msg = "does not have the expected form"
	case "type":
		msg = "has the wrong kind of value"
	}
	var found *formField
	af.Root.walk(func(f *formField) {
		if f.Name == name {
			found = f
		}
	})
	if found == nil {
		return nil
	}
	return &fieldError{Field: found.Name, Label: found.Label, Msg: msg}
}
