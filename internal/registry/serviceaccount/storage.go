// Package serviceaccount stores core/v1 ServiceAccounts.
package serviceaccount

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// NewStorage builds the serviceaccount store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*corev1.ServiceAccount](typer, true)
	s.ValidateCreate = validation.ValidateServiceAccount
	s.ValidateUpdateFn = validation.ValidateServiceAccountUpdate
	return store.New(store.Resource{
		Resource: schema.GroupResource{Resource: "serviceaccounts"},
		Singular: "serviceaccount",
		New:      func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:  func() runtime.Object { return &corev1.ServiceAccountList{} },
		Table:    printers.ServiceAccounts(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}
