// Package application is the controller of BCS Applications
// (bcs.podyard.io): one Pod per taskgroup, as many as spec.instance, and
// the BCS status of the application written back. Every decision is a
// pure function of internal/bcs/application; this is the loop around them.
package application

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	"github.com/podyard/podyard/internal/controller/workers"
)

// parallelism bounds the taskgroup Pods one sync creates or deletes at once.
const parallelism = 16

// Options of the controller.
type Options struct {
	// Cluster is the numeric tail of the BCS cluster id, in taskgroup IDs.
	Cluster string
	// ConfigMapName and SecretName map a BCS configmap or secret name to
	// its core/v1 name; nil keeps the name.
	ConfigMapName, SecretName func(bcsName string) string
}

// Controller keeps each Application's taskgroup Pods and status.
type Controller struct {
	client   kubernetes.Interface
	apps     *Clients
	informer cache.SharedIndexInformer // Applications
	pods     corelisters.PodLister
	podsSync cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	opts     Options
	log      *slog.Logger
	now      func() time.Time
}

// New builds the controller over factory's pod informer.
func New(client kubernetes.Interface, apps *Clients, factory informers.SharedInformerFactory, opts Options, log *slog.Logger) *Controller {
	c := &Controller{
		client: client, apps: apps, opts: opts, log: log, now: time.Now,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "application"}),
	}
	c.informer = NewInformer(apps, 10*time.Minute)
	c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	})
	pods := factory.Core().V1().Pods()
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePod,
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: c.enqueuePod,
	})
	c.pods, c.podsSync = pods.Lister(), pods.Informer().HasSynced
	return c
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// enqueuePod queues the Application that controls a Pod.
func (c *Controller) enqueuePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "Application" && ref.APIVersion == v1alpha1.SchemeGroupVersion.String() {
		c.queue.Add(p.Namespace + "/" + ref.Name)
	}
}

// Run works with workers until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced, c.podsSync) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) { c.log.Warn("application", "application", key, "err", err) })
}

// sync brings one Application's taskgroups to spec.instance and writes
// its status. The workqueue never hands one key to two workers at once.
func (c *Controller) sync(ctx context.Context, key string) error {
	obj, exists, err := c.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return fmt.Errorf("application %s: %w", key, err)
	}
	if !exists {
		return nil // its Pods are the garbage collector's
	}
	app := obj.(*v1alpha1.Application)
	if app.DeletionTimestamp != nil {
		return nil
	}
	pods, err := c.pods.Pods(app.Namespace).List(labels.SelectorFromSet(labels.Set{bcsapp.LabelApplication: app.Name}))
	if err != nil {
		return fmt.Errorf("application %s: pods: %w", key, err)
	}
	now := c.now()
	work := c.decide(app, pods, now)
	if work.writes() {
		// The informer may not have seen Pods created or deleted by an
		// earlier sync (or by a controller before a restart): ask the API
		// server, whose answer includes every Pod whose create or delete
		// has returned, and decide again. Only a sync that would create or
		// replace pays for this read, so no index ever gets a second
		// taskgroup and no ended one is replaced twice.
		if pods, err = c.livePods(ctx, app); err != nil {
			return fmt.Errorf("application %s: %w", key, err)
		}
		work = c.decide(app, pods, now)
	}
	var errs []error
	created, err := c.create(ctx, app, work.plan.Create)
	errs = append(errs, err)
	replaced, gone, err := c.replace(ctx, app, work.replace)
	errs = append(errs, err)
	created = append(created, replaced...)
	errs = append(errs, c.delete(ctx, app, work.plan.Delete))
	if p := work.rebuild.Delete; p != nil {
		c.log.Info("taskgroup rebuilt for an update", "application", key, "pod", p.Name)
		errs = append(errs, c.delete(ctx, app, []*corev1.Pod{p}))
	}
	for _, p := range append(work.plan.Delete, work.rebuild.Delete) {
		if p != nil {
			gone[p.UID] = true
		}
	}
	// A taskgroup just deleted still exists, being killed, until its
	// node confirms: counted so (a deployment's rolling update waits for
	// the old ones to be gone before it adds more).
	var current []*corev1.Pod
	for _, p := range pods {
		if gone[p.UID] && p.DeletionTimestamp == nil {
			p = p.DeepCopy()
			deleted := metav1.NewTime(now)
			p.DeletionTimestamp = &deleted
		}
		current = append(current, p)
	}
	errs = append(errs, c.writeStatus(ctx, app, append(current, created...)))
	if work.after > 0 {
		c.queue.AddAfter(key, work.after)
	}
	return errors.Join(errs...)
}

