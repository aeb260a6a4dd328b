// Package namespace runs the namespace lifecycle: the system namespaces
// exist, and a namespace marked for deletion is emptied of everything in it,
// finalized, then removed.
package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Controller reconciles namespaces.
type Controller struct {
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
	lister    corelisters.NamespaceLister
	synced    cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	system    []string
	log       *slog.Logger
}

// New builds the controller; system names the namespaces that must always exist.
func New(client kubernetes.Interface, dyn dynamic.Interface, factory informers.SharedInformerFactory, system []string, log *slog.Logger) *Controller {
	informer := factory.Core().V1().Namespaces()
	c := &Controller{
		client:    client,
		dynamic:   dyn,
		discovery: client.Discovery(),
		lister:    informer.Lister(),
		synced:    informer.Informer().HasSynced,
		queue:     workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](), workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
		system:    system,
		log:       log.With("controller", "namespace"),
	}
	_, _ = informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	return c
}

func (c *Controller) enqueue(obj interface{}) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer utilruntime.HandleCrash()
	defer c.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, c.work, time.Second)
	}
	wait.UntilWithContext(ctx, c.ensureSystemNamespaces, time.Minute)
}

// ensureSystemNamespaces creates the system namespaces that do not exist
// (again: the API server created them before it said ready).
func (c *Controller) ensureSystemNamespaces(ctx context.Context) {
	var missing []string
	for _, name := range c.system {
		if _, err := c.lister.Get(name); err != nil {
			missing = append(missing, name)
		}
	}
	if err := Ensure(ctx, c.client, missing); err != nil {
		c.log.Error("creating system namespaces", "err", err)
	}
}

// Ensure creates those of the named namespaces that do not exist; one that
// already does is fine. It tries every name and returns what failed.
func Ensure(ctx context.Context, client kubernetes.Interface, names []string) error {
	var errs []error
	for _, name := range names {
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("create namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Controller) work(ctx context.Context) {
	for c.next(ctx) {
	}
}

func (c *Controller) next(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	requeue, err := c.sync(ctx, name)
	switch {
	case err != nil:
		c.log.Error("syncing namespace", "namespace", name, "err", err)
		c.queue.AddRateLimited(name)
	case requeue > 0:
		c.queue.AddAfter(name, requeue)
	default:
		c.queue.Forget(name)
	}
	return true
}

// sync drives a terminating namespace one step: delete its content; once
// nothing is left, drop the "kubernetes" finalizer and delete it for good.
// It answers how long to wait when content is still going away.
func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if ns.DeletionTimestamp == nil || !hasFinalizer(ns) {
		return 0, nil
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return 0, err
	}
	if remaining > 0 {
		c.log.Debug("namespace content still terminating", "namespace", name, "remaining", remaining)
		return time.Second, nil
	}
	finalized := ns.DeepCopy()
	finalized.Spec.Finalizers = withoutKubernetesFinalizer(finalized.Spec.Finalizers)
	if _, err := c.client.CoreV1().Namespaces().Finalize(ctx, finalized, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("finalize: %w", err)
	}
	err = c.client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return 0, fmt.Errorf("delete: %w", err)
	}
	c.log.Info("namespace deleted", "namespace", name)
	return 0, nil
}

// deleteContent deletes every namespaced object in the namespace and counts
// what is still there (pods being stopped gracefully, objects with finalizers).
func (c *Controller) deleteContent(ctx context.Context, namespace string) (int, error) {
	lists, err := discovery.ServerPreferredNamespacedResources(c.discovery)
	if err != nil && len(lists) == 0 {
		return 0, fmt.Errorf("discovery: %w", err)
	}
	remaining := 0
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if !hasVerbs(r.Verbs, "list", "deletecollection") {
				continue
			}
			client := c.dynamic.Resource(gv.WithResource(r.Name)).Namespace(namespace)
			err := client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
				return 0, fmt.Errorf("delete %s: %w", r.Name, err)
			}
			left, err := client.List(ctx, metav1.ListOptions{Limit: 1})
			if err != nil {
				return 0, fmt.Errorf("list %s: %w", r.Name, err)
			}
			remaining += len(left.Items)
		}
	}
	return remaining, nil
}

func hasVerbs(have []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func hasFinalizer(ns *corev1.Namespace) bool {
	return slices.Contains(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

func withoutKubernetesFinalizer(in []corev1.FinalizerName) []corev1.FinalizerName {
	var out []corev1.FinalizerName
	for _, f := range in {
		if f != corev1.FinalizerKubernetes {
			out = append(out, f)
		}
	}
	return out
}
