// Package deployment runs BCS Deployments: a thin loop around
// internal/bcs/deployment (what a spec change asks for, the rolling-update
// planner Next) on informers of Deployments and of the Applications they
// own. Everything it needs to carry on is in the Deployment's status
// (which applications, the definition acted on and the one before the
// update, the step under way), so a restarted server resumes an update
// where it was.
package deployment

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
	bcsdeployment "github.com/podyard/podyard/internal/bcs/deployment"
	"github.com/podyard/podyard/internal/bcs/names"
	"github.com/podyard/podyard/internal/controller/workers"
	"github.com/podyard/podyard/internal/typedclient"
)

// byOwner indexes Applications by "namespace/deployment" of the Deployment
// that controls them.
const byOwner = "bcs.podyard.io/deployment"

// annotationName on an Application or Deployment is its BCS name when that
// is not its Kubernetes name (as the dialect sets it).
const annotationName = "bcs.podyard.io/name"

// Typed clients the controller uses.
type (
	Deployments  = typedclient.Clients[*v1alpha1.Deployment, *v1alpha1.DeploymentList]
	Applications = typedclient.Clients[*v1alpha1.Application, *v1alpha1.ApplicationList]
)

// Controller runs Deployments. Queue keys are Deployments'
// "namespace/name".
type Controller struct {
	deployments *Deployments
	apps        *Applications
	depInfo     cache.SharedIndexInformer
	appInfo     cache.SharedIndexInformer
	pods        corelisters.PodLister
	podsSync    cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]
	log         *slog.Logger
	now         func() time.Time
	written     written
	// StepTimeout bounds a rolling step (0: bcsdeployment.DefaultStepTimeout).
	StepTimeout time.Duration
}

// New builds the controller on informers of its own and factory's Pod
// informer (which the application controller shares): a rolling step
// counts the taskgroups themselves rather than wait for the application
// controller to write them into its status (a hop less per half-step).
func New(deployments *Deployments, apps *Applications, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	c := &Controller{
		deployments: deployments, apps: apps, log: log, now: time.Now, written: written{rv: map[types.UID]uint64{}},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "bcsdeployment"}),
	}
	c.depInfo = typedclient.NewInformer(deployments.Namespace(metav1.NamespaceAll), &v1alpha1.Deployment{}, 10*time.Minute,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	c.depInfo.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
		DeleteFunc: func(obj any) { c.written.forget(obj); c.enqueue(obj) },
	})
	c.appInfo = typedclient.NewInformer(apps.Namespace(metav1.NamespaceAll), &v1alpha1.Application{}, 10*time.Minute,
		cache.Indexers{
			byOwner: func(obj any) ([]string, error) {
				app, ok := obj.(*v1alpha1.Application)
				if !ok {
					return nil, nil
				}
				if ref := ownerDeployment(app); ref != nil {
					return []string{app.Namespace + "/" + ref.Name}, nil
				}
				return nil, nil
			},
			cache.NamespaceIndex: cache.MetaNamespaceIndexFunc,
		})
	c.appInfo.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueueOwner,
		UpdateFunc: func(_, obj any) { c.enqueueOwner(obj) },
		DeleteFunc: func(obj any) { c.written.forget(obj); c.enqueueOwner(obj) },
	})
	pods := factory.Core().V1().Pods()
	c.pods, c.podsSync = pods.Lister(), pods.Informer().HasSynced
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueuePod,
		UpdateFunc: func(_, obj any) { c.enqueuePod(obj) },
		DeleteFunc: c.enqueuePod,
	})
	return c
}

// enqueuePod queues the Deployment that owns the application of a
// taskgroup Pod.
func (c *Controller) enqueuePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Labels[bcsapp.LabelApplication] == "" {
		return
	}
	o, exists, err := c.appInfo.GetIndexer().GetByKey(pod.Namespace + "/" + pod.Labels[bcsapp.LabelApplication])
	if err != nil || !exists {
		return
	}
	if ref := ownerDeployment(o.(*v1alpha1.Application)); ref != nil {
		c.queue.Add(pod.Namespace + "/" + ref.Name)
	}
}

