package runcommand

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
	"github.com/podyard/podyard/internal/controller/workers"
	"github.com/podyard/podyard/internal/runcommand"
)

// MaxLogBytes is how much of a command's output its result keeps: the
// end of it, as much as AKS returns.
const MaxLogBytes = 512 << 10

// Controller runs RunCommands.
type Controller struct {
	client   kubernetes.Interface
	commands *runcommand.Client
	informer cache.SharedIndexInformer // RunCommands
	pods     corelisters.PodLister
	podsSync cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	timeouts Timeouts
	pod      PodSettings
	log      *slog.Logger
}

// New builds the controller; factory's pod informer must cover the
// command namespace.
func New(client kubernetes.Interface, commands *runcommand.Client, factory informers.SharedInformerFactory, t Timeouts, pod PodSettings, log *slog.Logger) *Controller {
	c := &Controller{
		client: client, commands: commands, timeouts: t, pod: pod, log: log,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "runcommand"}),
	}
	c.informer = runcommand.NewInformer(commands, cache.Indexers{})
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

func (c *Controller) enqueuePod(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok && p.Namespace == runcommand.Namespace {
		if name := p.Labels[runcommand.Label]; name != "" {
			c.queue.Add(p.Namespace + "/" + name)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context, n int) {
	defer c.queue.ShutDown()
	go c.informer.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced, c.podsSync) {
		return
	}
	workers.Run(ctx, c.queue, n, c.sync, func(key string, err error) { c.log.Warn("run command", "command", key, "err", err) })
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	obj, exists, err := c.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	if !exists {
		return c.cleanUp(ctx, ns, name) // deleted: what it left goes too
	}
	rc := obj.(*v1alpha1.RunCommand)
	if rc.Status.TokenHash == "" && !rc.Status.Finished() {
		return c.prepare(ctx, rc)
	}
	pod, err := c.pods.Pods(ns).Get(runcommand.PodName(name))
	var refused error // the API will never take this pod
	if apierrors.IsNotFound(err) {
		pod = nil
		if !rc.Status.Finished() && !rc.Spec.Canceled {
			_, err := c.client.CoreV1().Pods(ns).Create(ctx, PodFor(rc, c.pod), metav1.CreateOptions{})
			switch {
			case apierrors.IsInvalid(err) || apierrors.IsForbidden(err):
				refused = err
			case err != nil && !apierrors.IsAlreadyExists(err):
				c.log.Warn("create run-command pod", "command", key, "err", err)
			}
		}
	} else if err != nil {
		return err
	}
	step := Decide(rc, pod, refused, time.Now(), c.timeouts)
	if step.Delete {
		if err := c.commands.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rc.UID}}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		return c.cleanUp(ctx, ns, name)
	}
	if step.Status != nil {
		if step.CollectLogs && pod != nil {
			step.Status.Logs, step.Status.LogsTruncated = c.output(ctx, pod)
		}
		if !equality.Semantic.DeepEqual(*step.Status, rc.Status) {
			next := rc.DeepCopy()
			next.Status = *step.Status
			if _, err := c.commands.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("status: %w", err)
			}
		}
		if step.Status.Finished() {
			c.deleteSecret(ctx, ns, name) // its token is no longer valid
		}
	}
	if step.StopPod && pod != nil {
		if err := c.client.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if !step.Recheck.IsZero() {
		c.queue.AddAfter(key, time.Until(step.Recheck))
	}
	return nil
}

// prepare mints the command's token: the secret holds it for the pod, the
// status its hash for the authenticator.
func (c *Controller) prepare(ctx context.Context, rc *v1alpha1.RunCommand) error {
	name := runcommand.PodName(rc.Name)
	token, hash, err := runcommand.NewToken()
	if err != nil {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: ownedMeta(rc), Data: map[string][]byte{runcommand.TokenKey: []byte(token)}}
	_, err = c.client.CoreV1().Secrets(rc.Namespace).Create(ctx, secret, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A previous attempt created it before it could record the hash.
		existing, err := c.client.CoreV1().Secrets(rc.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		hash = runcommand.HashToken(string(existing.Data[runcommand.TokenKey]))
	} else if err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	next := rc.DeepCopy()
	next.Status.State, next.Status.PodName, next.Status.TokenHash = v1alpha1.Pending, name, hash
	if _, err := c.commands.UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	return nil
}

// output reads the pod's output, keeping its last MaxLogBytes.
func (c *Controller) output(ctx context.Context, pod *corev1.Pod) (string, bool) {
	stream, err := c.client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return fmt.Sprintf("[podyard: the output could not be read: %v]", err), false
	}
	defer stream.Close()
	var tail tailBuffer
	io.Copy(&tail, stream)
	return tail.String()
}

func (c *Controller) cleanUp(ctx context.Context, ns, name string) error {
	err := c.client.CoreV1().Pods(ns).Delete(ctx, runcommand.PodName(name), metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	c.deleteSecret(ctx, ns, name)
	return nil
}

func (c *Controller) deleteSecret(ctx context.Context, ns, name string) {
	err := c.client.CoreV1().Secrets(ns).Delete(ctx, runcommand.PodName(name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.log.Warn("delete run-command secret", "command", name, "err", err)
	}
}

// tailBuffer keeps the last MaxLogBytes written to it.
type tailBuffer struct {
	buf       []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - MaxLogBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String is the kept output, marked at the cut.
func (t *tailBuffer) String() (string, bool) {
	if !t.truncated {
		return string(t.buf), false
	}
	return fmt.Sprintf("[podyard: output cut to its last %d bytes; GET .../commandResults/{id}/logs has all of it]\n", MaxLogBytes) + string(t.buf), true
}
