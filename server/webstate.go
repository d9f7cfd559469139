package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// The thread page's history and state edits: the list of the thread's
// checkpoints, each with its step, the nodes that wrote it, its time, who
// wrote it by hand (if anyone) and how its state differs from its
// parent's; and, to an operator, forms to edit the state (POST
// /threads/{id}/state) and to fork the thread from a checkpoint (POST
// /threads/{id}/fork), both through weft.StateEditor.

// historyLimit caps the checkpoints the thread page lists, newest first;
// GET /v1/threads/{id}/history lists them all.
const historyLimit = 25

// diffValueMax is how many characters of a value a diff shows before it
// cuts it, the full value one click away.
const diffValueMax = 120

// checkpointView is one checkpoint of the thread's history.
type checkpointView struct {
	ID, Parent, Source    string
	Step                  int
	Nodes                 []string
	Created               string
	Author, Channel, Note string
	// ResumedBy is who resumed the thread, if the run that wrote the
	// checkpoint was a Resume by someone (ResumedVia: how).
	ResumedBy, ResumedVia string
	Head                  bool
	// Changes is the diff of its state against its parent's; NoDiff says
	// why there is none to show ("" when the states are known).
	Changes []changeView
	NoDiff  string
	// Fork: the form that forks the thread from this checkpoint is open,
	// with ForkText in it (after a refused fork).
	ForkOpen bool
	ForkText string
}

// changeView is one field of a diff.
type changeView struct {
	Field    string
	Kind     string // "added", "changed" or "removed"
	Old, New valueView
}

// valueView is a value in a diff: Short in one line, cut when long, Full
// (indented JSON) when it was cut.
type valueView struct {
	Short, Full string
	Cut         bool
}

// editForms are the operator's state forms of the thread page.
type editForms struct {
	// CanEdit: the principal may operate and the server can edit the
	// thread's state now; EditNote says why not otherwise.
	CanEdit           bool
	EditNote          string
	EditURL, ForkURL  string
	EditText, EditFor string // the textarea's JSON, and the head it was read at
	EditOpen          bool
	History           []checkpointView
	HistoryMore       bool
	// Actions are what people did to the thread by hand, oldest first:
	// edits, forks, cancels and resumes, as its checkpoints record them.
	Actions []actionView
}

// actionView is one action on the thread in its audit trail.
type actionView struct {
	What, Author, Channel, At, Note, Checkpoint string
}

// auditScan caps the checkpoints the audit trail of actions looks at,
// newest first.
const auditScan = 1000

// actionOf says what a person did with the checkpoint cp, if anything.
func actionOf(cp *checkpoint.Checkpoint) (actionView, bool) {
	a := actionView{Author: cp.Meta[weft.MetaAuthor], Channel: cp.Meta[weft.MetaChannel], Note: cp.Meta[weft.MetaNote],
		At: timeText(cp.CreatedAt), Checkpoint: cp.ID}
	switch {
	case cp.Source == checkpoint.SourceCancel:
		a.What = "cancelled the thread"
	case cp.Source == checkpoint.SourceFork && a.Author != "":
		a.What = "forked the thread from checkpoint " + cp.ParentID
	case cp.Source == checkpoint.SourceUpdate && a.Author != "":
		a.What = "edited the state"
	case cp.Meta[weft.MetaResumedBy] != "":
		a.What, a.Author, a.Channel, a.Note = "resumed the thread", cp.Meta[weft.MetaResumedBy], cp.Meta[weft.MetaResumedVia], ""
	default:
		return a, false
	}
	return a, true
}

// The keys of what an edit did, in the thread page's ?done=.
const (
	doneEdited    = "edited"    // the state was changed
	doneUnchanged = "unchanged" // the form changed nothing
	doneForked    = "forked"    // the thread was forked from a checkpoint
)

// editMessage is actionMessage for the edits.
func editMessage(done string, v *threadView) string {
	switch done {
	case doneEdited:
		return fmt.Sprintf("State saved as checkpoint %s. The thread is %s: Resume carries it on from the new state.", v.Checkpoint, v.Status)
	case doneUnchanged:
		return "Nothing changed: the state you sent is the thread's state. No checkpoint was written."
	case doneForked:
		from := ""
		if len(v.History) > 0 && v.History[0].Head {
			from = " from checkpoint " + v.History[0].Parent
		}
		return fmt.Sprintf("Forked%s: the thread now stands at checkpoint %s (%s). Resume runs it again from there; the later checkpoints stay in the history.", from, v.Checkpoint, v.Status)
	}
	return ""
}

