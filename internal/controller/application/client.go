package application

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
)

// Client reads and writes the Applications of one namespace ("" for all).
type Client = gentype.ClientWithList[*v1alpha1.Application, *v1alpha1.ApplicationList]

// Clients makes Application clients for any namespace over one REST client.
type Clients struct {
	rest  rest.Interface
	param runtime.ParameterCodec
}

// NewClients returns Application clients for cfg.
func NewClients(cfg *rest.Config) (*Clients, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("application client: %w", err)
	}
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &v1alpha1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	c.ContentType = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("application client: %w", err)
	}
	return &Clients{rest: rc, param: runtime.NewParameterCodec(scheme)}, nil
}

// Namespace is the client of namespace ns ("" for all namespaces).
func (c *Clients) Namespace(ns string) *Client {
	return gentype.NewClientWithList[*v1alpha1.Application, *v1alpha1.ApplicationList](
		"applications", c.rest, c.param, ns,
		func() *v1alpha1.Application { return &v1alpha1.Application{} },
		func() *v1alpha1.ApplicationList { return &v1alpha1.ApplicationList{} })
}

// NewInformer watches the Applications of every namespace.
func NewInformer(c *Clients, resync time.Duration) cache.SharedIndexInformer {
	all := c.Namespace(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return all.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return all.Watch(ctx, o)
		},
	}
	return cache.NewSharedIndexInformer(lw, &v1alpha1.Application{}, resync, cache.Indexers{})
}
