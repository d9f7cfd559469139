package server

import _ "embed"

// openAPIDoc is the OpenAPI 3.1 document of the /v1 API, served at
// GET /v1/openapi.json. A test checks that it documents every /v1 route of
// the server and nothing else.
//
//go:embed openapi.json
var openAPIDoc []byte