func ownerDeployment(app *v1alpha1.Application) *metav1.OwnerReference {
	ref := metav1.GetControllerOf(app)
	if ref == nil || ref.Kind != "Deployment" || ref.APIVersion != v1alpha1.SchemeGroupVersion.String() {
		return nil
	}
	return ref
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// enqueueOwner queues the Deployment that owns an Application; an
// Application of no deployment may be one a deployment's selector adopts,
// so the deployments of its namespace still waiting for one are queued.
func (c *Controller) enqueueOwner(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	app, ok := obj.(*v1alpha1.Application)
	if !ok {
		return
	}
	if ref := ownerDeployment(app); ref != nil {
		c.queue.Add(app.Namespace + "/" + ref.Name)
		return
	}
	objs, _ := c.depInfo.GetIndexer().ByIndex(cache.NamespaceIndex, app.Namespace)
	for _, o := range objs {
		if d := o.(*v1alpha1.Deployment); d.Status.Application == nil {
			c.enqueue(d)
		}
	}
}

// Run works with n workers until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.depInfo.RunWithContext(ctx)
	go c.appInfo.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.depInfo.HasSynced, c.appInfo.HasSynced, c.podsSync) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) { c.log.Warn("BCS deployment", "deployment", key, "err", err) })
}

// sync moves one Deployment on. The workqueue never hands one key to two
// workers at once.
func (c *Controller) sync(ctx context.Context, key string) error {
	obj, exists, err := c.depInfo.GetIndexer().GetByKey(key)
	if err != nil || !exists {
		return err // a deleted deployment's applications go with it (garbage collector)
	}
	d := obj.(*v1alpha1.Deployment).DeepCopy()
	if c.written.stale(d) {
		return nil // the informer brings what this controller wrote, and the deployment again
	}
	owned, err := c.owned(key)
	if err != nil {
		return err
	}
	switch {
	case d.DeletionTimestamp != nil:
		st := d.Status
		st.Status, st.Message = bcsdeployment.StatusDeleting, "waiting applications to be deleted"
		return c.writeStatus(ctx, d, st)
	case d.Status.Application == nil || d.Status.Definition == nil:
		return c.create(ctx, d, owned)
	case bcsdeployment.Updating(d.Status.Status) && bcsdeployment.CancelRequested(d):
		return c.cancel(ctx, d, owned)
	case bcsdeployment.Updating(d.Status.Status):
		return c.roll(ctx, key, d, owned)
	}
	return c.reconcile(ctx, d, owned)
}

// owned are the Applications the deployment controls, by BCS name.
func (c *Controller) owned(key string) (map[string]*v1alpha1.Application, error) {
	objs, err := c.appInfo.GetIndexer().ByIndex(byOwner, key)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: applications: %w", key, err)
	}
	out := make(map[string]*v1alpha1.Application, len(objs))
	for _, o := range objs {
		app := o.(*v1alpha1.Application)
		if app.DeletionTimestamp == nil {
			out[app.Spec.Metadata.Name] = app
		}
	}
	return out, nil
}

