// Package agentsetting stores bcs.podyard.io AgentSettings and their
// status.
package agentsetting

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
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "agentsettings"}

// Storage is the agent setting endpoints.
type Storage struct {
	AgentSetting *genericregistry.Store
	Status       *store.SubresourceREST
}

// NewStorage builds the agent setting store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*v1alpha1.AgentSetting](typer, false)
	s.PrepareCreate = func(a *v1alpha1.AgentSetting) { a.Status = v1alpha1.AgentSettingStatus{} }
	s.PrepareUpdate = func(a, old *v1alpha1.AgentSetting) { a.Status = old.Status }
	s.ValidateCreate = validation.ValidateAgentSetting
	s.ValidateUpdateFn = validation.ValidateAgentSettingUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	settings, status, err := store.NewWithStatus(store.Resource{
		Resource: Resource,
		Singular: "agentsetting",
		New:      func() runtime.Object { return &v1alpha1.AgentSetting{} },
		NewList:  func() runtime.Object { return &v1alpha1.AgentSettingList{} },
		Table:    printers.AgentSettings(),
	}, s, func(a, old *v1alpha1.AgentSetting) { a.Spec = old.Spec }, []string{"spec"}, opts)
	if err != nil {
		return nil, err
	}
	return &Storage{AgentSetting: settings, Status: status}, nil
}
