// Package admissionwebhook stores bcs.podyard.io AdmissionWebhooks, BCS's
// admission webhook configurations.
package admissionwebhook

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/apis/bcs/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// Resource is the resource's name in its group.
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "admissionwebhooks"}

// NewStorage builds the admission webhook store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*v1alpha1.AdmissionWebhook](typer, true)
	s.ValidateCreate = validation.ValidateAdmissionWebhook
	s.ValidateUpdateFn = validation.ValidateAdmissionWebhookUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	return store.New(store.Resource{
		Resource: Resource,
		Singular: "admissionwebhook",
		New:      func() runtime.Object { return &v1alpha1.AdmissionWebhook{} },
		NewList:  func() runtime.Object { return &v1alpha1.AdmissionWebhookList{} },
		Table:    printers.AdmissionWebhooks(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}
