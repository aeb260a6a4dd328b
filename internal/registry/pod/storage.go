package pod

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// Storage is every REST endpoint under /pods.
type Storage struct {
	Pod                 *REST
	Status              *store.SubresourceREST
	EphemeralContainers *store.SubresourceREST
	Resize              *store.SubresourceREST
	Binding             *BindingREST
	Eviction            *EvictionREST
	Log                 *LogREST
	Exec                *ExecREST
	Attach              *AttachREST
	PortForward         *PortForwardREST
}

// Resource is the group-resource of pods.
var Resource = schema.GroupResource{Resource: "pods"}

// NewStorage builds the pod store over etcd and its subresources; nodes
// reaches the agents that serve logs, exec, attach and port-forward.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter, nodes NodeConnector) (*Storage, error) {
	s := newStrategy(typer)
	pods, err := store.New(store.Resource{
		Resource: Resource,
		Singular: "pod",
		New:      func() runtime.Object { return &corev1.Pod{} },
		NewList:  func() runtime.Object { return &corev1.PodList{} },
		Fields:   SelectableFields,
		Table:    printers.Pods(),
		Create:   s,
		Update:   s,
		Delete:   s,
	}, opts)
	if err != nil {
		return nil, err
	}
	podREST := &REST{Store: pods}
	return &Storage{
		Pod:                 podREST,
		Status:              store.NewSubresource(pods, statusStrategy{s}),
		EphemeralContainers: store.NewSubresource(pods, ephemeralStrategy{s}),
		Resize:              store.NewSubresource(pods, resizeStrategy{s}),
		Binding:             &BindingREST{store: pods},
		Eviction:            &EvictionREST{pods: podREST},
		Log:                 &LogREST{store: pods, Backend: agentLogs{nodes}},
		Exec:                &ExecREST{pods: pods, Nodes: nodes},
		Attach:              &AttachREST{pods: pods, Nodes: nodes},
		PortForward:         &PortForwardREST{pods: pods, Nodes: nodes},
	}, nil
}
