package apiserver

import (
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	"k8s.io/apiserver/pkg/endpoints/request"

	"github.com/podyard/podyard/internal/registry/node"
)

// legacyNodeProxyPrefix is the seed's node path,
// /proxy/nodes/{node}/exec/{namespace}/{pod}/{container}: the old form of
// /api/v1/nodes/{node}/proxy/..., kept because clients still call it.
const legacyNodeProxyPrefix = "/proxy/nodes/"

// legacyNodeProxy serves legacyNodeProxyPrefix with the authorization of
// its modern form: create (or get) on nodes/proxy.
func legacyNodeProxy(nodes node.Connector, authz authorizer.Authorizer, codecs runtime.NegotiatedSerializer) http.Handler {
	gv := schema.GroupVersion{Version: "v1"}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fail := func(err error) { responsewriters.ErrorNegotiated(err, codecs, gv, w, req) }
		name, subpath, _ := strings.Cut(strings.TrimPrefix(req.URL.Path, legacyNodeProxyPrefix), "/")
		if name == "" {
			fail(apierrors.NewBadRequest("the path must be /proxy/nodes/{node}/{path}"))
			return
		}
		user, ok := request.UserFrom(req.Context())
		if !ok {
			fail(apierrors.NewUnauthorized("no user"))
			return
		}
		verb := "create"
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			verb = "get"
		}
		attrs := authorizer.AttributesRecord{
			User: user, Verb: verb, Resource: "nodes", Subresource: "proxy", Name: name,
			APIVersion: "v1", ResourceRequest: true, Path: req.URL.Path,
		}
		decision, reason, err := authz.Authorize(req.Context(), attrs)
		if decision != authorizer.DecisionAllow {
			msg := fmt.Sprintf("user %q cannot %s nodes/proxy %q", user.GetName(), verb, name)
			if reason != "" {
				msg += ": " + reason
			}
			if err != nil {
				msg += ": " + err.Error()
			}
			fail(apierrors.NewForbidden(schema.GroupResource{Resource: "nodes/proxy"}, name, fmt.Errorf("%s", msg)))
			return
		}
		handler, err := node.ProxyTo(req.Context(), nodes, name, subpath, responder{w: w, req: req, codecs: codecs, gv: gv})
		if err != nil {
			fail(err)
			return
		}
		handler.ServeHTTP(w, req)
	})
}

// responder writes API objects and errors for a proxied request.
type responder struct {
	w      http.ResponseWriter
	req    *http.Request
	codecs runtime.NegotiatedSerializer
	gv     schema.GroupVersion
}

func (r responder) Object(code int, obj runtime.Object) {
	responsewriters.WriteObjectNegotiated(r.codecs, negotiation.DefaultEndpointRestrictions, r.gv, r.w, r.req, code, obj, false)
}

func (r responder) Error(err error) {
	responsewriters.ErrorNegotiated(err, r.codecs, r.gv, r.w, r.req)
}
