package bcs

import (
	"context"
	"net/http"
)

// commands serves command/{application,deployment}/{ns}/{name}: POST
// starts a command on the target's tasks, GET ?id= reads it, DELETE ?id=
// forgets it.
type commands struct {
	apps
}

func (c commands) serve(ctx context.Context, r *http.Request, route Route, body func() ([]byte, *Error)) (any, *Error) {
	return nil, Errorf(CodeCommon, "commands are not implemented yet")
}
