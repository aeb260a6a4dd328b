// Package service stores core/v1 Services and their status. Podyard stores
// and validates services; it does not allocate cluster IPs or proxy traffic.
package service

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

// Storage is the service endpoints.
type Storage struct {
	Service *genericregistry.Store
	Status  *store.SubresourceREST
}

// NewStorage builds the service store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*corev1.Service](typer, true)
	s.ValidateCreate = validation.ValidateService
	s.ValidateUpdateFn = validation.ValidateServiceUpdate
	s.PrepareCreate = func(svc *corev1.Service) { svc.Status = corev1.ServiceStatus{} }
	s.PrepareUpdate = func(svc, old *corev1.Service) { svc.Status = old.Status }
	s.ResetFields, s.APIVersion = []string{"status"}, "v1"
	services, err := store.New(store.Resource{
		Resource: schema.GroupResource{Resource: "services"},
		Singular: "service",
		New:      func() runtime.Object { return &corev1.Service{} },
		NewList:  func() runtime.Object { return &corev1.ServiceList{} },
		Table:    printers.Services(),
		Create:   s, Update: s, Delete: s,
	}, opts)
	if err != nil {
		return nil, err
	}
	status := s
	status.PrepareUpdate = func(svc, old *corev1.Service) { svc.Spec = old.Spec }
	status.ValidateUpdateFn = validation.ValidateServiceStatusUpdate
	status.ResetFields = []string{"spec"}
	return &Storage{Service: services, Status: store.NewSubresource(services, status)}, nil
}
