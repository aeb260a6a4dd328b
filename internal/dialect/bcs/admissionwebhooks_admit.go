package bcs

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// The pure part of enforcing admission webhooks as BCS's driver did
// (bcs-mesos-driver filter/admission-webhook.go): which hooks a request
// goes through, in which order, where each is and what its answer does.
// webhookcall.go makes the calls.

// Admission operations: a POST creates, a PUT updates.
const (
	OperationCreate = "Create"
	OperationUpdate = "Update"
)

// Failure policies; any other (empty) skips a failed hook, as Ignore.
const (
	FailurePolicyFail   = "Fail"
	FailurePolicyIgnore = "Ignore"
)

// DefaultHookTimeout bounds a call whose hook sets no timeoutSeconds (BCS
// had no bound).
const DefaultHookTimeout = 10 * time.Second

// defaultHookPort is a Service hook's port when it gives none.
const defaultHookPort = 443

// CodeWebhook is the code of a request a hook refused (HTTP 400, data
// null, as BCS's driver filter answered).
const CodeWebhook = CodeFilter

// HookCall is one hook a request goes through.
type HookCall struct {
	// Configuration is the namespace/name of its configuration.
	Configuration string
	Hook          v1alpha1.AdmissionHook
}

// HooksFor are the hooks an operation on kind (application or deployment)
// in BCS namespace bcsNamespace goes through, in order: configurations in
// the order given (sortAdmissionWebhooks: namespace, then name) whose
// resourcesRef is the operation and kind (in any case), each one's hooks in
// its order whose namespaceSelector admits bcsNamespace.
func HooksFor(configs []*v1alpha1.AdmissionWebhook, operation, kind, bcsNamespace string) []HookCall {
	var out []HookCall
	for _, c := range configs {
		ref := c.Spec.ResourcesRef
		if !strings.EqualFold(ref.Operation, operation) || !strings.EqualFold(ref.Kind, kind) {
			continue
		}
		for _, h := range c.Spec.AdmissionWebhooks {
			if SelectsNamespace(h.NamespaceSelector, bcsNamespace) {
				out = append(out, HookCall{Configuration: c.Namespace + "/" + c.Name, Hook: h})
			}
		}
	}
	return out
}

// SelectsNamespace says whether a namespaceSelector admits a BCS namespace:
// none admits all, In those listed, NotIn the others; an unknown operator
// (refused by validation) none.
func SelectsNamespace(s *v1alpha1.AdmissionNamespaceSelector, bcsNamespace string) bool {
	if s == nil {
		return true
	}
	listed := false
	for _, v := range s.Values {
		listed = listed || v == bcsNamespace
	}
	switch s.Operator {
	case "In":
		return listed
	case "NotIn":
		return !listed
	}
	return false
}

// BodyNamespace is the BCS namespace a body's metadata.namespace names, or
// the URL's when it names none (as the create itself reads it).
func BodyNamespace(body []byte, urlNamespace string) string {
	var posted struct {
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if json.Unmarshal(body, &posted) != nil || posted.Metadata.Namespace == "" {
		return urlNamespace
	}
	return posted.Metadata.Namespace
}

// HookTarget is where a hook is called.
type HookTarget struct {
	// URL is what is POSTed to: clientConfig.url, or
	// https://{name}.{namespace}:{port|443}{path|/} for a Service.
	URL *url.URL
	// Service is set for a hook given by a Service: the request goes to an
	// endpoint of it (Kubernetes namespace and name, and the port), with
	// TLS ServerName {name}.{namespace}.
	Service *HookService
}

// HookService is the Service a hook is given by.
type HookService struct {
	Namespace, Name string // Kubernetes names
	Port            int32
	ServerName      string // {name}.{namespace} as the hook names them
}

// HookTargetOf is where a hook's clientConfig says it is. A Service is
// named by its BCS namespace and name (a DNS label stays itself, so a
// Service made with kubectl is named as it is).
func HookTargetOf(c v1alpha1.AdmissionHookClientConfig) (HookTarget, error) {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return HookTarget{}, fmt.Errorf("url %q: %w", c.URL, err)
		}
		return HookTarget{URL: u}, nil
	}
	if c.Name == "" || c.Namespace == "" {
		return HookTarget{}, fmt.Errorf("clientConfig has neither url nor a service's name and namespace")
	}
	port := c.Port
	if port == 0 {
		port = defaultHookPort
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	serverName := c.Name + "." + c.Namespace
	u, err := url.Parse("https://" + net.JoinHostPort(serverName, strconv.Itoa(int(port))) + path)
	if err != nil {
		return HookTarget{}, fmt.Errorf("service %s: %w", serverName, err)
	}
	ns, kerr := KubeNamespace(c.Namespace)
	if kerr != nil {
		return HookTarget{}, fmt.Errorf("service namespace: %s", kerr.Message)
	}
	name, kerr := ServiceName(c.Name)
	if kerr != nil {
		return HookTarget{}, fmt.Errorf("service name: %s", kerr.Message)
	}
	return HookTarget{URL: u, Service: &HookService{Namespace: ns, Name: name, Port: port, ServerName: serverName}}, nil
}

// AtEndpoint is target's URL with its host replaced by endpoint
// (host:port) of the Service.
func (t HookTarget) AtEndpoint(endpoint string) *url.URL {
	u := *t.URL
	u.Host = endpoint
	return &u
}

// HookTimeout bounds a call to h.
func HookTimeout(h v1alpha1.AdmissionHook) time.Duration {
	if h.TimeoutSeconds != nil && *h.TimeoutSeconds > 0 {
		return time.Duration(*h.TimeoutSeconds) * time.Second
	}
	return DefaultHookTimeout
}

// HookResult is how a call went: the answer's status and body, or the
// error that kept it from answering.
type HookResult struct {
	Status int
	Body   []byte
	Err    error
}

// AfterHook is the body the request continues with after h answered res
// to body: a 200 answer's body replaces it; any other outcome is a
// failure (its text the answer's body), which refuses the request when
// the hook's failurePolicy is Fail (HTTP 400, code 1405234, BCS's words)
// and is skipped otherwise (skipped then says why).
func AfterHook(h v1alpha1.AdmissionHook, body []byte, res HookResult) (next []byte, skipped error, refused *Error) {
	if res.Err == nil && res.Status == http.StatusOK {
		return res.Body, nil, nil
	}
	failure := res.Err
	if failure == nil {
		text := strings.TrimSpace(string(res.Body))
		if text == "" {
			text = fmt.Sprintf("HTTP %d", res.Status)
		}
		failure = fmt.Errorf("%s", text)
	}
	if h.FailurePolicy == FailurePolicyFail {
		return nil, nil, &Error{Status: http.StatusBadRequest, Code: CodeWebhook,
			Message: fmt.Sprintf("request webhoook %s error %s", h.Name, failure)}
	}
	return body, failure, nil
}