// work is what one sync does.
type work struct {
	plan    bcsapp.Plan
	replace []replacement
	rebuild bcsapp.Rebuild
	after   time.Duration // look again then (0: no need)
}

// replacement is a new taskgroup at old's index; old is deleted once the
// new one exists, so its history is never lost.
type replacement struct {
	old, new *corev1.Pod
	why      string
}

func (w work) writes() bool { return len(w.plan.Create) > 0 || len(w.replace) > 0 }

// decide is what app's Pods need at now: the plan, the replacements the
// rescheduler, the host retain time and the restart policy ask for, and
// the update's next rebuild.
func (c *Controller) decide(app *v1alpha1.Application, pods []*corev1.Pod, now time.Time) work {
	w := work{plan: bcsapp.PlanTaskGroups(app, pods)}
	going := map[*corev1.Pod]bool{}
	for _, p := range w.plan.Delete {
		going[p] = true
	}
	later := func(d time.Duration) {
		if d > 0 && (w.after == 0 || d < w.after) {
			w.after = d
		}
	}
	for _, p := range pods {
		i, ok := bcsapp.InstanceIndex(p)
		if !ok || going[p] || i >= int(app.Spec.Instance) || !controlled(p, app) {
			continue
		}
		if r, ok := bcsapp.RescheduleRequest(p); ok && p.DeletionTimestamp == nil {
			times, _ := bcsapp.History(p)
			until := time.Unix(r.At, 0).Add(time.Duration(r.HostRetainTime) * time.Second)
			w.replace = append(w.replace, replacement{p, bcsapp.Replacement(app, p, c.podOptions(now), times+1, now, until), "rescheduler"})
			later(until.Sub(now))
			continue
		}
		if bcsapp.RetainOver(p, now) {
			w.replace = append(w.replace, replacement{p, bcsapp.Remade(app, p, c.podOptions(now)), "host retain time over"})
			continue
		}
		later(bcsapp.RetainLeft(p, now))
		switch d := bcsapp.RestartDecision(app, p, now); {
		case d.Replace:
			until := now.Add(time.Duration(app.Spec.RestartPolicy.HostRetainTime) * time.Second)
			w.replace = append(w.replace, replacement{p, bcsapp.Replacement(app, p, c.podOptions(now), d.Times, now, until), "restart policy"})
			later(until.Sub(now))
		default:
			later(d.After)
		}
	}
	w.rebuild = bcsapp.NextRebuild(app, pods, now)
	later(w.rebuild.After)
	return w
}

func (c *Controller) podOptions(now time.Time) bcsapp.PodOptions {
	return bcsapp.PodOptions{Cluster: c.opts.Cluster, UnixNano: now.UnixNano(), ConfigMapName: c.opts.ConfigMapName, SecretName: c.opts.SecretName}
}

func controlled(p *corev1.Pod, app *v1alpha1.Application) bool {
	ref := metav1.GetControllerOf(p)
	return ref != nil && ref.UID == app.UID
}

