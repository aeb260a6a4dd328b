// Package configmap stores core/v1 ConfigMaps.
package configmap

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

// NewStorage builds the configmap store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*corev1.ConfigMap](typer, true)
	s.ValidateCreate = validation.ValidateConfigMap
	s.ValidateUpdateFn = validation.ValidateConfigMapUpdate
	return store.New(store.Resource{
		Resource: schema.GroupResource{Resource: "configmaps"},
		Singular: "configmap",
		New:      func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:  func() runtime.Object { return &corev1.ConfigMapList{} },
		Table:    printers.ConfigMaps(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}
