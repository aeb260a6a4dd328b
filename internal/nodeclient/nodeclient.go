// Package nodeclient is how the API server reaches node agents: the URL of
// a node's streaming server and a transport that presents the API server's
// client certificate and trusts only the CA that node published.
package nodeclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AgentCAAnnotation on a Node holds the PEM certificate that signed the
// agent's streaming server certificate; the API server trusts it for that
// node only.
const AgentCAAnnotation = "podyard.io/agent-ca"

// NodeGetter reads nodes (the node registry store).
type NodeGetter interface {
	Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error)
}

// Connector builds connections to node agents.
type Connector struct {
	nodes NodeGetter
	cert  tls.Certificate

	mu         sync.Mutex
	transports map[string]*http.Transport // by the node's CA PEM
}

// New returns a connector that authenticates with cert.
func New(nodes NodeGetter, cert tls.Certificate) *Connector {
	return &Connector{nodes: nodes, cert: cert, transports: map[string]*http.Transport{}}
}

// Location returns the base URL of the node's agent and a transport for it.
func (c *Connector) Location(ctx context.Context, nodeName string) (*url.URL, http.RoundTripper, error) {
	obj, err := c.nodes.Get(ctx, nodeName, &metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	node := obj.(*corev1.Node)
	host := address(node)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	caPEM := node.Annotations[AgentCAAnnotation]
	if host == "" || port == 0 || caPEM == "" {
		return nil, nil, apierrors.NewServiceUnavailable(fmt.Sprintf("node %q has no agent endpoint registered", nodeName))
	}
	transport, err := c.transport(caPEM, nodeName)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(fmt.Errorf("node %q: %w", nodeName, err))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, transport, nil
}

func address(node *corev1.Node) string {
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}

func (c *Connector) transport(caPEM, nodeName string) (*http.Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.transports[caPEM]; ok {
		return t, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, fmt.Errorf("annotation %s holds no PEM certificate", AgentCAAnnotation)
	}
	t := &http.Transport{
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 32,
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			RootCAs:      pool,
			Certificates: []tls.Certificate{c.cert},
			// The agent's certificate names the node; its address may be
			// any of the node's, so the name is what is checked.
			ServerName: nodeName,
		},
	}
	c.transports[caPEM] = t
	return t, nil
}
