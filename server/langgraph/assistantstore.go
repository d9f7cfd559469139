package langgraph

import (
	"cmp"
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

// The kinds of the records of assistants made with POST /assistants: the
// assistant (its current version, and its newest version number), and
// each version, with the ID <assistant id>/<version, 9 digits>.
const (
	kindAssistant        = "langgraph.assistant"
	kindAssistantVersion = "langgraph.assistant_version"
)

// storedAssistant is an assistant made through the API, one version of it.
type storedAssistant struct {
	AssistantID string         `json:"assistant_id"`
	GraphID     string         `json:"graph_id"`
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Config      map[string]any `json:"config"`
	Context     map[string]any `json:"context"`
	Metadata    map[string]any `json:"metadata"`
	Version     int            `json:"version"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// assistantRecord is the record of an assistant: its current version and
// the number of its newest.
type assistantRecord struct {
	Current storedAssistant `json:"current"`
	Latest  int             `json:"latest"`
}

// object is the Platform's assistant object.
func (a *storedAssistant) object() map[string]any {
	return map[string]any{
		"assistant_id": a.AssistantID, "graph_id": a.GraphID, "name": a.Name,
		"description": a.Description, "config": orEmpty(a.Config), "context": orEmpty(a.Context),
		"metadata": orEmpty(a.Metadata), "version": a.Version,
		"created_at": timestamp(a.CreatedAt), "updated_at": timestamp(a.UpdatedAt),
	}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func versionID(assistant string, version int) string {
	return fmt.Sprintf("%s/%09d", assistant, version)
}

// errSystemAssistant refuses to change the assistant of a workflow.
func errSystemAssistant(id string) error {
	return fmt.Errorf("assistant %q is the assistant of a workflow, which cannot be changed; create one with POST /assistants {graph_id: %q}: %w", id, id, errConflict)
}

// errConflict marks a request that conflicts with what is there (409).
var errConflict = errors.New("conflict")

// assistantStore is where assistants are kept: the store's records, or
// records in memory for a store without them.
func (h *handler) assistantStore() checkpoint.Records { return h.assistantRecs }

// loadAssistant reads the record of assistant id (nil if there is none).
func (h *handler) loadAssistant(ctx context.Context, id string) (*assistantRecord, error) {
	rec, err := h.assistantStore().Record(ctx, kindAssistant, id)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("assistant %q: reading it: %w", id, err)
	}
	var ar assistantRecord
	if err := json.Unmarshal(rec.Data, &ar); err != nil {
		return nil, fmt.Errorf("assistant %q: decoding it: %w", id, err)
	}
	return &ar, nil
}

// saveAssistant writes the record of an assistant, and version v as one of
// its versions if v is not nil.
func (h *handler) saveAssistant(ctx context.Context, ar *assistantRecord, v *storedAssistant) error {
	rs := h.assistantStore()
	if v != nil {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := rs.PutRecord(ctx, &checkpoint.Record{Kind: kindAssistantVersion, ID: versionID(v.AssistantID, v.Version), Data: data}); err != nil {
			return fmt.Errorf("assistant %q: saving version %d: %w", v.AssistantID, v.Version, err)
		}
	}
	data, err := json.Marshal(ar)
	if err != nil {
		return err
	}
	if err := rs.PutRecord(ctx, &checkpoint.Record{Kind: kindAssistant, ID: ar.Current.AssistantID, Data: data}); err != nil {
		return fmt.Errorf("assistant %q: saving it: %w", ar.Current.AssistantID, err)
	}
	return nil
}

// versions lists the versions of assistant id, newest first.
// assistantToChange loads the stored assistant id and its versions, for a
// change made under h.amu. It writes the error (404 when there is no such
// assistant) and reports false if it cannot.
func (h *handler) assistantToChange(ctx context.Context, w http.ResponseWriter, id string) (*assistantRecord, []storedAssistant, bool) {
	ar, err := h.loadAssistant(ctx, id)
	if err != nil {
		writeErr(w, err)
		return nil, nil, false
	}
	if ar == nil {
		writeError(w, http.StatusNotFound, "Assistant '"+id+"' not found")
		return nil, nil, false
	}
	vs, err := h.versions(ctx, id)
	if err != nil {
		writeErr(w, err)
		return nil, nil, false
	}
	return ar, vs, true
}

func (h *handler) versions(ctx context.Context, id string) ([]storedAssistant, error) {
	var out []storedAssistant
	for rec, err := range recordsOf(ctx, h.assistantStore(), checkpoint.RecordQuery{Kind: kindAssistantVersion, After: id + "/", Limit: 1000}) {
		if err != nil {
			return nil, fmt.Errorf("assistant %q: listing its versions: %w", id, err)
		}
		if !strings.HasPrefix(rec.ID, id+"/") {
			break
		}
		var v storedAssistant
		if err := json.Unmarshal(rec.Data, &v); err != nil {
			return nil, fmt.Errorf("assistant %q: decoding version %s: %w", id, rec.ID, err)
		}
		out = append(out, v)
	}
	slices.Reverse(out)
	return out, nil
}

// storedAssistants lists the assistants made through the API.
func (h *handler) storedAssistants(ctx context.Context) ([]storedAssistant, error) {
	var out []storedAssistant
	for rec, err := range recordsOf(ctx, h.assistantStore(), checkpoint.RecordQuery{Kind: kindAssistant, Limit: 1000}) {
		if err != nil {
			return nil, fmt.Errorf("listing assistants: %w", err)
		}
		var ar assistantRecord
		if err := json.Unmarshal(rec.Data, &ar); err != nil {
			return nil, fmt.Errorf("assistant %q: decoding it: %w", rec.ID, err)
		}
		out = append(out, ar.Current)
	}
	return out, nil
}

// assistantBody is the body of POST /assistants and PATCH
// /assistants/{id}.
type assistantBody struct {
	AssistantID string          `json:"assistant_id"`
	GraphID     string          `json:"graph_id"`
	Config      map[string]any  `json:"config"`
	Context     map[string]any  `json:"context"`
	Metadata    map[string]any  `json:"metadata"`
	IfExists    string          `json:"if_exists"`
	Name        *string         `json:"name"`
	Description json.RawMessage `json:"description"`
}

// createAssistant is POST /assistants: an assistant of the workflow
// graph_id, version 1; if_exists raise (409, the default) or do_nothing
// (the one there is returned).
func (h *handler) createAssistant(w http.ResponseWriter, r *http.Request) {
	var b assistantBody
	if err := decodeBody(r, &b); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if b.GraphID == "" {
		writeError(w, http.StatusUnprocessableEntity, "graph_id is required")
		return
	}
	if _, ok := h.runners[b.GraphID]; !ok {
		writeError(w, http.StatusNotFound, "Graph '"+b.GraphID+"' not found")
		return
	}
	switch b.IfExists {
	case "", "raise", "do_nothing":
	default:
		writeError(w, http.StatusUnprocessableEntity, "if_exists must be raise or do_nothing")
		return
	}
	if b.AssistantID == "" {
		b.AssistantID = newUUID()
	}
	if strings.Contains(b.AssistantID, "/") {
		writeError(w, http.StatusUnprocessableEntity, "assistant_id must not contain /")
		return
	}
	ctx := r.Context()
	h.amu.Lock()
	defer h.amu.Unlock()
	if _, system := h.runners[b.AssistantID]; system {
		writeError(w, http.StatusConflict, fmt.Sprintf("Assistant %q already exists: it is the assistant of a workflow", b.AssistantID))
		return
	}
	old, err := h.loadAssistant(ctx, b.AssistantID)
	if err != nil {
		writeErr(w, err)
		return
	}
	if old != nil {
		if b.IfExists == "do_nothing" {
			writeJSON(w, http.StatusOK, old.Current.object())
			return
		}
		writeError(w, http.StatusConflict, fmt.Sprintf("Assistant %q already exists", b.AssistantID))
		return
	}
	now := time.Now().UTC()
	a := storedAssistant{
		AssistantID: b.AssistantID, GraphID: b.GraphID, Name: "Untitled", Config: orEmpty(b.Config),
		Context: orEmpty(b.Context), Metadata: orEmpty(b.Metadata), Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	if b.Name != nil {
		a.Name = *b.Name
	}
	if err := setDescription(&a, b.Description); err != nil {
		writeErr(w, err)
		return
	}
	if err := h.saveAssistant(ctx, &assistantRecord{Current: a, Latest: 1}, &a); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.object())
}

// setDescription sets the description of a to raw (a string or null),
// if given.
func setDescription(a *storedAssistant, raw json.RawMessage) error {
	if len(raw) == 0 {
		return nil
	}
	if string(raw) == "null" {
		a.Description = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("description must be a string or null: %w", errInvalid)
	}
	a.Description = &s
	return nil
}

// patchAssistant is PATCH /assistants/{id}: a new version, made of the
// newest with the fields given (metadata merged into its metadata; config
// and context replaced), which becomes the current one.
func (h *handler) patchAssistant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var b assistantBody
	if err := decodeBody(r, &b); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if _, system := h.runners[id]; system {
		writeErr(w, errSystemAssistant(id))
		return
	}
	if b.GraphID != "" {
		if _, ok := h.runners[b.GraphID]; !ok {
			writeError(w, http.StatusNotFound, "Graph '"+b.GraphID+"' not found")
			return
		}
	}
	ctx := r.Context()
	h.amu.Lock()
	defer h.amu.Unlock()
	ar, vs, ok := h.assistantToChange(ctx, w, id)
	if !ok {
		return
	}
	base := ar.Current
	if len(vs) > 0 {
		base = vs[0] // the newest version
	}
	a := base
	a.Version = max(ar.Latest, base.Version) + 1
	a.UpdatedAt = time.Now().UTC()
	a.CreatedAt = ar.Current.CreatedAt
	if b.GraphID != "" {
		a.GraphID = b.GraphID
	}
	if b.Config != nil {
		a.Config = b.Config
	}
	if b.Context != nil {
		a.Context = b.Context
	}
	if b.Name != nil {
		a.Name = *b.Name
	}
	a.Metadata = cloneMap(orEmpty(base.Metadata))
	for k, v := range b.Metadata {
		a.Metadata[k] = v
	}
	if err := setDescription(&a, b.Description); err != nil {
		writeErr(w, err)
		return
	}
	if err := h.saveAssistant(ctx, &assistantRecord{Current: a, Latest: a.Version}, &a); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.object())
}

// deleteAssistant is DELETE /assistants/{id}: the assistant and its
// versions are deleted (the threads and runs it made stay).
func (h *handler) deleteAssistant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if q := r.URL.Query().Get("delete_threads"); q == "true" || q == "1" {
		writeError(w, http.StatusUnprocessableEntity, "delete_threads is not supported: delete the threads with DELETE /threads/{thread_id}")
		return
	}
	if _, system := h.runners[id]; system {
		writeErr(w, errSystemAssistant(id))
		return
	}
	ctx := r.Context()
	h.amu.Lock()
	defer h.amu.Unlock()
	_, vs, ok := h.assistantToChange(ctx, w, id)
	if !ok {
		return
	}
	rs := h.assistantStore()
	for _, v := range vs {
		if err := rs.DeleteRecord(ctx, kindAssistantVersion, versionID(id, v.Version)); err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
			writeErr(w, err)
			return
		}
	}
	if err := rs.DeleteRecord(ctx, kindAssistant, id); err != nil && !errors.Is(err, checkpoint.ErrNotFound) {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// assistantVersions is POST /assistants/{id}/versions {metadata, limit,
// offset}: the versions, newest first (a workflow's assistant has one).
func (h *handler) assistantVersions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var q struct {
		Metadata map[string]any `json:"metadata"`
		Limit    int            `json:"limit"`
		Offset   int            `json:"offset"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var all []map[string]any
	if _, system := h.runners[id]; system {
		all = []map[string]any{h.assistant(id)}
	} else {
		ar, err := h.loadAssistant(r.Context(), id)
		if err != nil {
			writeErr(w, err)
			return
		}
		if ar == nil {
			writeError(w, http.StatusNotFound, "Assistant '"+id+"' not found")
			return
		}
		vs, err := h.versions(r.Context(), id)
		if err != nil {
			writeErr(w, err)
			return
		}
		for i := range vs {
			all = append(all, vs[i].object())
		}
	}
	out := []map[string]any{}
	for _, a := range all {
		if md, _ := a["metadata"].(map[string]any); matches(md, q.Metadata) {
			out = append(out, a)
		}
	}
	writeJSON(w, http.StatusOK, page(out, q.Offset, q.Limit))
}

// setLatest is POST /assistants/{id}/latest {version}: that version
// becomes the current one.
func (h *handler) setLatest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var q struct {
		Version int `json:"version"`
	}
	if err := decodeBody(r, &q); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if _, system := h.runners[id]; system {
		if q.Version != 1 {
			writeError(w, http.StatusNotFound, fmt.Sprintf("Assistant %q has no version %d", id, q.Version))
			return
		}
		writeJSON(w, http.StatusOK, h.assistant(id))
		return
	}
	ctx := r.Context()
	h.amu.Lock()
	defer h.amu.Unlock()
	ar, err := h.loadAssistant(ctx, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if ar == nil {
		writeError(w, http.StatusNotFound, "Assistant '"+id+"' not found")
		return
	}
	rec, err := h.assistantStore().Record(ctx, kindAssistantVersion, versionID(id, q.Version))
	if errors.Is(err, checkpoint.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("Assistant %q has no version %d", id, q.Version))
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	var v storedAssistant
	if err := json.Unmarshal(rec.Data, &v); err != nil {
		writeErr(w, err)
		return
	}
	ar.Current = v
	if err := h.saveAssistant(ctx, ar, nil); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v.object())
}

// sortAssistants sorts assistant objects by sort_by (assistant_id,
// created_at, updated_at, name, graph_id) in sort_order (desc by
// default); without sort_by they stay as they are.
func sortAssistants(out []map[string]any, by, order string) error {
	switch by {
	case "":
		return nil
	case "assistant_id", "created_at", "updated_at", "name", "graph_id":
	default:
		return fmt.Errorf("sort_by must be assistant_id, created_at, updated_at, name or graph_id: %w", errInvalid)
	}
	switch order {
	case "", "desc", "asc":
	default:
		return fmt.Errorf("sort_order must be asc or desc: %w", errInvalid)
	}
	slices.SortStableFunc(out, func(a, b map[string]any) int {
		x, _ := a[by].(string)
		y, _ := b[by].(string)
		if order == "asc" {
			return cmp.Compare(x, y)
		}
		return cmp.Compare(y, x)
	})
	return nil
}

// cronsUnsupported answers the cron routes (404, in the Platform's error
// shape, a status the SDK does not retry): weft's LangGraph API has no
// crons.
func cronsUnsupported(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "Crons are not supported by weft's LangGraph API: schedule runs with POST /threads/{thread_id}/runs from a scheduler of your own")
}
