package node

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/podyard/podyard/internal/nodeclient"
)

// Connector finds a node's agent.
type Connector interface {
	Location(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error)
}

// ProxyREST serves /nodes/{name}/proxy/{path}: requests go to the node's
// agent, so /nodes/n/proxy/exec/ns/pod/container?command=... is an exec on
// the agent's own path, over SPDY or WebSocket.
type ProxyREST struct {
	Nodes Connector
}

func (r *ProxyREST) New() runtime.Object { return &corev1.Node{} }
func (r *ProxyREST) Destroy()            {}

func (r *ProxyREST) ConnectMethods() []string {
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
}

func (r *ProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.NodeProxyOptions{}, true, "path"
}

func (r *ProxyREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	return ProxyTo(ctx, r.Nodes, name, opts.(*corev1.NodeProxyOptions).Path, responder)
}

// ProxyTo builds the handler that proxies to subpath on the node's agent.
func ProxyTo(ctx context.Context, nodes Connector, name, subpath string, responder rest.Responder) (http.Handler, error) {
	base, transport, err := nodes.Location(ctx, name)
	if err != nil {
		return nil, err
	}
	loc := *base
	loc.Path = path.Join("/", subpath)
	first, _, _ := strings.Cut(strings.TrimPrefix(loc.Path, "/"), "/")
	switch first {
	case "podyard":
		// The agent's own endpoints (signals, files) are the API server's
		// to call for the dialects, which check the caller themselves.
		return nil, apierrors.NewForbidden(corev1.Resource("nodes/proxy"), name, fmt.Errorf("%s is not served through the node proxy", loc.Path))
	case "exec", "attach":
		return streamHandler{loc: loc, transport: transport}, nil
	case "portForward":
		return nodeclient.PortForwardHandler(&loc, transport, responder), nil
	default:
		return nodeclient.ProxyHandler(&loc, transport, responder), nil
	}
}

// streamHandler reads the stream parameters from the request itself, as
// the translator must know which streams a WebSocket client asked for.
type streamHandler struct {
	loc       url.URL
	transport http.RoundTripper
}

func (h streamHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	s := nodeclient.ParseStreams(q)
	loc := h.loc
	loc.RawQuery = s.Query(q).Encode()
	nodeclient.RemoteCommandHandler(&loc, h.transport, s).ServeHTTP(w, req)
}

var _ rest.Connecter = &ProxyREST{}
