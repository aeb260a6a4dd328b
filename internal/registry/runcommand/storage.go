// Package runcommand stores podyard.io RunCommands and their status.
package runcommand

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/apis/podyard/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
	"github.com/podyard/podyard/internal/runcommand/archive"
)

// Resource is the resource's name in its group.
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "runcommands"}

// Storage is the runcommand endpoints.
type Storage struct {
	RunCommand *genericregistry.Store
	Status     *store.SubresourceREST
}

// NewStorage builds the runcommand store; a context must unpack within limits.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter, limits archive.Limits) (*Storage, error) {
	s := store.NewStrategy[*v1alpha1.RunCommand](typer, true)
	s.ValidateCreate = func(rc *v1alpha1.RunCommand) field.ErrorList { return validation.ValidateRunCommand(rc, limits) }
	s.ValidateUpdateFn = validation.ValidateRunCommandUpdate
	s.PrepareUpdate = func(rc, old *v1alpha1.RunCommand) { rc.Status = old.Status }
	s.ResetFields, s.APIVersion = []string{"status"}, v1alpha1.SchemeGroupVersion.String()
	strategy := createStrategy{s}
	commands, err := store.New(store.Resource{
		Resource: Resource,
		Singular: "runcommand",
		New:      func() runtime.Object { return &v1alpha1.RunCommand{} },
		NewList:  func() runtime.Object { return &v1alpha1.RunCommandList{} },
		Table:    printers.RunCommands(),
		Create:   strategy, Update: s, Delete: s,
	}, opts)
	if err != nil {
		return nil, err
	}
	status := s
	status.ValidateUpdateFn = nil
	status.PrepareUpdate = func(rc, old *v1alpha1.RunCommand) { rc.Spec = old.Spec }
	status.ResetFields = []string{"spec"}
	return &Storage{RunCommand: commands, Status: store.NewSubresource(commands, status)}, nil
}

// createStrategy records who creates a command: it acts as them, and no
// client can choose another identity for it.
type createStrategy struct {
	store.Strategy[*v1alpha1.RunCommand]
}

func (s createStrategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	rc := obj.(*v1alpha1.RunCommand)
	rc.Status = v1alpha1.RunCommandStatus{}
	rc.Spec.User = v1alpha1.UserInfo{}
	if u, ok := genericapirequest.UserFrom(ctx); ok {
		rc.Spec.User = v1alpha1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra()}
	}
}
