// Package nodelifecycle watches node leases: a node whose agent stopped
// renewing its Lease is marked NotReady (conditions Unknown), its pods
// stop being Ready, and after the eviction timeout they are deleted.
package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	coordlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// DefaultEvictionTimeout is how long pods stay on a lost node (the
// kube-controller-manager's 300 s).
const DefaultEvictionTimeout = 5 * time.Minute

// DefaultLeaseDuration applies to a lease that states none.
const DefaultLeaseDuration = 40 * time.Second

// Action is what the controller does about one node.
type Action struct {
	MarkLost bool // set the node's conditions Unknown and its pods not Ready
	Evict    bool // delete the node's pods
}

// Decide looks at a node and its lease at now. A node is lost when its
// lease (or, without one, its Ready heartbeat) is older than the lease's
// duration; its pods are evicted evictAfter after it went NotReady.
func Decide(node *corev1.Node, lease *coordinationv1.Lease, now time.Time, evictAfter time.Duration) Action {
	ready := readyCondition(node)
	var renewed time.Time
	duration := DefaultLeaseDuration
	if lease != nil && lease.Spec.RenewTime != nil {
		renewed = lease.Spec.RenewTime.Time
		if d := lease.Spec.LeaseDurationSeconds; d != nil && *d > 0 {
			duration = time.Duration(*d) * time.Second
		}
	} else if ready != nil {
		renewed = ready.LastHeartbeatTime.Time
	}
	if ready != nil && ready.LastHeartbeatTime.After(renewed) {
		renewed = ready.LastHeartbeatTime.Time
	}
	stale := !renewed.IsZero() && now.Sub(renewed) > duration
	var a Action
	if stale && (ready == nil || ready.Status != corev1.ConditionUnknown) {
		a.MarkLost = true
	}
	if ready != nil && ready.Status != corev1.ConditionTrue && now.Sub(ready.LastTransitionTime.Time) > evictAfter {
		a.Evict = true
	}
	return a
}

func readyCondition(node *corev1.Node) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// Controller applies Decide to every node, every period.
type Controller struct {
	client     kubernetes.Interface
	nodes      corelisters.NodeLister
	leases     coordlisters.LeaseLister
	pods       cache.Indexer
	synced     []cache.InformerSynced
	evictAfter time.Duration
	period     time.Duration
	log        *slog.Logger
}

const byNode = "spec.nodeName"

// New builds the controller over factory's informers.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, evictAfter time.Duration, log *slog.Logger) (*Controller, error) {
	if evictAfter <= 0 {
		evictAfter = DefaultEvictionTimeout
	}
	nodes := factory.Core().V1().Nodes()
	leases := factory.Coordination().V1().Leases()
	pods := factory.Core().V1().Pods().Informer()
	if err := pods.AddIndexers(cache.Indexers{byNode: func(obj any) ([]string, error) {
		return []string{obj.(*corev1.Pod).Spec.NodeName}, nil
	}}); err != nil {
		return nil, fmt.Errorf("node lifecycle: %w", err)
	}
	return &Controller{
		client: client, nodes: nodes.Lister(), leases: leases.Lister(), pods: pods.GetIndexer(),
		synced:     []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.HasSynced},
		evictAfter: evictAfter,
		period:     time.Second, // cheap: it reads caches
		log:        log.With("controller", "nodelifecycle"),
	}, nil
}

// Run checks nodes until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	t := time.NewTicker(c.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.check(ctx)
		}
	}
}

func (c *Controller) check(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	now := time.Now()
	for _, node := range nodes {
		lease, _ := c.leases.Leases(corev1.NamespaceNodeLease).Get(node.Name)
		act := Decide(node, lease, now, c.evictAfter)
		if act.MarkLost {
			if err := c.markLost(ctx, node, now); err != nil && ctx.Err() == nil {
				c.log.Warn("mark node lost", "node", node.Name, "err", err)
			}
		}
		if act.Evict {
			c.evict(ctx, node)
		}
	}
}

// agentConditions are the conditions only the agent can vouch for.
var agentConditions = []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure}

func (c *Controller) markLost(ctx context.Context, node *corev1.Node, now time.Time) error {
	c.log.Info("node stopped renewing its lease; marking it NotReady", "node", node.Name)
	t := metav1.NewTime(now)
	var conds []corev1.NodeCondition
	for _, typ := range agentConditions {
		cond := corev1.NodeCondition{
			Type: typ, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown",
			Message: "Kubelet stopped posting node status.", LastTransitionTime: t, LastHeartbeatTime: t,
		}
		for _, old := range node.Status.Conditions {
			if old.Type == typ {
				cond.LastHeartbeatTime = old.LastHeartbeatTime
			}
		}
		conds = append(conds, cond)
	}
	if err := patchStatus(ctx, c.client.CoreV1().Nodes(), node.Name, node.UID, map[string]any{"conditions": conds}); err != nil {
		return fmt.Errorf("node status: %w", err)
	}
	pods, err := c.pods.ByIndex(byNode, node.Name)
	if err != nil {
		return err
	}
	for _, obj := range pods {
		pod := obj.(*corev1.Pod)
		if !podReady(pod) {
			continue
		}
		cond := corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "NodeNotReady",
			Message: fmt.Sprintf("node %s is not ready", node.Name), LastTransitionTime: t}
		if err := patchStatus(ctx, c.client.CoreV1().Pods(pod.Namespace), pod.Name, pod.UID, map[string]any{"conditions": []corev1.PodCondition{cond}}); err != nil {
			c.log.Warn("mark pod not ready", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
	return nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// patchStatus merges status into the object's status by strategic merge
// (conditions merge by type), only if it is still the object with uid.
func patchStatus[T any](ctx context.Context, client interface {
	Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, subresources ...string) (T, error)
}, name string, uid types.UID, status map[string]any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": uid}, "status": status})
	if err != nil {
		return err
	}
	_, err = client.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// evict deletes the pods of a node lost for longer than the eviction timeout.
func (c *Controller) evict(ctx context.Context, node *corev1.Node) {
	pods, err := c.pods.ByIndex(byNode, node.Name)
	if err != nil {
		return
	}
	for _, obj := range pods {
		pod := obj.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			continue
		}
		c.log.Info("evicting pod from lost node", "pod", pod.Namespace+"/"+pod.Name, "node", node.Name)
		err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
			c.log.Warn("evict pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
	}
}
