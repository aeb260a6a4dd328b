package bcs

// The CRD and custom resource routes. The original driver (with a
// kubeconfig) reverse-proxied them to Kubernetes and answered Kubernetes'
// own JSON, not the envelope (bcs-v4-wire.md §1.11); Podyard serves
// apiextensions.k8s.io/v1 itself, so these routes translate to its API as
// the caller and answer what it answers, Status and HTTP code included:
//
//	customresourcedefinitions[/{name}]         CRDs: POST, GET, PUT, DELETE
//	customresourcesdefinitions[/{name}]        the seed's spelling of the same
//	customresources/{group}/{version}/...      custom resources (ResolveCustomResource)
//
// A CRD body is BCS's (apiVersion v4, an old v1beta1 body too) and becomes
// an apiextensions.k8s.io/v1 CRD (ToCRD); a CRD answer is Kubernetes' JSON
// with apiVersion v4 (CRDView). Errors of these routes, the dialect's own
// included, are Kubernetes Status objects, so a client reads one shape.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Route elements of the CRD and custom resource routes.
const (
	routeCRDs     = "customresourcedefinitions"
	routeCRDsSeed = "customresourcesdefinitions" // the seed's getcrd spelling
	routeCRs      = "customresources"
)

const (
	crdGroup      = "apiextensions.k8s.io"
	crdAPIVersion = crdGroup + "/v1"
	crdKind       = "CustomResourceDefinition"
	crdResource   = "customresourcedefinitions"
	// maxUpdateAttempts bounds the read-and-replace of a PUT whose body has
	// no resourceVersion, when others write the object meanwhile.
	maxUpdateAttempts = 5
)

// CustomResourcePath reads the CRD and custom resource routes
// (customresourcedefinitions[/{name}], the seed's customresourcesdefinitions,
// customresources/...); rest is the path below the dialect's prefix, the
// route's first element included (ParseCustomResourceRoute reads it).
func CustomResourcePath(p string) (rest string, ok bool) {
	for _, prefix := range PathPrefixes {
		after, found := strings.CutPrefix(p, prefix)
		if !found {
			continue
		}
		first, _, _ := strings.Cut(after, "/")
		switch first {
		case routeCRDs, routeCRDsSeed, routeCRs:
			return after, true
		}
		return "", false
	}
	return "", false
}

// CustomResourceRoute is what a CRD or custom resource path names.
type CustomResourceRoute struct {
	// Definitions: customresourcedefinitions[/{name}]; Name is the CRD's.
	Definitions bool
	Name        string
	// Group and Version of customresources/{group}/{version}/...; Parts are
	// the elements after them, for ResolveCustomResource.
	Group, Version string
	Parts          []string
	// Watch: an element of the path is "watch" (Kubernetes' old watch
	// paths). The original refused such paths with 404.
	Watch bool
}

// ParseCustomResourceRoute reads rest (from CustomResourcePath); ok is false
// for a path no route has.
func ParseCustomResourceRoute(rest string) (CustomResourceRoute, bool) {
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	var r CustomResourceRoute
	for _, part := range parts {
		if part == "" {
			return CustomResourceRoute{}, false
		}
		if part == "watch" {
			r.Watch = true
		}
	}
	switch parts[0] {
	case routeCRDs, routeCRDsSeed:
		if len(parts) > 2 {
			return CustomResourceRoute{}, false
		}
		r.Definitions = true
		if len(parts) == 2 {
			r.Name = parts[1]
		}
		return r, true
	case routeCRs:
		// group, version and at least the plural; at most
		// namespaces/{ns}/{plural}/{name}.
		if len(parts) < 4 || len(parts) > 7 {
			return CustomResourceRoute{}, false
		}
		r.Group, r.Version, r.Parts = parts[1], parts[2], parts[3:]
		return r, true
	}
	return CustomResourceRoute{}, false
}

// WatchQuery says a query asks for a watch (?watch=true): the routes serve
// no watches.
func WatchQuery(q url.Values) bool {
	v, found := q["watch"]
	if !found {
		return false
	}
	for _, s := range v {
		if s != "" && s != "0" && s != "false" {
			return true
		}
	}
	return false
}

// CustomResource is the object or collection a customresources path names,
// resolved against the group version's resources.
type CustomResource struct {
	Group, Version string
	Resource       string // the plural
	Kind           string // what bodies must say they are
	Namespaced     bool
	// Namespace is the BCS namespace of the URL: "" for a cluster-scoped
	// resource, and for the cluster-wide list of a namespaced one.
	Namespace string
	Name      string // "" for the collection
}

