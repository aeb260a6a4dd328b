// Package secret stores core/v1 Secrets.
package secret

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// NewStorage builds the secret store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*corev1.Secret](typer, true)
	s.ValidateCreate = validation.ValidateSecret
	s.ValidateUpdateFn = validation.ValidateSecretUpdate
	return store.New(store.Resource{
		Resource: schema.GroupResource{Resource: "secrets"},
		Singular: "secret",
		New:      func() runtime.Object { return &corev1.Secret{} },
		NewList:  func() runtime.Object { return &corev1.SecretList{} },
		Fields:   SelectableFields,
		Table:    printers.Secrets(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}

// SelectableFields: secrets can be selected by type, as in kube-apiserver.
func SelectableFields(obj runtime.Object) fields.Set {
	return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
}
