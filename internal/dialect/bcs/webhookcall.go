package bcs

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/podyard/podyard/internal/apis/bcs/validation"
)

// maxTransports bounds the cached transports (one per CA bundle and server
// name); past it the cache starts again.
const maxTransports = 64

// Admit sends a request's body through the admission webhooks configured
// for operation (OperationCreate, OperationUpdate) on kind (application or
// deployment), for the BCS namespace of the body's metadata (the URL's when
// it names none), and answers the body to act on; a hook that fails with
// failurePolicy Fail refuses the request (see AfterHook). A nil or
// unstarted cache admits every body as it is; a started one that has not
// synced yet is waited for.
func (c *WebhookCache) Admit(ctx context.Context, operation, kind, urlNamespace string, body []byte) ([]byte, *Error) {
	configs, ok, err := c.configurations(ctx)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return body, nil
	}
	bcsNamespace := BodyNamespace(body, urlNamespace)
	for _, call := range HooksFor(configs, operation, kind, bcsNamespace) {
		res := c.call(ctx, call, body)
		next, skipped, refused := AfterHook(call.Hook, body, res)
		if refused != nil {
			c.log.Info("BCS admission webhook refused a request", "configuration", call.Configuration, "webhook", call.Hook.Name,
				"operation", operation, "kind", kind, "namespace", bcsNamespace, "err", refused.Message)
			return nil, refused
		}
		if skipped != nil {
			c.log.Warn("BCS admission webhook failed; skipped (failurePolicy is not Fail)", "configuration", call.Configuration,
				"webhook", call.Hook.Name, "operation", operation, "kind", kind, "namespace", bcsNamespace, "err", skipped)
		}
		body = next
	}
	return body, nil
}

// call POSTs body to the hook within its timeout.
func (c *WebhookCache) call(ctx context.Context, call HookCall, body []byte) HookResult {
	ctx, cancel := context.WithTimeout(ctx, HookTimeout(call.Hook))
	defer cancel()
	cfg := call.Hook.ClientConfig
	target, err := HookTargetOf(cfg)
	if err != nil {
		return HookResult{Err: err}
	}
	u, serverName := target.URL, ""
	if s := target.Service; s != nil {
		endpoint, err := c.resolve(s.Namespace, s.Name, s.Port)
		if err != nil {
			return HookResult{Err: err}
		}
		u, serverName = target.AtEndpoint(endpoint), s.ServerName
	}
	transport, err := c.transports.get(cfg.CABundle, serverName)
	if err != nil {
		return HookResult{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return HookResult{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if serverName != "" {
		req.Host = target.URL.Host // {name}.{namespace}:{port}
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return HookResult{Err: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	switch {
	case err != nil:
		return HookResult{Err: fmt.Errorf("reading the answer of %s: %w", u.Redacted(), err)}
	case len(answer) > maxBodyBytes:
		return HookResult{Err: fmt.Errorf("the answer of %s is larger than %d bytes", u.Redacted(), maxBodyBytes)}
	}
	return HookResult{Status: resp.StatusCode, Body: answer}
}

// transportCache keeps a transport per CA bundle and TLS server name, so
// calls to a hook reuse their connections.
type transportCache struct {
	mu sync.Mutex
	m  map[[2]string]*http.Transport
}

// get is the transport trusting caBundle (the system roots when empty)
// and verifying serverName (the URL's host when empty).
func (c *transportCache) get(caBundle, serverName string) (*http.Transport, error) {
	key := [2]string{caBundle, serverName}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[key]; ok {
		return t, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caBundle != "" {
		pool, err := validation.ParseCABundle(caBundle)
		if err != nil {
			return nil, fmt.Errorf("caBundle: %w", err)
		}
		tlsConfig.RootCAs = pool
	}
	t := &http.Transport{
		TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true, Proxy: nil,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
	}
	if c.m == nil || len(c.m) >= maxTransports {
		for _, old := range c.m {
			old.CloseIdleConnections()
		}
		c.m = map[[2]string]*http.Transport{}
	}
	c.m[key] = t
	return t, nil
}
