package langgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// kindStoreItem is the kind of the records of the store API's items; an
// item's record ID is the JSON list of its namespace's labels and its key.
const kindStoreItem = "langgraph.store_item"

// storeItem is an item of the store API as its record keeps it.
type storeItem struct {
	Namespace []string       `json:"namespace"`
	Key       string         `json:"key"`
	Value     map[string]any `json:"value"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func (it *storeItem) object() map[string]any {
	return map[string]any{
		"namespace": it.Namespace, "key": it.Key, "value": it.Value,
		"created_at": timestamp(it.CreatedAt), "updated_at": timestamp(it.UpdatedAt),
	}
}

// itemID is the record ID of the item key in namespace ns.
func itemID(ns []string, key string) string {
	b, _ := json.Marshal(append(slices.Clip(ns), key))
	return string(b)
}

// checkNamespace refuses a namespace that is empty or has an empty label
// or one with a period (the SDK joins labels with periods).
func checkNamespace(ns []string) error {
	if len(ns) == 0 {
		return fmt.Errorf("namespace must have at least one label: %w", errInvalid)
	}
	for _, l := range ns {
		if l == "" || strings.Contains(l, ".") {
			return fmt.Errorf("namespace label %q must be non-empty, without periods: %w", l, errInvalid)
		}
	}
	return nil
}

// putItem is PUT /store/items {namespace, key, value}: the item is
// written (replaced if it exists). index and ttl are ignored.
func (h *handler) putItem(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Namespace []string        `json:"namespace"`
		Key       string          `json:"key"`
		Value     json.RawMessage `json:"value"`
	}
	if err := decodeBody(r, &b); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err := checkNamespace(b.Namespace); err != nil {
		writeErr(w, err)
		return
	}
	if b.Key == "" {
		writeError(w, http.StatusUnprocessableEntity, "key is required")
		return
	}
	var value map[string]any
	if err := json.Unmarshal(b.Value, &value); err != nil || value == nil {
		writeError(w, http.StatusUnprocessableEntity, "value must be a JSON object")
		return
	}
	ctx := r.Context()
	h.amu.Lock()
	defer h.amu.Unlock()
	now := time.Now().UTC()
	it := storeItem{Namespace: b.Namespace, Key: b.Key, Value: value, CreatedAt: now, UpdatedAt: now}
	if old, err := h.loadItem(ctx, b.Namespace, b.Key); err != nil {
		writeErr(w, err)
		return
	} else if old != nil {
		it.CreatedAt = old.CreatedAt
	}
	data, err := json.Marshal(it)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := h.assistantStore().PutRecord(ctx, &checkpoint.Record{Kind: kindStoreItem, ID: itemID(b.Namespace, b.Key), Data: data}); err != nil {
		writeErr(w, fmt.Errorf("saving store item: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// loadItem reads an item (nil if there is none).
func (h *handler) loadItem(ctx context.Context, ns []string, key string) (*storeItem, error) {
	rec, err := h.assistantStore().Record(ctx, kindStoreItem, itemID(ns, key))
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading store item: %w", err)
	}
	var it storeItem
	if err := json.Unmarshal(rec.Data, &it); err != nil {
		return nil, fmt.Errorf("decoding store item %s: %w", rec.ID, err)
	}
	return &it, nil
}

// getItem is GET /store/items?namespace=a.b&key=k: the item, or null.
func (h *handler) getItem(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns := strings.Split(q.Get("namespace"), ".")
	if err := checkNamespace(ns); err != nil {
		writeErr(w, err)
		return
	}
	if q.Get("key") == "" {
		writeError(w, http.StatusUnprocessableEntity, "key is required")
		return
	}
	it, err := h.loadItem(r.Context(), ns, q.Get("key"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if it == nil {
		writeJSON(w, http.StatusOK, nil)
		return
	}
	writeJSON(w, http.StatusOK, it.object())
}

// deleteItem is DELETE /store/items {namespace, key} (204, also for an
// item that is not there).
func (h *handler) deleteItem(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Namespace []string `json:"namespace"`
		Key       string   `json:"key"`
	}
	if err := decodeBody(r, &b); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if b.Key == "" {
		writeError(w, http.StatusUnprocessableEntity, "key is required")
		return
	}
	err := h.assistantStore().DeleteRecord(r.Context(), kindStoreItem, itemID(b.Namespace, b.Key))
	if err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
		writeErr(w, fmt.Errorf("deleting store item: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// allItems reads every item of the store API, in ID order.
func (h *handler) allItems(ctx context.Context) ([]storeItem, error) {
	var out []storeItem
	for rec, err := range recordsOf(ctx, h.assistantStore(), checkpoint.RecordQuery{Kind: kindStoreItem, Limit: 1000}) {
		if err != nil {
			return nil, fmt.Errorf("listing store items: %w", err)
		}
		var it storeItem
		if err := json.Unmarshal(rec.Data, &it); err != nil {
			return nil, fmt.Errorf("decoding store item %s: %w", rec.ID, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// hasPrefix reports whether ns starts with the labels of prefix ("*"
// matches any label).
func hasPrefix(ns, prefix []string) bool {
	if len(prefix) > len(ns) {
		return false
	}
	for i, l := range prefix {
		if l != "*" && l != ns[i] {
			return false
		}
	}
	return true
}

// searchItems is POST /store/items/search {namespace_prefix, filter,
// limit (10), offset}: the items under the prefix whose value has every
// field of filter equal, newest update first. query (semantic search) is
// refused (422).
func (h *handler) searchItems(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Prefix []string       `json:"namespace_prefix"`
		Filter map[string]any `json:"filter"`
		Limit  int            `json:"limit"`
		Offset int            `json:"offset"`
		Query  *string        `json:"query"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if q.Query != nil && *q.Query != "" {
		writeError(w, http.StatusUnprocessableEntity, "query is not supported: weft's store has no semantic search; search with namespace_prefix and filter")
		return
	}
	items, err := h.allItems(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []map[string]any{}
	slices.SortStableFunc(items, func(a, b storeItem) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	for i := range items {
		it := &items[i]
		if hasPrefix(it.Namespace, q.Prefix) && matches(it.Value, q.Filter) {
			out = append(out, it.object())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": page(out, q.Offset, q.Limit)})
}

// listNamespaces is POST /store/namespaces {prefix, suffix, max_depth,
// limit (100), offset}: the namespaces of the items, cut to max_depth
// labels, each once, in order.
func (h *handler) listNamespaces(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Prefix   []string `json:"prefix"`
		Suffix   []string `json:"suffix"`
		MaxDepth int      `json:"max_depth"`
		Limit    int      `json:"limit"`
		Offset   int      `json:"offset"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	items, err := h.allItems(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	seen := map[string]bool{}
	out := [][]string{}
	for _, it := range items {
		ns := it.Namespace
		if !hasPrefix(ns, q.Prefix) || !hasSuffix(ns, q.Suffix) {
			continue
		}
		if q.MaxDepth > 0 && len(ns) > q.MaxDepth {
			ns = ns[:q.MaxDepth]
		}
		if k := itemID(ns, ""); !seen[k] {
			seen[k] = true
			out = append(out, ns)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	writeJSON(w, http.StatusOK, map[string]any{"namespaces": page(out, q.Offset, q.Limit)})
}

// hasSuffix reports whether ns ends with the labels of suffix ("*" matches
// any label).
func hasSuffix(ns, suffix []string) bool {
	if len(suffix) > len(ns) {
		return false
	}
	return hasPrefix(ns[len(ns)-len(suffix):], suffix)
}
