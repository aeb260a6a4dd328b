package bcs

import (
	"net/http"

	"k8s.io/apiserver/pkg/authentication/user"
)

// CustomResourcePath reads the CRD and custom resource routes
// (customresourcedefinitions[/{name}], the seed's customresourcesdefinitions,
// customresources/...); rest is the path after the route's first element.
// TODO(issue 14).
func CustomResourcePath(p string) (rest string, ok bool) {
	return "", false
}

// serveCustomResources answers the CRD and custom resource routes as the
// caller.
func (h *Handler) serveCustomResources(w http.ResponseWriter, r *http.Request, caller user.Info, rest string) *Error {
	return Errorf(CodeNotFound, "no route for %s %s", r.Method, r.URL.Path)
}