// create gives a new deployment its application: one it made before a
// restart, else the one application its selector matches (adopted as it
// is: its definition becomes the one acted on, so a template that differs
// rolls the application to it), else a new one named after the
// deployment.
func (c *Controller) create(ctx context.Context, d *v1alpha1.Deployment, owned map[string]*v1alpha1.Application) error {
	var app *v1alpha1.Application
	for _, a := range owned {
		app = a
	}
	acted := d.Spec
	st := d.Status
	if app == nil {
		matches, err := c.matching(d)
		if err != nil {
			return err
		}
		switch {
		case len(matches) > 1:
			st.Message = "too many application exist matching deployment"
			return c.writeStatus(ctx, d, st)
		case len(matches) == 1:
			if app, err = c.adopt(ctx, d, matches[0]); err != nil {
				return err
			}
			// What the application runs is what was acted on: a spec that
			// differs scales it or rolls it to the deployment's template.
			acted.Instance = app.Spec.Instance
			if acted.Template != nil {
				acted.Template = app.Spec.Template.DeepCopy()
			}
		case d.Spec.Template == nil:
			st.Message = "no application matches the deployment's selector and it has no template to make one"
			return c.writeStatus(ctx, d, st)
		default:
			name := d.Spec.Metadata.Name
			if taken, err := c.nameTaken(d.Namespace, name); err != nil {
				return err
			} else if taken {
				name = bcsdeployment.NewApplicationName(name, c.now().Unix())
			}
			if app, err = c.createApp(ctx, d, d.Spec, name, d.Spec.Instance); err != nil {
				return err
			}
		}
	}
	st.Application = appRef(app)
	st.Definition = &acted
	st.Status, st.Message = bcsdeployment.StatusRunning, "deployment is running"
	st.ObservedGeneration = d.Generation
	c.log.Info("BCS deployment has its application", "deployment", d.Namespace+"/"+d.Name, "application", app.Name)
	return c.writeStatus(ctx, d, st)
}

// matching are the Applications of the deployment's namespace no
// deployment controls that its selector picks.
func (c *Controller) matching(d *v1alpha1.Deployment) ([]*v1alpha1.Application, error) {
	objs, err := c.appInfo.GetIndexer().ByIndex(cache.NamespaceIndex, d.Namespace)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: applications: %w", d.Namespace, d.Name, err)
	}
	var out []*v1alpha1.Application
	for _, o := range objs {
		app := o.(*v1alpha1.Application)
		if app.DeletionTimestamp == nil && metav1.GetControllerOf(app) == nil && bcsdeployment.Matches(d.Spec.Selector, app) {
			out = append(out, app)
		}
	}
	return out, nil
}

func (c *Controller) nameTaken(namespace, bcsName string) (bool, error) {
	name, err := names.Kube(bcsName)
	if err != nil {
		return false, fmt.Errorf("application name %q: %w", bcsName, err)
	}
	_, exists, err := c.appInfo.GetIndexer().GetByKey(namespace + "/" + name)
	return exists, err
}

// adopt makes d the controller of app.
func (c *Controller) adopt(ctx context.Context, d *v1alpha1.Deployment, app *v1alpha1.Application) (*v1alpha1.Application, error) {
	app = app.DeepCopy()
	app.OwnerReferences = append(app.OwnerReferences, *controllerRef(d))
	out, err := c.apps.Namespace(app.Namespace).Update(ctx, app, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: adopting application %s: %w", d.Namespace, d.Name, app.Name, err)
	}
	c.log.Info("BCS deployment adopted an application", "deployment", d.Namespace+"/"+d.Name, "application", app.Name)
	return out, nil
}

func controllerRef(d *v1alpha1.Deployment) *metav1.OwnerReference {
	return metav1.NewControllerRef(d, v1alpha1.SchemeGroupVersion.WithKind("Deployment"))
}

// createApp makes the application bcsName of definition def with instance
// taskgroups, controlled by d. One that exists already (made before a
// restart) is taken as it is.
func (c *Controller) createApp(ctx context.Context, d *v1alpha1.Deployment, def v1alpha1.DeploymentSpec, bcsName string, instance int32) (*v1alpha1.Application, error) {
	name, err := names.Kube(bcsName)
	if err != nil {
		return nil, fmt.Errorf("application name %q: %w", bcsName, err)
	}
	app := &v1alpha1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, OwnerReferences: []metav1.OwnerReference{*controllerRef(d)}},
		Spec:       bcsdeployment.FromSpec(def).Application(bcsName, instance),
	}
	if name != bcsName {
		app.Annotations = map[string]string{annotationName: bcsName}
	}
	out, err := c.apps.Namespace(d.Namespace).Create(ctx, app, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return c.apps.Namespace(d.Namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: creating application %s: %w", d.Namespace, d.Name, name, err)
	}
	c.log.Info("BCS deployment created an application", "deployment", d.Namespace+"/"+d.Name, "application", name, "instance", instance)
	return out, nil
}

