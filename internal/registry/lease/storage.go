// Package lease stores coordination.k8s.io/v1 Leases (node heartbeats, leader election).
package lease

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// NewStorage builds the lease store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	s := store.NewStrategy[*coordinationv1.Lease](typer, true)
	s.ValidateCreate = validation.ValidateLease
	s.ValidateUpdateFn = validation.ValidateLeaseUpdate
	return store.New(store.Resource{
		Resource: schema.GroupResource{Group: coordinationv1.GroupName, Resource: "leases"},
		Singular: "lease",
		New:      func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:  func() runtime.Object { return &coordinationv1.LeaseList{} },
		Table:    printers.Leases(),
		Create:   s, Update: s, Delete: s,
	}, opts)
}
