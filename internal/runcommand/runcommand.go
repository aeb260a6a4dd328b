// Package runcommand holds what the parts of the run-command feature share:
// where commands and their pods live, a typed client for RunCommands, and
// the bearer tokens a command's pod acts with.
package runcommand

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

	"github.com/podyard/podyard/internal/apis/podyard/v1alpha1"
)

const (
	// Namespace holds every RunCommand and the pod that runs it.
	Namespace = "podyard-command"
	// Label marks a command's pod and secret with the command's name.
	Label = "podyard.io/run-command"
	// TokenKey is the key of the token in a command's secret.
	TokenKey = "token"
)

// PodName is the name of the pod (and of the secret) of command id, as AKS names it.
func PodName(id string) string { return "command-" + id }

// Client reads and writes RunCommands in Namespace.
type Client = gentype.ClientWithList[*v1alpha1.RunCommand, *v1alpha1.RunCommandList]

// NewClient returns a RunCommand client for cfg.
func NewClient(cfg *rest.Config) (*Client, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	codecs := serializer.NewCodecFactory(scheme)
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &v1alpha1.SchemeGroupVersion
	c.APIPath = "/apis"
	c.NegotiatedSerializer = codecs.WithoutConversion()
	c.ContentType = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("runcommand client: %w", err)
	}
	return gentype.NewClientWithList[*v1alpha1.RunCommand, *v1alpha1.RunCommandList](
		"runcommands", rc, runtime.NewParameterCodec(scheme), Namespace,
		func() *v1alpha1.RunCommand { return &v1alpha1.RunCommand{} },
		func() *v1alpha1.RunCommandList { return &v1alpha1.RunCommandList{} }), nil
}

// NewInformer watches the RunCommands c reaches, with indexers.
func NewInformer(c *Client, indexers cache.Indexers) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return c.List(ctx, o) },
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, o)
		},
	}
	return cache.NewSharedIndexInformer(lw, &v1alpha1.RunCommand{}, 10*time.Minute, indexers)
}