func appRef(app *v1alpha1.Application) *v1alpha1.DeploymentApplication {
	if app == nil {
		return nil
	}
	return &v1alpha1.DeploymentApplication{
		Name: app.Spec.Metadata.Name, CurrentTargetInstances: app.Spec.Instance, CurrentRollingInstances: app.Status.Instances,
	}
}

// reconcile acts on a Running deployment's spec: a scale, a resize the
// dialect made, or the start of a rolling update. Applications it owns
// beyond its own (what a finished or cancelled update left when the server
// stopped in between) are deleted.
func (c *Controller) reconcile(ctx context.Context, d *v1alpha1.Deployment, owned map[string]*v1alpha1.Application) error {
	st := d.Status
	for name, app := range owned {
		if name != st.Application.Name {
			if err := c.deleteApp(ctx, app); err != nil {
				return err
			}
		}
	}
	app := owned[st.Application.Name]
	if app == nil { // deleted behind its back: made again from the definition
		var err error
		if app, err = c.createApp(ctx, d, *st.Definition, st.Application.Name, st.Definition.Instance); err != nil {
			return err
		}
	}
	st.Application, st.ApplicationExt, st.DefinitionBackup = appRef(app), nil, nil
	switch bcsdeployment.Classify(*st.Definition, d.Spec) {
	case bcsdeployment.ChangeScale:
		if err := c.setInstance(ctx, app, d.Spec.Instance); err != nil {
			return err
		}
		st.Application.CurrentTargetInstances = d.Spec.Instance
	case bcsdeployment.ChangeRolling:
		if bcsdeployment.SelectorChanged(*st.Definition, d.Spec) {
			st.Message = "the selector of a deployment cannot change: the update is not made"
			return c.writeStatus(ctx, d, st)
		}
		return c.startUpdate(ctx, d, st)
	}
	spec := d.Spec
	st.Definition = &spec
	st.ObservedGeneration = d.Generation
	if st.Status != bcsdeployment.StatusRunning {
		st.Status, st.Message = bcsdeployment.StatusRunning, "deployment is running"
	}
	return c.writeStatus(ctx, d, st)
}

// startUpdate begins a rolling update to d's spec: the status first (the
// new application's name, the definition to restore on cancel), so a
// restart in between makes the same application.
func (c *Controller) startUpdate(ctx context.Context, d *v1alpha1.Deployment, st v1alpha1.DeploymentStatus) error {
	// {name}-v{unix seconds}, a second later while that name is taken (an
	// update that starts within the second the last one started would
	// otherwise name the application it replaces).
	ext := ""
	for t := c.now().Unix(); ext == ""; t++ {
		name := bcsdeployment.NewApplicationName(d.Spec.Metadata.Name, t)
		taken, err := c.nameTaken(d.Namespace, name)
		if err != nil {
			return err
		}
		if !taken && name != st.Application.Name {
			ext = name
		}
	}
	spec := d.Spec
	st.DefinitionBackup, st.Definition = st.Definition, &spec
	st.ApplicationExt = &v1alpha1.DeploymentApplication{Name: ext}
	st.Status, st.Message = bcsdeployment.StatusUpdate, "rolling update started"
	st.Progress = v1alpha1.DeploymentProgress{}
	st.ObservedGeneration = d.Generation
	c.log.Info("BCS deployment update started", "deployment", d.Namespace+"/"+d.Name, "new", st.ApplicationExt.Name)
	return c.writeStatus(ctx, d, st)
}

