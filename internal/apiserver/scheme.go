package apiserver

import (
	"fmt"
	"net/url"
	"reflect"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	bcsv1alpha1 "github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/apis/core/defaults"
	podyardv1alpha1 "github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/queryparams"
	"github.com/podyard/podyard/internal/registry/event"
	"github.com/podyard/podyard/internal/registry/namespace"
	"github.com/podyard/podyard/internal/registry/node"
	"github.com/podyard/podyard/internal/registry/pod"
	"github.com/podyard/podyard/internal/registry/secret"
	"github.com/podyard/podyard/internal/registry/store"
)

// groups are the external API versions Podyard serves, most preferred first within a group.
var groups = []schema.GroupVersion{
	corev1.SchemeGroupVersion, coordinationv1.SchemeGroupVersion, policyv1.SchemeGroupVersion,
	authenticationv1.SchemeGroupVersion, authorizationv1.SchemeGroupVersion,
	podyardv1alpha1.SchemeGroupVersion, bcsv1alpha1.SchemeGroupVersion,
}

// Scheme holds the types the server serves with their codecs.
type Scheme struct {
	*runtime.Scheme
	Codecs         serializer.CodecFactory
	ParameterCodec runtime.ParameterCodec
	// External holds the same types under their external versions only; the
	// OpenAPI namer uses it so definitions name v1 kinds, never __internal.
	External *runtime.Scheme
}

// NewScheme registers the k8s.io/api types. Podyard has no internal types:
// each external Go type is registered a second time under __internal, so
// "converting" between the two only rewrites the kind.
func NewScheme() (*Scheme, error) {
	external := runtime.NewScheme()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, coordinationv1.AddToScheme, policyv1.AddToScheme,
		authenticationv1.AddToScheme, authorizationv1.AddToScheme,
		podyardv1alpha1.AddToScheme, bcsv1alpha1.AddToScheme,
	} {
		if err := add(external); err != nil {
			return nil, fmt.Errorf("scheme: %w", err)
		}
		if err := add(s); err != nil {
			return nil, fmt.Errorf("scheme: %w", err)
		}
	}
	for _, gv := range groups {
		registerAsInternal(s, gv)
	}
	// admissionregistration.k8s.io is served with Kubernetes' own registry
	// over its scheme (admission.go); the OpenAPI namer needs it here.
	if err := admissionregistrationv1.AddToScheme(external); err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	for _, gv := range groups {
		if err := s.SetVersionPriority(gv); err != nil {
			return nil, fmt.Errorf("scheme: %w", err)
		}
	}
	if err := addFieldLabelConversions(s); err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	if err := addQueryConversions(s); err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	defaults.RegisterDefaults(s)
	return &Scheme{
		Scheme:         s,
		Codecs:         serializer.NewCodecFactory(s),
		ParameterCodec: runtime.NewParameterCodec(s),
		External:       external,
	}, nil
}

func registerAsInternal(s *runtime.Scheme, gv schema.GroupVersion) {
	internal := schema.GroupVersion{Group: gv.Group, Version: runtime.APIVersionInternal}
	for kind, t := range s.KnownTypes(gv) {
		if s.Recognizes(internal.WithKind(kind)) {
			continue // metav1 already registered its internal twin (e.g. WatchEvent)
		}
		s.AddKnownTypeWithName(internal.WithKind(kind), reflectNew(t))
	}
}

// selectableFields lists, per kind, the fields a field selector may name;
// the same functions produce the values the storage filters on.
var selectableFields = map[schema.GroupVersionKind]func(runtime.Object) fields.Set{
	corev1.SchemeGroupVersion.WithKind("Pod"):       pod.SelectableFields,
	corev1.SchemeGroupVersion.WithKind("Event"):     event.SelectableFields,
	corev1.SchemeGroupVersion.WithKind("Namespace"): namespace.SelectableFields,
	corev1.SchemeGroupVersion.WithKind("Node"):      node.SelectableFields,
	corev1.SchemeGroupVersion.WithKind("Secret"):    secret.SelectableFields,
}

func addFieldLabelConversions(s *runtime.Scheme) error {
	for gvk, fieldsOf := range selectableFields {
		obj, err := s.New(gvk)
		if err != nil {
			return err
		}
		allowed := fields.Set(store.ObjectFields(obj))
		for k := range fieldsOf(obj) {
			allowed[k] = ""
		}
		allowed["metadata.name"], allowed["metadata.namespace"] = "", ""
		kind := gvk.Kind
		err = s.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
			if _, ok := allowed[label]; ok {
				return label, value, nil
			}
			return "", "", fmt.Errorf("field label not supported: %s", label)
		})
		if err != nil {
			return fmt.Errorf("field labels of %s: %w", kind, err)
		}
	}
	return nil
}

// addQueryConversions teaches the parameter codec to read the options of
// connect-style subresources (log, exec, attach, portforward, proxy) from
// URL query parameters.
func addQueryConversions(s *runtime.Scheme) error {
	for _, options := range []runtime.Object{
		&corev1.PodLogOptions{}, &corev1.PodExecOptions{}, &corev1.PodAttachOptions{},
		&corev1.PodPortForwardOptions{}, &corev1.PodProxyOptions{}, &corev1.NodeProxyOptions{},
	} {
		err := s.AddConversionFunc((*url.Values)(nil), options, func(a, b interface{}, _ conversion.Scope) error {
			return queryparams.Decode(*a.(*url.Values), b)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func reflectNew(t reflect.Type) runtime.Object {
	return reflect.New(t).Interface().(runtime.Object)
}