// ResolveCustomResource reads the elements after customresources/{group}/{version}
// against resources, the group version's (discovery). The forms are
//
//	namespaces/{ns}/{plural}[/{name}]   Kubernetes' spelling (plural namespaced)
//	{plural}[/{name}]                   a cluster-scoped resource; a namespaced
//	                                    one's cluster-wide list ({plural} alone)
//	{ns}/{plural}[/{name}]              BCS's spelling of a namespaced one
//
// and where more than one fits, the first in this order is taken: the two
// Kubernetes spellings before BCS's, since a namespaced object can always
// be named unambiguously (namespaces/...) and a cluster-scoped one cannot.
// ok is false when none fits (an unknown plural, a namespaced object
// without its namespace, subresources).
func ResolveCustomResource(group, version string, parts []string, resources []metav1.APIResource) (CustomResource, bool) {
	find := func(plural string) (metav1.APIResource, bool) {
		for _, r := range resources {
			if r.Name == plural && !strings.Contains(r.Name, "/") {
				return r, true
			}
		}
		return metav1.APIResource{}, false
	}
	at := func(r metav1.APIResource, ns string, name []string) CustomResource {
		cr := CustomResource{Group: group, Version: version, Resource: r.Name, Kind: r.Kind, Namespaced: r.Namespaced, Namespace: ns}
		if len(name) == 1 {
			cr.Name = name[0]
		}
		return cr
	}
	// namespaces/{ns}/{plural}[/{name}]
	if len(parts) >= 3 && len(parts) <= 4 && parts[0] == "namespaces" {
		if r, found := find(parts[2]); found && r.Namespaced {
			return at(r, parts[1], parts[3:]), true
		}
	}
	// {plural}[/{name}]
	if len(parts) <= 2 {
		if r, found := find(parts[0]); found && (!r.Namespaced || len(parts) == 1) {
			return at(r, "", parts[1:]), true
		}
	}
	// {ns}/{plural}[/{name}]
	if len(parts) >= 2 && len(parts) <= 3 {
		if r, found := find(parts[1]); found && r.Namespaced {
			return at(r, parts[0], parts[2:]), true
		}
	}
	return CustomResource{}, false
}

// KubePath is cr's path in the Kubernetes API, its namespace kubeNamespace.
func (cr CustomResource) KubePath(kubeNamespace string) []string {
	p := []string{"/apis", cr.Group, cr.Version}
	if cr.Namespaced && kubeNamespace != "" {
		p = append(p, "namespaces", kubeNamespace)
	}
	p = append(p, cr.Resource)
	if cr.Name != "" {
		p = append(p, cr.Name)
	}
	return p
}

// decodeObject reads a JSON object, numbers kept as they are written.
func decodeObject(body []byte, what string) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is not a JSON object (%s): %v", what, err))
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is not one JSON object (%s): data after it", what))
	}
	return obj, nil
}

// object is obj[key] as an object, made when absent; ok is false when it is
// something else.
func object(obj map[string]any, key string) (map[string]any, bool) {
	switch v := obj[key].(type) {
	case map[string]any:
		return v, true
	case nil:
		m := map[string]any{}
		obj[key] = m
		return m, true
	}
	return nil, false
}

// setName checks the body's metadata.name against the URL's name (when
// the URL has one) and fills it in when the body has none.
func setName(meta map[string]any, urlName string) error {
	name, _ := meta["name"].(string)
	switch {
	case urlName == "":
	case name == "":
		meta["name"] = urlName
	case name != urlName:
		return apierrors.NewBadRequest(fmt.Sprintf("metadata.name %q is not the URL's name %q", name, urlName))
	}
	return nil
}

// preserveUnknownFields is the schema of a version that gives none: any
// object, kept as it is, as a CRD without validation was in v1beta1.
func preserveUnknownFields() map[string]any {
	return map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
}

