package weft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// StateEditor changes a thread's state from JSON, for code that sees a
// workflow only as a Runner (the HTTP server's thread page, the command
// line). The Runners that Workflow.Runner returns implement it; a Runner
// written elsewhere may not, so check with a type assertion:
//
//	if ed, ok := rn.(weft.StateEditor); ok {
//		snap, err := ed.UpdateStateJSON(ctx, "review-42", patch, weft.By("ana", checkpoint.ChannelUI))
//	}
//
// It is an interface of its own, not part of Runner, so that Runners
// implemented outside weft keep compiling.
//
// A patch is a JSON object whose members set top-level fields of the
// state, named as encoding/json names them (the json tag, else the Go
// name); the fields it does not name keep their values, and a field it
// names is replaced as a whole (a list or a map is not merged). A patch
// that is not an object, names a field the state does not have (or does
// not store: tagged `weft:"-"`), or gives a value of the wrong type is
// refused with ErrInvalidInput, and nothing is written. An empty patch
// ("", null or {}) changes nothing. A state that is not a struct can be
// patched only if it is a map with string keys (each member sets a key).
type StateEditor interface {
	// UpdateStateJSON is Workflow.UpdateState with patch applied to the
	// current state. An empty patch (without AsNode) writes nothing.
	UpdateStateJSON(ctx context.Context, thread string, patch json.RawMessage, opts ...UpdateOption) (*Snapshot[any], error)
	// ForkJSON is Workflow.Fork from checkpointID with patch applied to
	// that checkpoint's state; an empty patch forks it unchanged.
	ForkJSON(ctx context.Context, thread, checkpointID string, patch json.RawMessage, opts ...UpdateOption) (*Snapshot[any], error)
}

var _ StateEditor = runner[struct{}]{}

// The keys of checkpoint.Checkpoint.Meta under which an edit (UpdateState,
// Fork, Resume's Update) records who made it (By) and why (Note), for code
// that reads checkpoints from a store without the workflow; Snapshot's
// Author, Channel and Note are the same values.
const (
	MetaAuthor  = metaBy        // who: the author given with By
	MetaChannel = metaVia       // how: the channel given with By to UpdateState or Fork ("api" if none)
	MetaNote    = metaNote      // why: the text given with Note
	metaVia     = "updated_via" // see MetaChannel
	metaNote    = "note"        // see MetaNote
)

// Note records why a state was edited (UpdateState, Fork) with the
// checkpoint the edit writes; Snapshot.Note shows it.
func Note(text string) UpdateOption {
	return updateFunc(func(c *updateConfig) { c.note = text })
}

// meta returns the checkpoint metadata of an edit: who made it, how, why.
func (c *updateConfig) meta() map[string]string {
	m := map[string]string{}
	if c.author != "" {
		m[metaBy] = c.author
		m[metaVia] = c.channel
		if c.channel == "" {
			m[metaVia] = "api"
		}
	}
	if c.note != "" {
		m[metaNote] = c.note
	}
	return m
}

func (r runner[S]) UpdateStateJSON(ctx context.Context, thread string, patch json.RawMessage, opts ...UpdateOption) (*Snapshot[any], error) {
	fn, err := patchState[S](r.wf, patch)
	if err != nil {
		return nil, err
	}
	s, err := r.wf.UpdateState(ctx, thread, fn, opts...)
	if err != nil {
		return nil, err
	}
	return anySnapshot(s), nil
}

func (r runner[S]) ForkJSON(ctx context.Context, thread, checkpointID string, patch json.RawMessage, opts ...UpdateOption) (*Snapshot[any], error) {
	fn, err := patchState[S](r.wf, patch)
	if err != nil {
		return nil, err
	}
	s, err := r.wf.Fork(ctx, thread, checkpointID, fn, opts...)
	if err != nil {
		return nil, err
	}
	return anySnapshot(s), nil
}

// patchState checks patch against the state type S and returns the
// function that applies it (see StateEditor); nil for an empty patch.
func patchState[S any](wf *Workflow[S], patch json.RawMessage) (func(S) S, error) {
	trimmed := bytes.TrimSpace(patch)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return nil, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &members); err != nil || members == nil {
		return nil, fmt.Errorf("weft: state patch of workflow %s: %w: want a JSON object of fields to set", wf.name, ErrInvalidInput)
	}
	if len(members) == 0 {
		return nil, nil
	}
	t := wf.state.typ
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("weft: state patch of workflow %s: %w: %s", wf.name, ErrInvalidInput, fmt.Sprintf(format, args...))
	}
	switch {
	case t.Kind() == reflect.Struct:
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		return patchMap[S](wf, members, invalid)
	default:
		return nil, invalid("the state (%s) has no fields to set", t)
	}
	// Which field each member sets, as encoding/json matches names: the
	// exact name first, else one that differs only in case.
	fields := make([]int, 0, len(members))
	for _, key := range sortedKeys(members) {
		idx, ok := wf.state.fieldForJSON(key)
		if !ok {
			return nil, invalid("the state has no field %q (its fields: %s)", key, wf.state.jsonNames())
		}
		fields = append(fields, idx)
	}
	var probe S
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&probe); err != nil {
		return nil, invalid("%v", err)
	}
	if dec.More() {
		return nil, invalid("data after the object")
	}
	return func(s S) S {
		v, p := reflectOf(&s), reflectOf(&probe)
		for _, i := range fields {
			f := &wf.state.fields[i]
			f.field(v).Set(cloneValue(f.field(p)))
		}
		return s
	}, nil
}

// patchMap is patchState for a state that is a map with string keys.
func patchMap[S any](wf *Workflow[S], members map[string]json.RawMessage, invalid func(string, ...any) error) (func(S) S, error) {
	t := wf.state.typ
	vals := make(map[string]reflect.Value, len(members))
	for k, raw := range members {
		ev := reflect.New(t.Elem())
		if err := json.Unmarshal(raw, ev.Interface()); err != nil {
			return nil, invalid("%q: %v", k, err)
		}
		vals[k] = ev.Elem()
	}
	return func(s S) S {
		v := reflectOf(&s)
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, len(vals)))
		}
		for k, ev := range vals {
			v.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		return s
	}, nil
}

// fieldForJSON returns the index in si.fields of the stored field that
// encoding/json names key (exactly, else ignoring case).
func (si *stateInfo) fieldForJSON(key string) (int, bool) {
	fold := -1
	for i := range si.fields {
		f := &si.fields[i]
		if f.index < 0 {
			continue
		}
		sf := si.typ.Field(f.index)
		if sf.Tag.Get("json") == "-" {
			continue
		}
		name := jsonName(sf)
		if name == key {
			return i, true
		}
		if fold < 0 && strings.EqualFold(name, key) {
			fold = i
		}
	}
	return fold, fold >= 0
}

// jsonNames lists the JSON names of the state's stored fields, for
// messages.
func (si *stateInfo) jsonNames() string {
	var names []string
	for i := range si.fields {
		if f := &si.fields[i]; f.index >= 0 {
			if sf := si.typ.Field(f.index); sf.Tag.Get("json") != "-" {
				names = append(names, jsonName(sf))
			}
		}
	}
	return strings.Join(names, ", ")
}
