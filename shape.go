package weft

import (
	"fmt"
	"slices"
	"strings"
)

// Shape is the structure of a compiled graph, for drawing it and for
// tools that show where a thread is: its nodes in the order they were
// added and its edges. Start and End appear as the node names Start and
// End.
type Shape struct {
	// Name is the workflow's name.
	Name  string
	Nodes []ShapeNode
	Edges []ShapeEdge
}

// ShapeNode is one node of a Shape.
type ShapeNode struct {
	Name string
	// Kind is "node", "map" (one task per item) or "subgraph".
	Kind string
	// Subgraph is the child graph's shape, for a subgraph node.
	Subgraph *Shape `json:",omitempty"`
}

// ShapeEdge is one edge of a Shape. Conditional edges are those a router
// picks from (AddConditionalEdges) or that a node may jump along
// (Destinations, Goto); the others always run.
type ShapeEdge struct {
	From, To    string
	Conditional bool `json:",omitempty"`
}

// Shape returns the workflow's structure.
func (wf *Workflow[S]) Shape() Shape {
	sh := Shape{Name: wf.name}
	for _, name := range wf.order {
		n := wf.nodes[name]
		sn := ShapeNode{Name: name, Kind: "node"}
		switch {
		case n.fanout != nil:
			sn.Kind = "map"
		case n.sub != nil:
			sn.Kind = "subgraph"
			if c, ok := n.sub.(interface{ shape() Shape }); ok {
				child := c.shape()
				sn.Subgraph = &child
			}
		}
		sh.Nodes = append(sh.Nodes, sn)
	}
	add := func(from, to string, cond bool) {
		e := ShapeEdge{From: from, To: to, Conditional: cond}
		if !slices.Contains(sh.Edges, e) {
			sh.Edges = append(sh.Edges, e)
		}
	}
	for _, from := range append([]string{Start}, wf.order...) {
		for _, to := range wf.edges[from] {
			add(from, to, false)
		}
		if rt := wf.routes[from]; rt != nil {
			for _, to := range rt.targets {
				add(from, to, true)
			}
		}
		if n := wf.nodes[from]; n != nil {
			for _, to := range n.dests {
				add(from, to, true)
			}
			if len(wf.edges[from]) == 0 && wf.routes[from] == nil && len(n.dests) == 0 {
				add(from, End, false) // a node with nothing after it ends the run
			}
		}
	}
	return sh
}

func (sg *subgraphOf[S, C]) shape() Shape { return sg.child.Shape() }

// Marks are the nodes a drawing highlights: where a thread goes next,
// where it waits for a person, what failed.
type Marks struct {
	Next, Waiting, Failed []string
}

// Mermaid draws the shape as a Mermaid flowchart (as LangGraph's
// draw_mermaid does), top to bottom: dashed arrows are conditional edges,
// subgraphs are boxes of their own, and marks color nodes (next: blue,
// waiting: amber, failed: red). Node paths in marks ("outer/inner/review")
// reach into subgraphs.
func (s Shape) Mermaid(marks Marks) string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	s.mermaid(&b, "", "  ")
	class := func(name string, paths []string) {
		for _, p := range paths {
			fmt.Fprintf(&b, "  class %s %s\n", mermaidID(p), name)
		}
	}
	b.WriteString("  classDef next fill:#dbeafe,stroke:#1d4ed8\n")
	b.WriteString("  classDef waiting fill:#fef3c7,stroke:#b45309,stroke-width:2px\n")
	b.WriteString("  classDef failed fill:#fee2e2,stroke:#b91c1c,stroke-width:2px\n")
	class("next", marks.Next)
	class("waiting", marks.Waiting)
	class("failed", marks.Failed)
	return b.String()
}

// mermaid writes the nodes and edges of s, its node IDs prefixed by the
// path of the subgraph it is (prefix "outer/").
func (s Shape) mermaid(b *strings.Builder, prefix, indent string) {
	id := func(name string) string {
		// Node IDs start with n_; Start and End of each graph get s_ and
		// e_, which no node's can.
		switch name {
		case Start:
			return "s" + mermaidID(prefix)[1:]
		case End:
			return "e" + mermaidID(prefix)[1:]
		}
		return mermaidID(prefix + name)
	}
	fmt.Fprintf(b, "%s%s([start])\n", indent, id(Start))
	fmt.Fprintf(b, "%s%s([end])\n", indent, id(End))
	for _, n := range s.Nodes {
		switch {
		case n.Subgraph != nil:
			fmt.Fprintf(b, "%ssubgraph %s [%s]\n", indent, id(n.Name), mermaidLabel(n.Name))
			n.Subgraph.mermaid(b, prefix+n.Name+"/", indent+"  ")
			fmt.Fprintf(b, "%send\n", indent)
		case n.Kind == "map":
			fmt.Fprintf(b, "%s%s[[%s]]\n", indent, id(n.Name), mermaidLabel(n.Name))
		default:
			fmt.Fprintf(b, "%s%s[%s]\n", indent, id(n.Name), mermaidLabel(n.Name))
		}
	}
	for _, e := range s.Edges {
		arrow := "-->"
		if e.Conditional {
			arrow = "-.->"
		}
		fmt.Fprintf(b, "%s%s %s %s\n", indent, id(e.From), arrow, id(e.To))
	}
}

// mermaidID makes a node path into a Mermaid node ID: letters, digits and
// underscores, with anything else escaped, so that distinct paths stay
// distinct.
func mermaidID(path string) string {
	var b strings.Builder
	b.WriteString("n_")
	for _, r := range path {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "_%x_", r)
		}
	}
	return b.String()
}

// mermaidLabel quotes a node name for a Mermaid label.
func mermaidLabel(name string) string {
	return `"` + strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(name) + `"`
}
