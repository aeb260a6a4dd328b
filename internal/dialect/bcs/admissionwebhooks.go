package bcs

import (
	"context"
	"net/http"
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
)

// AdmissionWebhookPath reads the admission webhook routes; ok is false for
// any other path.
// TODO(issue 14): crd/namespaces/{ns}/admissionwebhook[/{name}], the driver's
// namespaces/{ns}/admissionwebhook[/{name}] and admissionwebhooks.
func AdmissionWebhookPath(p string) (Route, bool) {
	_ = strings.TrimSpace(p)
	return Route{}, false
}

// serveAdmissionWebhooks answers the admission webhook routes as the caller.
func (h *Handler) serveAdmissionWebhooks(w http.ResponseWriter, r *http.Request, caller user.Info, route Route) *Error {
	return Errorf(CodeNotFound, "no route for %s %s", r.Method, r.URL.Path)
}

// WebhookCache holds the BCS admission webhook configurations the dialect
// enforces on application and deployment creates and updates.
type WebhookCache struct{}

// NewWebhookCache returns a cache that fills once started.
func NewWebhookCache() *WebhookCache { return &WebhookCache{} }

// Start fills the cache and keeps it current until ctx ends; it returns once
// it has synced.
func (c *WebhookCache) Start(ctx context.Context, loopback *rest.Config) error { return nil }
