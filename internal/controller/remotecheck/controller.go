package remotecheck

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/podyard/podyard/internal/agent/probeinfo"
	"github.com/podyard/podyard/internal/agent/prober"
	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	bcsapp "github.com/podyard/podyard/internal/bcs/application"
)

// Controller runs the remote checks of every running taskgroup Pod: one
// goroutine per check, started when the Pod runs and ended when it stops.
// Each Pod event decides for that Pod alone, so a thousand taskgroups
// changing cost a thousand small decisions, not a thousand passes over
// every Pod.
type Controller struct {
	client kubernetes.Interface
	pods   corelisters.PodLister
	synced cache.InformerSynced
	log    *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // Run's; nil until it starts
	running map[types.UID]*podChecks
}

// podChecks are the checks of one Pod being run, and what they found.
type podChecks struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	states map[string][]probeinfo.State // by container
}

// New builds the controller over factory's pod informer.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	c := &Controller{client: client, log: log, running: map[types.UID]*podChecks{}}
	pods := factory.Core().V1().Pods()
	observe := func(obj any) {
		if pod, ok := obj.(*corev1.Pod); ok {
			c.observe(pod)
		}
	}
	pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    observe,
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				c.stop(pod.UID)
			}
		},
	})
	c.pods, c.synced = pods.Lister(), pods.Informer().HasSynced
	return c
}

// Run starts and stops the Pods' checks as Pods change, until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.mu.Lock()
	c.ctx = ctx // from now on every event decides (before it: the list below)
	c.mu.Unlock()
	pods, err := c.pods.List(labelsWithApplication())
	if err != nil {
		c.log.Warn("remote checks: list pods", "err", err)
	}
	for _, pod := range pods {
		c.observe(pod)
	}
	<-ctx.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	for uid, pc := range c.running {
		pc.cancel()
		delete(c.running, uid)
	}
}

// checked says whether pod's remote checks should run now.
func checked(pod *corev1.Pod) bool {
	return pod.Annotations[bcsapp.AnnotationRemoteChecks] != "" && pod.DeletionTimestamp == nil &&
		pod.Status.Phase == corev1.PodRunning && pod.Status.PodIP != ""
}

// stop ends the checks of the Pod with uid, if they run.
func (c *Controller) stop(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.running[uid]; pc != nil {
		pc.cancel()
		delete(c.running, uid)
	}
}

// observe starts the checks of a Pod that runs and has some, and stops
// those of a Pod that stopped running.
func (c *Controller) observe(pod *corev1.Pod) {
	if !checked(pod) {
		c.stop(pod.UID)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil || c.ctx.Err() != nil || c.running[pod.UID] != nil {
		return
	}
	checks, err := bcsapp.PodRemoteChecks(pod)
	if err != nil {
		c.log.Warn("remote checks ignored", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		c.running[pod.UID] = &podChecks{cancel: func() {}} // not again for this Pod
		return
	}
	pctx, cancel := context.WithCancel(c.ctx)
	pc := &podChecks{cancel: cancel, states: map[string][]probeinfo.State{}}
	c.running[pod.UID] = pc
	for container, hcs := range checks {
		pc.states[container] = make([]probeinfo.State, len(hcs))
		for i := range hcs {
			pc.states[container][i] = probeinfo.NewState()
		}
		for i, hc := range hcs {
			go c.runCheck(pctx, pc, pod.Namespace, pod.Name, pod.UID, container, i, hc)
		}
	}
}

// runCheck runs check i of container until ctx ends or it kills the Pod.
func (c *Controller) runCheck(ctx context.Context, pc *podChecks, ns, name string, uid types.UID, container string, i int, hc v1alpha1.HealthCheck) {
	log := c.log.With("pod", ns+"/"+name, "container", container, "check", hc.Type)
	var next time.Time
	for {
		pod, err := c.pods.Pods(ns).Get(name)
		if err != nil || pod.UID != uid {
			return
		}
		started, ok := Started(pod, container)
		if !ok {
			if !sleep(ctx, time.Second) { // the task is not running (yet)
				return
			}
			continue
		}
		if next.IsZero() {
			next = FirstRun(hc, started)
		}
		if !sleep(ctx, time.Until(next)) {
			return
		}
		handler, endpoint, kind, herr := Handler(hc, pod.Status.PodIP)
		good, why := false, ""
		if herr != nil {
			why = herr.Error()
		} else {
			res, msg := prober.Probe(ctx, &handler, Timeout(hc), &corev1.Container{Name: container}, pod.Status.PodIP, nil)
			if ctx.Err() != nil {
				return
			}
			good, why = res == prober.Success, msg
		}
		pc.mu.Lock()
		st := pc.states[container][i].Observe(good, Message(endpoint, kind, good, why))
		pc.states[container][i] = st
		states := append([]probeinfo.State(nil), pc.states[container]...)
		pc.mu.Unlock()
		if err := c.record(ctx, ns, name, uid, container, states); err != nil && ctx.Err() == nil {
			log.Warn("record remote check results", "err", err)
		}
		if Kill(hc, st) {
			log.Info("remote check failed too often: killing the taskgroup", "failures", st.Failures, "message", st.Message)
			err := c.client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
				log.Warn("kill taskgroup", "err", err)
				next = next.Add(Interval(hc))
				continue
			}
			return
		}
		next = next.Add(Interval(hc))
		if now := time.Now(); next.Before(now) {
			next = now // a slow run does not make the next ones bunch up
		}
	}
}

// record puts states into the Pod's condition for container's remote
// checks, through pods/status, when the Pod does not already say them.
func (c *Controller) record(ctx context.Context, ns, name string, uid types.UID, container string, states []probeinfo.State) error {
	typ := probeinfo.ConditionType(bcsapp.RemoteConditionPrefix, container)
	if pod, err := c.pods.Pods(ns).Get(name); err == nil && pod.UID == uid {
		if _, changed := probeinfo.SetCondition(pod.Status.Conditions, probeinfo.Condition(typ, states)); !changed {
			return nil // the Pod says it already
		}
	}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		pod, err := c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get pod: %w", err)
		}
		if pod.UID != uid {
			return nil
		}
		cond := probeinfo.Condition(typ, states)
		cond.LastTransitionTime = metav1.Now()
		conditions, changed := probeinfo.SetCondition(pod.Status.Conditions, cond)
		if !changed {
			return nil
		}
		pod.Status.Conditions = conditions
		if _, err := c.client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update pod status: %w", err)
		}
		return nil
	})
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func labelsWithApplication() labels.Selector {
	req, _ := labels.NewRequirement(bcsapp.LabelApplication, selection.Exists, nil) // a valid key: never fails
	return labels.NewSelector().Add(*req)
}