// replace creates each replacement and then deletes the taskgroup it
// replaces (at once when its node is lost, else with the kill policy's
// grace). It returns the Pods made and the UIDs of those deleted.
func (c *Controller) replace(ctx context.Context, app *v1alpha1.Application, rs []replacement) ([]*corev1.Pod, map[types.UID]bool, error) {
	var mu sync.Mutex
	var made []*corev1.Pod
	gone := map[types.UID]bool{}
	err := parallel(len(rs), func(k int) error {
		r := rs[k]
		got, err := c.client.CoreV1().Pods(app.Namespace).Create(ctx, r.new, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("replace taskgroup pod %s (%s): %w", r.old.Name, r.why, err)
		}
		mu.Lock()
		made = append(made, got)
		mu.Unlock()
		c.log.Info("taskgroup replaced", "application", app.Namespace+"/"+app.Name, "old", r.old.Name, "new", got.Name, "why", r.why)
		grace := c.grace(app)
		if bcsapp.Lost(r.old) {
			grace = ptr.To[int64](0)
		}
		if err := c.deletePod(ctx, r.old, grace); err != nil {
			return err
		}
		mu.Lock()
		gone[r.old.UID] = true
		mu.Unlock()
		return nil
	})
	return made, gone, err
}

// livePods lists app's Pods from the API server, not the informer.
func (c *Controller) livePods(ctx context.Context, app *v1alpha1.Application) ([]*corev1.Pod, error) {
	list, err := c.client.CoreV1().Pods(app.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{bcsapp.LabelApplication: app.Name}).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	pods := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		pods[i] = &list.Items[i]
	}
	return pods, nil
}

// create makes the taskgroup Pods of indexes, a bounded number at a time.
func (c *Controller) create(ctx context.Context, app *v1alpha1.Application, indexes []int) ([]*corev1.Pod, error) {
	var mu sync.Mutex
	var created []*corev1.Pod
	err := parallel(len(indexes), func(k int) error {
		pod := bcsapp.Pod(app, bcsapp.PodOptions{
			Index: indexes[k], Cluster: c.opts.Cluster, UnixNano: c.now().UnixNano(),
			ConfigMapName: c.opts.ConfigMapName, SecretName: c.opts.SecretName,
		})
		got, err := c.client.CoreV1().Pods(app.Namespace).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create taskgroup %d: %w", indexes[k], err)
		}
		mu.Lock()
		created = append(created, got)
		mu.Unlock()
		return nil
	})
	if len(created) > 0 {
		c.log.Debug("taskgroups created", "application", app.Namespace+"/"+app.Name, "count", len(created))
	}
	return created, err
}

// delete deletes pods, each with the application's kill grace period
// (killPolicy.gracePeriod) when it sets one, a bounded number at a time.
func (c *Controller) delete(ctx context.Context, app *v1alpha1.Application, pods []*corev1.Pod) error {
	return parallel(len(pods), func(k int) error { return c.deletePod(ctx, pods[k], c.grace(app)) })
}

func (c *Controller) grace(app *v1alpha1.Application) *int64 {
	if g := app.Spec.KillPolicy.GracePeriod; g > 0 {
		return ptr.To(g)
	}
	return nil
}

func (c *Controller) deletePod(ctx context.Context, p *corev1.Pod, grace *int64) error {
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}, GracePeriodSeconds: grace}
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete taskgroup pod %s: %w", p.Name, err)
	}
	return nil
}

// parallel runs f(0..n-1), at most `parallelism` at a time, and joins
// their errors.
func parallel(n int, f func(int) error) error {
	var (
		mu    sync.Mutex
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, parallelism)
	)
	for k := range n {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := f(k); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeStatus writes app's BCS status through the status subresource when
// it changed.
func (c *Controller) writeStatus(ctx context.Context, app *v1alpha1.Application, pods []*corev1.Pod) error {
	var own []*corev1.Pod
	for _, p := range pods {
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == app.UID {
			own = append(own, p)
		}
	}
	status := bcsapp.ApplicationStatus(app, own, c.now())
	if equality.Semantic.DeepEqual(status, app.Status) {
		return nil
	}
	next := app.DeepCopy()
	next.Status = status
	if _, err := c.apps.Namespace(app.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			// Gone, or a newer Application is on its way to the informer,
			// which queues it again.
			return nil
		}
		return fmt.Errorf("application %s/%s: status: %w", app.Namespace, app.Name, err)
	}
	return nil
}
