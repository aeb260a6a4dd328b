package bcs

import (
	"encoding/json"
	"maps"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/apis/bcs/validation"
)

// This file is the admission webhook configurations' pure contract: their
// routes, the BCS body as an AdmissionWebhook (bcs.podyard.io) and the GET
// view. admissionwebhooks_serve.go does the I/O; admissionwebhooks_admit.go
// and webhookcall.go enforce them on application and deployment writes.

// KindAdmissionWebhook is the kind of a BCS admission webhook body, and the
// Route kind of its routes.
const KindAdmissionWebhook = "admissionwebhook"

// AdmissionWebhookPath reads the admission webhook routes; ok is false for
// any other path:
//
//	crd/namespaces/{ns}/admissionwebhook[/{name}]   (the seed's)
//	namespaces/{ns}/admissionwebhook[/{name}]       (the driver's)
//	admissionwebhooks                               (all; Route.Namespace "")
func AdmissionWebhookPath(p string) (Route, bool) {
	rest, found := "", false
	for _, prefix := range PathPrefixes {
		if rest, found = strings.CutPrefix(p, prefix); found {
			break
		}
	}
	if !found {
		return Route{}, false
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(parts) == 1 && parts[0] == "admissionwebhooks" {
		return Route{Kind: KindAdmissionWebhook}, true
	}
	if parts[0] == "crd" {
		parts = parts[1:]
	}
	if (len(parts) != 3 && len(parts) != 4) || parts[0] != "namespaces" || parts[2] != KindAdmissionWebhook {
		return Route{}, false
	}
	for _, part := range parts {
		if part == "" {
			return Route{}, false
		}
	}
	r := Route{Namespace: parts[1], Kind: KindAdmissionWebhook}
	if len(parts) == 4 {
		r.Name = parts[3]
	}
	return r, true
}

// AdmissionWebhookBody is BCS's AdmissionWebhookConfiguration as posted.
type AdmissionWebhookBody struct {
	APIVersion        string                          `json:"apiVersion"`
	Kind              string                          `json:"kind"`
	Metadata          Meta                            `json:"metadata"`
	ResourcesRef      *v1alpha1.AdmissionResourcesRef `json:"resourcesRef"`
	AdmissionWebhooks []v1alpha1.AdmissionHook        `json:"admissionWebhooks"`
}

// ToAdmissionWebhook translates a posted configuration in the request's
// target (Kind KindAdmissionWebhook): JSON (1405010), kind (1405008 "Kind X
// is invalid"), the body's namespace against the URL's as for configmaps
// (1405008), the BCS name (1405007), then validation (1405007).
func ToAdmissionWebhook(t Target, body []byte) (*v1alpha1.AdmissionWebhook, *Error) {
	var b AdmissionWebhookBody
	if err := Decode(body, &b); err != nil {
		return nil, err
	}
	if b.Kind != KindAdmissionWebhook {
		return nil, Errorf(CodeRequestData, "Kind %s is invalid", b.Kind)
	}
	name, err := checkMeta(t, b.Kind, &b.Metadata)
	if err != nil {
		return nil, err
	}
	w := &v1alpha1.AdmissionWebhook{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: "AdmissionWebhook"},
		ObjectMeta: objectMeta(t, name, b.Metadata, map[string]string{annotationAPIVersion: apiVersionOr(b.APIVersion)}),
		Spec: v1alpha1.AdmissionWebhookSpec{
			Metadata: v1alpha1.ObjectMeta{Name: b.Metadata.Name, Namespace: b.Metadata.Namespace,
				Labels: maps.Clone(b.Metadata.Labels), Annotations: maps.Clone(b.Metadata.Annotations)},
			AdmissionWebhooks: b.AdmissionWebhooks,
		},
	}
	if b.ResourcesRef != nil {
		w.Spec.ResourcesRef = *b.ResourcesRef
	}
	if errs := validation.ValidateAdmissionWebhook(w); len(errs) > 0 {
		return nil, Errorf(CodeBadParameters, "%s", errs.ToAggregate().Error())
	}
	return w, nil
}

// UpdatedAdmissionWebhook is old with posted's resourcesRef and hooks: an
// update keeps the stored metadata, as BCS's did.
func UpdatedAdmissionWebhook(old, posted *v1alpha1.AdmissionWebhook) *v1alpha1.AdmissionWebhook {
	w := old.DeepCopy()
	w.Spec.ResourcesRef = posted.Spec.ResourcesRef
	w.Spec.AdmissionWebhooks = posted.Spec.AdmissionWebhooks
	return w
}