// stateEditor returns the thread's runner as a weft.StateEditor, or an
// error that says why the server cannot edit its state (422).
func (s *Server) stateEditor(row *checkpoint.Thread) (weft.Runner, weft.StateEditor, error) {
	rn, ok := s.ib.Runner(row.Workflow)
	if !ok {
		return nil, nil, &apiError{http.StatusUnprocessableEntity, CodeCannotEdit,
			fmt.Sprintf("This server does not have workflow %q, so it cannot edit the state of its threads: edit it where the workflow is registered.", row.Workflow)}
	}
	ed, ok := rn.(weft.StateEditor)
	if !ok {
		return nil, nil, &apiError{http.StatusUnprocessableEntity, CodeCannotEdit,
			fmt.Sprintf("The runner of workflow %q cannot edit states (it does not implement weft.StateEditor): register the Runner that Workflow.Runner returns.", row.Workflow)}
	}
	return rn, ed, nil
}

// editable says whether the state of a thread in status st can be edited
// now, and why not.
func editable(st weft.Status) (bool, string) { return editableFor(st, "edit its state") }

// editableFor is editable with the action named ("fork it").
func editableFor(st weft.Status, action string) (bool, string) {
	switch st {
	case weft.StatusRunning:
		return false, "The thread is running: stop it to " + action + "."
	case weft.StatusReady:
		return false, "The thread is ready (answers or a submitted run wait to be acted on): resume it first to " + action + "."
	}
	return true, ""
}

// editTarget loads thread for an edit (action names it in refusals): its
// row, its runner and the runner as a StateEditor, or the error the page
// shows (unknown thread, a runner that cannot edit, a running or ready
// thread).
func (s *Server) editTarget(ctx context.Context, thread, action string) (*checkpoint.Thread, weft.Runner, weft.StateEditor, error) {
	row, err := s.threadRow(ctx, thread)
	if err != nil {
		return nil, nil, nil, err
	}
	rn, ed, err := s.stateEditor(row)
	if err != nil {
		return nil, nil, nil, err
	}
	if ok, why := editableFor(row.Status, action); !ok {
		return nil, nil, nil, &apiError{http.StatusConflict, CodeBusy, why}
	}
	return row, rn, ed, nil
}

// editData fills the history and the edit forms of the thread page.
func (s *Server) editData(ctx context.Context, v *threadView, row *checkpoint.Thread, p Principal, steps []weft.Step) error {
	id := row.ID
	v.EditURL, v.ForkURL = threadPageURL(id)+"/state", threadPageURL(id)+"/fork"
	rn, _, edErr := s.stateEditor(row)
	if p.can(permOperate) {
		ok, why := editable(row.Status)
		switch {
		case edErr != nil:
			v.EditNote = edErr.Error()
		case !ok:
			v.EditNote = why
		case row.Head == "":
		default:
			v.CanEdit = true
		}
	}
	v.EditText, v.EditFor = v.State, row.Head

	cps, err := s.ib.Store().History(ctx, &checkpoint.HistoryQuery{ThreadID: id, Limit: auditScan})
	if err != nil {
		return fmt.Errorf("history of thread %q: %w", id, err)
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if a, ok := actionOf(&cps[i]); ok {
			v.Actions = append(v.Actions, a)
		}
	}
	if len(cps) > historyLimit {
		cps, v.HistoryMore = cps[:historyLimit], true
	}
	// The nodes that wrote each checkpoint: those of the superstep that
	// started from its parent and wrote its step.
	type key struct {
		from string
		step int
	}
	nodes := map[key][]string{}
	for _, st := range steps {
		k := key{st.CheckpointID, st.Superstep}
		if st.Namespace == "" && !slices.Contains(nodes[k], st.Node) {
			nodes[k] = append(nodes[k], st.Node)
		}
	}
	states := map[string]any{} // checkpoint ID → values, when the server has the workflow
	stateOf := func(cpID string) (any, bool) {
		if rn == nil {
			return nil, false
		}
		if val, ok := states[cpID]; ok {
			return val, true
		}
		snap, err := rn.StateAt(ctx, id, cpID)
		if err != nil {
			return nil, false // pruned, or unreadable: no diff
		}
		states[cpID] = snap.Values
		return snap.Values, true
	}
	for _, cp := range cps {
		cv := checkpointView{
			ID: cp.ID, Parent: cp.ParentID, Source: cp.Source, Step: cp.Step, Created: timeText(cp.CreatedAt),
			Author: cp.Meta[weft.MetaAuthor], Channel: cp.Meta[weft.MetaChannel], Note: cp.Meta[weft.MetaNote],
			ResumedBy: cp.Meta[weft.MetaResumedBy], ResumedVia: cp.Meta[weft.MetaResumedVia],
			Head: cp.ID == row.Head,
		}
		switch cp.Source {
		case checkpoint.SourceLoop:
			cv.Nodes = nodes[key{cp.ParentID, cp.Step}]
		case checkpoint.SourceUpdate:
			if as := cp.Meta["as_node"]; as != "" {
				cv.Nodes = []string{as}
			}
		}
		cur, ok := stateOf(cp.ID)
		switch {
		case !ok && rn == nil:
			cv.NoDiff = "The server does not have the workflow: its states cannot be read here."
		case !ok:
			cv.NoDiff = "The state of this checkpoint cannot be read."
		case cp.ParentID == "":
			cv.Changes = stateDiff(nil, cur)
		default:
			if prev, ok := stateOf(cp.ParentID); ok {
				cv.Changes = stateDiff(prev, cur)
			} else {
				cv.NoDiff = "Its parent checkpoint was pruned: no diff."
			}
		}
		v.History = append(v.History, cv)
	}
	return nil
}