// ToCRD is the apiextensions.k8s.io/v1 CustomResourceDefinition of a BCS
// CRD body (apiVersion v4; the original sent it to Kubernetes as v1beta1):
// the apiVersion rewritten, an empty kind filled in (another is refused),
// the name checked against urlName (when set), v1beta1's spec-wide fields
// (version, validation, subresources, additionalPrinterColumns) moved into
// each version that lacks its own, and each version without a schema given
// one that preserves unknown fields (v1 requires a schema). A schema given
// is kept; Kubernetes validates the rest.
func ToCRD(body []byte, urlName string) (map[string]any, error) {
	obj, err := decodeObject(body, "a CustomResourceDefinition")
	if err != nil {
		return nil, err
	}
	switch kind, _ := obj["kind"].(string); kind {
	case "":
		obj["kind"] = crdKind
	case crdKind:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("kind %q is not %s", kind, crdKind))
	}
	obj["apiVersion"] = crdAPIVersion
	meta, ok := object(obj, "metadata")
	if !ok {
		return nil, apierrors.NewBadRequest("metadata is not an object")
	}
	if err := setName(meta, urlName); err != nil {
		return nil, err
	}
	spec, ok := object(obj, "spec")
	if !ok {
		return nil, apierrors.NewBadRequest("spec is not an object")
	}
	var versions []map[string]any
	switch v := spec["versions"].(type) {
	case nil:
	case []any:
		for i, item := range v {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.versions[%d] is not an object", i))
			}
			versions = append(versions, m)
		}
	default:
		return nil, apierrors.NewBadRequest("spec.versions is not a list")
	}
	// v1beta1's spec.version: the first version's name, or the only version.
	if v, found := spec["version"]; found {
		name, ok := v.(string)
		if !ok {
			return nil, apierrors.NewBadRequest("spec.version is not a string")
		}
		switch {
		case name == "":
		case len(versions) == 0:
			versions = []map[string]any{{"name": name, "served": true, "storage": true}}
		case versions[0]["name"] != name:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.version %q is not the first of spec.versions (%v)", name, versions[0]["name"]))
		}
		delete(spec, "version")
	}
	// v1beta1's spec-wide schema, subresources and columns.
	lift := func(from, to string, convert func(any) any) {
		v, found := spec[from]
		if !found {
			return
		}
		delete(spec, from)
		if v == nil {
			return
		}
		for _, version := range versions {
			if _, has := version[to]; !has {
				version[to] = convert(v)
			}
		}
	}
	lift("validation", "schema", func(v any) any { return v }) // {openAPIV3Schema: ...} in both
	lift("subresources", "subresources", func(v any) any { return v })
	lift("additionalPrinterColumns", "additionalPrinterColumns", func(v any) any {
		columns, _ := v.([]any)
		out := make([]any, 0, len(columns))
		for _, c := range columns {
			if m, ok := c.(map[string]any); ok {
				column := map[string]any{}
				for k, v := range m {
					if k == "JSONPath" { // v1beta1's spelling
						k = "jsonPath"
					}
					column[k] = v
				}
				c = column
			}
			out = append(out, c)
		}
		return out
	})
	for _, version := range versions {
		schema, _ := version["schema"].(map[string]any)
		if schema["openAPIV3Schema"] == nil {
			version["schema"] = preserveUnknownFields()
		}
	}
	if versions != nil {
		list := make([]any, len(versions))
		for i, v := range versions {
			list[i] = v
		}
		spec["versions"] = list
	}
	// Kubernetes names a CRD {plural}.{group}; the seed's examples do not
	// (logcollector.bkbcs.tencent.com for crontabs). Another name is kept
	// as the BCS name, as the dialect keeps BCS object names.
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	plural, _ := names["plural"].(string)
	name, _ := meta["name"].(string)
	if kubeName := plural + "." + group; group != "" && plural != "" && name != kubeName {
		if name != "" {
			annotations, ok := object(meta, "annotations")
			if !ok {
				return nil, apierrors.NewBadRequest("metadata.annotations is not an object")
			}
			annotations[AnnotationName] = name
		}
		meta["name"] = kubeName
	}
	return obj, nil
}

// CRDView is a Kubernetes answer of the CRD routes as BCS shows it: a CRD
// with apiVersion v4 (as the original rewrote its first apiextensions
// apiVersion), a CRD list too, and each of its items with apiVersion v4 and
// its kind, as a single CRD. Anything else (a Status) is as it came.
func CRDView(kube []byte) []byte {
	obj, err := decodeObject(kube, "a CRD answer")
	if err != nil {
		return kube
	}
	if v, _ := obj["apiVersion"].(string); !strings.HasPrefix(v, crdGroup+"/") {
		return kube
	}
	obj["apiVersion"] = defaultAPIVersion
	if kind, _ := obj["kind"].(string); kind == crdKind+"List" {
		items, _ := obj["items"].([]any)
		for _, item := range items {
			if m, ok := item.(map[string]any); ok {
				m["apiVersion"], m["kind"] = defaultAPIVersion, crdKind
				bcsCRDName(m)
			}
		}
	} else {
		bcsCRDName(obj)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return kube
	}
	return out
}

