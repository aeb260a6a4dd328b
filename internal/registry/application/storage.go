// Package application stores bcs.podyard.io Applications and their status.
package application

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "applications"}

// Storage is the application endpoints.
type Storage struct {
	Application *genericregistry.Store
	Status      *store.SubresourceREST
}

// NewStorage builds the application store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*v1alpha1.Application](typer, true)
	// A new application is Staging until its taskgroups say more, as in BCS.
	s.PrepareCreate = func(app *v1alpha1.Application) {
		now := metav1.Now()
		app.Status = v1alpha1.ApplicationStatus{Status: v1alpha1.StatusStaging, UpdateTime: &now}
		app.Generation = 1
	}
	s.PrepareUpdate = func(app, old *v1alpha1.Application) {
		app.Status = old.Status
		if !apiequality.Semantic.DeepEqual(app.Spec, old.Spec) {
			app.Generation = old.Generation + 1
		}
	}
	s.ValidateCreate = validation.ValidateApplication
	s.ValidateUpdateFn = validation.ValidateApplicationUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	apps, status, err := store.NewWithStatus(store.Resource{
		Resource: Resource,
		Singular: "application",
		New:      func() runtime.Object { return &v1alpha1.Application{} },
		NewList:  func() runtime.Object { return &v1alpha1.ApplicationList{} },
		Table:    printers.Applications(),
	}, s, func(app, old *v1alpha1.Application) { app.Spec = old.Spec }, []string{"spec"}, opts)
	if err != nil {
		return nil, err
	}
	return &Storage{Application: apps, Status: status}, nil
}
