package weft

import (
	"encoding/json"
	"fmt"

	"github.com/weftgraph/weft/checkpoint"
)

// taskResume is the task of the pending write that an Update or GoTo given
// to Resume records with the answers.
const taskResume = "__resume__"

// resumeCmd is what Update and GoTo leave for the end of the paused
// superstep: the update as a delta of the state the superstep started
// from, and the nodes to go to.
type resumeCmd struct {
	By    string   `json:"by"`
	Goto  []string `json:"goto,omitempty"`
	Delta []byte   `json:"delta,omitempty"`
}

// commandWrite is the pending write of the Update and GoTo given to a
// Resume, nil if there are none.
func (r *run[S]) commandWrite() (*checkpoint.PendingWrite, error) {
	rc := r.rc
	if rc.update == nil && len(rc.gotos) == 0 {
		return nil, nil
	}
	cmd := resumeCmd{By: rc.author, Goto: rc.gotos}
	if fn, ok := rc.update.(func(S) S); ok {
		base := r.head.state
		updated := fn(copyState(r.wf.state, base))
		d, err := r.wf.state.encodeDelta(r.wf.cfg.codec, reflectOf(&base), reflectOf(&updated))
		if err != nil {
			return nil, err
		}
		cmd.Delta = d
	}
	data, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	return &checkpoint.PendingWrite{CheckpointID: r.head.cp.ID, Task: taskResume, Kind: writeResume, Data: data}, nil
}

// resumeCommand returns the command left for the end of this superstep,
// if any.
func (r *run[S]) resumeCommand() *resumeCmd {
	if r.ns != "" {
		return nil
	}
	for _, w := range r.pending {
		if w.task == taskResume && w.kind == writeResume {
			var cmd resumeCmd
			if err := json.Unmarshal(w.data, &cmd); err != nil {
				return &resumeCmd{Delta: []byte{0xff}} // reported by applyCommand
			}
			return &cmd
		}
	}
	return nil
}

// applyCommand applies an update left for the end of the superstep to its
// merged state: the fields it changed win.
func (r *run[S]) applyCommand(cmd *resumeCmd, merged S) (S, error) {
	if len(cmd.Delta) == 0 {
		return merged, nil
	}
	v, err := r.wf.state.decodeDelta(r.wf.cfg.codec, reflectOf(&merged), cmd.Delta)
	if err != nil {
		return merged, fmt.Errorf("thread %q checkpoint %s: the update given with answers: %w: %w", r.thread, r.head.cp.ID, ErrCorruptCheckpoint, err)
	}
	if err := r.wf.knows(r.thread, cmd.Goto); err != nil {
		return merged, err
	}
	return v.Interface().(S), nil
}