// bcsCRDName gives a CRD its BCS name back (ToCRD), the annotation that
// kept it dropped.
func bcsCRDName(crd map[string]any) {
	meta, _ := crd["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	name, _ := annotations[AnnotationName].(string)
	if name == "" {
		return
	}
	meta["name"] = name
	delete(annotations, AnnotationName)
	if len(annotations) == 0 {
		delete(meta, "annotations")
	}
}

// FindCRD is the Kubernetes name of the CRD in list (a CRD list's JSON)
// whose BCS name is name (ToCRD).
func FindCRD(list []byte, name string) (string, bool) {
	if name == "" {
		return "", false
	}
	var crds struct {
		Items []struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(list, &crds); err != nil {
		return "", false
	}
	for _, crd := range crds.Items {
		if crd.Metadata.Annotations[AnnotationName] == name {
			return crd.Metadata.Name, true
		}
	}
	return "", false
}

// PrepareCustomResource checks a custom resource body against cr (its
// kind and apiVersion, the URL's name) and sets its namespace: the URL's
// as Kubernetes names it (kubeNamespace), when the body's is empty, the
// URL's BCS namespace or kubeNamespace; another is refused. A cluster-scoped
// object's namespace is dropped, as Kubernetes drops it.
func PrepareCustomResource(body []byte, cr CustomResource, kubeNamespace string) (map[string]any, error) {
	obj, err := decodeObject(body, "a "+cr.Kind)
	if err != nil {
		return nil, err
	}
	wantVersion := cr.Group + "/" + cr.Version
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	if kind != cr.Kind || apiVersion != wantVersion {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body is kind %q, apiVersion %q: %s/%s/%s holds kind %q, apiVersion %q",
			kind, apiVersion, cr.Group, cr.Version, cr.Resource, cr.Kind, wantVersion))
	}
	meta, ok := object(obj, "metadata")
	if !ok {
		return nil, apierrors.NewBadRequest("metadata is not an object")
	}
	if err := setName(meta, cr.Name); err != nil {
		return nil, err
	}
	ns, _ := meta["namespace"].(string)
	switch {
	case !cr.Namespaced:
		delete(meta, "namespace")
	case ns == "" || ns == cr.Namespace || ns == kubeNamespace:
		meta["namespace"] = kubeNamespace
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("metadata.namespace %q is not the URL's namespace %q", ns, cr.Namespace))
	}
	return obj, nil
}

// kubeStatusError is a Kubernetes error of the dialect's own.
func kubeStatusError(code int, reason metav1.StatusReason, format string, args ...any) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: fmt.Sprintf(format, args...),
	}}
}

// fromBCSError is a BCS error (a body too large, a namespace that can't be
// made) as a Kubernetes one.
func fromBCSError(e *Error) *apierrors.StatusError {
	reasons := map[int]metav1.StatusReason{
		http.StatusBadRequest: metav1.StatusReasonBadRequest, http.StatusForbidden: metav1.StatusReasonForbidden,
		http.StatusNotFound: metav1.StatusReasonNotFound, http.StatusConflict: metav1.StatusReasonConflict,
		http.StatusRequestEntityTooLarge: metav1.StatusReasonRequestEntityTooLarge,
		http.StatusUnprocessableEntity:   metav1.StatusReasonInvalid,
	}
	reason, found := reasons[e.Status]
	if !found {
		reason = metav1.StatusReasonInternalError
	}
	return kubeStatusError(e.Status, reason, "%s", e.Message)
}

// kubeAnswer is what the Kubernetes API answered.
type kubeAnswer struct {
	status   int
	body     []byte
	warnings []utilnet.WarningHeader
}

func (a kubeAnswer) ok() bool { return a.status >= 200 && a.status < 300 }

// answerOf is a Status error as an answer.
func answerOf(err *apierrors.StatusError) kubeAnswer {
	s := err.ErrStatus
	s.Kind, s.APIVersion = "Status", "v1"
	body, _ := json.Marshal(s)
	return kubeAnswer{status: int(s.Code), body: body}
}
