package nodeclient

import (
	"net/http"
	"net/url"

	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// StreamHandler proxies an exec or attach upgrade to the agent; WebSocket
// clients speaking v5.channel.k8s.io are translated to SPDY towards it.
func StreamHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder, streams translator.Options) http.Handler {
	handler := upgradeHandler(loc, transport, responder)
	streamTranslator := translator.NewStreamTranslatorHandler(loc, transport, 0, streams)
	return translator.NewTranslatingHandler(handler, streamTranslator, wsstream.IsWebSocketRequestWithStreamCloseProtocol)
}

// PortForwardHandler proxies a port-forward upgrade; kubectl's SPDY
// tunnelled in WebSocket is unwrapped on the way.
func PortForwardHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) http.Handler {
	handler := upgradeHandler(loc, transport, responder)
	return translator.NewTranslatingHandler(handler, translator.NewTunnelingHandler(handler), wsstream.IsWebSocketRequestWithTunnelingProtocol)
}

// ProxyHandler proxies any other request to the agent (nodes/proxy).
func ProxyHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) http.Handler {
	h := proxy.NewUpgradeAwareHandler(loc, transport, true, false, errorResponder{responder})
	h.RejectForwardingRedirects = true
	return h
}

func upgradeHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder) *proxy.UpgradeAwareHandler {
	h := proxy.NewUpgradeAwareHandler(loc, transport, false, true, errorResponder{responder})
	// Never follow a redirect on an upgrade (CVE-2020-8559), and never
	// reuse a backend connection after a refused upgrade (CVE-2018-1002105):
	// the handler closes it, and redirects are refused.
	h.RejectForwardingRedirects = true
	return h
}

type errorResponder struct{ rest.Responder }

func (e errorResponder) Error(_ http.ResponseWriter, _ *http.Request, err error) {
	e.Responder.Error(err)
}
