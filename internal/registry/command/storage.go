// Package command stores bcs.podyard.io Commands and their status.
package command

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
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "commands"}

// Storage is the command endpoints.
type Storage struct {
	Command *genericregistry.Store
	Status  *store.SubresourceREST
}

// NewStorage builds the command store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*v1alpha1.Command](typer, true)
	s.PrepareUpdate = func(c, old *v1alpha1.Command) { c.Status = old.Status }
	s.ValidateCreate = validation.ValidateCommand
	s.ValidateUpdateFn = validation.ValidateCommandUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	commands, status, err := store.NewWithStatus(store.Resource{
		Resource: Resource,
		Singular: "command",
		New:      func() runtime.Object { return &v1alpha1.Command{} },
		NewList:  func() runtime.Object { return &v1alpha1.CommandList{} },
		Table:    printers.Commands(),
	}, s, func(c, old *v1alpha1.Command) { c.Spec = old.Spec; c.ID = old.ID }, []string{"spec", "id"}, opts)
	if err != nil {
		return nil, err
	}
	return &Storage{Command: commands, Status: status}, nil
}