// roll moves a rolling update on by what Next plans.
func (c *Controller) roll(ctx context.Context, key string, d *v1alpha1.Deployment, owned map[string]*v1alpha1.Application) error {
	st := d.Status
	def := st.Definition
	oldApp, newApp := owned[st.Application.Name], owned[st.ApplicationExt.Name]
	if newApp == nil {
		_, err := c.createApp(ctx, d, *def, st.ApplicationExt.Name, 0)
		return err // its informer event brings the deployment back
	}
	if oldApp != nil && c.written.stale(oldApp) || c.written.stale(newApp) {
		return nil // planned from the targets last set, once the informer has them
	}
	oldState, err := c.stateOf(oldApp)
	if err != nil {
		return err
	}
	newState, err := c.stateOf(newApp)
	if err != nil {
		return err
	}
	strategy := bcsdeployment.RollingUpdate{MaxSurge: 1, MaxUnavailable: 1, UpgradeDuration: bcsdeployment.DefaultUpgradeDuration, RollingOrder: bcsdeployment.CreateFirst}
	if ru := def.Strategy.RollingUpdate; ru != nil {
		strategy = *ru
	}
	now := c.now()
	a := bcsdeployment.Next(bcsdeployment.Rolling{
		Strategy: strategy, Instance: def.Instance, Old: oldState, New: newState,
		Status: st.Status, Progress: bcsdeployment.ProgressOf(st.Progress), Now: now, StepTimeout: c.StepTimeout,
	})
	st.Progress = a.Progress.Status()
	switch a.Kind {
	case bcsdeployment.SetTargets:
		if err := c.setInstance(ctx, newApp, a.NewTarget); err != nil {
			return err
		}
		if err := c.setInstance(ctx, oldApp, a.OldTarget); err != nil {
			return err
		}
		st.Message = fmt.Sprintf("rolling step %d: %s to %d taskgroups, %s to %d", a.Progress.Steps,
			st.Application.Name, a.OldTarget, st.ApplicationExt.Name, a.NewTarget)
		c.log.Debug("BCS deployment rolling", "deployment", key, "step", a.Progress.Steps, "phase", a.Progress.Phase,
			"old", a.OldTarget, "new", a.NewTarget, "oldState", oldState, "newState", newState)
	case bcsdeployment.Wait:
		if !a.Until.IsZero() {
			c.queue.AddAfter(key, a.Until.Sub(now))
		}
		if st.Status == bcsdeployment.StatusUpdate {
			st.Message = a.Reason
		}
	case bcsdeployment.Pause:
		st.Status, st.Message = bcsdeployment.StatusUpdatePaused, a.Reason
	case bcsdeployment.Suspend:
		st.Status, st.Message = bcsdeployment.StatusUpdateSuspend, a.Reason
	case bcsdeployment.Done:
		// The status first: the old application is then a leftover that
		// reconcile deletes, should the server stop before it is.
		st.Application, st.ApplicationExt, st.DefinitionBackup = appRef(newApp), nil, nil
		st.Status, st.Message = bcsdeployment.StatusRunning, "rolling update finished"
		if err := c.writeStatus(ctx, d, st); err != nil {
			return err
		}
		c.log.Info("BCS deployment update finished", "deployment", key, "application", newApp.Name)
		if oldApp != nil {
			return c.deleteApp(ctx, oldApp)
		}
		return nil
	}
	if oldApp != nil {
		st.Application = appRef(oldApp)
		st.Application.CurrentTargetInstances = a.OldTarget
	}
	st.ApplicationExt = appRef(newApp)
	st.ApplicationExt.CurrentTargetInstances = a.NewTarget
	return c.writeStatus(ctx, d, st)
}

// stateOf is what the rolling update needs of an application, counted
// from its taskgroup Pods.
func (c *Controller) stateOf(app *v1alpha1.Application) (bcsdeployment.AppState, error) {
	if app == nil {
		return bcsdeployment.AppState{}, nil
	}
	pods, err := c.pods.Pods(app.Namespace).List(labels.SelectorFromSet(labels.Set{bcsapp.LabelApplication: app.Name}))
	if err != nil {
		return bcsdeployment.AppState{}, fmt.Errorf("application %s/%s: taskgroups: %w", app.Namespace, app.Name, err)
	}
	return bcsdeployment.StateOf(app, pods), nil
}

