// Package agentinbox asks humans questions in the shape of LangChain's
// Agent Inbox (and LangGraph's HumanInterrupt), so that the Agent Inbox, or
// any client written for it, shows and answers weft's questions through
// the LangGraph Platform API of package langgraph.
//
// A node asks with Ask:
//
//	resp, err := agentinbox.Ask(ctx, agentinbox.Request{
//		ActionRequest: agentinbox.ActionRequest{Action: "send_email", Args: map[string]any{"to": "ann@example.com"}},
//		Config:        agentinbox.Config{AllowAccept: true, AllowEdit: true, AllowRespond: true},
//		Description:   "Send this email?",
//	}, weft.Assign("support"))
//	if err != nil {
//		return s, err // the pause travels as an error, as with weft.Interrupt
//	}
//	switch resp.Type {
//	case agentinbox.Accept: // send as it is
//	case agentinbox.Edit: // send resp.Edited().Args
//	case agentinbox.Respond: // resp.Text() is the human's reply
//	case agentinbox.Ignore:
//	}
//
// The question's value is what LangGraph's interrupt([request]) shows: a
// list of one HumanInterrupt {action_request {action, args}, config
// {allow_accept, allow_edit, allow_respond, allow_ignore}, description},
// and its answer is what the Agent Inbox sends back, Command(resume=[...]):
// a list of one HumanResponse {type, args}, type one of accept, edit,
// response and ignore, args the edited action_request for edit, the text
// for response (null, absent or anything for accept and ignore).
//
// The answer is validated as any weft answer is, when it is given: its
// schema allows only the types the config allows, so a disallowed type is
// refused (weft.ErrInvalidAnswer; 422 through the API) and nothing is
// recorded. The shape of args for edit and response, which a JSON schema
// inferred from one Go type cannot tie to the type, is checked by Ask when
// the node runs again: a malformed one fails the node with an error that
// wraps weft.ErrInvalidAnswer. Assignees, deadlines (weft.Within with a
// fallback Response from Reply), reasons and keys are weft's usual
// InterruptOptions, and the inbox lists these questions like any other.
//
// # The Agent Inbox against weft
//
// Point an Agent Inbox at the LangGraph API (weft serve --langgraph /lg, or
// package langgraph in your program) with the workflow's name as the graph
// and a weft token as the API key. It lists threads with threads.search
// (status interrupted), shows the first interrupt's value, answers with
// runs.create or runs.stream (stream_mode events: each node's start and end)
// with command {resume: [response]}, and ignores a thread with
// threads.updateState({values: null, asNode: "__end__"}), which ends it
// (weft's Cancel). All of these are served by package langgraph.
package agentinbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weftgraph/weft"
)

// The types of a Response.
const (
	Accept  = "accept"
	Edit    = "edit"
	Respond = "response"
	Ignore  = "ignore"
)

// ActionRequest is what the agent wants to do: an action and its
// arguments.
type ActionRequest struct {
	Action string         `json:"action"`
	Args   map[string]any `json:"args"`
}

// Config says how the human may answer.
type Config struct {
	AllowIgnore  bool `json:"allow_ignore"`
	AllowRespond bool `json:"allow_respond"`
	AllowEdit    bool `json:"allow_edit"`
	AllowAccept  bool `json:"allow_accept"`
}

// Request is a HumanInterrupt: the question Ask asks.
type Request struct {
	ActionRequest ActionRequest `json:"action_request"`
	Config        Config        `json:"config"`
	Description   string        `json:"description,omitempty"`
}

// Response is a HumanResponse: the human's answer.
type Response struct {
	// Type is Accept, Edit, Respond or Ignore.
	Type string `json:"type"`
	// Args is the edited ActionRequest for Edit, a JSON string for
	// Respond; anything (null) otherwise.
	Args json.RawMessage `json:"args,omitempty"`
}

// Edited returns the ActionRequest of an Edit response.
func (r Response) Edited() (ActionRequest, error) {
	var a ActionRequest
	if r.Type != Edit {
		return a, fmt.Errorf("agentinbox: a %s response has no edited action: %w", r.Type, weft.ErrInvalidAnswer)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || a.Action == "" {
		return ActionRequest{}, fmt.Errorf("agentinbox: an edit response's args must be an action_request {action, args}: %w", weft.ErrInvalidAnswer)
	}
	if a.Args == nil {
		a.Args = map[string]any{}
	}
	return a, nil
}

// Text returns the text of a Respond response.
func (r Response) Text() (string, error) {
	var s string
	if r.Type != Respond || json.Unmarshal(r.Args, &s) != nil {
		return "", fmt.Errorf("agentinbox: a response's args must be its text, a string: %w", weft.ErrInvalidAnswer)
	}
	return s, nil
}

// Reply is the answer value that gives resp to a question Ask asked: the
// list of one response the Agent Inbox sends, for weft.Answer, weft.Reply,
// weft.Within's fallback, or a Command's resume.
func Reply(resp Response) []Response { return []Response{resp} }

var errNothingAllowed = errors.New("agentinbox: the config allows no response (set one of AllowAccept, AllowEdit, AllowRespond, AllowIgnore)")

// Ask asks the human req as the Agent Inbox shows it and returns the
// answer, checked against req's config. Like weft.Interrupt, which it
// calls, the first time it returns a *weft.PauseError for the node to
// return, and the answer when the node runs again after the answer.
func Ask(ctx context.Context, req Request, opts ...weft.InterruptOption) (Response, error) {
	if req.ActionRequest.Action == "" {
		return Response{}, errors.New("agentinbox: the request has no action")
	}
	if req.ActionRequest.Args == nil {
		req.ActionRequest.Args = map[string]any{}
	}
	mask := 0
	for bit, on := range map[int]bool{1: req.Config.AllowAccept, 2: req.Config.AllowEdit, 4: req.Config.AllowRespond, 8: req.Config.AllowIgnore} {
		if on {
			mask |= bit
		}
	}
	got, err := askMask(ctx, mask, req, opts)
	if err != nil {
		return Response{}, err
	}
	if len(got) != 1 {
		return Response{}, fmt.Errorf("agentinbox: want one response, got %d: %w", len(got), weft.ErrInvalidAnswer)
	}
	resp := got[0]
	switch resp.Type {
	case Edit:
		_, err = resp.Edited()
	case Respond:
		_, err = resp.Text()
	}
	return resp, err
}

// wire is one of the answer types of wire.go.
type wire interface{ human() Response }

func askAs[W wire](ctx context.Context, req Request, opts []weft.InterruptOption) ([]Response, error) {
	got, err := weft.Interrupt[[]W](ctx, []Request{req}, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]Response, len(got))
	for i, w := range got {
		out[i] = w.human()
	}
	return out, nil
}
