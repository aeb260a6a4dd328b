package store

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// SubresourceStrategy is an update strategy that also says which fields its
// endpoint resets under server-side apply.
type SubresourceStrategy interface {
	rest.RESTUpdateStrategy
	rest.ResetFieldsStrategy
}

// SubresourceREST serves get/update/patch of an object through a narrower
// update strategy (status, ephemeralcontainers, finalize); it shares the
// parent's store and its etcd connection.
type SubresourceREST struct {
	store *genericregistry.Store
}

// NewSubresource derives a subresource endpoint from parent.
func NewSubresource(parent *genericregistry.Store, s SubresourceStrategy) *SubresourceREST {
	sub := *parent
	sub.UpdateStrategy = s
	sub.ResetFieldsStrategy = s
	return &SubresourceREST{store: &sub}
}

func (r *SubresourceREST) New() runtime.Object { return r.store.New() }

// Destroy does nothing: the parent endpoint owns the shared storage.
func (r *SubresourceREST) Destroy() {}

func (r *SubresourceREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update never creates: the parent object must exist.
func (r *SubresourceREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

func (r *SubresourceREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

func (r *SubresourceREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

var (
	_ rest.Patcher             = &SubresourceREST{}
	_ rest.ResetFieldsStrategy = &SubresourceREST{}
)
