// Package typedclient builds typed clients and informers for Podyard's own
// API kinds, which are served as JSON (they have no protobuf encoding), on
// client-go's generic typed client.
package typedclient

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Object is what a typed client reads and writes.
type Object interface {
	runtime.Object
	metav1.Object
}

// Kind names one resource and how to make its empty objects.
type Kind[T Object, L runtime.Object] struct {
	GroupVersion schema.GroupVersion
	AddToScheme  func(*runtime.Scheme) error
	Resource     string // plural, e.g. "applications"
	New          func() T
	NewList      func() L
}

// Clients makes clients of one kind for any namespace over one REST client.
type Clients[T Object, L runtime.Object] struct {
	kind  Kind[T, L]
	rest  rest.Interface
	param runtime.ParameterCodec
}

// New returns clients of kind for cfg.
func New[T Object, L runtime.Object](cfg *rest.Config, kind Kind[T, L]) (*Clients[T, L], error) {
	scheme := runtime.NewScheme()
	if err := kind.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("%s client: %w", kind.Resource, err)
	}
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &kind.GroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	c.ContentType = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", kind.Resource, err)
	}
	return &Clients[T, L]{kind: kind, rest: rc, param: runtime.NewParameterCodec(scheme)}, nil
}

// Namespace is the client of namespace ns ("" for all namespaces).
func (c *Clients[T, L]) Namespace(ns string) *gentype.ClientWithList[T, L] {
	return gentype.NewClientWithList[T, L](c.kind.Resource, c.rest, c.param, ns, c.kind.New, c.kind.NewList)
}

// NewInformer watches what client reaches.
func NewInformer[T Object, L runtime.Object](client *gentype.ClientWithList[T, L], example T, resync time.Duration, indexers cache.Indexers) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return client.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.Watch(ctx, o)
		},
	}
	return cache.NewSharedIndexInformer(lw, example, resync, indexers)
}
