package langgraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// findAssistants are the assistants a search or count body asks for
// (graph_id, name (a part of it), metadata (every key equal); sorted by
// sort_by and sort_order, paged by limit and offset for a search): the
// workflows' assistants first, then those made with POST /assistants,
// oldest first. It writes the error itself.
func (h *handler) findAssistants(w http.ResponseWriter, r *http.Request) ([]map[string]any, bool) {
	var q struct {
		GraphID   string         `json:"graph_id"`
		Name      string         `json:"name"`
		Limit     int            `json:"limit"`
		Offset    int            `json:"offset"`
		Meta      map[string]any `json:"metadata"`
		SortBy    string         `json:"sort_by"`
		SortOrder string         `json:"sort_order"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return nil, false
	}
	stored, err := h.storedAssistants(r.Context())
	if err != nil {
		writeErr(w, err)
		return nil, false
	}
	slices.SortStableFunc(stored, func(a, b storedAssistant) int { return a.CreatedAt.Compare(b.CreatedAt) })
	all := make([]map[string]any, 0, len(h.order)+len(stored))
	for _, name := range h.order {
		all = append(all, h.assistant(name))
	}
	for i := range stored {
		all = append(all, stored[i].object())
	}
	out := []map[string]any{}
	for _, a := range all {
		md, _ := a["metadata"].(map[string]any)
		name, _ := a["name"].(string)
		if (q.GraphID != "" && q.GraphID != a["graph_id"]) || (q.Name != "" && !strings.Contains(name, q.Name)) || !matches(md, q.Meta) {
			continue
		}
		out = append(out, a)
	}
	if err := sortAssistants(out, q.SortBy, q.SortOrder); err != nil {
		writeErr(w, err)
		return nil, false
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

// runnerOf returns the workflow of assistant id (a workflow's name, or
// an assistant made with POST /assistants: its graph_id's) and the
// assistant's object, writing 404 if there is none.
func (h *handler) runnerOf(w http.ResponseWriter, r *http.Request, id string) (weft.Runner, map[string]any, bool) {
	if rn, ok := h.runners[id]; ok {
		return rn, h.assistant(id), true
	}
	ar, err := h.loadAssistant(r.Context(), id)
	if err != nil {
		writeErr(w, err)
		return nil, nil, false
	}
	if ar != nil {
		if rn, ok := h.runners[ar.Current.GraphID]; ok {
			return rn, ar.Current.object(), true
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("Assistant '%s' is of graph '%s', which this server does not have", id, ar.Current.GraphID))
		return nil, nil, false
	}
	writeError(w, http.StatusNotFound, "Assistant '"+id+"' not found")
	return nil, nil, false
}

func (h *handler) getAssistant(w http.ResponseWriter, r *http.Request) {
	if _, a, ok := h.runnerOf(w, r, r.PathValue("id")); ok {
		writeJSON(w, http.StatusOK, a)
	}
}

func (h *handler) assistantSchemas(w http.ResponseWriter, r *http.Request) {
	rn, _, ok := h.runnerOf(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	schema := rn.InputSchema()
	writeJSON(w, http.StatusOK, map[string]any{
		"graph_id":       rn.Name(),
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
	rn, _, ok := h.runnerOf(w, r, r.PathValue("id"))
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
