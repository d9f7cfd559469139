package langgraph

import (
	"encoding/json"
	"fmt"

	"github.com/weftgraph/weft"
)

// Runner returns wf's weft.Runner made able to apply a command's update
// (Command(update=...)): a weft.Runner alone takes states as JSON and cannot
// build the weft.Update of the workflow's state type that an update needs.
// Give New the runners this returns to accept commands with an update; a
// plain wf.Runner() serves everything else.
func Runner[S any](wf *weft.Workflow[S]) weft.Runner {
	return typedRunner[S]{Runner: wf.Runner()}
}

// updater is a Runner that can turn a JSON update into a weft.Update.
type updater interface {
	updateOption(patch json.RawMessage) (weft.RunOption, error)
}

type typedRunner[S any] struct{ weft.Runner }

// updateOption returns the weft.Update that sets the state's top-level
// fields named in patch (a JSON object) to its values, as LangGraph's
// Command(update=) does for channels without a reducer.
func (r typedRunner[S]) updateOption(patch json.RawMessage) (weft.RunOption, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return nil, fmt.Errorf("command update must be a JSON object: %w", weft.ErrInvalidInput)
	}
	var probe S
	if err := json.Unmarshal(patch, &probe); err != nil {
		return nil, fmt.Errorf("command update does not fit the state of %s: %v: %w", r.Name(), err, weft.ErrInvalidInput)
	}
	return weft.Update(func(s S) S {
		cur := map[string]json.RawMessage{}
		if b, err := json.Marshal(s); err == nil {
			_ = json.Unmarshal(b, &cur)
		}
		for k, v := range fields {
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
	}), nil
}
