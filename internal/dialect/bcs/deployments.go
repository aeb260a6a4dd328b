package bcs

import (
	"context"
	"net/http"
)

// deployments serves the deployment routes of one BCS namespace as the
// caller.
type deployments struct {
	apps
}

func (d deployments) serve(ctx context.Context, r *http.Request, route Route, body func() ([]byte, *Error)) (any, *Error) {
	return nil, Errorf(CodeCommon, "deployments are not implemented yet")
}
