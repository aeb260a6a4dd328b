// Package node stores core/v1 Nodes and their status.
package node

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// Storage is the node endpoints.
type Storage struct {
	Node   *genericregistry.Store
	Status *store.SubresourceREST
}

// NewStorage builds the node store. A node agent may set status when it
// registers its node; afterwards status changes only through /status.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*corev1.Node](typer, false)
	s.ValidateCreate = validation.ValidateNode
	s.ValidateUpdateFn = validation.ValidateNodeUpdate
	s.PrepareUpdate = func(n, old *corev1.Node) { n.Status = old.Status }
	s.ResetFields, s.APIVersion = []string{"status"}, "v1"
	nodes, err := store.New(store.Resource{
		Resource: schema.GroupResource{Resource: "nodes"},
		Singular: "node",
		New:      func() runtime.Object { return &corev1.Node{} },
		NewList:  func() runtime.Object { return &corev1.NodeList{} },
		Fields:   SelectableFields,
		Table:    printers.Nodes(),
		Create:   s, Update: s, Delete: s,
	}, opts)
	if err != nil {
		return nil, err
	}
	status := s
	status.PrepareUpdate = func(n, old *corev1.Node) { n.Spec = old.Spec }
	status.ResetFields = []string{"spec"}
	return &Storage{Node: nodes, Status: store.NewSubresource(nodes, status)}, nil
}

// SelectableFields: nodes can be selected by spec.unschedulable.
func SelectableFields(obj runtime.Object) fields.Set {
	unschedulable := "false"
	if obj.(*corev1.Node).Spec.Unschedulable {
		unschedulable = "true"
	}
	return fields.Set{"spec.unschedulable": unschedulable}
}
