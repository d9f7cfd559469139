// One answer type per set of allowed responses, so that the answer's
// schema, which weft infers from the type's tags, lists exactly the types
// the config allows: wireN allows the types of the bits of N (1 accept, 2
// edit, 4 response, 8 ignore).

package agentinbox

import (
	"context"
	"encoding/json"

	"github.com/weftgraph/weft"
)

type wire1 struct {
	Type string          `json:"type" jsonschema:"enum=accept,description=what the human did: accept"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire1) human() Response { return Response(w) }

type wire2 struct {
	Type string          `json:"type" jsonschema:"enum=edit,description=what the human did: edit"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire2) human() Response { return Response(w) }

type wire3 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=edit,description=what the human did: accept edit"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire3) human() Response { return Response(w) }

type wire4 struct {
	Type string          `json:"type" jsonschema:"enum=response,description=what the human did: response"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire4) human() Response { return Response(w) }

type wire5 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=response,description=what the human did: accept response"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire5) human() Response { return Response(w) }

type wire6 struct {
	Type string          `json:"type" jsonschema:"enum=edit,enum=response,description=what the human did: edit response"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire6) human() Response { return Response(w) }

type wire7 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=edit,enum=response,description=what the human did: accept edit response"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire7) human() Response { return Response(w) }

type wire8 struct {
	Type string          `json:"type" jsonschema:"enum=ignore,description=what the human did: ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire8) human() Response { return Response(w) }

type wire9 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=ignore,description=what the human did: accept ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire9) human() Response { return Response(w) }

type wire10 struct {
	Type string          `json:"type" jsonschema:"enum=edit,enum=ignore,description=what the human did: edit ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire10) human() Response { return Response(w) }

type wire11 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=edit,enum=ignore,description=what the human did: accept edit ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire11) human() Response { return Response(w) }

type wire12 struct {
	Type string          `json:"type" jsonschema:"enum=response,enum=ignore,description=what the human did: response ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire12) human() Response { return Response(w) }

type wire13 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=response,enum=ignore,description=what the human did: accept response ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire13) human() Response { return Response(w) }

type wire14 struct {
	Type string          `json:"type" jsonschema:"enum=edit,enum=response,enum=ignore,description=what the human did: edit response ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire14) human() Response { return Response(w) }

type wire15 struct {
	Type string          `json:"type" jsonschema:"enum=accept,enum=edit,enum=response,enum=ignore,description=what the human did: accept edit response ignore"`
	Args json.RawMessage `json:"args,omitempty" jsonschema:"description=the edited action_request (edit) or the text (response)"`
}

func (w wire15) human() Response { return Response(w) }

// askMask asks with the answer type of the allowed set mask (1 accept, 2
// edit, 4 response, 8 ignore).
func askMask(ctx context.Context, mask int, req Request, opts []weft.InterruptOption) ([]Response, error) {
	switch mask {
	case 1:
		return askAs[wire1](ctx, req, opts)
	case 2:
		return askAs[wire2](ctx, req, opts)
	case 3:
		return askAs[wire3](ctx, req, opts)
	case 4:
		return askAs[wire4](ctx, req, opts)
	case 5:
		return askAs[wire5](ctx, req, opts)
	case 6:
		return askAs[wire6](ctx, req, opts)
	case 7:
		return askAs[wire7](ctx, req, opts)
	case 8:
		return askAs[wire8](ctx, req, opts)
	case 9:
		return askAs[wire9](ctx, req, opts)
	case 10:
		return askAs[wire10](ctx, req, opts)
	case 11:
		return askAs[wire11](ctx, req, opts)
	case 12:
		return askAs[wire12](ctx, req, opts)
	case 13:
		return askAs[wire13](ctx, req, opts)
	case 14:
		return askAs[wire14](ctx, req, opts)
	case 15:
		return askAs[wire15](ctx, req, opts)
	}
	return nil, errNothingAllowed
}
