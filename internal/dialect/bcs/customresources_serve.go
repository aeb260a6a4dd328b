package bcs

// The I/O half of the CRD and custom resource routes (customresources.go is
// their pure contract): requests to the Kubernetes API as the caller.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// crAPI makes the routes' requests as the caller.
type crAPI struct {
	rest   *rest.RESTClient
	caller *rest.Config // the impersonating loopback config (a create's namespace)
}

// newCRAPI makes requests with cfg: JSON in and out, Kubernetes' warnings
// kept for the caller rather than logged.
func newCRAPI(cfg *rest.Config) (crAPI, error) {
	rcfg := rest.CopyConfig(cfg)
	rcfg.APIPath = "/apis"
	rcfg.ContentType = "application/json"
	rcfg.AcceptContentTypes = "application/json"
	rcfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	rcfg.WarningHandler, rcfg.WarningHandlerWithContext = nil, rest.NoWarnings{}
	// The field manager of what the routes write, as the typed clients'.
	if rcfg.UserAgent == "" {
		rcfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.UnversionedRESTClientFor(rcfg)
	if err != nil {
		return crAPI{}, err
	}
	return crAPI{rest: rc, caller: cfg}, nil
}

// do sends a request; err is a failure to get an answer, not an answer of
// failure.
func (c crAPI) do(ctx context.Context, method string, path []string, query url.Values, body []byte) (kubeAnswer, error) {
	req := c.rest.Verb(method).AbsPath(path...)
	for k, vs := range query {
		for _, v := range vs {
			req.Param(k, v)
		}
	}
	if body != nil {
		req.SetHeader("Content-Type", "application/json").Body(body)
	}
	res := req.Do(ctx)
	var status int
	res.StatusCode(&status)
	raw, err := res.Raw()
	var apiStatus apierrors.APIStatus
	if status == 0 && errors.As(err, &apiStatus) && apiStatus.Status().Code != 0 {
		// An answer that is not JSON (404 page not found): the client
		// made a Status of it, keeping the code.
		return answerOf(&apierrors.StatusError{ErrStatus: apiStatus.Status()}), nil
	}
	if status == 0 {
		if err == nil {
			err = errors.New("no answer")
		}
		return kubeAnswer{}, fmt.Errorf("%s %s: %w", method, strings.Join(path, "/"), err)
	}
	return kubeAnswer{status: status, body: raw, warnings: res.Warnings()}, nil
}

// update PUTs obj at path. Kubernetes refuses an update of a CRD or a
// custom resource without a resourceVersion; a body without one replaces
// the current object: its resourceVersion is read first, and again when
// another write came in between.
func (c crAPI) update(ctx context.Context, path []string, query url.Values, obj map[string]any) (kubeAnswer, error) {
	meta := obj["metadata"].(map[string]any) // ToCRD and PrepareCustomResource made it
	if rv, _ := meta["resourceVersion"].(string); rv != "" {
		body, err := json.Marshal(obj)
		if err != nil {
			return kubeAnswer{}, fmt.Errorf("encoding the object: %w", err)
		}
		return c.do(ctx, http.MethodPut, path, query, body)
	}
	for attempt := 1; ; attempt++ {
		current, err := c.do(ctx, http.MethodGet, path, nil, nil)
		if err != nil || !current.ok() {
			return current, err
		}
		var m struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(current.body, &m); err != nil {
			return kubeAnswer{}, fmt.Errorf("reading the current object's resourceVersion: %w", err)
		}
		meta["resourceVersion"] = m.Metadata.ResourceVersion
		body, err := json.Marshal(obj)
		if err != nil {
			return kubeAnswer{}, fmt.Errorf("encoding the object: %w", err)
		}
		answer, err := c.do(ctx, http.MethodPut, path, query, body)
		if err != nil || answer.status != http.StatusConflict || attempt == maxUpdateAttempts {
			return answer, err
		}
	}
}

// serveCustomResources answers the CRD and custom resource routes as the
// caller, with Kubernetes' JSON: every answer is written here, so it
// returns no *Error.
func (h *Handler) serveCustomResources(w http.ResponseWriter, r *http.Request, caller user.Info, route string) *Error {
	answer, err := h.customResources(w, r, caller, route)
	if err != nil {
		h.log.Error("BCS API", "method", r.Method, "path", r.URL.Path, "err", err)
		answer = answerOf(apierrors.NewInternalError(err))
	} else if answer.status >= 500 {
		h.log.Error("BCS API", "method", r.Method, "path", r.URL.Path, "status", answer.status, "answer", string(answer.body))
	}
	for _, warning := range answer.warnings {
		if v, err := utilnet.NewWarningHeader(warning.Code, warning.Agent, warning.Text); err == nil {
			w.Header().Add("Warning", v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(answer.status)
	_, _ = w.Write(answer.body)
	return nil
}

// customResources is the answer to a CRD or custom resource request; err
// is a failure to get one.
func (h *Handler) customResources(w http.ResponseWriter, r *http.Request, caller user.Info, path string) (kubeAnswer, error) {
	route, ok := ParseCustomResourceRoute(path)
	if !ok {
		return answerOf(kubeStatusError(http.StatusNotFound, metav1.StatusReasonNotFound, "no route for %s %s", r.Method, r.URL.Path)), nil
	}
	if route.Watch || WatchQuery(r.URL.Query()) {
		return answerOf(kubeStatusError(http.StatusNotFound, metav1.StatusReasonNotFound,
			"%s: the BCS API serves no watches (nor did the original); watch through the Kubernetes API", r.URL.Path)), nil
	}
	callerCfg := impersonating(h.loopback, caller)
	c, err := newCRAPI(callerCfg)
	if err != nil {
		return kubeAnswer{}, fmt.Errorf("BCS API client: %w", err)
	}
	body := func() ([]byte, error) {
		b, berr := readBody(w, r)
		if berr != nil {
			return nil, fromBCSError(berr)
		}
		return b, nil
	}
	if route.Definitions {
		return c.definitions(r.Context(), r, route.Name, body)
	}
	return c.customResource(r.Context(), r, route, body)
}

// refused answers a Status error and passes any other error on.
func refused(err error) (kubeAnswer, error) {
	var status *apierrors.StatusError
	if errors.As(err, &status) {
		return answerOf(status), nil
	}
	return kubeAnswer{}, err
}

func methodNotAllowed(r *http.Request) kubeAnswer {
	return answerOf(kubeStatusError(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path))
}

// definitions answers customresourcedefinitions[/{name}].
func (c crAPI) definitions(ctx context.Context, r *http.Request, name string, body func() ([]byte, error)) (kubeAnswer, error) {
	path := []string{"/apis", crdGroup, "v1", crdResource}
	query := r.URL.Query()
	var answer kubeAnswer
	var err error
	switch {
	case r.Method == http.MethodGet:
		answer, err = c.byName(ctx, name, func(path []string) (kubeAnswer, error) {
			return c.do(ctx, http.MethodGet, path, query, nil)
		})
	case r.Method == http.MethodPost && name == "", r.Method == http.MethodPut:
		b, berr := body()
		if berr != nil {
			return refused(berr)
		}
		crd, cerr := ToCRD(b, name)
		if cerr != nil {
			return refused(cerr)
		}
		if r.Method == http.MethodPost {
			encoded, eerr := json.Marshal(crd)
			if eerr != nil {
				return kubeAnswer{}, fmt.Errorf("encoding the CRD: %w", eerr)
			}
			answer, err = c.do(ctx, http.MethodPost, path, query, encoded)
			break
		}
		crdName, _ := crd["metadata"].(map[string]any)["name"].(string)
		if crdName == "" {
			return answerOf(apierrors.NewBadRequest("metadata.name is empty")), nil
		}
		answer, err = c.update(ctx, append(path, crdName), query, crd)
	case r.Method == http.MethodDelete && name != "":
		var b []byte
		if b, err = body(); err != nil {
			return refused(err)
		}
		if len(b) == 0 {
			b = nil
		}
		answer, err = c.byName(ctx, name, func(path []string) (kubeAnswer, error) {
			return c.do(ctx, http.MethodDelete, path, query, b)
		})
	default:
		return methodNotAllowed(r), nil
	}
	if err != nil {
		return kubeAnswer{}, err
	}
	if answer.ok() {
		answer.body = CRDView(answer.body)
	}
	return answer, nil
}

// byName runs op on the path of the CRD name names ("": the collection):
// the CRD of that name, or, when there is none, the one whose BCS name it
// is (ToCRD); none is the first answer, Kubernetes' 404.
func (c crAPI) byName(ctx context.Context, name string, op func(path []string) (kubeAnswer, error)) (kubeAnswer, error) {
	path := []string{"/apis", crdGroup, "v1", crdResource}
	if name == "" {
		return op(path)
	}
	answer, err := op(append(path, name))
	if err != nil || answer.status != http.StatusNotFound {
		return answer, err
	}
	list, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return kubeAnswer{}, err
	}
	if kubeName, found := FindCRD(list.body, name); list.ok() && found {
		return op(append(path, kubeName))
	}
	return answer, nil
}

// customResource answers customresources/{group}/{version}/...
func (c crAPI) customResource(ctx context.Context, r *http.Request, route CustomResourceRoute, body func() ([]byte, error)) (kubeAnswer, error) {
	discovery, err := c.do(ctx, http.MethodGet, []string{"/apis", route.Group, route.Version}, nil, nil)
	if err != nil || !discovery.ok() {
		return discovery, err // 404: no such group version
	}
	var resources metav1.APIResourceList
	if err := json.Unmarshal(discovery.body, &resources); err != nil {
		return kubeAnswer{}, fmt.Errorf("reading the resources of %s/%s: %w", route.Group, route.Version, err)
	}
	cr, ok := ResolveCustomResource(route.Group, route.Version, route.Parts, resources.APIResources)
	if !ok {
		return answerOf(kubeStatusError(http.StatusNotFound, metav1.StatusReasonNotFound,
			"%s: %s/%s has no resource at %s (its resources: %s)", r.URL.Path, route.Group, route.Version,
			strings.Join(route.Parts, "/"), resourceNames(resources.APIResources))), nil
	}
	var kubeNS string
	if cr.Namespace != "" {
		ns, nerr := KubeNamespace(cr.Namespace)
		if nerr != nil {
			return answerOf(fromBCSError(nerr)), nil
		}
		kubeNS = ns
	}
	query := r.URL.Query()
	switch {
	case r.Method == http.MethodGet:
		return c.do(ctx, http.MethodGet, cr.KubePath(kubeNS), query, nil)
	case r.Method == http.MethodDelete && cr.Name != "":
		b, berr := body()
		if berr != nil {
			return refused(berr)
		}
		if len(b) == 0 {
			b = nil
		}
		return c.do(ctx, http.MethodDelete, cr.KubePath(kubeNS), query, b)
	case r.Method == http.MethodPost && cr.Name == "" && (!cr.Namespaced || cr.Namespace != ""),
		r.Method == http.MethodPut && (!cr.Namespaced || cr.Namespace != ""):
	default:
		return methodNotAllowed(r), nil
	}
	b, err := body()
	if err != nil {
		return refused(err)
	}
	obj, err := PrepareCustomResource(b, cr, kubeNS)
	if err != nil {
		return refused(err)
	}
	if r.Method == http.MethodPut {
		if cr.Name == "" { // the collection: the body names the object
			cr.Name, _ = obj["metadata"].(map[string]any)["name"].(string)
			if cr.Name == "" {
				return answerOf(apierrors.NewBadRequest("metadata.name is empty")), nil
			}
		}
		return c.update(ctx, cr.KubePath(kubeNS), query, obj)
	}
	encoded, err := json.Marshal(obj)
	if err != nil {
		return kubeAnswer{}, fmt.Errorf("encoding the object: %w", err)
	}
	if !cr.Namespaced {
		return c.do(ctx, http.MethodPost, cr.KubePath(""), query, encoded)
	}
	return c.create(ctx, cr, kubeNS, query, encoded)
}

// create POSTs a namespaced custom resource, its namespace made first when
// there is none (as every BCS create does) and deleted again when the
// object could not be made.
func (c crAPI) create(ctx context.Context, cr CustomResource, kubeNS string, query url.Values, body []byte) (kubeAnswer, error) {
	kube, err := kubeClient(c.caller)
	if err != nil {
		return kubeAnswer{}, fmt.Errorf("BCS API client: %w", err)
	}
	namespace := objects{kube: kube, target: Target{Kind: cr.Kind, Namespace: cr.Namespace, KubeNamespace: kubeNS}}
	made, nerr := namespace.ensureNamespace(ctx)
	if nerr != nil {
		return answerOf(fromBCSError(nerr)), nil
	}
	answer, err := c.do(ctx, http.MethodPost, cr.KubePath(kubeNS), query, body)
	if made && (err != nil || !answer.ok()) {
		if derr := kube.CoreV1().Namespaces().Delete(ctx, kubeNS, metav1.DeleteOptions{}); derr != nil && !apierrors.IsNotFound(derr) {
			return kubeAnswer{}, fmt.Errorf("creating %s failed (HTTP %d %s %v), and deleting the namespace made for it: %w",
				cr.Kind, answer.status, answer.body, err, derr)
		}
	}
	return answer, err
}

func resourceNames(resources []metav1.APIResource) string {
	var names []string
	for _, r := range resources {
		if !strings.Contains(r.Name, "/") {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