// AdmissionWebhookView is the GET view, in the seed's shape: BCS's older
// configuration type, whose nested structs had no JSON tags.
type AdmissionWebhookView struct {
	ResourcesRef      AdmissionResourcesRefView `json:"ResourcesRef"`
	AdmissionWebhooks []AdmissionHookView       `json:"admissionWebhooks"`
	APIVersion        string                    `json:"apiVersion"`
	Kind              string                    `json:"kind"`
	Metadata          AdmissionMeta             `json:"metadata"`
}

// AdmissionResourcesRefView is ResourcesRef in the view.
type AdmissionResourcesRefView struct {
	Operation string `json:"Operation"`
	Kind      string `json:"Kind"`
}

// AdmissionHookView is one hook in the view. TimeoutSeconds is Podyard's,
// shown when set.
type AdmissionHookView struct {
	Name              string                    `json:"Name"`
	FailurePolicy     string                    `json:"FailurePolicy"`
	ClientConfig      AdmissionClientConfigView `json:"ClientConfig"`
	NamespaceSelector *AdmissionSelectorView    `json:"NamespaceSelector,omitempty"`
	TimeoutSeconds    *int32                    `json:"TimeoutSeconds,omitempty"`
}

// AdmissionClientConfigView is a hook's ClientConfig; empty fields are left
// out, as the seed shows.
type AdmissionClientConfigView struct {
	Url       string `json:"Url,omitempty"`
	CaBundle  string `json:"CaBundle,omitempty"`
	Namespace string `json:"Namespace,omitempty"`
	Name      string `json:"Name,omitempty"`
	Path      string `json:"Path,omitempty"`
	Port      int32  `json:"Port,omitempty"`
}

// AdmissionSelectorView is a hook's NamespaceSelector.
type AdmissionSelectorView struct {
	Operator string   `json:"Operator"`
	Values   []string `json:"Values,omitempty"`
}

// AdmissionMeta is the view's metadata; creationTimestamp is always there
// (0001-01-01T00:00:00Z when unknown), as in BCS.
type AdmissionMeta struct {
	CreationTimestamp time.Time         `json:"creationTimestamp"`
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// ToAdmissionWebhookView is the BCS view of a configuration; bcsNamespace
// is the one of its namespace, for an object without spec.metadata.
func ToAdmissionWebhookView(w *v1alpha1.AdmissionWebhook, bcsNamespace string) AdmissionWebhookView {
	m := w.Spec.Metadata
	if m.Name == "" {
		m.Name = w.Name
		if name := w.Annotations[AnnotationName]; name != "" {
			m.Name = name
		}
	}
	if m.Namespace == "" {
		m.Namespace = bcsNamespace
	}
	v := AdmissionWebhookView{
		ResourcesRef:      AdmissionResourcesRefView{Operation: w.Spec.ResourcesRef.Operation, Kind: w.Spec.ResourcesRef.Kind},
		AdmissionWebhooks: make([]AdmissionHookView, 0, len(w.Spec.AdmissionWebhooks)),
		APIVersion:        apiVersionOr(w.Annotations[annotationAPIVersion]),
		Kind:              KindAdmissionWebhook,
		Metadata: AdmissionMeta{CreationTimestamp: w.CreationTimestamp.UTC(), Name: m.Name, Namespace: m.Namespace,
			Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations)},
	}
	for _, h := range w.Spec.AdmissionWebhooks {
		c := h.ClientConfig
		hv := AdmissionHookView{Name: h.Name, FailurePolicy: h.FailurePolicy, TimeoutSeconds: h.TimeoutSeconds,
			ClientConfig: AdmissionClientConfigView{Url: c.URL, CaBundle: c.CABundle, Namespace: c.Namespace, Name: c.Name, Path: c.Path, Port: c.Port}}
		if s := h.NamespaceSelector; s != nil {
			hv.NamespaceSelector = &AdmissionSelectorView{Operator: s.Operator, Values: s.Values}
		}
		v.AdmissionWebhooks = append(v.AdmissionWebhooks, hv)
	}
	return v
}

// bcsNamespaceOf is the BCS namespace a configuration was posted in.
func bcsNamespaceOf(w *v1alpha1.AdmissionWebhook) string {
	if w.Spec.Metadata.Namespace != "" {
		return w.Spec.Metadata.Namespace
	}
	return w.Namespace
}

var _ = json.Marshal // the views are JSON
