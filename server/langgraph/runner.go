package langgraph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/weftgraph/weft"
)

// Runner returns wf's weft.Runner made able to change states from JSON: a
// weft.Runner alone takes states as JSON and cannot build the functions of
// the workflow's state type that these need. Give New the runners this
// returns to accept a command's update (Command(update=...)), state updates
// (POST /threads/{id}/state, as_node included), updates and reads at a past
// checkpoint (time travel: weft.Workflow.Fork), copies of threads whose
// history was pruned, and rollbacks of runs that went on from a
// checkpoint; a plain wf.Runner() serves everything else and refuses these
// with 422.
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

// stateUpdater is a Runner that can change a thread's state from JSON
// (Runner wraps a workflow into one).
type stateUpdater interface {
	updateState(ctx context.Context, thread string, patch json.RawMessage, asNode string) (checkpointID string, err error)
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

func updateOptions(asNode string) []weft.UpdateOption {
	if asNode == "" {
		return nil
	}
	return []weft.UpdateOption{weft.AsNode(asNode)}
}

// updateState is POST /threads/{id}/state: UpdateState with the patch.
func (r typedRunner[S]) updateState(ctx context.Context, thread string, patch json.RawMessage, asNode string) (string, error) {
	fn, err := patchFunc[S](r.Name(), patch)
	if err != nil {
		return "", err
	}
	snap, err := r.wf.UpdateState(ctx, thread, fn, updateOptions(asNode)...)
	if err != nil {
		return "", err
	}
	return snap.Checkpoint, nil
}

// fork rewinds thread to checkpointID, with the patch applied.
func (r typedRunner[S]) fork(ctx context.Context, thread, checkpointID string, patch json.RawMessage, asNode string) (*weft.Snapshot[any], error) {
	fn, err := patchFunc[S](r.Name(), patch)
	if err != nil {
		return nil, err
	}
	snap, err := r.wf.Fork(ctx, thread, checkpointID, fn, updateOptions(asNode)...)
	if err != nil {
		return nil, err
	}
	return &weft.Snapshot[any]{Thread: snap.Thread, Workflow: snap.Workflow, Status: snap.Status, Values: snap.Values,
		Next: snap.Next, Checkpoint: snap.Checkpoint, Parent: snap.Parent, Step: snap.Step, Source: snap.Source, Created: snap.Created}, nil
}
