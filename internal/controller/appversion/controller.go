// Package appversion records the versions of BCS Applications: a thin loop
// around internal/bcs/versions (what to record), on informers of
// Applications and ApplicationVersions.
package appversion

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsversions "github.com/podyard/podyard/internal/bcs/versions"
	"github.com/podyard/podyard/internal/controller/workers"
	"github.com/podyard/podyard/internal/typedclient"
)

// byApplication indexes ApplicationVersions by "namespace/application".
const byApplication = "bcs.podyard.io/application"

// Applications and Versions are the typed clients the controller uses.
type (
	Applications = typedclient.Clients[*v1alpha1.Application, *v1alpha1.ApplicationList]
	Versions     = typedclient.Clients[*v1alpha1.ApplicationVersion, *v1alpha1.ApplicationVersionList]
)

// Controller records a version of each Application whenever its
// definition is not its newest version's (Decide). Queue keys are
// Applications' "namespace/name".
type Controller struct {
	versions    *Versions
	apps        cache.SharedIndexInformer
	versionInfo cache.SharedIndexInformer
	queue       workqueue.TypedRateLimitingInterface[string]
	log         *slog.Logger
	now         func() time.Time

	// created are the versions this controller made that its informer may
	// not have brought yet, by application key: without them a sync
	// between the create and the informer's event would record the same
	// definition again.
	mu      sync.Mutex
	created map[string]*v1alpha1.ApplicationVersion
}

// New builds the controller on informers of its own over apps and
// versions (every namespace).
func New(apps *Applications, versions *Versions, log *slog.Logger) *Controller {
	c := &Controller{
		versions: versions, log: log, now: time.Now,
		created: map[string]*v1alpha1.ApplicationVersion{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "appversion"}),
	}
	c.apps = typedclient.NewInformer(apps.Namespace(metav1.NamespaceAll), &v1alpha1.Application{}, 10*time.Minute, cache.Indexers{})
	c.apps.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue,
		UpdateFunc: func(old, obj any) {
			// Status writes do not change the definition.
			if o, n := old.(*v1alpha1.Application), obj.(*v1alpha1.Application); o.Generation != n.Generation || o.ResourceVersion == n.ResourceVersion {
				c.enqueue(obj)
			}
		},
		DeleteFunc: c.enqueue,
	})
	c.versionInfo = typedclient.NewInformer(versions.Namespace(metav1.NamespaceAll), &v1alpha1.ApplicationVersion{}, 10*time.Minute,
		cache.Indexers{byApplication: func(obj any) ([]string, error) {
			if v, ok := obj.(*v1alpha1.ApplicationVersion); ok {
				return []string{v.Namespace + "/" + v.Application}, nil
			}
			return nil, nil
		}})
	c.versionInfo.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueVersion,
		UpdateFunc: func(_, obj any) { c.enqueueVersion(obj) },
		DeleteFunc: c.enqueueVersion,
	})
	return c
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// enqueueVersion queues the application of a version (a deleted version
// may have been its newest).
func (c *Controller) enqueueVersion(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if v, ok := obj.(*v1alpha1.ApplicationVersion); ok {
		c.queue.Add(v.Namespace + "/" + v.Application)
	}
}

// Run works with workers until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.apps.RunWithContext(ctx)
	go c.versionInfo.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.apps.HasSynced, c.versionInfo.HasSynced) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) { c.log.Warn("application version", "application", key, "err", err) })
}

// sync records the version Decide asks for, if any. The workqueue never
// hands one key to two workers at once.
func (c *Controller) sync(ctx context.Context, key string) error {
	obj, exists, err := c.apps.GetIndexer().GetByKey(key)
	if err != nil {
		return fmt.Errorf("application %s: %w", key, err)
	}
	if !exists {
		c.forget(key)
		return nil // its versions go with it (garbage collector)
	}
	app := obj.(*v1alpha1.Application)
	objs, err := c.versionInfo.GetIndexer().ByIndex(byApplication, key)
	if err != nil {
		return fmt.Errorf("application %s: versions: %w", key, err)
	}
	versions := make([]*v1alpha1.ApplicationVersion, 0, len(objs)+1)
	for _, o := range objs {
		versions = append(versions, o.(*v1alpha1.ApplicationVersion))
	}
	versions = c.withCreated(key, versions)
	v := bcsversions.Decide(app, versions, c.now())
	if v == nil {
		return nil
	}
	made, err := c.versions.Namespace(v.Namespace).Create(ctx, v, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil // recorded already; the informer brings it
	case err != nil:
		return fmt.Errorf("application %s: recording version %s: %w", key, v.ID, err)
	}
	c.mu.Lock()
	c.created[key] = made
	c.mu.Unlock()
	c.log.Info("application version recorded", "application", key, "version", made.ID,
		"generation", app.Generation, "instances", app.Spec.Instance)
	return nil
}

// withCreated is versions with the one last made for key while the
// informer has not brought it (forgotten once it has).
func (c *Controller) withCreated(key string, versions []*v1alpha1.ApplicationVersion) []*v1alpha1.ApplicationVersion {
	c.mu.Lock()
	defer c.mu.Unlock()
	made := c.created[key]
	if made == nil {
		return versions
	}
	for _, v := range versions {
		if v.UID == made.UID {
			delete(c.created, key)
			return versions
		}
	}
	return append(versions, made)
}

func (c *Controller) forget(key string) {
	c.mu.Lock()
	delete(c.created, key)
	c.mu.Unlock()
}
