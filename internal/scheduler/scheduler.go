package scheduler

import (
	"context"
	"encoding/json"
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
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/bcs/attributes"
)

// Name is the schedulerName this scheduler answers to ("" defaults to it).
const Name = "default-scheduler"

// retryUnschedulable is how often pods that fit nowhere are tried again
// even when no node or pod changed (a safety net, as in kube-scheduler).
const retryUnschedulable = time.Minute

// Scheduler binds pods without a node to the node Place picks.
type Scheduler struct {
	client   kubernetes.Interface
	pods     corelisters.PodLister
	nodes    corelisters.NodeLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
	log      *slog.Logger

	mu sync.Mutex
	// assumed holds pods bound here that the cache still shows unbound,
	// so the next decision counts them on their node.
	assumed map[types.UID]*corev1.Pod
	// unschedulable holds pods that fit nowhere, until nodes or pods change.
	unschedulable map[string]bool
	// moves counts the cluster changes that retried the unschedulable pods:
	// a decision taken on a snapshot older than the last one must not park
	// its pod, or the change that would let it fit is lost on it.
	moves uint64
}

// New wires a scheduler to the informers of factory; Run starts it.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Scheduler, error) {
	podInformer := factory.Core().V1().Pods()
	nodeInformer := factory.Core().V1().Nodes()
	s := &Scheduler{
		client: client,
		pods:   podInformer.Lister(),
		nodes:  nodeInformer.Lister(),
		synced: []cache.InformerSynced{podInformer.Informer().HasSynced, nodeInformer.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "scheduler"}),
		log:           log.With("controller", "scheduler"),
		assumed:       map[types.UID]*corev1.Pod{},
		unschedulable: map[string]bool{},
	}
	_, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.podChanged(nil, obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj any) { s.podChanged(old.(*corev1.Pod), obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				s.forget(pod.UID)
				if pod.Spec.NodeName != "" {
					s.retryAll() // its resources are free
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: watch pods: %w", err)
	}
	_, err = nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { s.retryAll() },
		UpdateFunc: func(old, obj any) {
			o, n := old.(*corev1.Node), obj.(*corev1.Node)
			if Ready(o) != Ready(n) || o.Spec.Unschedulable != n.Spec.Unschedulable ||
				!equality.Semantic.DeepEqual(o.Spec.Taints, n.Spec.Taints) || !equality.Semantic.DeepEqual(o.Labels, n.Labels) ||
				!equality.Semantic.DeepEqual(o.Status.Allocatable, n.Status.Allocatable) ||
				o.Annotations[attributes.Annotation] != n.Annotations[attributes.Annotation] ||
				!equality.Semantic.DeepEqual(o.Status.Addresses, n.Status.Addresses) {
				s.retryAll()
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: watch nodes: %w", err)
	}
	return s, nil
}

// responsible is whether pod waits for this scheduler.
func responsible(pod *corev1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil &&
		(pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == Name) &&
		pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed
}

func (s *Scheduler) podChanged(old, pod *corev1.Pod) {
	if pod.Spec.NodeName != "" {
		s.forget(pod.UID)
		if old != nil && !terminal(old) && terminal(pod) {
			s.retryAll() // a finished pod frees its node
		}
		return
	}
	if responsible(pod) {
		key, _ := cache.MetaNamespaceKeyFunc(pod)
		s.mu.Lock()
		waiting := s.unschedulable[key]
		s.mu.Unlock()
		// A pod that fits nowhere is tried again when the cluster changes,
		// not on its own status updates.
		if !waiting || old == nil || !equality.Semantic.DeepEqual(old.Spec, pod.Spec) {
			s.queue.Add(key)
		}
	}
}

func terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil
}

func (s *Scheduler) forget(uid types.UID) {
	s.mu.Lock()
	delete(s.assumed, uid)
	s.mu.Unlock()
}

// retryAll puts every unschedulable pod back in the queue.
func (s *Scheduler) retryAll() {
	s.mu.Lock()
	keys := s.unschedulable
	s.unschedulable = map[string]bool{}
	s.moves++
	s.mu.Unlock()
	for key := range keys {
		s.queue.Add(key)
	}
}

// Run schedules until ctx ends. One worker decides at a time, so each
// decision sees the ones before it.
func (s *Scheduler) Run(ctx context.Context) {
	defer s.queue.ShutDown()
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	s.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: Name})
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return
	}
	go func() {
		t := time.NewTicker(retryUnschedulable)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.retryAll()
			}
		}
	}()
	go func() { <-ctx.Done(); s.queue.ShutDown() }()
	for s.next(ctx) {
	}
}

