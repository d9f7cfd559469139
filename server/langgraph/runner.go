package langgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// Runner returns wf's weft.Runner made able to apply a run's
// Command(update=...) (a JSON object of state fields, applied with the
// answers): a weft.Runner alone takes states as JSON and cannot build the
// function of the workflow's state type that weft.Update needs. A plain
// wf.Runner() serves everything else, state updates (POST
// /threads/{id}/state, as_node included), time travel, copies and
// rollbacks too (it is a weft.StateEditor), and refuses a command's
// update with 422.
func Runner[S any](wf *weft.Workflow[S]) weft.Runner {
	return typedRunner[S]{Runner: wf.Runner(), wf: wf}
}

// updater is a Runner that can turn a JSON update into a weft.Update.
type updater interface {
	updateOption(patch json.RawMessage) (weft.RunOption, error)
}

type typedRunner[S any] struct {
	weft.Runner
	wf *weft.Workflow[S]
}

// updateOption returns the weft.Update that sets the state's top-level
// fields named in patch (a JSON object) to its values, as LangGraph's
// Command(update=) does for channels without a reducer.
func (r typedRunner[S]) updateOption(patch json.RawMessage) (weft.RunOption, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return nil, fmt.Errorf("command update must be a JSON object: %w", weft.ErrInvalidInput)
	}
	fn, err := patchFunc[S](r.Name(), patch)
	if err != nil {
		return nil, err
	}
	return weft.Update(fn), nil
}

// patchFunc returns the function that sets the state's top-level fields
// named in patch (a JSON object) to its values, as LangGraph does for
// channels without a reducer; it refuses a patch that does not fit S.
func patchFunc[S any](name string, patch json.RawMessage) (func(S) S, error) {
	if !has(patch) {
		return func(s S) S { return s }, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return nil, fmt.Errorf("the values must be a JSON object: %w", weft.ErrInvalidInput)
	}
	var probe S
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&probe); err != nil {
		return nil, fmt.Errorf("the values do not fit the state of %s: %v: %w", name, err, weft.ErrInvalidInput)
	}
	return func(s S) S {
		cur := map[string]json.RawMessage{}
		if b, err := json.Marshal(s); err == nil {
			_ = json.Unmarshal(b, &cur)
		}
		for k, v := range fields {
			for c := range cur {
				if c != k && strings.EqualFold(c, k) { // the field's name in the state
					delete(cur, c)
				}
			}
			cur[k] = v
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return s
		}
		var out S
		if err := json.Unmarshal(b, &out); err != nil {
			return s
		}
		return out
	}, nil
}

// UpdateStateJSON is weft.StateEditor's: a typedRunner edits states as the
// weft.Runner it wraps.
func (r typedRunner[S]) UpdateStateJSON(ctx context.Context, thread string, patch json.RawMessage, opts ...weft.UpdateOption) (*weft.Snapshot[any], error) {
	return r.editor().UpdateStateJSON(ctx, thread, patch, opts...)
}

// ForkJSON is weft.StateEditor's.
func (r typedRunner[S]) ForkJSON(ctx context.Context, thread, checkpointID string, patch json.RawMessage, opts ...weft.UpdateOption) (*weft.Snapshot[any], error) {
	return r.editor().ForkJSON(ctx, thread, checkpointID, patch, opts...)
}

func (r typedRunner[S]) editor() weft.StateEditor { return r.wf.Runner().(weft.StateEditor) }

// noEditor is the refusal of an edit through a runner that cannot make it.
const noEditor = "editing the state needs a runner that is a weft.StateEditor (Workflow.Runner or langgraph.Runner)"

// editOptions are the options of an edit the request r makes: its caller
// as the author, and asNode if not "".
func editOptions(r *http.Request, asNode string) []weft.UpdateOption {
	opts := []weft.UpdateOption{weft.By(callerOf(r).name, checkpoint.ChannelAPI)}
	if asNode != "" {
		opts = append(opts, weft.AsNode(asNode))
	}
	return opts
}