// fieldsOf returns the top-level JSON members of a state; a state that
// is not a JSON object is one member, "(state)".
func fieldsOf(v any) map[string]json.RawMessage {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return map[string]json.RawMessage{"(state)": raw}
	}
	return m
}

// stateDiff lists the top-level fields that differ between two states,
// by name: added (absent or null before), removed (absent or null after)
// or changed.
func stateDiff(prev, cur any) []changeView {
	a, b := fieldsOf(prev), fieldsOf(cur)
	names := map[string]bool{}
	for k := range a {
		names[k] = true
	}
	for k := range b {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []changeView
	for _, k := range keys {
		o, n := a[k], b[k]
		oNull, nNull := isNull(o), isNull(n)
		switch {
		case oNull && nNull:
		case oNull:
			out = append(out, changeView{Field: k, Kind: "added", New: valueOf(n)})
		case nNull:
			out = append(out, changeView{Field: k, Kind: "removed", Old: valueOf(o)})
		case compactJSON(o) != compactJSON(n):
			out = append(out, changeView{Field: k, Kind: "changed", Old: valueOf(o), New: valueOf(n)})
		}
	}
	return out
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// valueOf is a value for a diff: in one line, cut at diffValueMax
// characters.
func valueOf(raw json.RawMessage) valueView {
	short := valueText(raw)
	if utf8.RuneCountInString(short) <= diffValueMax && !strings.Contains(short, "\n") {
		return valueView{Short: short}
	}
	line, _, _ := strings.Cut(short, "\n")
	if r := []rune(line); len(r) > diffValueMax {
		line = string(r[:diffValueMax])
	}
	var full any
	text := string(raw)
	if json.Unmarshal(raw, &full) == nil {
		if s, ok := full.(string); ok {
			text = s
		} else {
			text = jsonText(full)
		}
	}
	return valueView{Short: line + "…", Full: text, Cut: true}
}

// formPatch turns the JSON of a state form into a patch for
// weft.StateEditor: the members of the object sent whose values differ
// from base's (so that a form sent back as it was changes nothing, and
// the fields it leaves out keep their values). It refuses text that is not
// a JSON object with 400.
func formPatch(text string, base any) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var sent map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&sent); err != nil || sent == nil {
		msg := "The state must be a JSON object of fields to set, like {\"field\": \"value\"}"
		if err != nil {
			msg += ": " + err.Error()
		}
		return nil, errBadRequest(msg + ". Nothing was changed.")
	}
	if dec.More() {
		return nil, errBadRequest("The state must be one JSON object: there is text after it. Nothing was changed.")
	}
	cur := fieldsOf(base)
	patch := map[string]json.RawMessage{}
	for k, raw := range sent {
		if old, ok := cur[k]; ok && sameJSON(old, raw) {
			continue
		}
		patch[k] = raw
	}
	if len(patch) == 0 {
		return nil, nil
	}
	return json.Marshal(patch)
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// checkNote checks the note of an edit: optional, at most maxReason bytes.
func checkNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if len(note) > maxReason {
		return "", errBadRequest(fmt.Sprintf("the note is longer than %d bytes", maxReason))
	}
	return note, nil
}