func (s *Scheduler) next(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.schedule(ctx, key); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("schedule", "pod", key, "err", err)
			s.queue.AddRateLimited(key)
		}
		return true
	}
	s.queue.Forget(key)
	return true
}

func (s *Scheduler) schedule(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := s.pods.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !responsible(pod) || s.isAssumed(pod.UID) {
		return nil
	}
	s.mu.Lock()
	moves := s.moves // before the snapshot: a change after it retries the pod
	s.mu.Unlock()
	snapshot, err := s.snapshot()
	if err != nil {
		return err
	}
	nodeName, err := Place(pod, snapshot)
	var fit *FitError
	if errors.As(err, &fit) {
		s.park(key, moves)
		return s.unschedulableNow(ctx, pod, fit)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	bound := pod.DeepCopy()
	bound.Spec.NodeName = nodeName
	s.assumed[pod.UID] = bound
	s.mu.Unlock()
	// The next decision counts the assumed pod and need not wait for this
	// write (each waits for etcd's disk): bindings go on in parallel, as
	// kube-scheduler's binding cycle does.
	go s.bind(ctx, key, pod, nodeName)
	return nil
}

// bind writes a decision; a failed one is forgotten and decided again.
func (s *Scheduler) bind(ctx context.Context, key string, pod *corev1.Pod, nodeName string) {
	err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: nodeName},
	}, metav1.CreateOptions{})
	if err != nil {
		s.forget(pod.UID)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || ctx.Err() != nil {
			return // deleted, or bound by someone else: the cache will tell
		}
		s.log.Warn("bind", "pod", key, "node", nodeName, "err", err)
		s.queue.AddRateLimited(key)
		return
	}
	s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, nodeName)
}

func (s *Scheduler) isAssumed(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.assumed[uid]
	return ok
}

// snapshot is every node with the pods that hold its resources: bound,
// unfinished pods, and the ones assumed here.
func (s *Scheduler) snapshot() ([]NodeInfo, error) {
	nodes, err := s.nodes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	byNode := map[string][]*corev1.Pod{}
	bound := map[types.UID]bool{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			bound[p.UID] = true
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
			}
		}
	}
	s.mu.Lock()
	for _, p := range s.assumed {
		// The cache may show the binding before its handler forgets the
		// assumed pod: count it once (BCS's MAXPER counts taskgroups).
		if !bound[p.UID] {
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
		}
	}
	s.mu.Unlock()
	out := make([]NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, NodeInfo{Node: n, Pods: byNode[n.Name]})
	}
	return out, nil
}

// park holds the pod of key, which fit nowhere on a snapshot taken after
// moves cluster changes, until the next change; when one came meanwhile
// (its retry did not see this pod yet), the pod goes back in the queue.
func (s *Scheduler) park(key string, moves uint64) {
	s.mu.Lock()
	changed := s.moves != moves
	if !changed {
		s.unschedulable[key] = true
	}
	s.mu.Unlock()
	if changed {
		s.queue.Add(key)
	}
}

// unschedulableNow records why pod fits nowhere: PodScheduled=False with
// the reason, and a FailedScheduling event when the reason is new.
func (s *Scheduler) unschedulableNow(ctx context.Context, pod *corev1.Pod, fit *FitError) error {
	msg := fit.Error()
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message == msg {
			return nil
		}
	}
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status": map[string]any{"conditions": []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: msg, LastTransitionTime: metav1.Now(),
		}}},
	})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("report unschedulable: %w", err)
	}
	return nil
}
