package pod

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
)

// REST is the pod store with a deletion that cannot outrun the watch cache.
//
// The library's Delete decides the grace period on the pod read from etcd and
// then again, inside the update, on the watch cache's copy. A copy from before
// the pod was bound has no node, so a pod deleted right after its binding would
// go at once instead of waiting for its node to stop it. Waiting until the cache
// holds the version etcd has makes both decisions see the same pod.
type REST struct {
	*genericregistry.Store
}

// Delete deletes a pod gracefully once the watch cache has caught up with it.
func (r *REST) Delete(ctx context.Context, name string, validate rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	if err := r.awaitCache(ctx, name); err != nil {
		return nil, false, err
	}
	return r.Store.Delete(ctx, name, validate, options)
}

// awaitCache returns once the watch cache holds the pod at least as new as etcd
// has it now: a read at an exact version is served by the cache, which first
// waits until it has seen that version.
func (r *REST) awaitCache(ctx context.Context, name string) error {
	current, err := r.Store.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return err
	}
	// The error is returned as it is: it is an API status (e.g. 504 when the
	// cache lags by seconds) that a wrapped error would turn into a 500.
	_, err = r.Store.Get(ctx, name, &metav1.GetOptions{ResourceVersion: current.(metav1.Object).GetResourceVersion()})
	return err
}

// ShortNames and Categories let `kubectl get po` and `kubectl get all` find pods.
func (r *REST) ShortNames() []string { return []string{"po"} }
func (r *REST) Categories() []string { return []string{"all"} }

var (
	_ rest.ShortNamesProvider = &REST{}
	_ rest.CategoriesProvider = &REST{}
)