func editOptions(p Principal, note string) []weft.UpdateOption {
	opts := []weft.UpdateOption{weft.By(p.Name, checkpoint.ChannelUI)}
	if note != "" {
		opts = append(opts, weft.Note(note))
	}
	return opts
}

// webEditState is POST /threads/{id}/state: the form's JSON, compared
// with the thread's state, becomes an edit (weft.StateEditor's
// UpdateStateJSON) by the principal.
func (s *Server) webEditState(r *http.Request, thread string, p Principal) (string, error) {
	ctx := r.Context()
	row, rn, ed, err := s.editTarget(ctx, thread, "edit its state")
	if err != nil {
		return "", err
	}
	if at := r.PostForm.Get("checkpoint"); at != "" && at != row.Head {
		return "", &apiError{http.StatusConflict, CodeConflict, fmt.Sprintf(
			"The thread changed since the page was loaded (checkpoint %s, now %s): nothing was saved. Look at its state now and edit again.", at, row.Head)}
	}
	note, err := checkNote(r.PostForm.Get("note"))
	if err != nil {
		return "", err
	}
	cur, err := rn.State(ctx, thread)
	if err != nil {
		return "", err
	}
	patch, err := formPatch(r.PostForm.Get("state"), cur.Values)
	if err != nil {
		return "", err
	}
	if patch == nil {
		return doneUnchanged, nil
	}
	snap, err := ed.UpdateStateJSON(ctx, thread, patch, editOptions(p, note)...)
	if err != nil {
		return "", err
	}
	if snap.Checkpoint == cur.Checkpoint {
		return doneUnchanged, nil
	}
	s.log.InfoContext(ctx, "weft server: state edited", "thread", thread, "workflow", row.Workflow,
		"checkpoint", snap.Checkpoint, "by", p.Name, "channel", checkpoint.ChannelUI)
	return doneEdited, nil
}

// webFork is POST /threads/{id}/fork: the thread is forked from the
// form's checkpoint, its state changed by the form's JSON if any
// (weft.StateEditor's ForkJSON), by the principal.
func (s *Server) webFork(r *http.Request, thread string, p Principal) (string, error) {
	ctx := r.Context()
	row, rn, ed, err := s.editTarget(ctx, thread, "fork it")
	if err != nil {
		return "", err
	}
	from := strings.TrimSpace(r.PostForm.Get("checkpoint"))
	if from == "" {
		return "", errBadRequest("Say which checkpoint to fork from. Nothing was changed.")
	}
	note, err := checkNote(r.PostForm.Get("note"))
	if err != nil {
		return "", err
	}
	base, err := rn.StateAt(ctx, thread, from)
	if err != nil {
		if errors.Is(err, weft.ErrNotFound) {
			return "", &apiError{http.StatusNotFound, CodeNotFound, fmt.Sprintf("Thread %q has no checkpoint %q. Nothing was changed.", thread, from)}
		}
		return "", err
	}
	patch, err := formPatch(r.PostForm.Get("state"), base.Values)
	if err != nil {
		return "", err
	}
	snap, err := ed.ForkJSON(ctx, thread, from, patch, editOptions(p, note)...)
	if err != nil {
		return "", err
	}
	if snap.Checkpoint == row.Head {
		return doneUnchanged, nil // a fork of the head that changes nothing
	}
	s.log.InfoContext(ctx, "weft server: thread forked", "thread", thread, "workflow", row.Workflow,
		"from", from, "checkpoint", snap.Checkpoint, "by", p.Name, "channel", checkpoint.ChannelUI)
	return doneForked, nil
}

// keepForm puts what a refused edit sent back into its form, open.
func (v *threadView) keepForm(r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/state"):
		v.EditText, v.EditOpen = r.PostForm.Get("state"), true
	case strings.HasSuffix(r.URL.Path, "/fork"):
		from := r.PostForm.Get("checkpoint")
		for i := range v.History {
			if v.History[i].ID == from {
				v.History[i].ForkOpen, v.History[i].ForkText = true, r.PostForm.Get("state")
			}
		}
	}
}
