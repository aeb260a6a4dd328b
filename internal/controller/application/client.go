package application

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/gentype"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/podyard/podyard/internal/apis/bcs/v1alpha1"
	"github.com/podyard/podyard/internal/typedclient"
)

// Client reads and writes the Applications of one namespace ("" for all).
type Client = gentype.ClientWithList[*v1alpha1.Application, *v1alpha1.ApplicationList]

// Clients makes Application clients for any namespace over one REST client.
type Clients = typedclient.Clients[*v1alpha1.Application, *v1alpha1.ApplicationList]

// NewClients returns Application clients for cfg.
func NewClients(cfg *rest.Config) (*Clients, error) {
	return typedclient.New(cfg, typedclient.Kind[*v1alpha1.Application, *v1alpha1.ApplicationList]{
		GroupVersion: v1alpha1.SchemeGroupVersion, AddToScheme: v1alpha1.AddToScheme, Resource: "applications",
		New:     func() *v1alpha1.Application { return &v1alpha1.Application{} },
		NewList: func() *v1alpha1.ApplicationList { return &v1alpha1.ApplicationList{} },
	})
}

// NewInformer watches the Applications of every namespace.
func NewInformer(c *Clients, resync time.Duration) cache.SharedIndexInformer {
	return typedclient.NewInformer(c.Namespace(metav1.NamespaceAll), &v1alpha1.Application{}, resync, cache.Indexers{})
}
