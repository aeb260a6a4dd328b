package bcs

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/bcs/application"
)

// TaskGroupCache is the dialect's own view of the taskgroup Pods (every
// Pod labelled with an application), kept by an informer in the server.
// The read routes (GET application, taskgroups, tasks, the application
// list) take an application's Pods from it instead of listing them through
// the loopback connection: for 1,000 taskgroups that list was most of the
// answer's time, encoded by the server and decoded again by the dialect
// (bench/bcsread). The caller must still be allowed to list Pods in the
// namespace, asked of the server's authorizer. Writes keep reading through
// the API, which is never behind.
type TaskGroupCache struct {
	authz    authorizer.Authorizer
	informer atomic.Pointer[cache.SharedIndexInformer]
}

// byApplication indexes taskgroup Pods by "namespace/application".
const byApplication = "bcs-application"

// NewTaskGroupCache returns a cache that answers once Start has synced it;
// authz decides who may read it.
func NewTaskGroupCache(authz authorizer.Authorizer) *TaskGroupCache {
	return &TaskGroupCache{authz: authz}
}

// Start runs the cache's informer through loopback until ctx ends.
func (c *TaskGroupCache) Start(ctx context.Context, loopback *rest.Config) error {
	client, err := kubeClient(loopback)
	if err != nil {
		return fmt.Errorf("BCS taskgroup cache: %w", err)
	}
	return c.start(ctx, client)
}

func (c *TaskGroupCache) start(ctx context.Context, client kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = application.LabelApplication }))
	informer := factory.Core().V1().Pods().Informer()
	if err := informer.AddIndexers(cache.Indexers{byApplication: func(obj any) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return []string{pod.Namespace + "/" + pod.Labels[application.LabelApplication]}, nil
	}}); err != nil {
		return fmt.Errorf("BCS taskgroup cache: %w", err)
	}
	c.informer.Store(&informer)
	factory.Start(ctx.Done())
	return nil
}

// Pods are the taskgroup Pods of application app in namespace (every
// application's for app ""), read as u; ok is false when the cache cannot
// answer (not started or not synced yet) and the caller lists through the
// API. The Pods are shared: read them, never change them.
func (c *TaskGroupCache) Pods(ctx context.Context, u user.Info, namespace, app string) (pods []*corev1.Pod, ok bool, err *Error) {
	if c == nil {
		return nil, false, nil
	}
	p := c.informer.Load()
	if p == nil || !(*p).HasSynced() {
		return nil, false, nil
	}
	decision, reason, aerr := c.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: "list", Namespace: namespace, APIVersion: "v1", Resource: "pods", ResourceRequest: true,
	})
	if aerr != nil && decision != authorizer.DecisionAllow {
		return nil, true, internalError(fmt.Errorf("authorizing the taskgroup list: %w", aerr))
	}
	if decision != authorizer.DecisionAllow {
		return nil, true, fromAPIError(apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", fmt.Errorf("%s", reason)), "taskgroup")
	}
	index, key := byApplication, namespace+"/"+app
	if app == "" {
		index, key = cache.NamespaceIndex, namespace
	}
	objs, ierr := (*p).GetIndexer().ByIndex(index, key)
	if ierr != nil {
		return nil, true, internalError(fmt.Errorf("taskgroup cache: %w", ierr))
	}
	pods = make([]*corev1.Pod, 0, len(objs))
	for _, o := range objs {
		pods = append(pods, o.(*corev1.Pod))
	}
	return pods, true, nil
}
