package agentsetting

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/bcs/attributes"
	"github.com/podyard/podyard/internal/bcs/clients"
	"github.com/podyard/podyard/internal/controller/workers"
	"github.com/podyard/podyard/internal/typedclient"
)

// byIP indexes Nodes by InternalIP.
const byIP = "bcs.podyard.io/internal-ip"

// Queue keys: a Node to apply its setting to, or a setting whose status to
// write.
const (
	nodeKey    = "node/"
	settingKey = "setting/"
)

// Controller applies AgentSettings to Nodes.
type Controller struct {
	client   kubernetes.Interface
	settings *clients.AgentSettings
	informer cache.SharedIndexInformer // AgentSettings
	nodes    cache.SharedIndexInformer
	nodeList corelisters.NodeLister
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
}

// New builds the controller over factory's node informer (it adds an
// index by InternalIP, so call it before the factory starts).
func New(client kubernetes.Interface, settings *clients.AgentSettings, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{
		client: client, settings: settings, log: log,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "agentsetting"}),
	}
	c.informer = typedclient.NewInformer(settings, &v1alpha1.AgentSetting{}, 10*time.Minute, cache.Indexers{})
	c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.settingChanged,
		UpdateFunc: func(old, obj any) { c.settingChanged(old); c.settingChanged(obj) },
		DeleteFunc: c.settingChanged,
	})
	nodes := factory.Core().V1().Nodes()
	if err := nodes.Informer().AddIndexers(cache.Indexers{byIP: func(obj any) ([]string, error) {
		if n, ok := obj.(*corev1.Node); ok {
			if ip := attributes.InternalIP(n); ip != "" {
				return []string{ip}, nil
			}
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("agent settings: node index: %w", err)
	}
	nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.nodeChanged,
		UpdateFunc: func(old, obj any) { c.nodeChanged(old); c.nodeChanged(obj) },
		DeleteFunc: c.nodeChanged,
	})
	c.nodes, c.nodeList = nodes.Informer(), nodes.Lister()
	return c, nil
}

// settingChanged queues the setting (its status) and the nodes of its IP.
func (c *Controller) settingChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*v1alpha1.AgentSetting)
	if !ok {
		return
	}
	c.queue.Add(settingKey + s.Name)
	nodes, _ := c.nodes.GetIndexer().ByIndex(byIP, s.Spec.InnerIP)
	for _, n := range nodes {
		c.queue.Add(nodeKey + n.(*corev1.Node).Name)
	}
}

// nodeChanged queues the node and the setting of its IP (whose node it
// may now be or no longer be).
func (c *Controller) nodeChanged(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	c.queue.Add(nodeKey + n.Name)
	if ip := attributes.InternalIP(n); ip != "" {
		c.queue.Add(settingKey + v1alpha1.AgentSettingName(ip))
	}
}

// Run works with workers until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced, c.nodes.HasSynced) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) {
		if !apierrors.IsConflict(err) { // a conflict is retried: nothing to tell
			c.log.Warn("agent setting", "key", key, "err", err)
		}
	})
}

// sync brings a Node (key nodeKey+name) or a setting's status (settingKey+name) up to date.
func (c *Controller) sync(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, nodeKey); ok {
		return c.syncNode(ctx, name)
	}
	return c.syncStatus(ctx, strings.TrimPrefix(key, settingKey))
}

// setting is the AgentSetting of ip in the informer (nil when none).
func (c *Controller) setting(ip string) (*v1alpha1.AgentSetting, error) {
	obj, exists, err := c.informer.GetIndexer().GetByKey(v1alpha1.AgentSettingName(ip))
	if err != nil || !exists {
		return nil, err
	}
	s := obj.(*v1alpha1.AgentSetting)
	if s.Spec.InnerIP != ip || s.DeletionTimestamp != nil {
		return nil, nil
	}
	return s, nil
}

// syncNode makes the node what its setting wants (Apply). A conflict means
// the informer will bring the newer node, which is queued again.
func (c *Controller) syncNode(ctx context.Context, name string) error {
	node, err := c.nodeList.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	s, err := c.setting(attributes.InternalIP(node))
	if err != nil {
		return fmt.Errorf("node %s: setting: %w", name, err)
	}
	var spec *v1alpha1.AgentSettingSpec
	if s != nil {
		spec = &s.Spec
	}
	want, changed := Apply(node, spec)
	if !changed {
		return nil
	}
	if _, err := c.client.CoreV1().Nodes().Update(ctx, want, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("node %s: applying agent setting: %w", name, err)
	}
	c.log.Info("agent setting applied", "node", name, "ip", attributes.InternalIP(node), "setting", s != nil,
		"unschedulable", want.Spec.Unschedulable, "taints", len(want.Spec.Taints))
	return nil
}

// syncStatus writes the setting's status.nodeName.
func (c *Controller) syncStatus(ctx context.Context, name string) error {
	obj, exists, err := c.informer.GetIndexer().GetByKey(name)
	if err != nil || !exists {
		return err
	}
	s := obj.(*v1alpha1.AgentSetting)
	objs, err := c.nodes.GetIndexer().ByIndex(byIP, s.Spec.InnerIP)
	if err != nil {
		return fmt.Errorf("agent setting %s: %w", name, err)
	}
	var nodes []*corev1.Node
	for _, o := range objs {
		nodes = append(nodes, o.(*corev1.Node))
	}
	nodeName := NodeName(s.Spec.InnerIP, nodes)
	if s.Status.NodeName == nodeName {
		return nil
	}
	s = s.DeepCopy()
	s.Status.NodeName = nodeName
	if _, err := c.settings.UpdateStatus(ctx, s, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("agent setting %s: status: %w", name, err)
	}
	return nil
}
