// Package garbagecollector runs Kubernetes' own garbage collector
// (k8s.io/kubernetes/pkg/controller/garbagecollector) against Podyard's API:
// deleting an owner deletes what it owns (ownerReferences), in the
// background, in the foreground (the owner keeps the foregroundDeletion
// finalizer until its blockOwnerDeletion dependents are gone) or not at all
// (orphan: the dependents lose their ownerReference), exactly as
// kube-controller-manager does it. This package only wires it: a metadata
// client and metadata-only informers for every deletable resource discovery
// lists, a discovery-backed RESTMapper, and the periodic resync that picks up
// resources added at run time.
package garbagecollector

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
)

// SyncPeriod is how often discovery is asked for new deletable resources
// (kube-controller-manager's period), and how long the first sync of the
// informers may take before collection starts anyway.
const SyncPeriod = 30 * time.Second

// Workers is the number of delete and orphan workers each.
const Workers = 10

// Start builds the collector on cfg and runs it until ctx ends.
func Start(ctx context.Context, cfg *rest.Config) error {
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "podyard/garbage-collector"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("garbage collector: %w", err)
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("garbage collector: %w", err)
	}
	// The resync's discovery client must not be the mapper's: the mapper's
	// cache is reset when the resources change.
	resync, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("garbage collector: %w", err)
	}
	mapperDiscovery, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("garbage collector: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(mapperDiscovery))

	informersStarted := make(chan struct{})
	gc, err := garbagecollector.NewGarbageCollector(ctx, client, mc, mapper,
		garbagecollector.DefaultIgnoredResources(),
		metadataOnly{metadatainformer.NewSharedInformerFactoryWithOptions(mc, 0,
			metadatainformer.WithTransform(dropManagedFields))}, informersStarted)
	if err != nil {
		return fmt.Errorf("garbage collector: %w", err)
	}
	close(informersStarted)
	go wait.UntilWithContext(ctx, func(context.Context) { mapper.Reset() }, SyncPeriod)
	go gc.Run(ctx, Workers, SyncPeriod)
	go gc.Sync(ctx, resync, SyncPeriod)
	return nil
}

// metadataOnly gives the collector metadata-only informers for every
// resource, typed or not: it needs names, UIDs, ownerReferences, finalizers
// and deletion timestamps, not the objects, and its informers are its own
// (no other controller's filters or transforms).
type metadataOnly struct {
	metadatainformer.SharedInformerFactory
}

func (f metadataOnly) ForResource(r schema.GroupVersionResource) (informers.GenericInformer, error) {
	return f.SharedInformerFactory.ForResource(r), nil
}

// dropManagedFields keeps the informers' copies small, as
// kube-controller-manager does.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil && m.GetManagedFields() != nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
