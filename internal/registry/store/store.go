package store

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"
)

// Resource describes one stored resource.
type Resource struct {
	Resource schema.GroupResource // plural, e.g. {"", "pods"}
	Singular string               // e.g. "pod"
	New      func() runtime.Object
	NewList  func() runtime.Object

	// Fields returns the fields a field selector may name, beyond
	// metadata.name and metadata.namespace (nil: only those).
	Fields func(obj runtime.Object) fields.Set

	Table rest.TableConvertor // nil: NAME and CREATED AT

	// TTLSeconds, when set, makes etcd expire objects that long after their
	// last write (events live an hour, as in kube-apiserver).
	TTLSeconds uint64

	Create rest.RESTCreateStrategy
	Update rest.RESTUpdateStrategy
	Delete rest.RESTDeleteStrategy
}

// New builds the etcd-backed store (with the watch cache when the options
// enable it) for a resource.
func New(r Resource, opts generic.RESTOptionsGetter) (*genericregistry.Store, error) {
	table := r.Table
	if table == nil {
		table = rest.NewDefaultTableConvertor(r.Resource)
	}
	s := &genericregistry.Store{
		NewFunc:                   r.New,
		NewListFunc:               r.NewList,
		DefaultQualifiedResource:  r.Resource,
		SingularQualifiedResource: schema.GroupResource{Group: r.Resource.Group, Resource: r.Singular},
		CreateStrategy:            r.Create,
		UpdateStrategy:            r.Update,
		DeleteStrategy:            r.Delete,
		ResetFieldsStrategy:       resetFields(r.Update),
		TableConvertor:            table,
	}
	if r.TTLSeconds > 0 {
		s.TTLFunc = func(runtime.Object, uint64, bool) (uint64, error) { return r.TTLSeconds, nil }
	}
	if err := s.CompleteWithOptions(&generic.StoreOptions{RESTOptions: opts, AttrFunc: attrFunc(r.Fields)}); err != nil {
		return nil, fmt.Errorf("store for %s: %w", r.Resource, err)
	}
	return s, nil
}

// ObjectFields are the field-selector fields every object has.
func ObjectFields(obj runtime.Object) fields.Set {
	m, err := meta.Accessor(obj)
	if err != nil {
		return fields.Set{}
	}
	set := fields.Set{"metadata.name": m.GetName()}
	if ns := m.GetNamespace(); ns != "" {
		set["metadata.namespace"] = ns
	}
	return set
}

func attrFunc(extra func(runtime.Object) fields.Set) storage.AttrFunc {
	return func(obj runtime.Object) (labels.Set, fields.Set, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, nil, err
		}
		f := ObjectFields(obj)
		if extra != nil {
			f = generic.MergeFieldsSets(f, extra(obj))
		}
		return labels.Set(m.GetLabels()), f, nil
	}
}

func resetFields(s rest.RESTUpdateStrategy) rest.ResetFieldsStrategy {
	if r, ok := s.(rest.ResetFieldsStrategy); ok {
		return r
	}
	return nil
}

// NewWithStatus builds the store of a kind whose status has its own
// endpoint (`<resource>/status`) and is written only there: writes of the
// object keep the stored status (s.PrepareUpdate must do that; "status"
// is reset under server-side apply), status writes keep everything else
// (keep copies it from the stored object; specFields are reset there).
func NewWithStatus[T runtime.Object](r Resource, s Strategy[T], keep func(obj, old T), specFields []string, opts generic.RESTOptionsGetter) (*genericregistry.Store, *SubresourceREST, error) {
	s.ResetFields = []string{"status"}
	r.Create, r.Update, r.Delete = s, s, s
	objects, err := New(r, opts)
	if err != nil {
		return nil, nil, err
	}
	status := s
	status.ValidateUpdateFn = nil
	status.PrepareUpdate = keep
	status.ResetFields = specFields
	return objects, NewSubresource(objects, status), nil
}
