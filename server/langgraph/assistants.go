package langgraph

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/weftgraph/weft"
)

// assistant is the Platform's assistant object: one per workflow, named
// after it (assistant_id = graph_id = name).
func (h *handler) assistant(name string) map[string]any {
	ts := timestamp(h.started)
	return map[string]any{
		"assistant_id": name,
		"graph_id":     name,
		"name":         name,
		"description":  nil,
		"config":       map[string]any{},
		"context":      map[string]any{},
		"metadata":     map[string]any{"created_by": "system"},
		"version":      1,
		"created_at":   ts,
		"updated_at":   ts,
	}
}

func (h *handler) searchAssistants(w http.ResponseWriter, r *http.Request) {
	if out, ok := h.findAssistants(w, r); ok {
		writeJSON(w, http.StatusOK, out)
	}
}

// countAssistants is POST /assistants/count: how many assistants the
// search finds (without paging).
func (h *handler) countAssistants(w http.ResponseWriter, r *http.Request) {
	if out, ok := h.findAssistants(w, r); ok {
		writeJSON(w, http.StatusOK, len(out))
	}
}

// findAssistants are the assistants a search or count body asks for, paged
// for a search; it writes the error itself.
func (h *handler) findAssistants(w http.ResponseWriter, r *http.Request) ([]map[string]any, bool) {
	var q struct {
		GraphID string         `json:"graph_id"`
		Name    string         `json:"name"`
		Limit   int            `json:"limit"`
		Offset  int            `json:"offset"`
		Meta    map[string]any `json:"metadata"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, false
	}
	out := []map[string]any{}
	for _, name := range h.order {
		if q.GraphID != "" && q.GraphID != name {
			continue
		}
		if q.Name != "" && !strings.Contains(name, q.Name) {
			continue
		}
		out = append(out, h.assistant(name))
	}
	if strings.HasSuffix(r.URL.Path, "/count") {
		return out, true
	}
	return page(out, q.Offset, q.Limit), true
}

// page cuts items to the page at offset of at most limit (10 when 0).
func page[T any](items []T, offset, limit int) []T {
	if limit <= 0 {
		limit = 10
	}
	if offset < 0 || offset >= len(items) {
		return items[:0]
	}
	items = items[offset:]
	if len(items) > limit {
		items = items[:limit]
	}
	return items
}

// runnerOf returns the workflow of assistant id, writing 404 if there is none.
func (h *handler) runnerOf(w http.ResponseWriter, id string) (weft.Runner, bool) {
	rn, ok := h.runners[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Assistant '"+id+"' not found")
	}
	return rn, ok
}

func (h *handler) getAssistant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := h.runnerOf(w, id); ok {
		writeJSON(w, http.StatusOK, h.assistant(id))
	}
}

func (h *handler) assistantSchemas(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rn, ok := h.runnerOf(w, id)
	if !ok {
		return
	}
	schema := rn.InputSchema()
	writeJSON(w, http.StatusOK, map[string]any{
		"graph_id":       id,
		"input_schema":   schema,
		"output_schema":  schema,
		"state_schema":   schema,
		"config_schema":  nil,
		"context_schema": nil,
	})
}

// assistantGraph draws the workflow as LangGraph's JSON graph: nodes with
// an id, a type and data, and edges with source, target and conditional.
func (h *handler) assistantGraph(w http.ResponseWriter, r *http.Request) {
	rn, ok := h.runnerOf(w, r.PathValue("id"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, drawGraph(rn.Shape()))
}

type graphNode struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Data     any             `json:"data"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

type graphEdge struct {
	Source      string `json:"source"`
	Target      string `json:"target"`
	Conditional bool   `json:"conditional,omitempty"`
}

func drawGraph(s weft.Shape) map[string]any {
	nodes := []graphNode{}
	seen := map[string]bool{}
	add := func(id, kind string) {
		if seen[id] {
			return
		}
		seen[id] = true
		if id == weft.Start || id == weft.End {
			nodes = append(nodes, graphNode{ID: id, Type: "schema", Data: id})
			return
		}
		nodes = append(nodes, graphNode{ID: id, Type: "runnable", Data: map[string]any{"id": []string{"weft", kind, id}, "name": id}})
	}
	add(weft.Start, "")
	for _, n := range s.Nodes {
		add(n.Name, n.Kind)
	}
	edges := []graphEdge{}
	for _, e := range s.Edges {
		add(e.From, "node")
		add(e.To, "node")
		edges = append(edges, graphEdge{Source: e.From, Target: e.To, Conditional: e.Conditional})
	}
	return map[string]any{"nodes": nodes, "edges": edges}
}
