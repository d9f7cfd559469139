package server

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// A question's payload is shown as a document: strings as text (long ones
// as paragraphs), objects as labelled sections, arrays as lists; the raw
// JSON below it, in a <details>. Values are text for html/template to
// escape, never JSON escapes (\u0026) for people to read.

// docNode is one JSON value of a payload, as the page shows it.
type docNode struct {
	// Kind: "object", "array", "string", "text" (a long or multi-line
	// string), "number", "bool" or "null".
	Kind       string
	Text       string
	Paragraphs []string
	Fields     []docField
	Items      []*docNode
}

// docField is one property of an object, in the order of the JSON.
type docField struct {
	Key   string
	Label string
	Value *docNode
}

// longText is the length from which a string is shown as paragraphs.
const longText = 80

// maxDocDepth caps the nesting the document shows; deeper values are
// shown as their JSON.
const maxDocDepth = 12

// parseDoc reads raw JSON into a document; nil if it is not valid JSON.
func parseDoc(raw []byte) *docNode {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &docNode{Kind: "null", Text: "null"}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := readDoc(dec, 0)
	if err != nil {
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil
	}
	return n
}

func readDoc(dec *json.Decoder, depth int) (*docNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			n := &docNode{Kind: "object"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				v, err := readDoc(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.Fields = append(n.Fields, docField{Key: key, Label: keyLabel(key), Value: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		n := &docNode{Kind: "array"}
		for dec.More() {
			v, err := readDoc(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.Items = append(n.Items, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		return n, nil
	case string:
		return stringDoc(t), nil
	case json.Number:
		return &docNode{Kind: "number", Text: t.String()}, nil
	case bool:
		if t {
			return &docNode{Kind: "bool", Text: "yes"}, nil
		}
		return &docNode{Kind: "bool", Text: "no"}, nil
	}
	return &docNode{Kind: "null", Text: "none"}, nil
}

// stringDoc shows a short string inline, a long or multi-line one as
// paragraphs (split at blank lines; single line breaks are kept).
func stringDoc(s string) *docNode {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if len(s) < longText && !strings.Contains(s, "\n") {
		return &docNode{Kind: "string", Text: s}
	}
	n := &docNode{Kind: "text", Text: s}
	for _, p := range strings.Split(s, "\n\n") {
		if p = strings.Trim(p, "\n"); strings.TrimSpace(p) != "" {
			n.Paragraphs = append(n.Paragraphs, p)
		}
	}
	return n
}

// keyLabel turns a JSON key into a label: "due_date" and "dueDate" read
// "Due date".
func keyLabel(k string) string {
	var b strings.Builder
	prevLower := false
	for _, r := range k {
		switch {
		case r == '_' || r == '-':
			b.WriteRune(' ')
			prevLower = false
			continue
		case r >= 'A' && r <= 'Z' && prevLower:
			b.WriteRune(' ')
			b.WriteRune(r + ('a' - 'A'))
			prevLower = false
			continue
		}
		b.WriteRune(r)
		prevLower = r >= 'a' && r <= 'z'
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return k
	}
	if c := out[0]; c >= 'a' && c <= 'z' {
		out = string(c-('a'-'A')) + out[1:]
	}
	return out
}

// unescapeJSON rewrites the escapes encoding/json writes for HTML safety
// (\u0026, \u003c, \u003e) and for JavaScript (\u2028, \u2029) as the
// characters they stand for. html/template escapes the text it shows, so
// they are safe, and people read "&", not "\u0026".
func unescapeJSON(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`\u`)) {
		return raw
	}
	repl := map[string]string{"0026": "&", "003c": "<", "003e": ">", "003C": "<", "003E": ">", "2028": "\u2028", "2029": "\u2029"}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) {
			if r, ok := repl[string(raw[i+2:i+6])]; ok {
				out = append(out, r...)
				i += 5
				continue
			}
		}
		out = append(out, c, raw[i+1]) // any other escape, \\ included, as it is
		i++
	}
	return out
}

// jsonText is v as indented JSON, without HTML escapes.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// valueText is a JSON value in one line for people: a string as its text,
// anything else as compact JSON, without HTML escapes.
func valueText(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(unescapeJSON([]byte(compactJSON(raw))))
}
