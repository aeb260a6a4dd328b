// Package applicationversion stores bcs.podyard.io ApplicationVersions:
// the definitions an application had, which never change.
package applicationversion

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
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "applicationversions"}

// NewStorage builds the application version store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*v1alpha1.ApplicationVersion](typer, true)
	s.ValidateCreate = validation.ValidateApplicationVersion
	s.ValidateUpdateFn = validation.ValidateApplicationVersionUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	return store.New(store.Resource{
		Resource: Resource,
		Singular: "applicationversion",
		New:      func() runtime.Object { return &v1alpha1.ApplicationVersion{} },
		NewList:  func() runtime.Object { return &v1alpha1.ApplicationVersionList{} },
		Table:    printers.ApplicationVersions(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}
