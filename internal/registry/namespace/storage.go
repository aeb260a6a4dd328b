// Package namespace stores core/v1 Namespaces with kube's lifecycle: a
// delete marks the namespace Terminating, the namespace controller empties
// it and removes the "kubernetes" finalizer through /finalize, and only then
// does a delete remove it.
package namespace

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage"

	"github.com/podyard/podyard/internal/apis/core/validation"
	"github.com/podyard/podyard/internal/printers"
	"github.com/podyard/podyard/internal/registry/store"
)

// Resource is the group-resource of namespaces.
var Resource = schema.GroupResource{Resource: "namespaces"}

// Storage is the namespace endpoints.
type Storage struct {
	Namespace *REST
	Status    *store.SubresourceREST
	Finalize  *store.SubresourceREST
}

// REST is /namespaces: the generic store with kube's two-step delete.
type REST struct {
	*genericregistry.Store
}

// ShortNames lets kubectl resolve "ns".
func (r *REST) ShortNames() []string { return []string{"ns"} }

// NewStorage builds the namespace store.
func NewStorage(typer runtime.ObjectTyper, opts generic.RESTOptionsGetter) (*Storage, error) {
	s := store.NewStrategy[*corev1.Namespace](typer, false)
	s.ValidateCreate = validation.ValidateNamespace
	s.ValidateUpdateFn = validation.ValidateNamespaceUpdate
	s.PrepareCreate = func(ns *corev1.Namespace) {
		ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
		if !hasFinalizer(ns) {
			ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
		}
	}
	s.PrepareUpdate = func(ns, old *corev1.Namespace) {
		ns.Spec.Finalizers = old.Spec.Finalizers
		ns.Status = old.Status
	}
	s.ResetFields, s.APIVersion = []string{"status"}, "v1"
	namespaces, err := store.New(store.Resource{
		Resource: Resource,
		Singular: "namespace",
		New:      func() runtime.Object { return &corev1.Namespace{} },
		NewList:  func() runtime.Object { return &corev1.NamespaceList{} },
		Fields:   SelectableFields,
		Table:    printers.Namespaces(),
		Create:   s, Update: s, Delete: s,
	}, opts)
	if err != nil {
		return nil, err
	}
	status := s
	status.PrepareUpdate = func(ns, old *corev1.Namespace) { ns.Spec = old.Spec }
	status.ValidateUpdateFn = validation.ValidateNamespaceStatusUpdate
	status.ResetFields = []string{"spec"}

	finalize := s
	finalize.PrepareUpdate = func(ns, old *corev1.Namespace) { ns.Status = old.Status }
	finalize.ValidateUpdateFn = validation.ValidateNamespaceFinalizeUpdate
	finalize.ResetFields = []string{"status"}

	return &Storage{
		Namespace: &REST{Store: namespaces},
		Status:    store.NewSubresource(namespaces, status),
		Finalize:  store.NewSubresource(namespaces, finalize),
	}, nil
}

// Delete marks a live namespace Terminating; once its spec finalizers are
// gone (the namespace controller has emptied it) the namespace is removed.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	ns := obj.(*corev1.Namespace)
	if err := checkPreconditions(ns, options.Preconditions); err != nil {
		return nil, false, err
	}
	if len(ns.Spec.Finalizers) == 0 {
		return r.Store.Delete(ctx, name, deleteValidation, options)
	}
	if ns.DeletionTimestamp != nil && ns.Status.Phase == corev1.NamespaceTerminating {
		return ns, false, nil
	}
	if deleteValidation != nil {
		if err := deleteValidation(ctx, ns); err != nil {
			return nil, false, err
		}
	}
	key, err := r.KeyFunc(ctx, name)
	if err != nil {
		return nil, false, err
	}
	out := &corev1.Namespace{}
	err = r.Storage.GuaranteedUpdate(ctx, key, out, false, &storage.Preconditions{UID: &ns.UID},
		storage.SimpleUpdate(func(existing runtime.Object) (runtime.Object, error) {
			current := existing.(*corev1.Namespace)
			if current.DeletionTimestamp == nil {
				now := metav1.Now()
				current.DeletionTimestamp = &now
			}
			current.Status.Phase = corev1.NamespaceTerminating
			return current, nil
		}), len(options.DryRun) > 0, nil)
	if err != nil {
		return nil, false, err
	}
	return out, false, nil
}

// DeleteCollection is refused, as kube-apiserver refuses it for namespaces:
// the generic one would skip the two-step delete above and the protection
// of the system namespaces. Clients delete namespaces one by one.
func (r *REST) DeleteCollection(context.Context, rest.ValidateObjectFunc, *metav1.DeleteOptions, *metainternalversion.ListOptions) (runtime.Object, error) {
	return nil, apierrors.NewMethodNotSupported(Resource, "deletecollection")
}

func checkPreconditions(ns *corev1.Namespace, p *metav1.Preconditions) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != ns.UID {
		return apierrors.NewConflict(Resource, ns.Name, fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, ns.UID))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != ns.ResourceVersion {
		return apierrors.NewConflict(Resource, ns.Name, fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, ns.ResourceVersion))
	}
	return nil
}

func hasFinalizer(ns *corev1.Namespace) bool {
	return slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// SelectableFields: namespaces can be selected by status.phase.
func SelectableFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
}

var _ rest.GracefulDeleter = &REST{}
