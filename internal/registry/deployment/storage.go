// Package deployment stores bcs.podyard.io Deployments and their status.
package deployment

import (
	apiequality "k8s.io/apimachinery/pkg/api/equality"
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
var Resource = schema.GroupResource{Group: v1alpha1.GroupName, Resource: "deployments"}

// Storage is the deployment endpoints.
type Storage struct {
	Deployment *genericregistry.Store
	Status     *store.SubresourceREST
}

// NewStorage builds the deployment store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*v1alpha1.Deployment](typer, true)
	// A new deployment is Deploying until its application exists, as in BCS.
	s.PrepareCreate = func(d *v1alpha1.Deployment) {
		d.Status = v1alpha1.DeploymentStatus{Status: "Deploying"}
		d.Generation = 1
	}
	s.PrepareUpdate = func(d, old *v1alpha1.Deployment) {
		d.Status = old.Status
		if !apiequality.Semantic.DeepEqual(d.Spec, old.Spec) {
			d.Generation = old.Generation + 1
		}
	}
	s.ValidateCreate = validation.ValidateDeployment
	s.ValidateUpdateFn = validation.ValidateDeploymentUpdate
	s.APIVersion = v1alpha1.SchemeGroupVersion.String()
	deployments, status, err := store.NewWithStatus(store.Resource{
		Resource: Resource,
		Singular: "deployment",
		New:      func() runtime.Object { return &v1alpha1.Deployment{} },
		NewList:  func() runtime.Object { return &v1alpha1.DeploymentList{} },
		Table:    printers.Deployments(),
	}, s, func(d, old *v1alpha1.Deployment) { d.Spec = old.Spec }, []string{"spec"}, opts)
	if err != nil {
		return nil, err
	}
	return &Storage{Deployment: deployments, Status: status}, nil
}