// cancel ends an update as cancelupdate asks: the new application goes,
// the old one gets back its instance count (its definition never
// changed), and the definition from before the update is the one acted on.
func (c *Controller) cancel(ctx context.Context, d *v1alpha1.Deployment, owned map[string]*v1alpha1.Application) error {
	st := d.Status
	backup := st.DefinitionBackup
	if newApp := owned[st.ApplicationExt.Name]; newApp != nil {
		if err := c.deleteApp(ctx, newApp); err != nil {
			return err
		}
	}
	oldApp := owned[st.Application.Name]
	if oldApp != nil {
		if err := c.setInstance(ctx, oldApp, backup.Instance); err != nil {
			return err
		}
		st.Application = appRef(oldApp)
		st.Application.CurrentTargetInstances = backup.Instance
	}
	st.Definition, st.DefinitionBackup, st.ApplicationExt = backup, nil, nil
	st.Status, st.Message = bcsdeployment.StatusRunning, "rolling update cancelled"
	st.Progress = v1alpha1.DeploymentProgress{}
	st.ObservedGeneration = d.Generation
	c.log.Info("BCS deployment update cancelled", "deployment", d.Namespace+"/"+d.Name)
	return c.writeStatus(ctx, d, st)
}

// setInstance sets an application's spec.instance.
func (c *Controller) setInstance(ctx context.Context, app *v1alpha1.Application, n int32) error {
	if app == nil || app.Spec.Instance == n {
		return nil
	}
	app = app.DeepCopy()
	app.Spec.Instance = n
	out, err := c.apps.Namespace(app.Namespace).Update(ctx, app, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("scaling application %s/%s to %d: %w", app.Namespace, app.Name, n, err)
	}
	c.written.wrote(out)
	return nil
}

// deleteApp deletes an application (its taskgroups go with it).
func (c *Controller) deleteApp(ctx context.Context, app *v1alpha1.Application) error {
	background := metav1.DeletePropagationBackground
	err := c.apps.Namespace(app.Namespace).Delete(ctx, app.Name, metav1.DeleteOptions{
		PropagationPolicy: &background, Preconditions: &metav1.Preconditions{UID: &app.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("deleting application %s/%s: %w", app.Namespace, app.Name, err)
	}
	return nil
}

// writeStatus writes st unless it is d's already. The write is against
// the resourceVersion read, so a pause or resume written meanwhile is
// never overwritten: the conflict brings the deployment back.
func (c *Controller) writeStatus(ctx context.Context, d *v1alpha1.Deployment, st v1alpha1.DeploymentStatus) error {
	if apiequality.Semantic.DeepEqual(d.Status, st) {
		return nil
	}
	d = d.DeepCopy()
	d.Status = st
	out, err := c.deployments.Namespace(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("deployment %s/%s: status: %w", d.Namespace, d.Name, err)
	}
	c.written.wrote(out)
	return nil
}

// written are the resourceVersions of the objects this controller last
// wrote, until its informers bring them: a sync on an older copy would
// plan from targets or a step that are no longer so (say, end a step
// because the old copy's target is already met). Podyard's storage is
// etcd, whose resourceVersions are its revisions: a larger one is newer.
type written struct {
	mu sync.Mutex
	rv map[types.UID]uint64
}

func (w *written) wrote(obj metav1.Object) {
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rv[obj.GetUID()] = max(w.rv[obj.GetUID()], rv)
}

// stale tells whether obj is older than what this controller wrote of it.
func (w *written) stale(obj metav1.Object) bool {
	rv, err := strconv.ParseUint(obj.GetResourceVersion(), 10, 64)
	w.mu.Lock()
	defer w.mu.Unlock()
	want, ok := w.rv[obj.GetUID()]
	switch {
	case !ok:
		return false
	case err != nil || rv >= want:
		delete(w.rv, obj.GetUID())
		return false
	}
	return true
}

func (w *written) forget(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if o, ok := obj.(metav1.Object); ok {
		w.mu.Lock()
		delete(w.rv, o.GetUID())
		w.mu.Unlock()
	}
}
